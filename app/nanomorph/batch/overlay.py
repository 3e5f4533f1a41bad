"""Percolation overlays: the micrograph in gray with its DBSCAN clusters coloured.

Colours (the same in ``--write-overlays`` files and in the HTML report): a cluster that spans
both ways (the network percolates) is vermilion, one that spans one way only is amber, every
other cluster is blue; noise pixels stay gray. The overlay covers the analysed frame (the SEM
info bar left out); labels computed at another size (``--resize``) are scaled to it.
"""

from __future__ import annotations

import io

import numpy as np

SPANNING_BOTH_RGB = (230, 75, 40)
SPANNING_ONE_RGB = (240, 180, 30)
OTHER_CLUSTER_RGB = (50, 120, 220)
ALPHA = 0.6


def overlay_rgb(plane: np.ndarray, result) -> np.ndarray:
    """The coloured overlay of one analysed frame.

    Parameters
    ----------
    plane : ndarray, shape (rows, cols)
        Gray levels of the analysed frame (info bar already cut off).
    result : nanomorph.percolation.PercolationResult
        Its ``labels`` (0 background, -1 noise, 1… clusters) and ``clusters``.

    Returns
    -------
    ndarray of uint8, shape (rows, cols, 3)
    """
    from nanomorph.io.intensity import normalise_percentiles

    gray = normalise_percentiles(plane) if plane.size else np.zeros(plane.shape, np.float32)
    rgb = np.repeat((gray * 255.0)[..., None], 3, axis=2)
    labels = _scaled(result.labels, plane.shape)
    lut = np.zeros((max(labels.max(initial=0), 0) + 1, 3), np.float32)
    drawn = np.zeros(len(lut), bool)
    for cluster in result.clusters:
        if cluster.spans_x and cluster.spans_y:
            lut[cluster.label] = SPANNING_BOTH_RGB
        elif cluster.spans_x or cluster.spans_y:
            lut[cluster.label] = SPANNING_ONE_RGB
        else:
            lut[cluster.label] = OTHER_CLUSTER_RGB
        drawn[cluster.label] = True
    inside = labels > 0
    inside[inside] = drawn[labels[inside]]
    rgb[inside] = (1 - ALPHA) * rgb[inside] + ALPHA * lut[labels[inside]]
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def png_bytes(rgb: np.ndarray, max_side_px: int | None = None) -> bytes:
    """A PNG of an image.

    Parameters
    ----------
    rgb : ndarray
        RGB (rows, cols, 3) or gray (rows, cols), uint8.
    max_side_px : int, optional
        Shrink to this longer side.

    Returns
    -------
    bytes
        The PNG file's content.
    """
    from PIL import Image

    image = Image.fromarray(rgb)
    if max_side_px and max(image.size) > max_side_px:
        image.thumbnail((max_side_px, max_side_px), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _scaled(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``labels`` at ``shape`` by nearest neighbour (as it is when the shapes agree)."""
    if labels.shape == tuple(shape):
        return labels
    rows = np.arange(shape[0]) * labels.shape[0] // max(shape[0], 1)
    cols = np.arange(shape[1]) * labels.shape[1] // max(shape[1], 1)
    return labels[np.ix_(rows, cols)]
