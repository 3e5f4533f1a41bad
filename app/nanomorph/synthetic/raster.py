"""Exact rasterisation of wires: which pixel centres lie within a wire's radius of its axis.

Coordinates are ``(row, col)`` in pixels and pixel ``(i, j)`` has its centre at ``(i, j)``
(scikit-image's convention). A pixel belongs to a wire when the distance from its centre to the
wire's polyline is at most ``width / 2``, so straight wires are capsules (rounded ends). Distances
are computed segment by segment inside each segment's bounding box, vectorised with numpy; nothing
is drawn with approximate thick lines.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from nanomorph.errors import InvalidParameterError

# A pixel centre at distance r + EDGE_TOLERANCE_PX still counts as inside a wire of radius r, so
# that centres exactly on the edge are not lost to rounding.
EDGE_TOLERANCE_PX = 1e-9


@dataclass(frozen=True)
class WireRaster:
    """Per-pixel geometry of a set of wires on an image grid.

    Attributes
    ----------
    mask : ndarray of bool, shape (rows, cols)
        True where a pixel centre lies within a wire.
    thickness_px : ndarray of float64
        Projected thickness in pixels: the chord ``2 * sqrt(r**2 - d**2)`` through each cylindrical
        wire, summed over overlapping wires.
    top_cos : ndarray of float64
        Cosine of the surface tilt of the topmost wire (the last one in the list): 1 on its axis,
        0 at its edge and off the wires.
    """

    mask: np.ndarray
    thickness_px: np.ndarray
    top_cos: np.ndarray


def _segment_distance_sq(rows: np.ndarray, cols: np.ndarray, a: np.ndarray,
                         b: np.ndarray) -> np.ndarray:
    """Squared distance from pixel centres to the segment ``a``–``b``.

    Parameters
    ----------
    rows, cols : ndarray
        Pixel row (shape (h, 1)) and column (shape (1, w)) coordinates, broadcast together.
    a, b : ndarray, shape (2,)
        Segment end points, (row, col) in pixels.

    Returns
    -------
    ndarray, shape (h, w)
        Squared distances in px².
    """
    ab = b - a
    length_sq = float(ab @ ab)
    pr, pc = rows - a[0], cols - a[1]
    if length_sq == 0.0:
        return pr**2 + pc**2
    t = np.clip((pr * ab[0] + pc * ab[1]) / length_sq, 0.0, 1.0)
    return (pr - t * ab[0]) ** 2 + (pc - t * ab[1]) ** 2


def _box(points: np.ndarray, radius_px: float,
         shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Index range [lo, hi) of the points' bounding box grown by ``radius_px``, within the frame."""
    lo = np.maximum(np.floor(points.min(axis=0) - radius_px).astype(int), 0)
    hi = np.minimum(np.ceil(points.max(axis=0) + radius_px).astype(int) + 1, shape)
    return lo, hi


def polyline_distance_sq(polyline: np.ndarray, radius_px: float,
                         shape: Sequence[int]) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """Squared distance to a polyline for every pixel of its bounding box.

    Parameters
    ----------
    polyline : ndarray, shape (n, 2)
        Vertices, (row, col) in pixels.
    radius_px : float
        How far beyond the polyline distances are needed (the wire radius); pixels further than
        this from every segment may hold ``inf``.
    shape : (int, int)
        Image shape; the box is clipped to it.

    Returns
    -------
    (slices, ndarray) or None
        The box as a pair of slices into the image and the squared distances (px²) inside it;
        None when the grown polyline misses the frame.
    """
    lo, hi = _box(polyline, radius_px, shape)
    if np.any(hi <= lo):
        return None
    dist_sq = np.full(hi - lo, np.inf)
    for a, b in zip(polyline[:-1], polyline[1:]):
        seg_lo, seg_hi = _box(np.stack([a, b]), radius_px, shape)
        if np.any(seg_hi <= seg_lo):
            continue
        rows = np.arange(seg_lo[0], seg_hi[0], dtype=float)[:, None]
        cols = np.arange(seg_lo[1], seg_hi[1], dtype=float)[None, :]
        view = dist_sq[seg_lo[0] - lo[0]:seg_hi[0] - lo[0], seg_lo[1] - lo[1]:seg_hi[1] - lo[1]]
        np.minimum(view, _segment_distance_sq(rows, cols, a, b), out=view)
    return (slice(lo[0], hi[0]), slice(lo[1], hi[1])), dist_sq


