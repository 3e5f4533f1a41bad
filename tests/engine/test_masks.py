"""Classical auto-masking on synthetic micrographs with exact masks: Dice per method and contrast,
polarity, cleanup, info bar, dtypes, parameters."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from nanomorph.errors import InvalidParameterError
from nanomorph.masks import (
    METHOD_DEFAULTS,
    METHODS,
    RIDGE_HYSTERESIS,
    MaskParams,
    auto_mask,
    mask_micrograph,
    params_for,
)
from nanomorph.masks.overlap import dice
from nanomorph.synthetic import generate_morphology

POLARITY = {"tem": "dark", "sem": "bright"}
SEEDS = range(3)
# Mean Dice of each method with its defaults over dispersed + network images (3 seeds each,
# 384 px), per contrast, asserted about 0.05 below the measured value (in the comment). Otsu and
# Li fail on the sparsest low-contrast TEM image (1.4 % wire: the threshold splits the
# background texture), which pulls their TEM means down; triangle and ridge do not.
MIN_DICE = {
    ("otsu", "tem"): 0.62, ("otsu", "sem"): 0.75,  # measured 0.670, 0.799
    ("li", "tem"): 0.45, ("li", "sem"): 0.58,  # 0.501, 0.637
    ("triangle", "tem"): 0.80, ("triangle", "sem"): 0.73,  # 0.845, 0.779
    ("local", "tem"): 0.70, ("local", "sem"): 0.75,  # 0.749, 0.796
    ("ridge", "tem"): 0.77, ("ridge", "sem"): 0.74,  # 0.816, 0.791
}


@pytest.fixture(scope="module")
def images() -> dict[str, list]:
    """Dispersed and network images of each contrast."""
    return {contrast: [generate_morphology(name, seed=seed, contrast=contrast)
                       for name in ("dispersed", "network") for seed in SEEDS]
            for contrast in POLARITY}


def mean_dice(images, params: MaskParams) -> float:
    return float(np.mean([dice(auto_mask(s.image, params), s.mask) for s in images]))


@pytest.mark.parametrize("contrast", ["tem", "sem"])
@pytest.mark.parametrize("method", METHODS)
def test_each_method_reaches_its_documented_dice(images, method, contrast):
    params = params_for(method, polarity=POLARITY[contrast])
    assert mean_dice(images[contrast], params) >= MIN_DICE[method, contrast]


@pytest.mark.parametrize("contrast", ["tem", "sem"])
def test_ridge_finds_thin_wires(contrast):
    """Network wires are 3-5 px wide: the ridge filter's home ground."""
    thin = [generate_morphology("network", seed=seed, contrast=contrast) for seed in (7, 8)]
    # measured 0.807 (tem), 0.784 (sem)
    assert mean_dice(thin, params_for("ridge", polarity=POLARITY[contrast])) >= 0.75


@pytest.mark.parametrize("method", ["otsu", "ridge"])
def test_the_wrong_polarity_gives_a_much_worse_mask(images, method):
    for contrast, right in POLARITY.items():
        wrong = "bright" if right == "dark" else "dark"
        good = mean_dice(images[contrast], params_for(method, polarity=right))
        bad = mean_dice(images[contrast], params_for(method, polarity=wrong))
        assert bad < 0.5 * good


def test_min_size_removes_specks_and_keeps_wires():
    image = np.full((64, 64), 200, np.uint8)
    image[30:34, 4:60] = 40  # a wire of 224 px
    image[5:8, 5:8] = 40  # a speck of 9 px
    kept = auto_mask(image, MaskParams(smooth_sigma_px=0, min_size_px=0))
    cleaned = auto_mask(image, MaskParams(smooth_sigma_px=0, min_size_px=10))
    assert kept[6, 6] and not cleaned[6, 6]
    assert cleaned.sum() == 224 and cleaned[30:34, 4:60].all()
    # "smaller than": an object of exactly min_size_px pixels stays
    assert auto_mask(image, MaskParams(smooth_sigma_px=0, min_size_px=9))[6, 6]


def test_fill_holes_closes_small_holes_only():
    image = np.full((64, 64), 200, np.uint8)
    image[10:30, 10:30] = 40
    image[15:17, 15:17] = 200  # a 4-px hole
    image[40:60, 10:30] = 40
    image[44:56, 14:26] = 200  # a 144-px hole
    mask = auto_mask(image, MaskParams(smooth_sigma_px=0, fill_holes_px=16))
    assert mask[15:17, 15:17].all() and not mask[44:56, 14:26].any()
    assert not auto_mask(image, MaskParams(smooth_sigma_px=0))[15:17, 15:17].any()


