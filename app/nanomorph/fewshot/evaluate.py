"""The label-efficiency protocol of Lu et al. 2022: K labels per class, repeated random splits.

For each K and each repeat r, a training set of K images per class is drawn with the random
generator ``numpy.random.default_rng([seed, K, r])``; every other image is a test image. The draws
depend only on the labels, the groups, K, r and the seed, never on the features: two methods
(ImageNet vs self-supervised embeddings, the pixel-density control) evaluated with the same
seed see identical splits.

Groups (frames of one video, crops of one micrograph) never straddle a split: for each class,
whole groups are drawn at random until they hold K images of the class (at least one group of
the class is always left for testing); K of their images, spread evenly over the drawn groups,
train, and the other images of the drawn groups are used neither for training nor for testing.
Without groups each image is its own group, which makes this a stratified draw of K images per
class tested on all the rest. A K that leaves some class without a test image is skipped with an
:class:`EvaluationWarning`.

Without groups, near-duplicate images (cosine similarity of the embeddings above
``DUPLICATE_COSINE``, or a distance below ``DUPLICATE_NN_FRACTION`` times the median distance of
an image to its nearest neighbour) that land on both sides of a split make the accuracy
optimistic; that is counted and warned about.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nanomorph import defaults
from nanomorph.errors import InvalidParameterError, NanomorphError

DUPLICATE_COSINE = 0.995
DUPLICATE_NN_FRACTION = 0.1
_DRAW_ATTEMPTS = 200


class EvaluationWarning(UserWarning):
    """Something that makes an evaluation less complete or less trustworthy, not an error."""


@dataclass(frozen=True)
class LabelledSet:
    """Checked evaluation inputs.

    Attributes
    ----------
    X : ndarray of float64, shape (N, D)
    y : ndarray of int, shape (N,)
        Index of each image's class in ``classes``.
    groups : ndarray of int, shape (N,)
        Split group of each image (each image its own group when none were given).
    classes : list of str
    grouped : bool
        Whether groups were given.
    """

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    classes: list[str]
    grouped: bool

    @property
    def labels(self) -> np.ndarray:
        """Class name of each image."""
        return np.asarray(self.classes)[self.y]


def check_labelled(X, y, *, groups=None, classes: Sequence[str] | None = None) -> LabelledSet:
    """Check and encode the inputs of an evaluation.

    Parameters
    ----------
    X : array-like, shape (N, D)
        Features (embeddings, or control features) of every labelled image.
    y : sequence of str, length N
        Class of each image.
    groups : sequence, length N, optional
        Split group of each image.
    classes : sequence of str, optional
        The expected classes (e.g. the project's class set); default: those in ``y``, sorted.

    Returns
    -------
    LabelledSet

    Raises
    ------
    NanomorphError
        Lengths differ, features are not finite, a label is not one of ``classes``, a class
        has no image, or fewer than two classes have images.
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray([str(label) for label in y])
    if X.ndim != 2 or len(X) != len(labels):
        raise InvalidParameterError(f"expected features of shape (N, D) for {len(labels)} labels, "
                                    f"got {X.shape}")
    if not np.isfinite(X).all():
        raise InvalidParameterError("the features hold NaN or infinite values")
    present = sorted(set(labels.tolist()))
    classes = present if classes is None else [str(c) for c in classes]
    unknown = sorted(set(present) - set(classes))
    if unknown:
        raise NanomorphError(f"unknown label(s) {', '.join(map(repr, unknown))}: the classes are "
                             f"{', '.join(classes)}")
    empty = [c for c in classes if c not in present]
    if empty:
        raise NanomorphError(f"class(es) {', '.join(map(repr, empty))} have no labelled images: "
                             "label at least two images of each class, or leave the class out")
    if len(classes) < 2:
        raise NanomorphError(f"an evaluation needs at least two classes; every image is "
                             f"{classes[0] if classes else 'unlabelled'!r}")
    y_index = np.asarray([classes.index(label) for label in labels], dtype=int)
    if groups is None:
        group_index = np.arange(len(labels))
    else:
        if len(groups) != len(labels):
            raise InvalidParameterError(f"{len(groups)} groups for {len(labels)} images")
        group_index = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)[1]
    return LabelledSet(X, y_index, group_index.astype(int), classes, groups is not None)


def training_splits(data: LabelledSet, k: int, repeats: int,
                    seed: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], str | None]:
    """The (train, test) index pairs of the protocol for one K.

    Parameters
    ----------
    data : LabelledSet
    k : int
        Training images per class.
    repeats : int
        Number of splits.
    seed : int
        Base seed (>= 0); split r uses ``default_rng([seed, k, r])``.

    Returns
    -------
    splits : list of (ndarray, ndarray)
        Training and test indices (sorted), ``repeats`` of them, or none when K is infeasible.
    reason : str or None
        Why K is infeasible.
    """
    reason = _infeasible_reason(data, k)
    if reason:
        return [], reason
    splits = []
    for r in range(repeats):
        rng = np.random.default_rng([seed, k, r])
        split = _draw_split(data, k, rng)
        if split is None:
            return [], (f"no draw of {k} training image(s) per class leaves every class a test "
                        f"image from another group")
        splits.append(split)
    return splits, None


