"""Preprocessing: gray to three channels, robust percentiles, resize vs tiles, the info bar,
an equal field of view, and the spec's key."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import nanomorph.encoders.preprocess as rules
from nanomorph.encoders import PreprocessSpec, preprocess_image, preprocess_plane
from nanomorph.errors import InvalidParameterError
from nanomorph.io import Calibration, MicroscopeImage

PLAIN = PreprocessSpec(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), crop_databar=False)


def gray(inputs: np.ndarray) -> np.ndarray:
    """Undo PLAIN's (identity) normalisation: the gray crops (T, S, S) in [0, 1]."""
    assert np.array_equal(inputs[:, 0], inputs[:, 1]) and np.array_equal(inputs[:, 0], inputs[:, 2])
    return inputs[:, 0]


@pytest.fixture
def texture():
    rng = np.random.default_rng(0)
    return (rng.random((300, 400)) * 200 + 20).astype(np.uint8)


def test_gray_becomes_three_channels_normalised_by_the_encoders_mean_and_std(texture):
    spec = PreprocessSpec(mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.5), crop_databar=False)
    out = preprocess_plane(texture, spec).inputs
    base = gray(preprocess_plane(texture, PLAIN).inputs)
    assert out.shape == (1, 3, 224, 224) and out.dtype == np.float32
    for channel, (mean, std) in enumerate(zip(spec.mean, spec.std)):
        np.testing.assert_allclose(out[:, channel], (base - mean) / std, atol=1e-5)


def test_percentiles_map_to_0_and_1_and_hot_pixels_do_not_squash_the_range():
    ramp = np.tile(np.linspace(0, 1000, 448, dtype=np.float32), (448, 1))
    hot = ramp.copy()
    hot[::50, ::50] = 1e9  # 81 hot pixels, 0.04 % of the image
    crop = gray(preprocess_plane(ramp, PLAIN).inputs)[0]
    assert crop.min() < 0.005 and crop.max() == 1.0
    assert np.median(crop) == pytest.approx(0.5, abs=0.01)
    assert (crop == 1.0).mean() == pytest.approx(0.005, abs=0.002)
    # clipped at full resolution: hot pixels count as white, do not stretch the range, and
    # change only the 2 × 2 output pixels around each (a 1e9 pixel would saturate them all)
    hot_crop = gray(preprocess_plane(hot, PLAIN).inputs)[0]
    difference = np.abs(hot_crop - crop)
    assert (difference > 1e-6).sum() <= 4 * 81 and difference.max() < 0.2


def test_scaled_bit_depths_give_the_same_inputs(texture):
    as_uint8 = preprocess_plane(texture, PLAIN).inputs
    as_uint16 = preprocess_plane(texture.astype(np.uint16) * 257, PLAIN).inputs
    as_float = preprocess_plane(texture.astype(np.float32) / 255 - 0.3, PLAIN).inputs
    np.testing.assert_allclose(as_uint16, as_uint8, atol=1e-5)
    np.testing.assert_allclose(as_float, as_uint8, atol=1e-5)


def test_the_input_image_is_left_as_it_was():
    image = np.random.default_rng(4).normal(size=(300, 200)).astype(np.float32)
    before = image.copy()
    for mode in ("resize", "tiles"):
        preprocess_plane(image, dataclasses.replace(PLAIN, mode=mode, crop_databar=True))
    np.testing.assert_array_equal(image, before)


def test_flat_images_give_zeros():
    out = gray(preprocess_plane(np.full((50, 60), 7, np.uint16), PLAIN).inputs)
    assert out.shape == (1, 224, 224) and not out.any()


