"""The label-efficiency protocol: identical splits for identical seeds, groups kept on one side,
infeasible K skipped with a warning, near-duplicates warned about, bad labels refused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nanomorph.errors import NanomorphError
from nanomorph.fewshot.evaluate import (
    EvaluationWarning,
    check_labelled,
    evaluate_label_efficiency,
    near_duplicate_pairs,
    training_splits,
)
from tests.engine.test_fewshot_head import CLASSES, clusters


class Recorder:
    """A classifier factory that remembers every training set it was given (as row tuples)."""

    def __init__(self):
        self.training_sets = []

    def __call__(self):
        recorder = self

        class Nearest:
            def fit(self, X, y):
                recorder.training_sets.append(sorted(map(tuple, np.round(X, 9))))
                self.X, self.y = X, np.asarray(y)
                return self

            def predict(self, X):
                distances = ((X[:, None, :] - self.X[None]) ** 2).sum(axis=2)
                return self.y[distances.argmin(axis=1)]

        return Nearest()


def test_same_seed_gives_the_same_splits_for_any_features():
    X, y = clusters(10)
    other_features = X[:, :5] * 7 + 1  # another "method" on the same images
    runs = []
    for features in (X, other_features, X):
        recorder = Recorder()
        evaluate_label_efficiency(features, y, ks=(1, 4), repeats=5, seed=3,
                                  classifier_factory=recorder)
        runs.append(recorder.training_sets)
    index_of = {tuple(np.round(row, 9)): i for i, row in enumerate(X)}
    index_other = {tuple(np.round(row, 9)): i for i, row in enumerate(other_features)}
    as_indices = [[sorted(index_of[r] for r in s) for s in runs[0]],
                  [sorted(index_other[r] for r in s) for s in runs[1]],
                  [sorted(index_of[r] for r in s) for s in runs[2]]]
    assert as_indices[0] == as_indices[1] == as_indices[2]
    other_seed = Recorder()
    evaluate_label_efficiency(X, y, ks=(1, 4), repeats=5, seed=4, classifier_factory=other_seed)
    assert other_seed.training_sets != runs[0]


def test_k_images_per_class_and_everything_else_tested():
    X, y = clusters(6)
    data = check_labelled(X, y)
    splits, reason = training_splits(data, 2, repeats=10, seed=0)
    assert reason is None and len(splits) == 10
    for train, test in splits:
        assert np.bincount(data.y[train]).tolist() == [2, 2, 2, 2]
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(24))


def test_groups_never_straddle_a_split():
    X, y = clusters(12)
    groups = [f"{label}-{i // 3}" for i, label in enumerate(y)]  # 4 groups of 3 per class
    data = check_labelled(X, y, groups=groups)
    for k in (1, 2, 4, 8):
        splits, reason = training_splits(data, k, repeats=20, seed=1)
        assert reason is None
        for train, test in splits:
            assert np.bincount(data.y[train]).tolist() == [k] * 4
            assert not set(data.groups[train]) & set(data.groups[test])
            # every image outside the training groups is tested
            assert set(test) == set(np.flatnonzero(~np.isin(data.groups, data.groups[train])))
    # K = 10 needs 4 groups of 3 (12 images) and leaves no group of the class to test
    splits, reason = training_splits(data, 10, repeats=3, seed=1)
    assert splits == [] and "12 image(s) in 4 group(s)" in reason


def test_k_too_large_is_skipped_with_a_warning():
    X, y = clusters(5)
    keep = np.r_[0:5, 5:10, 10:15, 15:18]  # singular has 3 images
    with pytest.warns(EvaluationWarning, match="K = 4 skipped: class 'singular' has 3"):
        result = evaluate_label_efficiency(X[keep], y[keep], ks=(1, 2, 4), repeats=3)
    assert [r["k"] for r in result["results"]] == [1, 2]
    assert result["skipped"][0]["k"] == 4
    first = result["results"][0]
    assert set(first) >= {"k", "accuracy_mean", "accuracy_std", "macro_f1_mean", "repeats",
                          "per_class", "confusion"}
    assert first["repeats"] == 3
    assert np.sum(first["confusion"]) == 3 * (len(keep) - 4)


def test_scores_of_a_perfect_and_a_hopeless_problem():
    X, y = clusters(8, spread=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        easy = evaluate_label_efficiency(X, y, ks=(1,), repeats=4)["results"][0]
    assert easy["accuracy_mean"] == 1.0 and easy["macro_f1_mean"] == 1.0
    noise = np.random.default_rng(0).normal(size=(200, 32))
    labels = np.repeat(CLASSES, 50)
    hard = evaluate_label_efficiency(noise, labels, ks=(4,), repeats=10)["results"][0]
    assert 0.15 < hard["accuracy_mean"] < 0.35  # chance is 0.25


def test_near_duplicates_straddling_splits_are_warned_about():
    X, y = clusters(6, spread=1.0)
    duplicated = np.vstack([X, X[:6] + 1e-6])  # six bundle images copied
    labels = np.concatenate([y, y[:6]])
    pairs = near_duplicate_pairs(duplicated)
    assert [tuple(p) for p in pairs] == [(i, 24 + i) for i in range(6)]
    with pytest.warns(EvaluationWarning, match=r"6 pair\(s\) of near-duplicate images"):
        result = evaluate_label_efficiency(duplicated, labels, ks=(1,), repeats=5)
    # every bundle image has a copy, so the one training bundle image always leaves its copy
    # in the test set
    assert result["near_duplicates"] == {"pairs": 6, "splits_straddled": 5, "splits": 5}
    with warnings.catch_warnings():  # groups keep the copies together: no warning
        warnings.simplefilter("error", EvaluationWarning)
        groups = [str(i % 24) for i in range(30)]
        grouped = evaluate_label_efficiency(duplicated, labels, groups=groups, ks=(1,),
                                            repeats=5)
        unchecked = evaluate_label_efficiency(duplicated, labels, ks=(1,), repeats=2,
                                              check_duplicates=False)
    assert grouped["near_duplicates"] is None and unchecked["near_duplicates"] is None
    assert near_duplicate_pairs(X).shape == (0, 2)


@pytest.mark.parametrize("labels, classes, message", [
    (["a"] * 6, None, "at least two classes"),
    (["a", "b"] * 3, ["a", "b", "c"], "class\\(es\\) 'c' have no labelled images"),
    (["a", "b", "x"] * 2, ["a", "b"], "unknown label\\(s\\) 'x'"),
])
def test_bad_labels_are_clear_errors(labels, classes, message):
    with pytest.raises(NanomorphError, match=message):
        evaluate_label_efficiency(np.zeros((6, 3)), labels, classes=classes)