def evaluate_label_efficiency(X, y, *, groups=None, classes: Sequence[str] | None = None,
                              ks: Sequence[int] = defaults.EVALUATE_KS,
                              repeats: int = defaults.EVALUATE_REPEATS, seed: int = defaults.SEED,
                              classifier_factory: Callable[[], object] | None = None,
                              check_duplicates: bool = True) -> dict:
    """Accuracy of a few-shot classifier as a function of the labels per class (K).

    Parameters
    ----------
    X : array-like, shape (N, D)
        Features of every labelled image (embeddings, or control features).
    y : sequence of str
        Class of each image.
    groups : sequence, optional
        Split group of each image; a group is never on both sides of a split.
    classes : sequence of str, optional
        The expected classes; default: those in ``y``.
    ks : sequence of int
        Training images per class to evaluate.
    repeats : int
        Random splits per K.
    seed : int
        Base seed of the splits (>= 0); the same seed gives the same splits for any features.
    classifier_factory : callable, optional
        Returns a fresh, unfitted classifier with ``fit(X, y)`` and ``predict(X)`` (class names);
        default :class:`~nanomorph.fewshot.head.FewShotClassifier`.
    check_duplicates : bool
        Without groups, look for near-duplicate images that straddle splits (meaningful for
        embeddings; turn it off for a few control numbers per image).

    Returns
    -------
    dict
        ``classes``, ``n_images``, ``grouped``; ``results``: one dict per evaluated K with
        ``k, accuracy_mean, accuracy_std, macro_f1_mean, repeats`` (done), ``accuracies`` (per
        split), ``n_test_mean``, ``per_class`` ({class: {precision, recall, f1}}, means over
        splits) and ``confusion`` (rows true, columns predicted, summed over splits);
        ``skipped``: [{k, reason}] for infeasible K; ``near_duplicates``: {pairs,
        splits_straddled, splits} when checked (without groups), else None.

    Warns
    -----
    EvaluationWarning
        A K is skipped; near-duplicate images straddled splits.

    Raises
    ------
    InvalidParameterError
        For ``repeats`` < 1, a negative seed, or features and labels that do not fit together.
    """
    data = check_labelled(X, y, groups=groups, classes=classes)
    ks = _check_ks(ks)
    if repeats < 1 or seed < 0:
        raise InvalidParameterError(f"repeats must be >= 1 and seed >= 0 (got {repeats}, {seed})")
    factory = classifier_factory or default_classifier_factory()
    results, skipped, all_splits = [], [], []
    for k in ks:
        splits, reason = training_splits(data, k, repeats, seed)
        if reason:
            skipped.append({"k": k, "reason": reason})
            warnings.warn(f"K = {k} skipped: {reason}", EvaluationWarning, stacklevel=2)
            continue
        all_splits.extend(splits)
        results.append(_evaluate_k(data, k, splits, factory))
    checked = check_duplicates and not data.grouped
    duplicates = _duplicate_report(data.X, all_splits) if checked else None
    return {"classes": data.classes, "n_images": int(len(data.y)), "grouped": data.grouped,
            "results": results, "skipped": skipped, "near_duplicates": duplicates}


def near_duplicate_pairs(X, *, cosine: float = DUPLICATE_COSINE,
                         nn_fraction: float = DUPLICATE_NN_FRACTION) -> np.ndarray:
    """Pairs of near-identical feature vectors.

    Two images are near-duplicates when the cosine similarity of their features exceeds
    ``cosine``, or their Euclidean distance is below ``nn_fraction`` times the median distance
    of an image to its nearest neighbour in the set.

    Parameters
    ----------
    X : array-like, shape (N, D)
    cosine : float
    nn_fraction : float

    Returns
    -------
    ndarray of int, shape (P, 2)
        Index pairs ``(i, j)`` with ``i < j``, sorted.
    """
    from sklearn.neighbors import NearestNeighbors

    X = np.asarray(X, dtype=np.float64)
    if len(X) < 2:
        return np.empty((0, 2), dtype=int)
    unit = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    nn_distance = NearestNeighbors(n_neighbors=2).fit(X).kneighbors(X)[0][:, 1]
    pairs = set()
    for features, radius in ((unit, np.sqrt(2.0 * (1.0 - cosine))),
                             (X, nn_fraction * float(np.median(nn_distance)))):
        neighbours = NearestNeighbors(radius=radius).fit(features).radius_neighbors(
            features, return_distance=False)
        pairs.update((i, int(j)) for i, row in enumerate(neighbours) for j in row if i < j)
    return np.asarray(sorted(pairs), dtype=int).reshape(-1, 2)