def test_databar_rows_are_background_and_left_out_of_the_threshold():
    sample = generate_morphology("network", seed=1, contrast="sem")
    bar = 40
    with_bar = np.vstack([sample.image, np.zeros((bar, sample.image.shape[1]), np.uint8)])
    with_bar[-20:-10, 10:200] = 255  # white text in a black bar
    params = params_for("otsu", polarity="bright")
    mask = auto_mask(with_bar, params, databar_rows=bar)
    assert mask.shape == with_bar.shape and not mask[-bar:].any()
    assert np.array_equal(mask[:-bar], auto_mask(sample.image, params))
    kept = auto_mask(with_bar, dataclasses.replace(params, crop_databar=False), databar_rows=bar)
    assert kept[-20:-10, 10:200].any()


def test_mask_micrograph_finds_the_bar_from_metadata_or_pixels():
    from nanomorph.io import MicroscopeImage

    sample = generate_morphology("network", seed=1, contrast="sem")
    data = np.vstack([sample.image, np.zeros((40, sample.image.shape[1]), np.uint8)])
    data[-25:-15, 10:100] = 255
    params = params_for("otsu", polarity="bright")
    found = mask_micrograph(MicroscopeImage("a.tif", data), params, "bright")
    told = mask_micrograph(MicroscopeImage("a.tif", data, metadata={"databar_rows": 40}), params,
                          "bright")
    assert not found[-40:].any() and np.array_equal(found, told)


def test_any_real_dtype_gives_the_same_mask():
    image = generate_morphology("dispersed", seed=2, contrast="tem").image
    reference = auto_mask(image, MaskParams())
    variants = [image.astype(np.uint16) * 257, image.astype(np.int32) - 1000,
                image.astype(np.float32) / 255, image.astype(np.float64) * 1e6]
    for variant in variants:
        assert dice(auto_mask(variant, MaskParams()), reference) > 0.99


def test_flat_image_has_no_wires_and_other_arrays_are_refused():
    assert not auto_mask(np.full((32, 32), 7, np.uint16)).any()
    with pytest.raises(InvalidParameterError, match="2-D"):
        auto_mask(np.zeros((2, 8, 8)))
    with pytest.raises(InvalidParameterError, match="gray levels"):
        auto_mask(np.zeros((8, 8), complex))
    with pytest.raises(InvalidParameterError, match="NaN"):
        auto_mask(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(InvalidParameterError, match="info bar"):
        auto_mask(np.zeros((8, 8)), databar_rows=8)


@pytest.mark.parametrize("change, message", [
    (dict(method="kmeans"), "method must be one of"),
    (dict(polarity="auto"), "polarity must be dark or bright"),
    (dict(ridge_filter="hessian"), "ridge filter"),
    (dict(smooth_sigma_px=-1), "sigma"),
    (dict(min_size_px=-5), "must not be negative"),
    (dict(block_size_px=50), "odd"),
    (dict(ridge_sigmas_px=()), "ridge sigmas"),
    (dict(hysteresis_low=1.5), "low <= high"),
])
def test_invalid_parameters_are_refused(change, message):
    with pytest.raises(InvalidParameterError, match=message):
        MaskParams(**change)


def test_parameters_round_trip_through_json():
    import json

    params = params_for("ridge", polarity="bright", ridge_sigmas_px=[1, 2.5])
    record = json.loads(json.dumps(params.as_json()))
    assert record["ridge_sigmas_px"] == [1.0, 2.5]
    assert MaskParams.from_json(record) == params
    with pytest.raises(InvalidParameterError, match="unknown mask parameters: colour"):
        MaskParams.from_json({**record, "colour": "red"})


def test_method_defaults_and_ridge_hysteresis():
    assert list(METHOD_DEFAULTS) == list(METHODS)
    assert all(p.method == name for name, p in METHOD_DEFAULTS.items())
    assert params_for("ridge", ridge_filter="frangi").hysteresis == RIDGE_HYSTERESIS["frangi"]
    assert params_for("ridge", hysteresis_high=2.0).hysteresis == (0.5, 2.0)
    with pytest.raises(InvalidParameterError, match="method must be one of"):
        params_for("watershed")


@pytest.mark.slow
def test_a_1024_image_is_masked_fast():
    """Budget: 0.5 s for global methods, 2 s for ridge on a 1024² image (asserted with slack
    for a shared machine)."""
    image = generate_morphology("network", shape=(1024, 1024), seed=3, contrast="sem").image
    for method, budget_s in [("otsu", 1.0), ("li", 1.0), ("triangle", 1.0), ("local", 1.0),
                             ("ridge", 4.0)]:
        params = params_for(method, polarity="bright")
        start = time.perf_counter()
        auto_mask(image, params)
        assert time.perf_counter() - start < budget_s, method
