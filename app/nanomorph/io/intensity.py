"""Robust intensity scaling of micrographs (percentiles ignore hot pixels and dead columns)."""

from __future__ import annotations

import numpy as np

SAMPLE_SIDE_PX = 512


def percentile_range(data: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """Gray levels at two percentiles, on a subsample of at most 512 px a side.

    Parameters
    ----------
    data : ndarray
        Gray levels.
    low, high : float
        Percentiles in [0, 100].

    Returns
    -------
    (float, float)
        The two gray levels; (min, max) when the percentiles coincide (both equal for a flat
        image).
    """
    sample = data[tuple(slice(None, None, max(1, s // SAMPLE_SIDE_PX)) for s in data.shape)]
    lo, hi = np.percentile(sample, [low, high])
    if not hi > lo:
        lo, hi = sample.min(), sample.max()
    return float(lo), float(hi)


def normalise_percentiles(data: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Scale gray levels so two percentiles map to 0 and 1.

    Parameters
    ----------
    data : ndarray
        Gray levels.
    low, high : float
        Percentiles in [0, 100] (robust to hot pixels and dead columns).

    Returns
    -------
    ndarray of float32
        Clipped to [0, 1].
    """
    lo, hi = percentile_range(data, low, high)
    out = (data.astype(np.float32) - lo) / (hi - lo if hi > lo else 1.0)
    return np.clip(out, 0.0, 1.0, out=out)