@pytest.mark.parametrize("shape, tiles_per_side, grid", [
    ((600, 900), 2, (2, 3)),   # short side 600 → 448 px, long 672: 2 × 3 tiles
    ((900, 600), 2, (3, 2)),
    ((768, 1024), 2, (2, 2)),  # long side 597 px: 2 whole tiles
    ((500, 500), 3, (3, 3)),
    ((100, 150), 1, (1, 1)),
])
def test_tiles_cover_the_image_at_n_tiles_on_the_short_side(shape, tiles_per_side, grid):
    image = np.arange(shape[0] * shape[1], dtype=np.float32).reshape(shape)  # increases row-wise
    spec = dataclasses.replace(PLAIN, mode="tiles", tiles_per_side=tiles_per_side)
    tiles = gray(preprocess_plane(image, spec).inputs)
    assert tiles.shape == (grid[0] * grid[1], 224, 224)
    means = tiles.mean(axis=(1, 2)).reshape(grid)
    assert (np.diff(means, axis=0) > 0).all() and (np.diff(means, axis=1) > 0).all()  # row-major
    resized = preprocess_plane(image, PLAIN).inputs
    assert resized.shape == (1, 3, 224, 224)


def test_resize_squeezes_the_whole_image_with_antialiasing():
    stripes = np.zeros((448, 896), np.float32)
    stripes[:, ::2] = 1.0  # one-pixel stripes: aliasing would keep them
    crop = gray(preprocess_plane(stripes, PLAIN).inputs)[0]
    assert crop.std() < 0.02 and crop.mean() == pytest.approx(0.5, abs=0.02)


def test_info_bar_found_from_the_pixels_is_cut_off(texture):
    with_bar = np.vstack([texture, np.zeros((60, 400), np.uint8)])
    with_bar[-40:-20, 20:200] = 255  # text in the bar
    spec = dataclasses.replace(PLAIN, crop_databar=True)
    result = preprocess_plane(with_bar, spec)
    assert result.notes == ["info bar of 60 rows cut off"]
    np.testing.assert_allclose(result.inputs, preprocess_plane(texture, PLAIN).inputs, atol=1e-6)
    kept = preprocess_plane(with_bar, PLAIN)
    assert not kept.notes and not np.allclose(kept.inputs, result.inputs, atol=0.05)


def test_info_bar_rows_from_the_metadata_win(texture):
    spec = dataclasses.replace(PLAIN, crop_databar=True)
    image = MicroscopeImage(path="x.tif", data=texture, metadata={"databar_rows": 100})
    result = preprocess_image(image, spec)
    assert result.notes == ["info bar of 100 rows cut off"]
    np.testing.assert_allclose(result.inputs, preprocess_plane(texture[:200], PLAIN).inputs,
                               atol=1e-6)


def test_equal_field_of_view_takes_the_centred_field(texture):
    image = np.zeros((1000, 1000), np.float32)
    image[375:625, 375:625] = 1.0  # the centred 500 nm at 2 nm/px
    spec = dataclasses.replace(PLAIN, equal_field_of_view_nm=500.0)
    result = preprocess_plane(image, spec, pixel_size_nm=(2.0, 2.0))
    assert not result.notes
    assert gray(result.inputs).min() > 0.9999  # nothing from outside the field


@pytest.mark.parametrize("pixel_size_nm, grid", [((2.0, 2.0), (4, 4)), ((2.0, 4.0), (4, 8)),
                                                  ((0.5, 0.5), (1, 1)), ((20.0, 20.0), (8, 8))])
def test_equal_field_of_view_tiles(pixel_size_nm, grid):
    image = np.random.default_rng(1).random((1000, 1000)).astype(np.float32)
    spec = dataclasses.replace(PLAIN, mode="tiles", equal_field_of_view_nm=500.0)
    result = preprocess_plane(image, spec, pixel_size_nm=pixel_size_nm)
    assert result.inputs.shape == (grid[0] * grid[1], 3, 224, 224)
    assert bool(result.notes) == (pixel_size_nm == (20.0, 20.0))  # 40 × 40 fields, capped


