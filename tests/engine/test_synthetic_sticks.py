"""Continuum stick percolation: segment intersection, clusters, spanning, rendering."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import ndimage
from scipy.sparse.csgraph import connected_components

from nanomorph.synthetic import (
    CRITICAL_DENSITY_NL2,
    render_sticks,
    segments_intersect,
    stick_clusters,
    stick_network,
    sticks_span,
)

LENGTH_PX, BOX_PX = 10.0, 100.0  # box = 10 L


def n_for(density_nl2: float) -> int:
    return round(density_nl2 * (BOX_PX / LENGTH_PX) ** 2)


def spanning_probabilities(density_nl2: float, seeds=range(40)) -> np.ndarray:
    """Fractions of seeds with (spans_x, spans_y, percolates)."""
    n = n_for(density_nl2)
    return np.mean([sticks_span(stick_network(n, LENGTH_PX, BOX_PX, seed=s), BOX_PX) for s in seeds],
                   axis=0)


@pytest.mark.parametrize("a, b, expected", [
    ([[0, 0], [2, 2]], [[0, 2], [2, 0]], True),     # an X
    ([[0, 0], [2, 0]], [[1, 0], [1, 3]], True),     # a T: one end on the other stick
    ([[0, 0], [2, 0]], [[1, 0.1], [1, 3]], False),  # a T that misses by 0.1
    ([[0, 0], [2, 0]], [[0, 1], [2, 1]], False),    # parallel
    ([[0, 0], [2, 0]], [[1, 0], [3, 0]], True),     # collinear, overlapping
    ([[0, 0], [2, 0]], [[3, 0], [4, 0]], False),    # collinear, apart
    ([[0, 0], [2, 0]], [[2, 0], [4, 1]], True),     # sharing an end point
    ([[0, 0], [1, 1]], [[2, 2], [3, 0]], False),    # the lines cross outside both segments
])
def test_segment_intersection_cases(a, b, expected):
    a, b = np.array([a], dtype=float), np.array([b], dtype=float)
    assert segments_intersect(a, b)[0] == expected
    assert segments_intersect(b, a)[0] == expected


def test_sticks_are_clipped_to_the_box_and_keep_their_length_inside():
    segments = stick_network(2000, 20.0, 100.0, seed=0)
    assert segments.shape == (2000, 2, 2)
    assert segments.min() >= 0.0 and segments.max() <= 100.0
    lengths = np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1)
    inside = (segments.min(axis=(1, 2)) > 1e-6) & (segments.max(axis=(1, 2)) < 100.0 - 1e-6)
    np.testing.assert_allclose(lengths[inside], 20.0)
    assert (lengths[~inside] < 20.0 + 1e-9).all() and (~inside).sum() > 100
    # clipped sticks end exactly on the border
    on_border = np.isclose(segments, 0.0, atol=1e-9) | np.isclose(segments, 100.0, atol=1e-9)
    assert on_border[~inside].any(axis=(1, 2)).all()


def test_clusters_match_an_all_pairs_search():
    segments = stick_network(400, 10.0, 60.0, seed=3)
    i, j = np.triu_indices(len(segments), 1)
    hits = segments_intersect(segments[i], segments[j])
    graph = np.zeros((400, 400), dtype=bool)
    graph[i[hits], j[hits]] = True
    n_expected, expected = connected_components(graph, directed=False)
    labels = stick_clusters(segments)
    assert labels.max() + 1 == n_expected
    # the same partition: labels map one to one
    assert len(set(zip(labels, expected))) == n_expected


def test_hand_made_spanning_cases():
    box = 10.0
    horizontal = np.array([[[5.0, 0.0], [5.0, 10.0]]])
    assert sticks_span(horizontal, box) == (True, False, False)
    cross = np.array([[[5.0, 0.0], [5.0, 10.0]], [[0.0, 5.0], [10.0, 5.0]]])
    assert sticks_span(cross, box) == (True, True, True)
    apart = np.array([[[5.0, 0.0], [5.0, 4.0]], [[5.0, 6.0], [5.0, 10.0]]])
    assert sticks_span(apart, box) == (False, False, False)
    corner = np.array([[[2.0, 0.0], [2.0, 10.0]], [[0.0, 5.0], [1.0, 5.0]]])
    assert sticks_span(corner, box) == (True, False, False)


def test_spanning_probability_around_the_critical_density():
    below = spanning_probabilities(3.0)
    critical = spanning_probabilities(CRITICAL_DENSITY_NL2)
    above = spanning_probabilities(9.0)
    assert below[0] <= 0.05 and below[1] <= 0.05
    assert 0.3 <= critical[0] <= 0.8 and 0.3 <= critical[:2].mean() <= 0.8
    assert above[0] >= 0.95 and above[1] >= 0.95 and above[2] >= 0.95


def test_two_thousand_sticks_take_well_under_a_second():
    box = BOX_PX * np.sqrt(2000 / n_for(CRITICAL_DENSITY_NL2))
    segments = stick_network(2000, LENGTH_PX, box, seed=1)
    start = time.perf_counter()
    sticks_span(segments, box)
    assert time.perf_counter() - start < 1.0


def test_rendered_sticks_keep_every_stick_cluster_in_one_mask_component():
    box = 120.0
    segments = stick_network(150, 20.0, box, seed=2)
    result = render_sticks(segments, box, 3.0, seed=2)
    assert result.image.shape == result.mask.shape == (120, 120)
    labels = stick_clusters(segments)
    components = ndimage.label(result.mask, structure=np.ones((3, 3)))[0]
    # the pixel nearest each stick's midpoint (box coordinate c lies in pixel floor(c))
    midpoints = np.clip(np.floor(segments.mean(axis=1)).astype(int), 0, 119)
    component_of_stick = components[midpoints[:, 0], midpoints[:, 1]]
    assert (component_of_stick > 0).all()
    for cluster in np.unique(labels):
        assert len(set(component_of_stick[labels == cluster])) == 1
    assert components.max() <= labels.max() + 1


def test_rendered_stick_spanning_sticks_reach_the_image_border():
    box = 50.0
    segments = np.array([[[25.0, 0.0], [25.0, 50.0]]])
    mask = render_sticks(segments, box, 1.0).mask
    # the box row 25 lies between pixel rows 24 and 25 (centres 24.5 and 25.5): both within 0.5
    assert mask[24].all() and mask[25].all() and mask.sum() == 100
