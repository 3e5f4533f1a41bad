"""Helpers of the stick-percolation validation: crossing fit, excluded area, finite-size trend."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtr

from nanomorph.synthetic import CRITICAL_DENSITY_NL2
from nanomorph.percolation.validation import (
    excluded_area_threshold,
    infinite_box_threshold,
    spanning_crossing,
    stick_trial,
)

DENSITIES = np.arange(2.0, 9.01, 0.5)


def test_crossing_of_a_noise_free_curve_is_its_midpoint():
    x_c, error = spanning_crossing(DENSITIES, ndtr((DENSITIES - 5.3) / 0.7), n_trials=100)
    assert x_c == pytest.approx(5.3, abs=1e-3)
    assert 0 < error < 0.1


def test_crossing_of_a_binomial_sample_is_within_a_few_standard_errors():
    rng = np.random.default_rng(0)
    p = rng.binomial(50, ndtr((DENSITIES - 4.2) / 0.5)) / 50
    x_c, error = spanning_crossing(DENSITIES, p, n_trials=50)
    assert abs(x_c - 4.2) < 4 * error


@pytest.mark.parametrize("p", [np.zeros(len(DENSITIES)), np.ones(len(DENSITIES))])
def test_a_curve_that_does_not_cross_one_half_has_no_crossing(p):
    assert all(math.isnan(v) for v in spanning_crossing(DENSITIES, p, n_trials=10))


def test_excluded_area_threshold_of_zero_width_sticks_is_the_continuum_value():
    assert excluded_area_threshold(0.0, 40.0) == pytest.approx(CRITICAL_DENSITY_NL2)
    # D = L / 10: (2/π) / (2/π + 0.4 + 0.01π) of the stick value
    expected = CRITICAL_DENSITY_NL2 * (2 / math.pi) / (2 / math.pi + 0.4 + 0.01 * math.pi)
    assert excluded_area_threshold(4.0, 40.0) == pytest.approx(expected)


def test_infinite_box_extrapolation_recovers_the_limit_of_a_power_law():
    boxes = np.array([5.0, 10.0, 20.0])
    assert infinite_box_threshold(boxes, 5.6 + 2.0 * boxes ** -0.75) == pytest.approx(5.6)


@pytest.mark.parametrize("density_nl2, expected", [(0.5, False), (15.0, True)])
def test_sparse_networks_do_not_percolate_and_dense_ones_do_by_both_methods(density_nl2, expected):
    verdicts = stick_trial(round(density_nl2 * 25), 20.0, 100.0, 2.0, seed=3)
    assert verdicts.geometric == (expected,) * 3
    assert verdicts.pixel == (expected,) * 3
