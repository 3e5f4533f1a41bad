"""read_image / read_info on files made here: dtypes, stacks, pages, NaN, names, calibration."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest
import tifffile
from PIL import Image

from nanomorph.errors import ImageReadError
from nanomorph.io import SUPPORTED_SUFFIXES, UNCALIBRATED
from nanomorph.io.readers import read_image, read_info


def write_mrc(path, data: np.ndarray, cell_angstrom=(0.0, 0.0, 0.0), sampling=None):
    """A minimal MRC2014 file (float32, no extended header): cell size in Å, sampling MX/MY/MZ."""
    nz, ny, nx = data.shape
    mx, my, mz = sampling or (nx, ny, nz)
    header = struct.pack("<10i", nx, ny, nz, 2, 0, 0, 0, mx, my, mz) + struct.pack("<3f", *cell_angstrom)
    header = header.ljust(208, b"\0") + b"MAP " + b"\x44\x44\0\0"
    path.write_bytes(header.ljust(1024, b"\0") + data.astype("<f4").tobytes())
    return path


def test_supported_suffixes():
    expected = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dm3", ".dm4", ".emd", ".mrc", ".emi",
                ".ser", ".elid", ".bmp", ".gif", ".mp4", ".mov", ".avi", ".mkv"}
    assert SUPPORTED_SUFFIXES == expected
    assert isinstance(SUPPORTED_SUFFIXES, frozenset)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32])
def test_gray_tiff_keeps_dtype_and_values(tmp_path, dtype):
    data = (np.arange(12).reshape(3, 4) * 7).astype(dtype)
    tifffile.imwrite(tmp_path / "g.tif", data)
    image = read_image(tmp_path / "g.tif")
    assert image.data.dtype == dtype and image.format == "TIFF"
    np.testing.assert_array_equal(image.data, data)
    assert image.calibration is UNCALIBRATED
    assert image.metadata["notes"] == []


def test_stack_and_pages(tmp_path):
    stack = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5)
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="minisblack")
    image = read_image(tmp_path / "s.tif")
    assert image.shape == (3, 4, 5) and image.is_stack
    np.testing.assert_array_equal(image.plane(2), stack[2])
    page = read_image(tmp_path / "s.tif", page=1)
    assert page.shape == (4, 5)
    np.testing.assert_array_equal(page.data, stack[1])
    assert read_info(tmp_path / "s.tif").shape == (3, 4, 5)


def test_imagej_stack_page(tmp_path):
    stack = np.arange(4 * 5 * 6, dtype=np.uint8).reshape(4, 5, 6)
    tifffile.imwrite(tmp_path / "ij.tif", stack, imagej=True)
    np.testing.assert_array_equal(read_image(tmp_path / "ij.tif", page=3).data, stack[3])


def test_rgb_stack_pages_become_gray(tmp_path):
    rgb = np.zeros((2, 3, 4, 3), np.uint8)
    rgb[1, ..., 0] = 255
    tifffile.imwrite(tmp_path / "rgbs.tif", rgb, photometric="rgb")
    image = read_image(tmp_path / "rgbs.tif")
    assert image.shape == (2, 3, 4)
    assert image.data[0].max() == 0 and (image.data[1] == 54).all()
    np.testing.assert_array_equal(read_image(tmp_path / "rgbs.tif", page=1).data, image.data[1])


def test_page_zero_of_a_single_image_is_the_image(tmp_path):
    tifffile.imwrite(tmp_path / "one.tif", np.ones((3, 3), np.uint8))
    assert read_image(tmp_path / "one.tif", page=0).shape == (3, 3)


def test_nan_and_inf_replaced_by_the_finite_minimum(tmp_path):
    data = np.array([[np.nan, 2.5, -1.5], [np.inf, 7.0, -np.inf]], np.float32)
    tifffile.imwrite(tmp_path / "nan.tif", data)
    image = read_image(tmp_path / "nan.tif")
    assert image.data.dtype == np.float32
    np.testing.assert_array_equal(image.data, [[-1.5, 2.5, -1.5], [-1.5, 7.0, -1.5]])
    assert "3 NaN/inf pixels replaced by the image minimum (-1.5)" in image.metadata["notes"]


def test_non_utf8_names_as_bytes_and_as_surrogate_str(tmp_path):
    data = np.array([[1, 2]], np.uint8)
    name = os.fsencode(tmp_path) + b"/\xff\xfe-wire.tif"
    tifffile.imwrite(os.fsdecode(name), data)
    for path in (name, os.fsdecode(name)):
        image = read_image(path)
        np.testing.assert_array_equal(image.data, data)
        assert os.fsencode(image.path) == name
        assert read_info(path).shape == (1, 2)


def test_non_utf8_png_name(tmp_path):
    name = os.fsencode(tmp_path) + b"/\xe9.png"
    Image.fromarray(np.array([[9]], np.uint8)).save(os.fsdecode(name))
    assert read_image(name).data[0, 0] == 9


@pytest.mark.parametrize(("unit", "expected_nm"), [
    ("nm", (0.5, 0.25)),
    ("micron", (500.0, 250.0)),
    ("\\u00B5m", (500.0, 250.0)),
    ("A", (0.05, 0.025)),
    ("inch", None),  # ImageJ's unit for a print resolution (DPI)
    (None, None),
])
def test_imagej_calibration(tmp_path, unit, expected_nm):
    metadata = {"unit": unit} if unit else {}
    tifffile.imwrite(tmp_path / "ij.tif", np.zeros((4, 4), np.float32), imagej=True,
                     resolution=(4.0, 2.0), metadata=metadata)  # pixels per unit (x, y)
    image = read_image(tmp_path / "ij.tif")
    assert image.format == "TIFF (ImageJ)"
    if expected_nm is None:
        assert image.calibration is UNCALIBRATED
    else:
        assert image.calibration.pixel_size_nm() == pytest.approx(expected_nm)


@pytest.mark.parametrize("unit", ["INCH", "CENTIMETER"])
def test_print_resolution_of_a_plain_tiff_is_not_a_pixel_size(tmp_path, unit):
    tifffile.imwrite(tmp_path / "dpi.tif", np.zeros((4, 4), np.uint8), resolution=(300, 300),
                     resolutionunit=unit)
    assert read_image(tmp_path / "dpi.tif").calibration is UNCALIBRATED


def test_png_dpi_is_not_a_pixel_size(tmp_path):
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "dpi.png", dpi=(300, 300))
    image = read_image(tmp_path / "dpi.png")
    assert image.format == "PNG" and image.calibration is UNCALIBRATED


@pytest.mark.parametrize(("suffix", "fmt"), [(".jpg", "JPEG"), (".bmp", "BMP"), (".gif", "GIF")])
def test_other_pillow_formats(tmp_path, suffix, fmt):
    data = np.tile(np.array([0, 255], np.uint8), (8, 4))
    Image.fromarray(data).save(tmp_path / f"a{suffix}")
    image = read_image(tmp_path / f"a{suffix}")
    assert image.format == fmt and image.data.dtype == np.uint8 and image.shape == (8, 8)
    assert abs(int(image.data[0, 1]) - 255) <= 2 and int(image.data[0, 0]) <= 2  # JPEG is lossy


def test_mrc_cell_gives_the_pixel_size(tmp_path):
    path = write_mrc(tmp_path / "a.mrc", np.zeros((1, 3, 4)), cell_angstrom=(8.0, 6.0, 0.0))
    image = read_image(path)
    assert image.format == "MRC" and image.shape == (3, 4)
    assert image.calibration.pixel_size == pytest.approx((0.2, 0.2))
    assert image.calibration.unit == "nm"


def test_mrc_without_sampling_is_uncalibrated_not_1_nm(tmp_path):
    """rosettasciio 0.15 gives 1 nm/px when MX = MY = 0; nanomorph does not invent it."""
    path = write_mrc(tmp_path / "a.mrc", np.zeros((1, 3, 4)), sampling=(0, 0, 0))
    assert read_image(path).calibration is UNCALIBRATED


def test_mrc_stack_page(tmp_path):
    stack = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    path = write_mrc(tmp_path / "s.mrc", stack)
    assert read_image(path).shape == (2, 3, 4)
    np.testing.assert_array_equal(read_image(path, page=1).data, stack[1])


def test_one_dimensional_data_is_refused(tmp_path):
    path = write_mrc(tmp_path / "line.mrc", np.arange(10).reshape(1, 1, 10))
    with pytest.raises(ImageReadError, match="1-D data"):
        read_image(path)


def test_read_info_agrees_with_read_image(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 65535, (5, 6, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    write_mrc(tmp_path / "a.mrc", np.zeros((1, 3, 4)), cell_angstrom=(8.0, 6.0, 0.0))
    for name in ("rgb.tif", "a.mrc"):
        info, image = read_info(tmp_path / name), read_image(tmp_path / name)
        assert (info.format, info.shape, info.dtype, info.calibration) == (
            image.format, image.shape, str(image.data.dtype), image.calibration)


@pytest.mark.parametrize("kind", ["gray", "rgb"])
def test_read_frames_gives_the_pages_read_one_by_one(tmp_path, kind):
    import tifffile

    from nanomorph.io.readers import read_frames

    rng = np.random.default_rng(0)
    if kind == "gray":
        movie = rng.integers(0, 65535, (7, 20, 24), dtype=np.uint16)
        tifffile.imwrite(tmp_path / "m.tif", movie, imagej=True, metadata={"axes": "TYX"})
    else:
        movie = rng.integers(0, 255, (7, 20, 24, 3), dtype=np.uint8)
        tifffile.imwrite(tmp_path / "m.tif", movie, photometric="rgb")
    block = read_frames(tmp_path / "m.tif", 2, 6)
    assert block.shape == (4, 20, 24)
    for i, frame in enumerate(block):
        np.testing.assert_array_equal(frame, read_image(tmp_path / "m.tif", page=2 + i).data)
    with pytest.raises(ImageReadError, match="no frames 5–7: the file holds 7"):
        read_frames(tmp_path / "m.tif", 5, 8)
