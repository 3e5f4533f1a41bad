"""Which image to label next: uncertainty sampling on the classifier's probabilities.

- ``margin``: the gap between the two most probable classes, p1 - p2 (small = undecided between
  two classes; the default, as it looks at the competing classes);
- ``least_confident``: 1 - p1 (large = the best guess is weak).
"""

from __future__ import annotations

import numpy as np

from nanomorph.errors import InvalidParameterError

METHODS = ("margin", "least_confident")


def uncertainty(proba, method: str = "margin") -> np.ndarray:
    """How uncertain the classifier is about each image; larger = label it sooner.

    Parameters
    ----------
    proba : array-like, shape (N, C)
        Class probabilities (rows sum to 1), e.g. ``FewShotClassifier.predict_proba``.
    method : {"margin", "least_confident"}

    Returns
    -------
    ndarray, shape (N,)
        ``1 - (p1 - p2)`` for margin, ``1 - p1`` for least confident; both in [0, 1].

    Raises
    ------
    InvalidParameterError
        For an unknown method, or probabilities that are not an (N, C >= 2) array of finite
        rows summing to 1.
    """
    proba = np.asarray(proba, dtype=np.float64)
    if method not in METHODS:
        raise InvalidParameterError(f"unknown ranking {method!r}: choose one of {METHODS}")
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise InvalidParameterError(f"expected probabilities of shape (N, C >= 2), got "
                                    f"{proba.shape}")
    if not np.isfinite(proba).all() or (proba < 0).any() \
            or not np.allclose(proba.sum(axis=1), 1.0, atol=1e-6):
        raise InvalidParameterError("probabilities must be finite, >= 0 and sum to 1 per image")
    top2 = -np.partition(-proba, 1, axis=1)[:, :2]
    if method == "margin":
        return 1.0 - (top2[:, 0] - top2[:, 1])
    return 1.0 - top2[:, 0]


def rank_uncertain(proba, method: str = "margin") -> np.ndarray:
    """Images ordered for labelling: most uncertain first (ties in input order).

    Parameters
    ----------
    proba : array-like, shape (N, C)
        Class probabilities of the unlabelled images.
    method : {"margin", "least_confident"}

    Returns
    -------
    ndarray of int, shape (N,)
        Row indices of ``proba``.
    """
    return np.argsort(-uncertainty(proba, method), kind="stable")
