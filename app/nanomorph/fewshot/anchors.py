"""One-shot anchor diagnostics (Lu et al. 2022): which single reference images represent their
class well?

Each labelled image of a class serves in turn as that class's only training image ("anchor").
In repeat r, every other class gets one anchor drawn at random with
``numpy.random.default_rng([seed, class index, r])``: all anchors of one class face the same
other-class anchors in a repeat, so their scores differ by the anchor alone. The classifier is
tested on every image outside the anchors' groups. A representative anchor scores high; a
low-scoring one is atypical (or mislabelled) and a poor reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nanomorph.errors import InvalidParameterError
from nanomorph.fewshot.evaluate import (
    LabelledSet,
    check_labelled,
    default_classifier_factory,
)


@dataclass(frozen=True)
class AnchorScore:
    """How well one image serves as its class's single training image.

    Attributes
    ----------
    index : int
        Position of the image in the input.
    accuracy_mean, accuracy_std : float
        Accuracy on all test images over the repeats.
    recall_mean : float
        Fraction of the test images of the anchor's class classified as that class (NaN when
        the class has no image outside the anchor's group).
    repeats : int
    """

    index: int
    accuracy_mean: float
    accuracy_std: float
    recall_mean: float
    repeats: int


def anchor_table(X, y, *, groups=None, classes: Sequence[str] | None = None, repeats: int = 20,
                 seed: int = 0, classifier_factory: Callable[[], object] | None = None
                 ) -> dict[str, list[AnchorScore]]:
    """Score every labelled image as a one-shot anchor of its class.

    Parameters
    ----------
    X : array-like, shape (N, D)
        Features of the labelled images.
    y : sequence of str
        Class of each image.
    groups : sequence, optional
        Split group of each image: test images never share a group with an anchor.
    classes : sequence of str, optional
        The expected classes; default those in ``y``.
    repeats : int
        Draws of the other classes' anchors per anchor.
    seed : int
        Base seed (>= 0).
    classifier_factory : callable, optional
        Returns a fresh classifier with ``fit`` and ``predict``; default
        :class:`~nanomorph.fewshot.head.FewShotClassifier`.

    Returns
    -------
    dict
        Class name → list of :class:`AnchorScore`, best anchor first (ties by input order).

    Raises
    ------
    InvalidParameterError
        For ``repeats`` < 1 or a negative seed.
    """
    data = check_labelled(X, y, groups=groups, classes=classes)
    if repeats < 1 or seed < 0:
        raise InvalidParameterError(f"repeats must be >= 1 and seed >= 0 (got {repeats}, {seed})")
    factory = classifier_factory or default_classifier_factory()
    table = {}
    for c, name in enumerate(data.classes):
        draws = [_other_anchors(data, c, np.random.default_rng([seed, c, r]))
                 for r in range(repeats)]
        scores = [_score_anchor(data, int(i), draws, factory)
                  for i in np.flatnonzero(data.y == c)]
        table[name] = sorted(scores, key=_best_first)
    return table


def _best_first(score: AnchorScore) -> tuple:
    """Sort key: highest mean accuracy first, unscored anchors (NaN) last, ties by index."""
    unscored = bool(np.isnan(score.accuracy_mean))
    return (unscored, 0.0 if unscored else -score.accuracy_mean, score.index)


def _other_anchors(data: LabelledSet, c: int, rng: np.random.Generator) -> np.ndarray:
    """One random image of every class except ``c``."""
    return np.asarray([rng.choice(np.flatnonzero(data.y == other))
                       for other in range(len(data.classes)) if other != c], dtype=int)


def _score_anchor(data: LabelledSet, anchor: int, draws: list[np.ndarray],
                  factory) -> AnchorScore:
    from sklearn.metrics import accuracy_score

    labels = data.labels
    accuracies, recalls = [], []
    for others in draws:
        train = np.concatenate([[anchor], others])
        test = np.flatnonzero(~np.isin(data.groups, data.groups[train]))
        if len(test) == 0:
            continue
        predicted = np.asarray(factory().fit(data.X[train], labels[train]).predict(data.X[test]))
        accuracies.append(accuracy_score(labels[test], predicted))
        own = data.y[test] == data.y[anchor]
        if own.any():
            recalls.append(float(np.mean(predicted[own] == labels[anchor])))
    return AnchorScore(
        index=anchor,
        accuracy_mean=float(np.mean(accuracies)) if accuracies else float("nan"),
        accuracy_std=float(np.std(accuracies)) if accuracies else float("nan"),
        recall_mean=float(np.mean(recalls)) if recalls else float("nan"),
        repeats=len(accuracies))
