"""Colour, RGBA and palette files become gray by the documented rule, with exact numbers."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from nanomorph.io.readers import read_image

# (R, G, B) -> 0.2125 R + 0.7154 G + 0.0721 B, rounded
RGB_UINT8 = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [10, 200, 30]]], np.uint8)
GRAY_UINT8 = np.array([[54, 182], [18, 147]], np.uint8)  # 54.19, 182.43, 18.39, 147.37


def test_rgb_tiff_becomes_bt709_luma_rounded_to_uint8(tmp_path):
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, RGB_UINT8, photometric="rgb")
    image = read_image(path)
    assert image.data.dtype == np.uint8
    np.testing.assert_array_equal(image.data, GRAY_UINT8)
    assert "RGB converted to gray (BT.709)" in image.metadata["notes"]


def test_luma_matches_skimage_rgb2gray(tmp_path):
    from skimage.color import rgb2gray

    rgb = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "noise.png")
    expected = np.rint(rgb2gray(rgb) * 255).astype(np.uint8)
    np.testing.assert_array_equal(read_image(tmp_path / "noise.png").data, expected)


def test_uint16_rgb_keeps_uint16(tmp_path):
    rgb = np.array([[[65535, 0, 0], [1000, 2000, 3000]]], np.uint16)
    tifffile.imwrite(tmp_path / "rgb16.tif", rgb, photometric="rgb")
    image = read_image(tmp_path / "rgb16.tif")
    assert image.data.dtype == np.uint16
    np.testing.assert_array_equal(image.data, [[13926, 1860]])  # 13926.19, 1859.6


def test_rgba_png_drops_alpha(tmp_path):
    rgba = np.dstack([RGB_UINT8, np.array([[0, 17], [128, 255]], np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    image = read_image(tmp_path / "rgba.png")
    np.testing.assert_array_equal(image.data, GRAY_UINT8)
    assert "alpha channel dropped" in image.metadata["notes"]


def test_identical_channels_are_taken_exactly(tmp_path):
    gray = np.array([[0, 1, 2], [65533, 65534, 65535]], np.uint16)
    tifffile.imwrite(tmp_path / "gray_as_rgb.tif", np.dstack([gray] * 3), photometric="rgb")
    image = read_image(tmp_path / "gray_as_rgb.tif")
    assert image.data.dtype == np.uint16
    np.testing.assert_array_equal(image.data, gray)
    assert any("identical channels" in note for note in image.metadata["notes"])


def test_float_rgb_stays_float(tmp_path):
    rgb = np.array([[[1.0, 0.0, 0.0], [0.5, 0.5, 0.5]]], np.float32)
    tifffile.imwrite(tmp_path / "rgbf.tif", rgb, photometric="rgb")
    image = read_image(tmp_path / "rgbf.tif")
    assert image.data.dtype == np.float32
    np.testing.assert_allclose(image.data, [[0.2125, 0.5]], rtol=1e-6)


@pytest.mark.parametrize("step", [256, 257])  # both TIFF writer conventions for a gray table
def test_gray_palette_tiff_gives_its_gray_levels(tmp_path, step):
    colormap = np.tile(np.arange(256, dtype=np.uint16) * step, (3, 1))
    indices = np.array([[0, 1, 128], [200, 254, 255]], np.uint8)
    tifffile.imwrite(tmp_path / "pal.tif", indices, photometric="palette", colormap=colormap)
    image = read_image(tmp_path / "pal.tif")
    assert image.data.dtype == np.uint8
    np.testing.assert_array_equal(image.data, indices)


def test_colour_palette_tiff_entries_become_luma(tmp_path):
    colormap = np.tile(np.arange(256, dtype=np.uint16) * 257, (3, 1))
    colormap[:, 5] = (65535, 0, 0)  # red
    colormap[:, 9] = (0, 65535, 0)  # green
    colormap[:, 200] = (0, 0, 0)  # a gray level mapped to black
    indices = np.array([[5, 9], [200, 77]], np.uint8)
    tifffile.imwrite(tmp_path / "pal.tif", indices, photometric="palette", colormap=colormap)
    np.testing.assert_array_equal(read_image(tmp_path / "pal.tif").data, [[54, 182], [0, 77]])


def test_palette_png_gives_palette_gray_levels(tmp_path):
    palette = np.zeros((256, 3), np.uint8)
    palette[1] = (255, 255, 255)
    palette[2] = (255, 0, 0)
    palette[3] = (40, 40, 40)
    image = Image.fromarray(np.array([[0, 1], [2, 3]], np.uint8), "P")
    image.putpalette(palette.ravel().tolist())
    image.save(tmp_path / "pal.png")
    read = read_image(tmp_path / "pal.png")
    assert read.data.dtype == np.uint8
    np.testing.assert_array_equal(read.data, [[0, 255], [54, 40]])


def test_la_png_keeps_luminance(tmp_path):
    la = np.dstack([np.array([[3, 250]], np.uint8), np.array([[0, 255]], np.uint8)])
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    read = read_image(tmp_path / "la.png")
    np.testing.assert_array_equal(read.data, [[3, 250]])
    assert "alpha channel dropped" in read.metadata["notes"]


def test_bilevel_png_becomes_0_and_255(tmp_path):
    Image.fromarray(np.array([[True, False]])).convert("1").save(tmp_path / "bw.png")
    read = read_image(tmp_path / "bw.png")
    assert read.data.dtype == np.uint8
    np.testing.assert_array_equal(read.data, [[255, 0]])


def test_16_bit_gray_png_keeps_uint16(tmp_path):
    gray = np.array([[0, 1000, 65535]], np.uint16)
    Image.fromarray(gray).save(tmp_path / "g16.png")
    read = read_image(tmp_path / "g16.png")
    assert read.data.dtype == np.uint16
    np.testing.assert_array_equal(read.data, gray)


def test_bilevel_tiff_becomes_0_and_255(tmp_path):
    tifffile.imwrite(tmp_path / "bw.tif", np.array([[True, False, True]]))
    read = read_image(tmp_path / "bw.tif")
    assert read.data.dtype == np.uint8
    np.testing.assert_array_equal(read.data, [[255, 0, 255]])


def test_gray_with_alpha_tiff_keeps_the_gray_channel(tmp_path):
    gray_alpha = np.dstack([np.array([[5, 6]], np.uint16), np.array([[0, 65535]], np.uint16)])
    tifffile.imwrite(tmp_path / "ga.tif", gray_alpha, photometric="minisblack",
                     extrasamples=["unassalpha"])
    read = read_image(tmp_path / "ga.tif")
    np.testing.assert_array_equal(read.data, [[5, 6]])
    assert read.data.dtype == np.uint16
