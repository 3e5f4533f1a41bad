"""The paper's 224 × 224 analysis resolution."""

from __future__ import annotations

import numpy as np
import pytest

from nanomorph.errors import InvalidParameterError
from nanomorph.percolation import analyse_percolation, resize_for_analysis, resized_pixel_size
from nanomorph.synthetic import render_sticks, stick_network


def test_area_fraction_rule_on_exact_blocks():
    mask = np.zeros((8, 8), bool)
    mask[0:2, 0:2] = True         # a full output pixel at 4 × 4
    mask[0, 2:4] = True           # half an output pixel: kept (>= 0.5)
    mask[4, 4] = True             # a quarter: dropped
    out = resize_for_analysis(mask, size=4)
    expected = np.zeros((4, 4), bool)
    expected[0, 0] = expected[0, 1] = True
    np.testing.assert_array_equal(out, expected)


def test_aspect_ratio_is_not_kept():
    out = resize_for_analysis(np.ones((300, 600), bool), size=224)
    assert out.shape == (224, 224) and out.all()


def test_pixel_size_scales_with_original_over_224():
    assert resized_pixel_size((2.0, 3.0), (1024, 448)) == pytest.approx((2.0 * 1024 / 224, 3.0 * 2))


def test_a_percolating_network_still_percolates_at_224():
    sticks = stick_network(120, 400.0, 1024.0, seed=4)  # n L² / box² ≈ 18.75: well above 5.64
    mask = render_sticks(sticks, 1024.0, width_px=12.0).mask.astype(bool)
    assert analyse_percolation(mask).percolates
    small = resize_for_analysis(mask)
    assert small.shape == (224, 224)
    assert analyse_percolation(small).percolates
    assert small.mean() == pytest.approx(mask.mean(), rel=0.15)


def test_a_one_pixel_line_disappears_at_224():
    """The paper's limitation: wires thinner than about 2.3 px at 1024² vanish at 224²."""
    mask = np.zeros((1024, 1024), bool)
    mask[500, :] = True
    assert analyse_percolation(mask).spans_x
    small = resize_for_analysis(mask)
    assert not small.any()
    assert not analyse_percolation(small).spans_x


def test_bad_size_is_refused():
    with pytest.raises(InvalidParameterError, match="size"):
        resize_for_analysis(np.ones((4, 4), bool), size=0)
