"""Continuum stick percolation: random sticks in a square box and their exact spanning clusters.

The geometric truth against which pixel-based percolation (DBSCAN on a mask) is validated. Two
sticks are connected when the segments intersect (touching counts); clusters are the connected
components of that graph. Critical density for isotropic sticks of length L in the plane:
``n_c * L**2 = 5.63726`` (Li & Zhang 2009, Phys. Rev. E 80, 040104).

Sticks hold ``(row, col)`` = ``(y, x)`` coordinates in pixels in the box ``[0, box_px]²``;
"x" is the column axis, as for images.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from nanomorph.errors import InvalidParameterError
from nanomorph.synthetic.render import ImagingParams, SyntheticImage, render

CRITICAL_DENSITY_NL2 = 5.63726
# A stick end within this fraction of the box size from an edge touches that edge.
_EDGE_TOLERANCE = 1e-9


def stick_network(n_sticks: int, length_px: float, box_px: float, *, seed: int) -> np.ndarray:
    """Isotropic random sticks with uniform centres in a square box, clipped to the box.

    Parameters
    ----------
    n_sticks : int
        Number of sticks.
    length_px : float
        Stick length before clipping, in pixels.
    box_px : float
        Side of the box ``[0, box_px]²`` in pixels.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    ndarray, shape (n_sticks, 2, 2)
        ``segments[i, k]`` is end point k of stick i, (row, col) in pixels.

    Raises
    ------
    InvalidParameterError
        For a negative count, or a length or box that is not positive.
    """
    if n_sticks < 0 or not length_px > 0 or not box_px > 0:
        raise InvalidParameterError(
            "n_sticks must not be negative; length_px and box_px must be positive")
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.0, box_px, (n_sticks, 2))
    angles = rng.uniform(0.0, math.pi, n_sticks)
    directions = np.column_stack([np.sin(angles), np.cos(angles)])
    half = 0.5 * length_px
    # Liang–Barsky: the parameter range along each direction that stays inside the box.
    with np.errstate(divide="ignore", invalid="ignore"):
        to_low = -centres / directions
        to_high = (box_px - centres) / directions
    t_min = np.nanmax(np.column_stack([np.full(n_sticks, -half), np.minimum(to_low, to_high)]), axis=1)
    t_max = np.nanmin(np.column_stack([np.full(n_sticks, half), np.maximum(to_low, to_high)]), axis=1)
    ends = centres[:, None, :] + np.stack([t_min, t_max], axis=1)[:, :, None] * directions[:, None, :]
    return np.clip(ends, 0.0, box_px)


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]


def segments_intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether segment pairs intersect (touching and collinear overlap included).

    Parameters
    ----------
    a, b : ndarray, shape (m, 2, 2)
        Pairs of segments, end points in any 2-D coordinates.

    Returns
    -------
    ndarray of bool, shape (m,)
    """
    a0, a1, b0, b1 = a[:, 0], a[:, 1], b[:, 0], b[:, 1]
    d1, d2 = _cross(b1 - b0, a0 - b0), _cross(b1 - b0, a1 - b0)
    d3, d4 = _cross(a1 - a0, b0 - a0), _cross(a1 - a0, b1 - a0)
    crossing = (d1 * d2 <= 0) & (d3 * d4 <= 0)
    collinear = (d1 == 0) & (d2 == 0)
    boxes_meet = np.all((np.maximum(a0, a1) >= np.minimum(b0, b1))
                        & (np.maximum(b0, b1) >= np.minimum(a0, a1)), axis=1)
    return np.where(collinear, boxes_meet, crossing)


def stick_clusters(segments: np.ndarray) -> np.ndarray:
    """Cluster label of every stick; sticks are connected when they intersect.

    Candidate pairs come from a k-d tree on the midpoints (two sticks can only meet when their
    midpoints are at most the longest stick length apart), then an exact intersection test.

    Parameters
    ----------
    segments : ndarray, shape (n, 2, 2)

    Returns
    -------
    ndarray of int, shape (n,)
        Labels 0 .. n_clusters - 1.
    """
    segments = np.asarray(segments, dtype=float)
    n = len(segments)
    if n == 0:
        return np.zeros(0, dtype=int)
    lengths = np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1)
    pairs = cKDTree(segments.mean(axis=1)).query_pairs(float(lengths.max()) * (1 + 1e-9),
                                                        output_type="ndarray")
    pairs = pairs[segments_intersect(segments[pairs[:, 0]], segments[pairs[:, 1]])]
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def sticks_span(segments: np.ndarray, box_px: float) -> tuple[bool, bool, bool]:
    """Exact continuum spanning test of sticks in the box ``[0, box_px]²``.

    A cluster spans x when it touches both the left (col 0) and the right (col ``box_px``) edge,
    y likewise with rows; the network percolates when one cluster spans both directions.

    Parameters
    ----------
    segments : ndarray, shape (n, 2, 2)
        Sticks as returned by :func:`stick_network`.
    box_px : float
        Side of the box in pixels.

    Returns
    -------
    spans_x, spans_y, percolates : bool
    """
    segments = np.asarray(segments, dtype=float)
    labels = stick_clusters(segments)
    tolerance = _EDGE_TOLERANCE * box_px
    low = segments.min(axis=1) <= tolerance
    high = segments.max(axis=1) >= box_px - tolerance
    spans = [np.zeros(labels.max(initial=-1) + 1, dtype=bool) for _ in range(2)]
    for axis in (0, 1):
        touching_both = np.intersect1d(labels[low[:, axis]], labels[high[:, axis]])
        spans[axis][touching_both] = True
    spans_y, spans_x = spans
    return bool(spans_x.any()), bool(spans_y.any()), bool((spans_x & spans_y).any())


def render_sticks(segments: np.ndarray, box_px: float, width_px: float, *,
                  imaging: ImagingParams | None = None, seed: int = 0,
                  pixel_size_nm: float = 1.0) -> SyntheticImage:
    """Image and exact mask of sticks drawn as rods of one width.

    The box ``[0, box_px]²`` maps onto an image of ``ceil(box_px)`` pixels a side; pixel (i, j)
    covers [i, i + 1) × [j, j + 1), so its centre is at (i + 0.5, j + 0.5) in box coordinates.

    Parameters
    ----------
    segments : ndarray, shape (n, 2, 2)
        Sticks in box coordinates (pixels).
    box_px : float
        Side of the box in pixels.
    width_px : float
        Rod width (diameter) in pixels.
    imaging : ImagingParams, optional
        Contrast, noise and dtype; default ``ImagingParams()``.
    seed : int
        Seed of texture and noise.
    pixel_size_nm : float
        Pixel size recorded in the result.

    Returns
    -------
    SyntheticImage
        ``wires`` are the sticks in pixel-centre coordinates (box coordinates - 0.5).

    Raises
    ------
    InvalidParameterError
        For a width that is not positive.
    """
    if not width_px > 0:
        raise InvalidParameterError(f"width_px must be positive, got {width_px}")
    imaging = ImagingParams() if imaging is None else imaging
    size = math.ceil(box_px)
    wires = list(np.asarray(segments, dtype=float) - 0.5)
    widths = np.full(len(wires), float(width_px))
    image, mask = render(wires, widths, (size, size), imaging, seed)
    params = {"seed": int(seed), "n_sticks": len(wires), "box_px": float(box_px),
              "width_px": float(width_px), "imaging": dataclasses.asdict(imaging)}
    return SyntheticImage(image, mask, wires, widths, np.full(len(wires), -1), float(pixel_size_nm),
                          params)
