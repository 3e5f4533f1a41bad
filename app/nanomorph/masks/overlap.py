"""Overlap of a predicted mask with a reference mask: Dice and IoU (Jaccard) on bool masks."""

from __future__ import annotations

import numpy as np

from nanomorph.errors import InvalidParameterError


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice coefficient ``2 |A ∩ B| / (|A| + |B|)``.

    Parameters
    ----------
    pred, truth : ndarray of bool
        Masks of the same shape (non-zero = foreground).

    Returns
    -------
    float
        In [0, 1]; 1.0 when both masks are empty.
    """
    intersection, total = _counts(pred, truth)
    return 1.0 if total == 0 else 2.0 * intersection / total


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union ``|A ∩ B| / |A ∪ B|`` (Jaccard index).

    Parameters
    ----------
    pred, truth : ndarray of bool
        Masks of the same shape (non-zero = foreground).

    Returns
    -------
    float
        In [0, 1]; 1.0 when both masks are empty.
    """
    intersection, total = _counts(pred, truth)
    union = total - intersection
    return 1.0 if union == 0 else intersection / union


def _counts(pred: np.ndarray, truth: np.ndarray) -> tuple[int, int]:
    """``|A ∩ B|`` and ``|A| + |B|``."""
    pred, truth = np.asarray(pred, dtype=bool), np.asarray(truth, dtype=bool)
    if pred.shape != truth.shape:
        raise InvalidParameterError(f"masks of different shapes cannot be compared: "
                                    f"{pred.shape} and {truth.shape}")
    return (int(np.count_nonzero(pred & truth)),
            int(np.count_nonzero(pred)) + int(np.count_nonzero(truth)))