def test_equal_field_of_view_falls_back_to_resize_with_a_note(texture):
    spec = dataclasses.replace(PLAIN, mode="tiles", equal_field_of_view_nm=500.0)
    resized = preprocess_plane(texture, PLAIN).inputs
    uncalibrated = preprocess_image(MicroscopeImage(path="u.png", data=texture), spec)
    assert uncalibrated.notes == ["uncalibrated: the whole image was resized instead of a 500 nm "
                                  "field of view"]
    np.testing.assert_array_equal(uncalibrated.inputs, resized)
    small = preprocess_image(MicroscopeImage(path="s.tif", data=texture,
                                             calibration=Calibration((1.0, 1.0), "nm")), spec)
    assert "covers 300 × 400 nm, less than the 500 nm field of view" in small.notes[0]
    np.testing.assert_array_equal(small.inputs, resized)
    in_um = MicroscopeImage(path="c.tif", data=texture,
                            calibration=Calibration((0.01, 0.01), "µm"))
    assert preprocess_image(in_um, spec).inputs.shape == (6 * 8, 3, 224, 224)  # 10 nm/px


def test_spec_key_is_short_stable_and_follows_every_field(monkeypatch):
    spec = PreprocessSpec()
    assert spec.key() == PreprocessSpec().key() and len(spec.key()) == 12
    assert PreprocessSpec.from_json(spec.as_json()) == spec
    changed = {dataclasses.replace(spec, **{name: value}).key() for name, value in [
        ("size_px", 256), ("mean", (0.5, 0.5, 0.5)), ("std", (0.5, 0.5, 0.5)),
        ("percentiles", (1.0, 99.0)), ("mode", "tiles"), ("tiles_per_side", 3),
        ("crop_databar", not spec.crop_databar), ("equal_field_of_view_nm", 500.0)]}
    assert len(changed) == 8 and spec.key() not in changed
    before = spec.key()
    monkeypatch.setattr(rules, "RULE_VERSION", rules.RULE_VERSION + 1)
    assert spec.key() != before  # new code, new key: old cached embeddings are not reused
    assert len({spec, PreprocessSpec()}) == 1  # hashable


@pytest.mark.parametrize("fields", [{"mode": "crop"}, {"size_px": 8}, {"percentiles": (50, 5)},
                                    {"std": (1.0, 0.0, 1.0)}, {"tiles_per_side": 0},
                                    {"equal_field_of_view_nm": -5.0}])
def test_invalid_specs_are_refused(fields):
    with pytest.raises(InvalidParameterError):
        PreprocessSpec(**fields)


def test_stacks_and_non_2d_input():
    stack = MicroscopeImage(path="s.tif", data=np.random.default_rng(2).random((3, 40, 50)))
    assert preprocess_image(stack, PLAIN, page=2).inputs.shape == (1, 3, 224, 224)
    with pytest.raises(InvalidParameterError, match="2-D"):
        preprocess_plane(np.zeros((4, 5, 6)), PLAIN)


def test_center_mode_takes_the_centred_square_and_dihedral_its_eight_views():
    plane = np.zeros((100, 300), np.float32)
    plane[:, 100:200] = np.linspace(0, 1, 100, dtype=np.float32)[:, None]  # the centre square
    plane[0, 0] = 5.0  # outside the square: never seen
    spec = PreprocessSpec(size_px=32, mode="center", crop_databar=False,
                          mean=(0.0,) * 3, std=(1.0,) * 3, percentiles=(0.0, 100.0))
    one = preprocess_plane(plane, spec).inputs
    assert one.shape == (1, 3, 32, 32)
    assert np.all(np.diff(one[0, 0].mean(axis=1)) > 0)  # the ramp runs down the rows
    views = preprocess_plane(plane, dataclasses.replace(spec, dihedral=True)).inputs
    assert views.shape == (8, 3, 32, 32)
    assert np.allclose(views[0], one[0])
    assert np.allclose(views[2, 0], one[0, 0, ::-1, ::-1])  # a half turn
    assert np.allclose(views[4, 0], one[0, 0, :, ::-1])  # the mirror image
    assert len({np.round(v, 4).tobytes() for v in views[:, 0]}) == 4  # a ramp: 4 distinct views
    assert spec.key() != dataclasses.replace(spec, dihedral=True).key()
    with pytest.raises(InvalidParameterError, match="unknown preprocessing mode 'squash'"):
        PreprocessSpec(mode="squash")
