"""Skeleton network metrics on shapes whose answers can be counted by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from skimage.draw import disk

from nanomorph.errors import CalibrationError, InvalidParameterError
from nanomorph.network import network_metrics
from nanomorph.synthetic import render_sticks, stick_network

SIZE = 64


def blank() -> np.ndarray:
    return np.zeros((SIZE, SIZE), dtype=bool)


def horizontal_line(n_px: int) -> np.ndarray:
    mask = blank()
    mask[30, 5:5 + n_px] = True
    return mask


def plus_sign(arm_px: int) -> np.ndarray:
    """Two 1-px lines crossing at (30, 30), each arm ``arm_px`` pixels beyond the centre."""
    mask = blank()
    mask[30, 30 - arm_px:31 + arm_px] = True
    mask[30 - arm_px:31 + arm_px, 30] = True
    return mask


def x_sign(arm_px: int) -> np.ndarray:
    """Two diagonal 1-px lines crossing at (30, 30)."""
    mask = blank()
    steps = np.arange(-arm_px, arm_px + 1)
    mask[30 + steps, 30 + steps] = True
    mask[30 + steps, 30 - steps] = True
    return mask


def test_straight_line_of_n_pixels_has_length_n_minus_1_and_two_ends():
    m = network_metrics(horizontal_line(21))
    assert m.total_length == pytest.approx(20.0)
    assert (m.junctions, m.end_points, m.segments, m.isolated_points) == (0, 2, 1, 0)
    assert m.mean_segment_length == pytest.approx(20.0)
    assert m.estimated_wires == 1.0
    assert m.unit == "px" and m.area_um2 is None and m.wires_per_um2 is None


def test_plus_sign_is_one_junction_with_four_arms_and_no_length_counted_twice():
    m = network_metrics(plus_sign(10))
    assert (m.junctions, m.end_points, m.segments) == (1, 4, 4)
    # the triangles around the centre do not add their diagonals: 4 arms of 10 px
    assert m.total_length == pytest.approx(40.0)
    np.testing.assert_allclose(m.segment_lengths, 10.0)


def test_x_of_diagonal_lines_is_one_junction_with_four_diagonal_arms():
    m = network_metrics(x_sign(10))
    assert (m.junctions, m.end_points, m.segments) == (1, 4, 4)
    assert m.total_length == pytest.approx(40 * math.sqrt(2))
    assert m.median_segment_length == pytest.approx(10 * math.sqrt(2))


def test_t_junction_segments_add_up_to_the_total_length():
    mask = blank()
    mask[20, 10:51] = True   # bar: 40 px long
    mask[21:41, 30] = True   # stem: 20 links down from the bar
    m = network_metrics(mask)
    assert (m.junctions, m.end_points, m.segments) == (1, 3, 3)
    assert m.total_length == pytest.approx(60.0)
    assert sorted(m.segment_lengths) == pytest.approx([20.0, 20.0, 20.0])


def test_closed_ring_has_no_ends_and_about_its_circumference():
    mask = blank()
    mask[disk((32, 32), 16, shape=mask.shape)] = True
    mask[disk((32, 32), 12, shape=mask.shape)] = False
    m = network_metrics(mask)
    assert (m.junctions, m.end_points, m.segments) == (0, 0, 1)
    assert m.total_length == pytest.approx(2 * math.pi * 14, rel=0.08)
    assert m.estimated_wires == 0.0


def test_a_wide_line_skeletonises_to_one_segment_shorter_by_about_its_width():
    mask = blank()
    mask[28:33, 5:56] = True  # 5 px wide, 51 px long
    m = network_metrics(mask)
    assert (m.junctions, m.end_points, m.segments) == (0, 2, 1)
    assert 50 - 5 <= m.total_length <= 50


def test_a_dot_is_an_isolated_point_not_a_wire():
    mask = blank()
    mask[disk((20, 20), 5)] = True  # a round particle thins to a single pixel
    m = network_metrics(mask)
    assert (m.isolated_points, m.end_points, m.segments, m.total_length) == (1, 0, 0, 0.0)


def test_counts_of_separate_shapes_add_up():
    mask = plus_sign(10)
    mask[5, 5:26] = True
    m = network_metrics(mask)
    assert (m.junctions, m.end_points, m.segments) == (1, 6, 5)
    assert m.total_length == pytest.approx(60.0)


def test_calibrated_spacing_scales_lengths_and_gives_densities():
    m = network_metrics(horizontal_line(21), spacing=2.0, unit="nm")
    assert m.unit == "nm"
    assert m.total_length == pytest.approx(40.0)
    area_um2 = (SIZE * 2e-3) ** 2
    assert m.area_um2 == pytest.approx(area_um2)
    assert m.wires_per_um2 == pytest.approx(1 / area_um2)
    assert m.length_density_per_um == pytest.approx(40e-3 / area_um2)
    record = m.as_record()
    assert record["total_length_nm"] == pytest.approx(40.0)
    assert record["mean_segment_length_nm"] == pytest.approx(40.0)
    assert "total_length_px" not in record


@pytest.mark.parametrize("mask, expected", [
    (horizontal_line(21), 20 * 2.0),           # x links scale with sx
    (horizontal_line(21).T, 20 * 3.0),         # y links scale with sy
    (x_sign(10), 40 * math.hypot(3.0, 2.0)),   # diagonal links: sqrt(sy² + sx²)
])
def test_anisotropic_spacing_scales_each_axis(mask, expected):
    m = network_metrics(mask, spacing=(3.0, 2.0), unit="nm")
    assert m.total_length == pytest.approx(expected)


def test_units_micrometres_keep_their_unit_and_angstroms_become_nanometres():
    um = network_metrics(horizontal_line(21), spacing=0.5, unit="um")
    assert um.unit == "µm" and um.as_record()["total_length_um"] == pytest.approx(10.0)
    assert um.length_density_per_um == pytest.approx(10.0 / (SIZE * 0.5) ** 2)
    angstrom = network_metrics(horizontal_line(21), spacing=5.0, unit="Å")
    assert angstrom.unit == "nm" and angstrom.total_length == pytest.approx(10.0)


def test_rendered_stick_network_length_matches_the_sticks_inside_the_frame():
    for seed in range(3):
        sticks = stick_network(30, 40.0, 200.0, seed=seed)
        mask = render_sticks(sticks, 200.0, 2.0, seed=seed).mask
        inside = np.linalg.norm(sticks[:, 1] - sticks[:, 0], axis=1).sum()
        m = network_metrics(mask)
        assert m.total_length == pytest.approx(inside, rel=0.10)
        assert m.junctions > 0 and m.segments > m.junctions


def test_empty_mask_gives_zeros_and_a_json_ready_record():
    m = network_metrics(blank(), spacing=1.0, unit="nm")
    assert (m.total_length, m.junctions, m.end_points, m.segments) == (0.0, 0, 0, 0)
    assert m.mean_segment_length == 0.0 and m.median_segment_length == 0.0
    record = json.loads(json.dumps(m.as_record()))
    assert record["wires_per_um2"] == 0.0 and record["total_length_nm"] == 0.0


@pytest.mark.parametrize("kwargs, error", [
    ({"mask": np.zeros((4, 4, 4), bool)}, InvalidParameterError),
    ({"mask": blank(), "unit": "nm"}, CalibrationError),                  # unit without a size
    ({"mask": blank(), "spacing": 1.0}, CalibrationError),                # size in "px"
    ({"mask": blank(), "spacing": -1.0, "unit": "nm"}, CalibrationError),
    ({"mask": blank(), "spacing": 0.1, "unit": "1/nm"}, CalibrationError),  # diffraction
])
def test_bad_input_raises_an_error_a_user_can_read(kwargs, error):
    with pytest.raises(error):
        network_metrics(**kwargs)