def default_classifier_factory() -> Callable[[], object]:
    """The classifier the protocol uses unless told otherwise.

    Returns
    -------
    callable
        Returns a :class:`FewShotClassifier` with its defaults.
    """
    from nanomorph.fewshot.head import FewShotClassifier

    return FewShotClassifier


def _check_ks(ks: Sequence[int]) -> list[int]:
    ks = [int(k) for k in ks]
    if not ks or min(ks) < 1:
        raise InvalidParameterError(f"K (labels per class) must be >= 1, got {ks}")
    return sorted(set(ks))


def _infeasible_reason(data: LabelledSet, k: int) -> str | None:
    """Why no split can give K training images to every class and keep a test group, or None."""
    for c, name in enumerate(data.classes):
        sizes = np.bincount(data.groups[data.y == c])
        sizes = sizes[sizes > 0]
        if len(sizes) < 2 or len(data.y[data.y == c]) - sizes.min() < k:
            where = f" in {len(sizes)} group(s)" if data.grouped else ""
            return (f"class {name!r} has {int(sizes.sum())} image(s){where}: {k} for training "
                    "would leave none to test")
    return None


def _draw_split(data: LabelledSet, k: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    """One (train, test) split: K images per class, groups kept on one side (see module doc)."""
    for _ in range(_DRAW_ATTEMPTS):
        train = [_draw_class(data, c, k, rng) for c in range(len(data.classes))]
        if any(t is None for t in train):
            continue
        train = np.sort(np.concatenate(train))
        test = np.flatnonzero(~np.isin(data.groups, data.groups[train]))
        if len(np.unique(data.y[test])) == len(data.classes):
            return train, test
    return None


def _draw_class(data: LabelledSet, c: int, k: int, rng: np.random.Generator) -> np.ndarray | None:
    """K images of class ``c`` from whole groups drawn at random, leaving one group out; None
    when the drawn groups fall short (the caller draws again)."""
    members = np.flatnonzero(data.y == c)
    group_ids = np.unique(data.groups[members])
    chosen, total = [], 0
    for g in rng.permutation(group_ids)[:-1]:
        images = rng.permutation(members[data.groups[members] == g])
        chosen.append(images)
        total += len(images)
        if total >= k:
            break
    if total < k:
        return None
    # Round robin over the drawn groups: their first images, then their second ones, ...
    depth = max(len(images) for images in chosen)
    spread = [images[i] for i in range(depth) for images in chosen if i < len(images)]
    return np.asarray(spread[:k], dtype=int)


def _evaluate_k(data: LabelledSet, k: int, splits, factory) -> dict:
    """Fit and test one classifier per split; the metrics of one K."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    labels = data.labels
    n = len(data.classes)
    accuracies, macro_f1, per_class, n_test = [], [], [], []
    confusion = np.zeros((n, n), dtype=int)
    for train, test in splits:
        predicted = np.asarray(factory().fit(data.X[train], labels[train]).predict(data.X[test]))
        scores = np.asarray(precision_recall_fscore_support(
            labels[test], predicted, labels=data.classes, zero_division=0)[:3])
        accuracies.append(accuracy_score(labels[test], predicted))
        macro_f1.append(scores[2].mean())
        per_class.append(scores)
        confusion += confusion_matrix(labels[test], predicted, labels=data.classes)
        n_test.append(len(test))
    means = np.mean(per_class, axis=0)
    return {
        "k": k, "accuracy_mean": float(np.mean(accuracies)),
        "accuracy_std": float(np.std(accuracies)), "macro_f1_mean": float(np.mean(macro_f1)),
        "repeats": len(splits), "accuracies": [float(a) for a in accuracies],
        "n_test_mean": float(np.mean(n_test)),
        "per_class": {name: {"precision": float(means[0, i]), "recall": float(means[1, i]),
                             "f1": float(means[2, i])} for i, name in enumerate(data.classes)},
        "confusion": confusion.tolist(),
    }


def _duplicate_report(X: np.ndarray, splits) -> dict:
    """Count near-duplicate pairs and the splits they straddle; warn when any does."""
    pairs = near_duplicate_pairs(X)
    straddled = 0
    for train, _test in splits:
        in_train = np.isin(pairs, train)
        straddled += bool(np.any(in_train[:, 0] != in_train[:, 1]))
    if straddled:
        images = len(np.unique(pairs))
        warnings.warn(
            f"{len(pairs)} pair(s) of near-duplicate images ({images} images; embeddings with "
            f"cosine similarity > {DUPLICATE_COSINE} or closer than {DUPLICATE_NN_FRACTION} x the "
            f"median nearest-neighbour distance) fell on both sides of {straddled} of "
            f"{len(splits)} splits, which makes the accuracy optimistic: give the labels a group "
            "column (one group per video or micrograph)", EvaluationWarning, stacklevel=3)
    return {"pairs": int(len(pairs)), "splits_straddled": int(straddled),
            "splits": len(splits)}
