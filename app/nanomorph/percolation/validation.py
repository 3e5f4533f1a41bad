"""Validation of the pixel percolation pipeline against exact continuum stick percolation.

One trial draws random sticks (:func:`nanomorph.synthetic.stick_network`), decides spanning
exactly on the zero-width sticks (:func:`nanomorph.synthetic.sticks_span`), and again with DBSCAN
on the rendered mask of rods of a given width (:func:`nanomorph.percolation.analyse_percolation`).
Sweeping the density ``n * L**2`` gives spanning-probability curves whose 1/2 crossing estimates
the critical density; for sticks in the infinite plane it is ``CRITICAL_DENSITY_NL2 = 5.63726``.

The pixel pipeline sees rods, not lines: two rods of width w connect when their axes come within
about ``w + eps`` pixels, so the network percolates at a lower density.
:func:`excluded_area_threshold` estimates that shift from the (approximately) invariant total
excluded area at the threshold (Balberg et al., Phys. Rev. B 30, 3933, 1984).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit
from scipy.special import ndtr

from nanomorph.percolation import analyse_percolation
from nanomorph.synthetic import (
    CRITICAL_DENSITY_NL2,
    render_sticks,
    stick_network,
    sticks_span,
)

# Mean excluded area of two isotropic zero-width sticks of length L is (2 / π) L².
_STICK_EXCLUDED_AREA_L2 = 2 / math.pi
# Finite-size exponent of 2-D percolation: the crossing shifts as box**(-1 / ν), ν = 4/3.
_NU = 4 / 3


@dataclass(frozen=True)
class SpanVerdicts:
    """Spanning verdicts of one stick network: ``(spans_x, spans_y, percolates)`` each.

    Attributes
    ----------
    geometric : tuple of bool
        Exact, on the zero-width sticks.
    pixel : tuple of bool
        DBSCAN on the rendered mask of rods.
    """

    geometric: tuple[bool, bool, bool]
    pixel: tuple[bool, bool, bool]


def stick_trial(n_sticks: int, length_px: float, box_px: float, width_px: float, seed: int, *,
                eps: float = 2.0, min_samples: int = 2, margin: float = 2.0) -> SpanVerdicts:
    """Spanning of one random stick network, exactly and through the pixel pipeline.

    Parameters
    ----------
    n_sticks : int
        Number of sticks.
    length_px, box_px, width_px : float
        Stick length, side of the square box and rendered rod width, in pixels.
    seed : int
        Seed of the sticks (and of the rendering's noise, which the mask does not depend on).
    eps, min_samples, margin : float, int, float
        DBSCAN radius (px), core-point size and spanning margin (px) of the pixel pipeline.

    Returns
    -------
    SpanVerdicts
    """
    segments = stick_network(n_sticks, length_px, box_px, seed=seed)
    mask = render_sticks(segments, box_px, width_px, seed=seed).mask
    result = analyse_percolation(mask, eps, min_samples, margin)
    return SpanVerdicts(sticks_span(segments, box_px),
                        (result.spans_x, result.spans_y, result.percolates))


def spanning_crossing(densities: np.ndarray, probabilities: np.ndarray,
                      n_trials: int) -> tuple[float, float]:
    """Density at which a fitted spanning-probability curve crosses 1/2.

    Fits ``P(x) = Φ((x - x_c) / s)`` (a normal CDF) by weighted least squares; the weights are
    binomial standard errors with a ``1 / n_trials`` floor so that P = 0 or 1 keep a finite weight.

    Parameters
    ----------
    densities : ndarray
        Densities of the sweep (e.g. ``n * L**2``), increasing.
    probabilities : ndarray
        Fraction of trials that spanned at each density.
    n_trials : int
        Trials per density.

    Returns
    -------
    x_c, standard_error : float
        In the units of ``densities``; both NaN when the curve does not cross 1/2 in the sweep.
    """
    densities = np.asarray(densities, dtype=float)
    probabilities = np.asarray(probabilities, dtype=float)
    above = np.flatnonzero(probabilities >= 0.5)
    if len(above) == 0 or above[0] == 0:
        return math.nan, math.nan
    i = above[0]
    guess = np.interp(0.5, probabilities[i - 1:i + 1], densities[i - 1:i + 1])
    sigma = np.sqrt((probabilities * (1 - probabilities) + 1 / n_trials) / n_trials)
    (x_c, _), covariance = curve_fit(lambda x, x_c, s: ndtr((x - x_c) / s), densities,
                                     probabilities, p0=(guess, 0.5), sigma=sigma,
                                     absolute_sigma=True, bounds=([-np.inf, 1e-6], np.inf))
    return float(x_c), float(math.sqrt(covariance[0, 0]))


def excluded_area_threshold(reach_px: float, length_px: float) -> float:
    """Approximate critical ``n * L**2`` of rods whose axes connect within ``reach_px``.

    Two isotropic rods (stadiums) of length L connecting within distance D have the mean excluded
    area ``(2/π) L² + 4 L D + π D²``; keeping the total excluded area at the threshold equal to
    that of zero-width sticks gives ``n_c L² = 5.63726 · (2/π) / (2/π + 4 D/L + π (D/L)²)``. The
    invariance is approximate (it holds well for long thin rods, less so as D/L grows).

    Parameters
    ----------
    reach_px, length_px : float
        Connection distance D and stick length L, in pixels.

    Returns
    -------
    float
        The approximate critical ``n L²``.
    """
    d = reach_px / length_px
    return CRITICAL_DENSITY_NL2 * _STICK_EXCLUDED_AREA_L2 / (
        _STICK_EXCLUDED_AREA_L2 + 4 * d + math.pi * d ** 2)


def infinite_box_threshold(box_over_length: np.ndarray, thresholds: np.ndarray) -> float:
    """Extrapolate finite-box critical densities to the infinite plane.

    Least-squares fit of ``x_c(W) = x_inf + a · (W / L)**(-1/ν)`` with ν = 4/3 (2-D percolation).
    Crude with few box sizes: it assumes the boxes are large enough for the leading correction.

    Parameters
    ----------
    box_over_length : ndarray
        Box sides W in units of the stick length L.
    thresholds : ndarray
        Critical densities measured in those boxes.

    Returns
    -------
    float
        ``x_inf`` in the units of ``thresholds``.
    """
    scaling = np.asarray(box_over_length, dtype=float) ** (-1 / _NU)
    _, x_inf = np.polyfit(scaling, np.asarray(thresholds, dtype=float), 1)
    return float(x_inf)
