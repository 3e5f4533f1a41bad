"""Robust intensity scaling of micrographs (percentiles ignore hot pixels and dead columns)."""

from __future__ import annotations

import numpy as np

SAMPLE_SIDE_PX = 512


def percentile_range(data: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """Gray levels at the ``low`` and ``high`` percentiles (on a ≤512-px subsample).

    Falls back to (min, max) when the percentiles coincide; both equal for a flat image.
    """
    sample = data[tuple(slice(None, None, max(1, s // SAMPLE_SIDE_PX)) for s in data.shape)]
    lo, hi = np.percentile(sample, [low, high])
    if not hi > lo:
        lo, hi = sample.min(), sample.max()
    return float(lo), float(hi)


def normalise_percentiles(data: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Scale gray levels so the ``low``/``high`` percentiles map to 0/1, clipped; float32."""
    lo, hi = percentile_range(data, low, high)
    out = (data.astype(np.float32) - lo) / (hi - lo if hi > lo else 1.0)
    return np.clip(out, 0.0, 1.0, out=out)
