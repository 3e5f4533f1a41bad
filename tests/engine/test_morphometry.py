"""Wire morphometry against the exact truth of synthetic scenes, and on a real AgNW network."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nanomorph.errors import CalibrationError, InvalidParameterError
from nanomorph.network import image_orientation, measure_wires
from nanomorph.network.orientation import order_parameter
from nanomorph.synthetic import WireParams
from tests.support.wire_truth import angle_error, matched, scene


def separate(width: float, curvature: float = 0.0, seed: int = 0):
    """Twelve wires of about 300 px that neither touch nor cross."""
    return scene(WireParams(shape_px=(768, 768), pixel_size_nm=1.0, n_wires=12,
                            length_nm_mean=300, length_nm_sd=30, width_nm_mean=width,
                            width_nm_sd=0.1 * width, min_separation_nm=5,
                            curvature_per_um=curvature), seed)


@pytest.mark.parametrize("width", [3.0, 6.0, 12.0, 30.0])
@pytest.mark.parametrize("curvature", [0.0, 1.0])
def test_separate_wires_are_counted_and_measured_one_by_one(width, curvature):
    truth = separate(width, curvature)
    result = measure_wires(truth.mask)
    assert abs(len(result.wires) - len(truth.lengths)) <= 1
    length_err, angle_err, diameter_err = [], [], []
    for k in range(len(truth.lengths)):
        wire = result.wires[matched(truth, result.labels, k) - 1]
        diameter_err.append(abs(wire.diameter_mean - truth.widths[k]))
        if not truth.border[k]:
            length_err.append(abs(wire.length / truth.lengths[k] - 1))
            angle_err.append(angle_error(wire.orientation_deg, truth.angles[k]))
    assert np.median(length_err) <= 0.05
    assert np.median(angle_err) <= 2.0
    assert np.median(diameter_err) <= max(0.08 * width, 0.5)


@pytest.mark.parametrize("width", [3.0, 4.5, 8.0, 15.0, 30.0])
def test_mean_diameter_matches_the_truth(width):
    truth = separate(width, curvature=0.5, seed=1)
    result = measure_wires(truth.mask, pixel_size_nm=2.0)
    expected = 2.0 * np.average(truth.widths, weights=truth.lengths)
    record = result.as_record("scene")
    tolerance = 2.0 * 0.4 if width < 6 else 0.03 * expected
    assert abs(record["diameter"]["mean"] - expected) <= tolerance
    assert record["unit"] == "nm" and record["diameter"]["n_samples"] > 100
    assert record["diameter"]["p10"] <= record["diameter"]["median"] <= record["diameter"]["p90"]


def test_wires_are_traced_whole_through_crossings():
    traced, present, whole, complete = 0, 0, 0, 0
    for seed in range(4):
        truth = scene(WireParams(shape_px=(1024, 1024), pixel_size_nm=5.0, n_wires=36,
                                 length_nm_mean=2000, length_nm_sd=200, width_nm_mean=20,
                                 width_nm_sd=2), seed)
        result = measure_wires(truth.mask)
        traced += len(result.wires)
        present += len(truth.lengths)
        for k in np.flatnonzero(~truth.border):
            complete += 1
            wire_id = matched(truth, result.labels, k)
            whole += bool(wire_id) and abs(
                result.wires[wire_id - 1].length / truth.lengths[k] - 1) <= 0.15
        assert result.junctions > 20
    assert abs(traced / present - 1) <= 0.15
    assert whole / complete >= 0.85


@pytest.mark.parametrize("direction", [0.0, 35.0, 90.0, 150.0])
def test_dominant_direction_and_order_parameter(direction):
    truth = scene(WireParams(shape_px=(512, 512), pixel_size_nm=5.0, n_wires=25,
                             length_nm_mean=1200, length_nm_sd=100, width_nm_mean=30,
                             width_nm_sd=3, orientation_deg=direction,
                             orientation_spread_deg=20, min_separation_nm=10), 4)
    result = measure_wires(truth.mask, 5.0)
    shown = np.array([m.sum() for m in truth.masks]) / truth.widths
    dominant, order = order_parameter(np.radians(truth.angles), shown)
    assert angle_error(result.dominant_deg, dominant) <= 2.0
    assert abs(result.order_parameter - order) <= 0.03


def test_isotropic_wires_have_a_low_order_parameter():
    truth = scene(WireParams(shape_px=(768, 768), pixel_size_nm=1.0, n_wires=60,
                             length_nm_mean=250, length_nm_sd=20, width_nm_mean=6,
                             width_nm_sd=0.5, min_separation_nm=4), 2)
    result = measure_wires(truth.mask)
    _, order = order_parameter(np.radians(truth.angles), truth.lengths)
    assert abs(result.order_parameter - order) <= 0.05


def test_border_flags():
    right, total = 0, 0
    for seed in range(3):
        truth = separate(8.0, curvature=0.5, seed=seed)
        result = measure_wires(truth.mask)
        for k in range(len(truth.lengths)):
            total += 1
            right += result.wires[matched(truth, result.labels, k) - 1].touches_border == \
                truth.border[k]
    assert right / total >= 0.95


def test_bundles_and_a_dense_film_give_densities_against_the_threshold():
    truth = scene(WireParams(shape_px=(512, 512), pixel_size_nm=10.0, n_wires=40,
                             length_nm_mean=1500, length_nm_sd=100, width_nm_mean=40,
                             width_nm_sd=4, bundling=0.6), 5)
    record = measure_wires(truth.mask, 10.0).as_record("bundles")
    area = (512 * 10e-3) ** 2
    assert record["wires_per_um2"] == pytest.approx(record["n_wires"] / area)
    assert record["junctions_per_um2"] > 0
    n_l2 = record["wires_per_um2"] * (record["length"]["mean"] * 1e-3) ** 2
    assert record["nL2_over_threshold"] == pytest.approx(n_l2 / 5.63726, rel=1e-6)


def test_record_keys_and_units():
    truth = separate(6.0)
    record = measure_wires(truth.mask).as_record("m.png")
    assert set(record) == {"path", "shape", "pixel_size", "unit", "n_wires", "wires", "diameter",
                           "length", "orientation", "junctions_per_um2", "wires_per_um2",
                           "nL2_over_threshold", "seconds"}
    assert record["unit"] == "px" and record["pixel_size"] is None
    assert record["junctions_per_um2"] is None and record["nL2_over_threshold"] is None
    wire = record["wires"][0]
    assert set(wire) == {"id", "length", "diameter_mean", "diameter_sd", "orientation_deg",
                         "straightness", "touches_border", "centroid"}
    assert 0 < wire["straightness"] <= 1 and len(wire["centroid"]) == 2
    calibrated = measure_wires(truth.mask, pixel_size_nm=(2.0, 2.0)).as_record("m.png")
    assert calibrated["pixel_size"] == 2.0
    assert calibrated["wires"][0]["length"] == pytest.approx(2 * wire["length"], rel=0.01)


def test_labels_colour_every_wire_pixel():
    truth = separate(8.0)
    result = measure_wires(truth.mask)
    assert result.labels.dtype == np.int32
    assert set(np.unique(result.labels[truth.mask])) <= set(range(1, len(result.wires) + 1))
    assert not result.labels[~truth.mask].any()


@pytest.mark.parametrize("mask, wires", [
    (np.zeros((64, 64), bool), 0),
    (np.ones((64, 64), bool), None),
    (np.pad(np.ones((1, 40), bool), 12), 1),
    (np.pad(np.ones((3, 3), bool), 20), 0),
])
def test_degenerate_masks_give_a_result(mask, wires):
    result = measure_wires(mask)
    record = result.as_record("x")
    if wires is not None:
        assert record["n_wires"] == wires
    assert record["diameter"]["n_samples"] >= 0


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(InvalidParameterError, match="2-D"):
        measure_wires(np.zeros((2, 8, 8)))
    with pytest.raises(CalibrationError, match="positive"):
        measure_wires(np.zeros((8, 8)), pixel_size_nm=-1)
    with pytest.raises(InvalidParameterError, match="2-D"):
        image_orientation(np.zeros(5))


def test_structure_tensor_direction_of_a_synthetic_image():
    truth = scene(WireParams(shape_px=(384, 384), pixel_size_nm=5.0, n_wires=20,
                             length_nm_mean=1000, length_nm_sd=100, width_nm_mean=25,
                             width_nm_sd=2, orientation_deg=60, orientation_spread_deg=10), 1)
    direction, coherency = image_orientation(truth.mask.astype(float), 3.0)
    assert angle_error(direction, 60.0) <= 3.0 and coherency > 0.7
    assert math.isnan(order_parameter(np.zeros(0), np.zeros(0))[0])


@pytest.fixture(scope="module")
def agnw_mask(shared_data):
    import tifffile
    from skimage.filters import gaussian, threshold_otsu

    image = tifffile.imread(shared_data / "agnw_network_sem" / "agnw_0000.tif").astype(float)
    smooth = gaussian(image, 1.5)
    return image, smooth > threshold_otsu(smooth)


def test_real_network_turns_with_its_mask(agnw_mask):
    image, mask = agnw_mask
    upright = measure_wires(mask).as_record("agnw")
    turned = measure_wires(np.rot90(mask)).as_record("agnw turned")
    assert upright["n_wires"] > 500
    for key in ("mean", "median", "p10", "p90"):
        assert turned["diameter"][key] == pytest.approx(upright["diameter"][key], rel=0.03)
    assert angle_error(turned["orientation"]["dominant_deg"],
                       upright["orientation"]["dominant_deg"] + 90) <= 2.0
    direction, _ = image_orientation(image, 2.0)
    assert angle_error(upright["orientation"]["dominant_deg"], direction) <= 5.0


def test_a_noisy_mask_is_a_tangle_not_a_hang():
    """A thresholded noise field joins thousands of arms at a few junctions; they are left
    unpaired instead of being matched pair by pair (which took minutes)."""
    mask = np.random.default_rng(0).random((512, 512)) < 0.5
    record = measure_wires(mask).as_record("noise")
    assert record["n_wires"] > 100 and record["seconds"] < 30
