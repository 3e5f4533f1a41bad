"""The spanning test, units, the per-cluster table and the `nanomorph percolate` record."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nanomorph.errors import CalibrationError, InvalidParameterError
from nanomorph.percolation import RECORD_KEYS, analyse_percolation

H, W = 40, 50


def blank() -> np.ndarray:
    return np.zeros((H, W), bool)


def test_horizontal_line_spans_x_not_y():
    mask = blank()
    mask[10:13, :] = True   # 3 px wide, col 0 to W-1
    result = analyse_percolation(mask)
    assert (result.spans_x, result.spans_y, result.percolates) == (True, False, False)
    assert result.n_clusters == 1
    (cluster,) = result.clusters
    assert cluster.bbox == (10, 0, 12, W - 1)
    assert (cluster.extent_x_px, cluster.extent_y_px) == (W - 1, 2)
    assert cluster.pixels == 3 * W and cluster.area == 3 * W


def test_cross_spans_both_ways():
    mask = blank()
    mask[20:23, :] = True
    mask[:, 30:33] = True
    result = analyse_percolation(mask)
    assert (result.spans_x, result.spans_y, result.percolates) == (True, True, True)
    assert result.largest_cluster_fraction == 1.0


def test_margin_is_the_allowed_shortfall_in_pixels():
    # the rule: max(col) - min(col) >= width - margin
    mask = blank()
    mask[5, 0:W - 1] = True             # cols 0..W-2: extent W - 2
    assert analyse_percolation(mask, margin=2).spans_x
    assert not analyse_percolation(mask, margin=1).spans_x
    inset = blank()
    inset[5, 1:W - 1] = True            # cols 1..W-2: extent W - 3
    assert not analyse_percolation(inset, margin=2).spans_x
    assert analyse_percolation(inset, margin=3).spans_x
    assert not analyse_percolation(inset, margin=0).spans_x


def test_l_shaped_cluster_spans_both_ways():
    mask = blank()
    mask[H - 3:, :] = True    # bottom edge
    mask[:, 0:3] = True       # left edge
    result = analyse_percolation(mask)
    assert result.percolates and result.n_clusters == 1


def test_one_cluster_across_and_another_down_does_not_percolate():
    mask = blank()
    mask[5:8, 0:W - 3] = True     # across: cols 0..W-4, extent W - 4
    mask[:, W - 1] = True         # down the last column, 3 px from the band's end (> eps)
    result = analyse_percolation(mask, margin=4)
    assert result.n_clusters == 2
    assert [(c.spans_x, c.spans_y) for c in result.clusters] == [(False, True), (True, False)]
    assert result.spans_x and result.spans_y and not result.percolates
    joined = analyse_percolation(mask, eps=3, margin=4)  # eps 3 bridges the gap
    assert joined.n_clusters == 1 and joined.percolates


def test_empty_mask_does_not_percolate():
    result = analyse_percolation(blank())
    assert not result.percolates and not result.spans_x and not result.spans_y
    assert result.n_clusters == 0 and result.clusters == []
    assert result.foreground_pixels == result.noise_pixels == 0
    assert result.foreground_fraction == 0.0 and result.largest_cluster_fraction == 0.0


def test_all_foreground_is_one_spanning_cluster():
    result = analyse_percolation(np.ones((H, W), bool))
    assert result.percolates and result.n_clusters == 1
    assert result.foreground_fraction == 1.0 and result.largest_cluster_fraction == 1.0


def test_noise_is_counted_and_excluded_from_clusters():
    mask = blank()
    mask[10, 0:W] = True
    mask[30, 10] = mask[30, 20] = True      # isolated: noise
    result = analyse_percolation(mask)
    assert result.noise_pixels == 2 and result.foreground_pixels == W + 2
    assert result.largest_cluster_fraction == pytest.approx(W / (W + 2))
    assert result.labels[30, 10] == -1


def test_record_has_exactly_the_contract_keys_and_is_json_ready():
    mask = blank()
    mask[10:13, :] = True
    result = analyse_percolation(mask)
    record = result.as_record()
    assert tuple(record) == RECORD_KEYS
    assert list(result.as_record("a.png")) == ["path", *RECORD_KEYS]
    assert json.loads(json.dumps(record)) == record
    assert record["shape"] == [H, W] and record["method"] == "exact"
    assert record["seconds"] > 0
    assert all(type(v) in (bool, int, float, str, list) for v in record.values())


def test_both_methods_give_the_same_record():
    mask = np.random.default_rng(0).random((H, W)) < 0.25
    exact = analyse_percolation(mask).as_record()
    paper = analyse_percolation(mask, method="dbscan").as_record()
    for key in ("method", "seconds"):
        exact.pop(key), paper.pop(key)
    assert exact == paper


def test_nanometres_equal_pixels_times_pixel_size():
    mask = np.random.default_rng(3).random((H, W)) < 0.2
    in_px = analyse_percolation(mask, eps=2, margin=2)
    in_nm = analyse_percolation(mask, eps=10, margin=10, spacing=(5.0, 5.0), units="nm")
    np.testing.assert_array_equal(in_px.labels, in_nm.labels)
    assert in_nm.units == "nm" and in_nm.eps == 10
    for px, nm in zip(in_px.clusters, in_nm.clusters):
        assert nm.area == pytest.approx(px.pixels * 25.0)
        assert nm.extent_x == pytest.approx(px.extent_x_px * 5.0)
        assert (nm.spans_x, nm.spans_y) == (px.spans_x, px.spans_y)
    in_um = analyse_percolation(mask, eps=0.01, margin=0.01, spacing=(5.0, 5.0), units="um")
    np.testing.assert_array_equal(in_px.labels, in_um.labels)
    assert in_um.units == "µm"


def test_anisotropic_pixels_reach_further_along_the_small_axis():
    mask = blank()
    mask[10, 0:W:3] = True    # dots 3 columns apart
    mask[20:H:3, 5] = True    # dots 3 rows apart
    # pixel 2 nm wide (x) and 4 nm tall (y): 6 nm apart along x, 12 nm along y
    result = analyse_percolation(mask, eps=7, spacing=(4.0, 2.0), units="nm", margin=8)
    row_dots, col_dots = result.labels[10, 0:W:3], result.labels[20:H:3, 5]
    assert (row_dots == row_dots[0]).all() and row_dots[0] > 0
    assert (col_dots == -1).all()
    # margin 8 nm = 4 px along x: the dots end at col 48 (extent 48 >= 50 - 4)
    assert result.spans_x and not result.spans_y


def test_margin_in_units_is_converted_per_axis():
    mask = blank()
    mask[:, 20:23] = True
    mask[0:2, 20:23] = False        # rows 2..H-1: extent H - 3
    # pixel 4 nm tall: a margin of 8 nm is 2 px along y (not enough), 12 nm is 3 px
    assert not analyse_percolation(mask, eps=8, margin=8, spacing=(4.0, 2.0), units="nm").spans_y
    assert analyse_percolation(mask, eps=8, margin=12, spacing=(4.0, 2.0), units="nm").spans_y


def test_lengths_in_nm_need_a_calibration():
    with pytest.raises(CalibrationError, match="uncalibrated"):
        analyse_percolation(blank(), eps=10, units="nm")


@pytest.mark.parametrize("kwargs, message", [
    ({"margin": -1}, "margin"),
    ({"units": "inch", "spacing": (1.0, 1.0)}, "unit"),
    ({"eps": 0}, "eps"),
    ({"min_samples": 0}, "min_samples"),
])
def test_bad_analysis_parameters_are_refused(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        analyse_percolation(blank(), **kwargs)