def _periodic_copies(polyline: np.ndarray, radius_px: float, shape: Sequence[int],
                     periodic: bool) -> Iterator[np.ndarray]:
    """The polyline itself, or (periodic) every copy shifted by whole frames that meets the frame."""
    if not periodic:
        yield polyline
        return
    lo = polyline.min(axis=0) - radius_px
    hi = polyline.max(axis=0) + radius_px
    ranges = [range(math.ceil(-hi[k] / shape[k]), math.floor((shape[k] - 1 - lo[k]) / shape[k]) + 1)
              for k in (0, 1)]
    for kr in ranges[0]:
        for kc in ranges[1]:
            yield polyline + np.array([kr * shape[0], kc * shape[1]], dtype=float)


_Patch = tuple[tuple[slice, slice], np.ndarray, np.ndarray, float]


def _wire_patches(polylines: Sequence[np.ndarray], widths_px: Sequence[float], shape: Sequence[int],
                  periodic: bool) -> Iterator[_Patch]:
    """For each wire (and periodic copy): its box, squared distances, inside mask and radius."""
    for polyline, width in zip(polylines, widths_px, strict=True):
        if not width > 0:
            raise InvalidParameterError(f"a wire width must be positive, got {width} px")
        radius = 0.5 * float(width)
        for copy in _periodic_copies(np.asarray(polyline, dtype=float), radius, shape, periodic):
            patch = polyline_distance_sq(copy, radius, shape)
            if patch is None:
                continue
            box, dist_sq = patch
            yield box, dist_sq, dist_sq <= (radius + EDGE_TOLERANCE_PX) ** 2, radius


def render_mask(polylines: Sequence[np.ndarray], widths_px: Sequence[float], shape: Sequence[int],
                *, periodic: bool = False) -> np.ndarray:
    """Exact ground-truth mask of wires.

    Parameters
    ----------
    polylines : sequence of ndarray, shape (n, 2)
        Wire axes, (row, col) in pixels.
    widths_px : sequence of float
        Wire widths (diameters) in pixels, one per polyline.
    shape : (int, int)
        Image shape in pixels.
    periodic : bool
        Wrap wires around the frame (torus) instead of clipping them at its border.

    Returns
    -------
    ndarray of bool, shape ``shape``
        True where a pixel centre lies within ``width / 2`` of a wire's polyline.
    """
    mask = np.zeros(tuple(shape), dtype=bool)
    for box, _, inside, _ in _wire_patches(polylines, widths_px, shape, periodic):
        mask[box] |= inside
    return mask


def rasterize_wires(polylines: Sequence[np.ndarray], widths_px: Sequence[float],
                    shape: Sequence[int], *, periodic: bool = False) -> WireRaster:
    """Mask, projected thickness and top-surface tilt of wires (cylinders lying in the image plane).

    Parameters
    ----------
    polylines : sequence of ndarray, each shape (n, 2)
        Wire axes as (row, col) vertices in pixels; wires later in the list lie on top.
    widths_px : sequence of float
        Wire diameters in pixels.
    shape : sequence of int
        Image shape (rows, cols).
    periodic : bool
        Wrap wires around the frame edges (a periodic frame).

    Returns
    -------
    WireRaster
        The exact mask (pixel centres within width/2 of an axis), thickness and tilt maps.
    """
    shape = tuple(shape)
    mask = np.zeros(shape, dtype=bool)
    thickness = np.zeros(shape)
    top_cos = np.zeros(shape)
    for box, dist_sq, inside, radius in _wire_patches(polylines, widths_px, shape, periodic):
        cos = np.sqrt(np.clip(1.0 - dist_sq / radius**2, 0.0, None))
        mask[box] |= inside
        thickness[box] += 2.0 * radius * cos
        top_cos[box] = np.where(inside, cos, top_cos[box])
    return WireRaster(mask, thickness, top_cos)
