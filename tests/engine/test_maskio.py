"""Mask files: reading (PNG, TIFF, RGBA), the --foreground rules and their messages, relabelling,
lossless PNG writing."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import tifffile
from PIL import Image

from nanomorph.errors import ImageReadError, InvalidParameterError
from nanomorph.io.mask_files import (
    foreground_mask,
    map_mask_values,
    parse_foreground,
    read_mask,
    write_mask_png,
)

LABELS = np.array([[0, 127, 127], [255, 0, 127]], np.uint8)


def test_read_png_and_calibrated_tiff(tmp_path):
    Image.fromarray(LABELS).save(tmp_path / "m.png")
    tifffile.imwrite(tmp_path / "m.tif", LABELS, imagej=True, resolution=(2.0, 2.0),
                     metadata={"unit": "nm"})
    array, calibration = read_mask(tmp_path / "m.png")
    assert array.dtype == np.uint8 and np.array_equal(array, LABELS)
    assert not calibration.calibrated
    array, calibration = read_mask(tmp_path / "m.tif")
    assert np.array_equal(array, LABELS)
    assert calibration.pixel_size == (0.5, 0.5) and calibration.unit == "nm"


def test_rgba_mask_with_identical_channels_becomes_one_channel(tmp_path):
    rgba = np.dstack([LABELS, LABELS, LABELS, np.full_like(LABELS, 255)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    array, _ = read_mask(tmp_path / "rgba.png")
    assert array.shape == LABELS.shape and np.array_equal(array, LABELS)


def test_real_rgba_mask_of_the_agnw_crop(shared_data):
    array, _ = read_mask(shared_data / "agnw_network_sem" / "small_0000_mask.tif")
    assert array.shape == (78, 82)
    assert np.unique(array).tolist() == [0, 255]
    assert foreground_mask(array).any()


def test_colour_fractional_and_stacked_masks_are_refused(tmp_path):
    colour = np.zeros((4, 4, 3), np.uint8)
    colour[0, 0] = (255, 0, 0)
    Image.fromarray(colour).save(tmp_path / "colour.png")
    tifffile.imwrite(tmp_path / "prob.tif", np.full((4, 4), 0.3, np.float32))
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((2, 4, 4), np.uint8),
                     photometric="minisblack")
    with pytest.raises(ImageReadError, match="in colour"):
        read_mask(tmp_path / "colour.png")
    with pytest.raises(ImageReadError, match="fractional values"):
        read_mask(tmp_path / "prob.tif")
    with pytest.raises(ImageReadError, match="holds 2 images"):
        read_mask(tmp_path / "stack.tif")


def test_whole_number_float_mask_is_read(tmp_path):
    tifffile.imwrite(tmp_path / "f.tif", LABELS.astype(np.float32))
    array, _ = read_mask(tmp_path / "f.tif")
    assert foreground_mask(array, "127").sum() == 3


@pytest.mark.parametrize("spec, expected", [
    ("auto", "auto"), ("nonzero", "nonzero"), (" NonZero ", "nonzero"), ("127", (127,)),
    ("255,127", (127, 255)), ("127, 127", (127,)), ((1, 2), (1, 2)),
])
def test_parse_foreground(spec, expected):
    assert parse_foreground(spec) == expected


@pytest.mark.parametrize("spec", ["wire", "127;255", "", "1.5", "-1"])
def test_parse_foreground_refuses_other_text(spec):
    with pytest.raises(InvalidParameterError, match="--foreground takes nonzero"):
        parse_foreground(spec)


def test_auto_takes_nonzero_of_a_two_valued_mask():
    for values in ([0, 1], [0, 255], [0]):
        mask = np.array([values[0], values[-1], 0], np.uint8)
        assert foreground_mask(mask).tolist() == [False, values[-1] != 0, False]
    assert foreground_mask(np.array([[False, True]])).tolist() == [[False, True]]


def test_auto_refuses_a_label_mask_and_names_its_values_and_the_option():
    with pytest.raises(InvalidParameterError) as info:
        foreground_mask(LABELS, path="m.png")
    assert info.value.reason == ("the mask holds values 0, 127, 255: say which are nanowire "
                                 "with --foreground (e.g. --foreground 127, or --foreground "
                                 "nonzero)")
    assert info.value.path == "m.png"


def test_auto_refuses_a_mask_without_zero_and_abbreviates_long_value_lists():
    with pytest.raises(InvalidParameterError, match="holds only the value 255"):
        foreground_mask(np.full((2, 2), 255, np.uint8))
    with pytest.raises(InvalidParameterError, match=r"0, 1, 2, … 299 \(300 values\)"):
        foreground_mask(np.arange(300).reshape(10, 30))


def test_nonzero_and_value_lists():
    assert foreground_mask(LABELS, "nonzero").sum() == 4
    assert foreground_mask(LABELS, "127").tolist() == [[False, True, True], [False, False, True]]
    assert foreground_mask(LABELS, "127,255").sum() == 4
    # A value absent from this mask is fine while another listed value occurs (no droplet).
    assert foreground_mask(np.array([0, 127], np.uint8), "127,255").tolist() == [False, True]


def test_values_that_match_nothing_are_refused_with_the_values_found():
    with pytest.raises(InvalidParameterError) as info:
        foreground_mask(LABELS, "1", path="m.png")
    assert info.value.reason == ("no pixel of the mask holds 1 (it holds values 0, 127, 255): "
                                 "choose --foreground among those values")


def test_an_empty_mask_is_empty_for_any_values():
    assert not foreground_mask(np.zeros((3, 3), np.uint8), "255").any()


def test_map_mask_values_relabels_and_zeroes_the_rest():
    out = map_mask_values(LABELS, {127: 1, 255: 2})
    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 1, 1], [2, 0, 1]]
    assert map_mask_values(np.array([[3, 7]], np.int32), {7: 1}).tolist() == [[0, 1]]
    with pytest.raises(InvalidParameterError, match="0..255"):
        map_mask_values(LABELS, {127: 256})


def test_write_mask_png_round_trips_bool_and_labels_losslessly(tmp_path):
    rng = np.random.default_rng(0)
    binary = rng.random((20, 30)) > 0.5
    labels16 = rng.integers(0, 1000, (20, 30)).astype(np.int32)
    write_mask_png(tmp_path / "b.png", binary)
    write_mask_png(tmp_path / "l.png", LABELS)
    write_mask_png(tmp_path / "w.png", labels16)
    b, _ = read_mask(tmp_path / "b.png")
    assert b.dtype == np.uint8 and np.array_equal(b, binary * 255)
    assert np.array_equal(read_mask(tmp_path / "l.png")[0], LABELS)
    wide, _ = read_mask(tmp_path / "w.png")
    assert np.array_equal(wide, labels16)
    assert np.array_equal(foreground_mask(b), binary)


def test_written_mask_has_the_permissions_of_a_new_file(tmp_path):
    write_mask_png(tmp_path / "m.png", LABELS)
    (tmp_path / "plain").write_bytes(b"")
    mode = stat.S_IMODE(os.stat(tmp_path / "m.png").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "plain").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.png", "plain"]  # no temp file


@pytest.mark.parametrize("bad", [np.zeros((2, 2, 2), np.uint8), np.zeros((2, 2), np.float32),
                                 np.array([[-1, 0]]), np.array([[70000, 0]])])
def test_write_mask_png_refuses_what_is_not_a_label_image(tmp_path, bad):
    with pytest.raises(InvalidParameterError):
        write_mask_png(tmp_path / "x.png", bad)
    assert not (tmp_path / "x.png").exists()
