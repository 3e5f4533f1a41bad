"""Gray levels in, network inputs out: the encoders' percentile rule at native resolution.

An image's gray levels are mapped to [0, 1] between its low and high percentiles
(``PreprocessSpec.percentiles``, 0.5 / 99.5 % by default, from
:func:`nanomorph.io.intensity.percentile_range` on a subsample of at most 512 × 512 pixels), so hot
pixels and dead columns do not set the scale; nothing is resized. The window is computed once
per image and applied to each patch or tile, so a tile of a huge image never needs the whole
image in float. The encoder's per-channel mean / std is applied inside the network
(:class:`nanomorph.segment.model.SegmentationNet`), which takes one gray channel.
"""

from __future__ import annotations

import numpy as np

from nanomorph.io.intensity import percentile_range


def intensity_window(plane: np.ndarray, percentiles: tuple[float, float]) -> tuple[float, float]:
    """The gray levels that map to 0 and 1 for an image.

    Parameters
    ----------
    plane : ndarray, 2-D
        Gray levels.
    percentiles : (float, float)
        The encoder's percentiles.

    Returns
    -------
    (float, float)
        (low, high), high > low also for a flat image.
    """
    low, high = percentile_range(plane, *percentiles)
    return low, high if high > low else low + 1.0


def to_unit(block: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Gray levels mapped to [0, 1].

    Parameters
    ----------
    block : ndarray
        Gray levels.
    window : (float, float)
        From :func:`intensity_window`.

    Returns
    -------
    ndarray of float32
        A new array, clipped to [0, 1].
    """
    low, high = window
    out = np.subtract(block, low, dtype=np.float32)
    out *= np.float32(1.0 / (high - low))
    return np.clip(out, 0.0, 1.0, out=out)
