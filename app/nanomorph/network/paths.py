"""Smoothed centre lines of skeleton branches: arc length and local width per pixel.

Works on the branches of :func:`nanomorph.network.graph.skeleton_graph`, all at once (arrays over
the concatenated branch pixels; no Python loop over pixels).

- *Smoothing*: each pixel is replaced by the mean of the pixels within one local radius of it
  along its branch (``SMOOTH_HALF_WINDOW`` to ``MAX_SMOOTH_HALF_WINDOW`` pixels; the skeleton of a
  wide wire wanders by about its radius), the window shrinking towards the ends so the ends stay
  where they are. This removes the staircase of 8-neighbour steps, which makes a straight line
  look up to 8 % longer.
- *Local width*: every mask pixel is given to its nearest skeleton pixel (Euclidean feature
  transform); the width at a pixel is the mask area owned by the pixels within
  ``WIDTH_HALF_WINDOW`` of it along the branch divided by their smoothed arc length. Counting pixels
  is an unbiased estimate of area, so this avoids the ~1 px bias of 2 × the distance transform
  (measured on straight synthetic wires: 2 × EDT − 1 reads 2.4 px for 3-px wires and 28.9 px for
  30-px wires).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nanomorph.network.graph import SkeletonGraph

SMOOTH_HALF_WINDOW = 3
MAX_SMOOTH_HALF_WINDOW = 12
WIDTH_HALF_WINDOW = 4


@dataclass(frozen=True)
class BranchPaths:
    """Per-pixel geometry of every branch (arrays over the graph's ordered branch pixels).

    Attributes
    ----------
    points : ndarray of float, shape (n_pixels, 2)
        Smoothed (row, col) of every branch pixel, in pixels.
    arc : ndarray of float, shape (n_pixels,)
        Arc length from the start of the pixel's branch, in physical units.
    weight : ndarray of float, shape (n_pixels,)
        Arc length each pixel stands for (half of each neighbouring step), physical units.
    width : ndarray of float, shape (n_pixels,)
        Local wire width (diameter) around each pixel, physical units.
    radius_px : ndarray of float, shape (n_pixels,)
        Farthest owned mask pixel from each skeleton pixel, + 0.5, in pixels (the local half width
        used for margins and the border test).
    lengths : ndarray of float, shape (n_branches,)
        Arc length of every branch, physical units.
    """

    points: np.ndarray
    arc: np.ndarray
    weight: np.ndarray
    width: np.ndarray
    radius_px: np.ndarray
    lengths: np.ndarray


def _window(starts: np.ndarray, counts: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last index of a window of ``half`` pixels each side, inside the branch."""
    index = np.arange(counts.sum())
    branch_start = np.repeat(starts[:-1], counts)
    branch_stop = np.repeat(starts[1:], counts)
    return np.maximum(index - half, branch_start), np.minimum(index + half + 1, branch_stop)


def _window_sums(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Sum of ``values[low:high]`` for every window (prefix sums)."""
    prefix = np.concatenate([np.zeros((1,) + values.shape[1:]), np.cumsum(values, axis=0)])
    return prefix[high] - prefix[low]


def owned_reach(owner: np.ndarray, owner_distance: np.ndarray, shape: tuple) -> np.ndarray:
    """Farthest owned mask pixel of every pixel, + 0.5 (a local half width), in pixels.

    Every mask pixel is owned by its nearest skeleton pixel.

    Parameters
    ----------
    owner : ndarray of int
        For every mask pixel, the flat index of its nearest skeleton pixel.
    owner_distance : ndarray of float
        Distance (pixels) of every mask pixel to that skeleton pixel.
    shape : (int, int)
        Image shape.

    Returns
    -------
    ndarray of float, shape (rows * cols,)
        Flat; 0.5 where a pixel owns nothing.
    """
    reach = np.zeros(int(np.prod(shape)))
    np.maximum.at(reach, owner, owner_distance)
    return reach + 0.5


def branch_paths(graph: SkeletonGraph, owned_area: np.ndarray, reach: np.ndarray,
                 spacing: tuple[float, float]) -> BranchPaths:
    """Smoothed centre lines, arc lengths and local widths of all branches.

    Parameters
    ----------
    graph : SkeletonGraph
        The skeleton's branches.
    owned_area : ndarray of int, shape (rows * cols,)
        Number of mask pixels owned by every pixel (flat; see :func:`owned_reach`).
    reach : ndarray of float, shape (rows * cols,)
        Local half width of every pixel in pixels (flat; :func:`owned_reach`).
    spacing : (float, float)
        Pixel size (y, x) in the physical unit (1, 1 for pixels).

    Returns
    -------
    BranchPaths
        Geometry per branch pixel and the length of each branch.
    """
    sy, sx = spacing
    starts = graph.starts
    counts = np.diff(starts)
    n = int(counts.sum())
    raw = np.column_stack(np.unravel_index(graph.pixels, graph.shape)).astype(float)
    centre = np.arange(n)
    branch_start = np.repeat(starts[:-1], counts)
    branch_stop = np.repeat(starts[1:], counts)
    radius_px = reach[graph.pixels]
    reach_half = np.clip(np.rint(radius_px), SMOOTH_HALF_WINDOW, MAX_SMOOTH_HALF_WINDOW).astype(int)
    half = np.minimum(np.minimum(centre - branch_start, branch_stop - 1 - centre), reach_half)
    points = _window_sums(raw, centre - half, centre + half + 1) / (2 * half + 1)[:, None]
    step = np.hypot(np.diff(points[:, 0]) * sy, np.diff(points[:, 1]) * sx)
    step[starts[1:-1] - 1] = 0.0  # no step from one branch to the next
    step = np.concatenate([step, [0.0]])[:n] if n else step[:0]
    arc_end = np.cumsum(step)
    arc = np.concatenate([[0.0], arc_end[:-1]]) if n else arc_end
    arc -= np.repeat(arc[starts[:-1]] if n else arc[:0], counts)
    lengths = np.add.reduceat(step, starts[:-1]) if n else np.zeros(0)
    lengths = np.where(counts > 0, lengths, 0.0)
    before = np.concatenate([[0.0], step[:-1]]) if n else step
    weight = 0.5 * (before + step)

    area = owned_area[graph.pixels] * (sy * sx)
    low, high = _window(starts, counts, WIDTH_HALF_WINDOW)
    with np.errstate(invalid="ignore", divide="ignore"):
        width = _window_sums(area, low, high) / _window_sums(weight, low, high)
    return BranchPaths(points, arc, weight, width, radius_px, lengths)
