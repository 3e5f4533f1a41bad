"""DBSCAN of mask pixels: the exact grid method against scikit-learn's DBSCAN."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage.draw import line

from nanomorph.errors import InvalidParameterError
from nanomorph.percolation import cluster_mask
from nanomorph.percolation import dbscan_grid
from nanomorph.percolation.footprint import Footprint

NICE_EPS = [1.0, 1.5, math.sqrt(2), 2.0, math.sqrt(5), 2.5, 3.0, 3.2]
# binary fractions: scaled pixel coordinates and their distances are exact in floating point,
# so scikit-learn's comparisons match the footprint's exactly
SPACINGS = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0]

eps_values = st.one_of(st.sampled_from(NICE_EPS), st.floats(0.3, 4.5))
spacing_values = st.one_of(st.just((1.0, 1.0)),
                           st.tuples(st.sampled_from(SPACINGS), st.sampled_from(SPACINGS)))


@st.composite
def random_masks(draw) -> np.ndarray:
    shape = (draw(st.integers(1, 40)), draw(st.integers(1, 40)))
    density = draw(st.sampled_from([0.0, 0.03, 0.1, 0.3, 0.5, 0.8, 1.0]) | st.floats(0, 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.random(shape) < density


@st.composite
def line_masks(draw) -> np.ndarray:
    """Thin (1-px) lines with random ends: gaps of one or two pixels between wires."""
    shape = (draw(st.integers(5, 40)), draw(st.integers(5, 40)))
    mask = np.zeros(shape, bool)
    for _ in range(draw(st.integers(1, 6))):
        r0, r1 = draw(st.integers(0, shape[0] - 1)), draw(st.integers(0, shape[0] - 1))
        c0, c1 = draw(st.integers(0, shape[1] - 1)), draw(st.integers(0, shape[1] - 1))
        mask[line(r0, c0, r1, c1)] = True
    return mask


def core_within_eps(mask_core: np.ndarray, pixel: tuple[int, int], eps: float,
                    spacing: tuple[float, float]) -> np.ndarray:
    """Coordinates (row, col) of the core pixels within eps of ``pixel``, by brute force,
    sorted by distance, then row, then column."""
    rows, cols = np.nonzero(mask_core)
    distance_sq = ((rows - pixel[0]) * spacing[0]) ** 2 + ((cols - pixel[1]) * spacing[1]) ** 2
    near = distance_sq <= eps * eps
    order = np.lexsort((cols[near], rows[near], distance_sq[near]))
    return np.column_stack([rows[near], cols[near]])[order]


def assert_same_as_sklearn(mask: np.ndarray, eps: float, min_samples: int,
                           spacing: tuple[float, float]) -> None:
    exact = cluster_mask(mask, eps, min_samples, spacing=spacing)
    paper = cluster_mask(mask, eps, min_samples, spacing=spacing, method="dbscan")
    np.testing.assert_array_equal(exact.core, paper.core)
    np.testing.assert_array_equal(exact.labels == -1, paper.labels == -1)
    np.testing.assert_array_equal(exact.labels == 0, ~mask)
    assert exact.n_clusters == paper.n_clusters
    # same clusters of core pixels, and even the same numbers (raster order of first core pixel)
    np.testing.assert_array_equal(exact.labels[exact.core], paper.labels[paper.core])
    border = (exact.labels > 0) & ~exact.core
    for pixel in zip(*np.nonzero(border)):
        near = core_within_eps(exact.core, pixel, eps, spacing)
        clusters = set(exact.labels[near[:, 0], near[:, 1]].tolist())
        nearest = exact.labels[near[0, 0], near[0, 1]]
        assert exact.labels[pixel] == nearest, "border pixel not with its nearest core pixel"
        assert paper.labels[pixel] in clusters
        if len(clusters) == 1:
            assert paper.labels[pixel] == exact.labels[pixel]


HYPOTHESIS = settings(max_examples=120, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])


@HYPOTHESIS
@given(mask=random_masks(), eps=eps_values, min_samples=st.integers(1, 8),
       spacing=spacing_values)
def test_exact_equals_sklearn_on_random_masks(mask, eps, min_samples, spacing):
    assert_same_as_sklearn(mask, eps, min_samples, spacing)


@settings(HYPOTHESIS, max_examples=80)
@given(mask=line_masks(), eps=eps_values, min_samples=st.integers(1, 8), spacing=spacing_values)
def test_exact_equals_sklearn_on_thin_lines(mask, eps, min_samples, spacing):
    assert_same_as_sklearn(mask, eps, min_samples, spacing)


@pytest.mark.parametrize("eps, min_samples, spacing", [
    (2.0, 2, (1.0, 1.0)),
    (3.2, 5, (1.0, 1.0)),
    (2.5, 3, (0.5, 1.5)),   # anisotropic: more reach along y than along x
    (1.0, 1, (1.0, 1.0)),
])
def test_exact_equals_sklearn_on_a_stick_network(eps, min_samples, spacing):
    from nanomorph.synthetic import render_sticks, stick_network

    mask = render_sticks(stick_network(60, 40.0, 120.0, seed=3), 120.0, 2.0).mask.astype(bool)
    mask &= np.random.default_rng(0).random(mask.shape) < 0.8  # holes and stray pixels
    assert_same_as_sklearn(mask, eps, min_samples, spacing)


def test_footprint_matches_the_distance_rule():
    for eps, spacing in [(2.0, (1.0, 1.0)), (math.sqrt(5), (1.0, 1.0)), (2.5, (0.5, 1.5)),
                         (0.7, (1.0, 1.0)), (3.0, (3.5, 0.5))]:
        footprint = Footprint.build(eps, spacing, (50, 50))
        dy, dx = np.mgrid[-50:51, -50:51]
        expected = (dy * spacing[0]) ** 2 + (dx * spacing[1]) ** 2 <= eps * eps
        image = np.zeros_like(expected)
        image[50 - footprint.ry:51 + footprint.ry, 50 - footprint.rx:51 + footprint.rx] = \
            footprint.image()
        np.testing.assert_array_equal(image, expected)
        assert footprint.size == expected.sum() == len(footprint.offsets)


def test_eps_2_footprint_is_the_13_pixel_disk_and_ties_go_up_then_left():
    footprint = Footprint.build(2.0, (1.0, 1.0), (10, 10))
    assert footprint.size == 13
    assert footprint.structure().all()  # 8-connectivity
    assert [tuple(o) for o in footprint.offsets[:5]] == [(0, 0), (-1, 0), (0, -1), (0, 1), (1, 0)]
    assert [tuple(o) for o in footprint.far_half_offsets()] == [(0, 2), (2, 0)]


def test_border_pixel_between_two_clusters_joins_the_nearest_core():
    mask = np.zeros((3, 12), bool)
    mask[:, 0:5] = True      # left wire, cols 0-4
    mask[1, 5] = True        # 1 px from the left wire's core, 2 px from the right one's
    mask[:, 7:12] = True     # right wire, cols 7-11
    clusters = cluster_mask(mask, eps=2.0, min_samples=7)
    assert clusters.n_clusters == 2
    assert clusters.core[1, 4] and clusters.core[1, 7] and not clusters.core[1, 5]
    assert clusters.labels[1, 5] == clusters.labels[1, 4] == 1
    assert clusters.labels[1, 7] == 2


def test_equal_distance_tie_goes_to_the_upper_core_pixel():
    mask = np.zeros((7, 5), bool)
    mask[0:2, :] = True     # upper wire, rows 0-1
    mask[5:7, :] = True     # lower wire, rows 5-6
    mask[3, 2] = True       # 2 px from both
    clusters = cluster_mask(mask, eps=2.0, min_samples=4)
    assert clusters.n_clusters == 2 and not clusters.core[3, 2]
    assert clusters.core[1, 2] and clusters.core[5, 2]
    assert clusters.labels[3, 2] == clusters.labels[1, 2] == 1
    assert clusters.labels[5, 2] == 2


def test_numbering_follows_the_raster_order_of_the_first_core_pixel():
    mask = np.zeros((8, 8), bool)
    mask[5, 0:3] = True     # starts lower but further left
    mask[0, 6:8] = True     # starts in the top row
    mask[3, 3] = True       # noise
    clusters = cluster_mask(mask)
    assert clusters.n_clusters == 2
    assert clusters.labels[0, 6] == 1 and clusters.labels[5, 0] == 2
    assert clusters.labels[3, 3] == -1


def test_eps_below_one_pixel_sees_only_the_pixel_itself():
    mask = np.ones((4, 5), bool)
    alone = cluster_mask(mask, eps=0.9, min_samples=2)
    assert alone.n_clusters == 0 and not alone.core.any() and (alone.labels == -1).all()
    each = cluster_mask(mask, eps=0.9, min_samples=1)
    assert each.n_clusters == 20 and each.core.all()
    np.testing.assert_array_equal(each.labels.ravel(), np.arange(1, 21))


def test_min_samples_one_makes_every_pixel_core():
    mask = np.random.default_rng(1).random((30, 30)) < 0.2
    clusters = cluster_mask(mask, eps=1.0, min_samples=1)
    np.testing.assert_array_equal(clusters.core, mask)
    assert not (clusters.labels == -1).any()


def test_huge_eps_puts_all_pixels_in_one_cluster():
    mask = np.zeros((50, 60), bool)
    mask[3, 4] = mask[45, 50] = mask[20, 30] = True
    one = cluster_mask(mask, eps=1000.0, min_samples=3)
    assert one.n_clusters == 1 and one.core[mask].all() and (one.labels[mask] == 1).all()
    none = cluster_mask(mask, eps=1000.0, min_samples=4)
    assert none.n_clusters == 0 and (none.labels[mask] == -1).all()
    assert cluster_mask(mask, eps=1e300, min_samples=3, spacing=(1e-10, 1.0)).n_clusters == 1


def test_large_eps_uses_the_fft_count_and_stays_exact(monkeypatch):
    mask = np.random.default_rng(2).random((40, 50)) < 0.1
    monkeypatch.setattr(dbscan_grid, "FFT_COUNT_MIN_EXTENT", 0)
    assert_same_as_sklearn(mask, 3.5, 6, (1.0, 1.0))
    assert_same_as_sklearn(mask, 12.0, 30, (1.0, 0.5))


def test_far_merges_join_components_across_gaps():
    # dashes with 1-px gaps: no 8-connected component spans, eps=2 joins them all
    mask = np.zeros((5, 40), bool)
    mask[2, ::2] = True
    clusters = cluster_mask(mask, eps=2.0, min_samples=2)
    assert clusters.n_clusters == 1 and (clusters.labels[mask] == 1).all()
    assert cluster_mask(mask, eps=1.9, min_samples=2).n_clusters == 0  # all noise


def test_integer_masks_use_nonzero_as_foreground():
    mask = np.zeros((6, 6), np.uint8)
    mask[2, 1:5] = 127
    clusters = cluster_mask(mask)
    assert clusters.n_clusters == 1 and (clusters.labels[2, 1:5] == 1).all()


def test_empty_mask_has_no_clusters():
    for method in ("exact", "dbscan"):
        clusters = cluster_mask(np.zeros((10, 12), bool), method=method)
        assert clusters.n_clusters == 0 and not clusters.labels.any() and not clusters.core.any()


@pytest.mark.parametrize("kwargs, message", [
    ({"eps": 0}, "eps"),
    ({"eps": -1.0}, "eps"),
    ({"eps": float("nan")}, "eps"),
    ({"min_samples": 0}, "min_samples"),
    ({"min_samples": 2.5}, "min_samples"),
    ({"method": "hdbscan"}, "method"),
    ({"spacing": (1.0, 0.0)}, "pixel size"),
    ({"spacing": (1.0,)}, "pixel size"),
])
def test_bad_parameters_are_refused(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        cluster_mask(np.ones((3, 3), bool), **kwargs)


def test_mask_must_be_2d():
    with pytest.raises(InvalidParameterError, match="2-D"):
        cluster_mask(np.ones((3, 3, 3), bool))
