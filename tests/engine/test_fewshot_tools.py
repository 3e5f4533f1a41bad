"""Anchor diagnostics, label-next ranking and 2-D embedding maps."""

from __future__ import annotations

import numpy as np
import pytest

from nanomorph.errors import InvalidParameterError
from nanomorph.fewshot.active import rank_uncertain, uncertainty
from nanomorph.fewshot.anchors import anchor_table
from nanomorph.fewshot.maps import available_map_methods, embedding_map
from tests.engine.test_fewshot_head import CLASSES, clusters


def test_anchor_table_ranks_atypical_anchors_last():
    X, y = clusters(5, dim=16, spread=0.5)
    X[0] = X[5] + 0.1  # a "bundle" image that looks like a dispersed one: a poor anchor
    table = anchor_table(X, y, repeats=4, seed=0)
    assert list(table) == CLASSES
    assert all(len(rows) == 5 for rows in table.values())
    bundle = table["bundle"]
    assert [s.accuracy_mean for s in bundle] == sorted((s.accuracy_mean for s in bundle),
                                                       reverse=True)
    # good anchors: 15 of 16 test images right (the odd bundle image is missed), recall 3/4
    assert [s.index for s in bundle] == [1, 2, 3, 4, 0]
    assert bundle[0].accuracy_mean == pytest.approx(15 / 16) and bundle[0].repeats == 4
    assert bundle[-1].accuracy_mean < 0.7 and bundle[-1].recall_mean < bundle[0].recall_mean
    assert {s.index for rows in table.values() for s in rows} == set(range(20))


def test_anchor_groups_leave_the_anchors_groups_out_of_the_test():
    X, y = clusters(4, dim=8)
    groups = [f"{label}{i // 2}" for i, label in enumerate(y)]  # pairs
    table = anchor_table(X, y, groups=groups, repeats=2)
    # 16 images minus the 4 anchors' pairs: 8 tested; recall over the one other pair
    assert all(0 <= s.recall_mean <= 1 for rows in table.values() for s in rows)


def test_margin_and_least_confident_rankings():
    proba = np.array([[0.90, 0.05, 0.05],   # confident
                      [0.45, 0.44, 0.11],   # torn between two classes
                      [0.40, 0.30, 0.30],   # weak best guess, clearer margin
                      [0.90, 0.05, 0.05]])  # tie with row 0
    assert rank_uncertain(proba, "margin").tolist() == [1, 2, 0, 3]
    assert rank_uncertain(proba, "least_confident").tolist() == [2, 1, 0, 3]
    np.testing.assert_allclose(uncertainty(proba, "margin"), [0.15, 0.99, 0.9, 0.15])
    with pytest.raises(InvalidParameterError, match="sum to 1"):
        rank_uncertain([[0.5, 0.6]])
    with pytest.raises(InvalidParameterError, match="unknown ranking"):
        rank_uncertain(proba, "entropy")


@pytest.mark.parametrize("method", available_map_methods())
def test_maps_are_deterministic_and_separate_clusters(method):
    X, y = clusters(10, dim=32)
    X, y, classes = X[:30], y[:30], CLASSES[:3]  # three centres span a plane: PCA separates
    first, second = embedding_map(X, method, seed=1), embedding_map(X, method, seed=1)
    np.testing.assert_array_equal(first, second)
    assert first.shape == (30, 2)
    centres = np.array([first[y == c].mean(axis=0) for c in classes])
    spread = max(np.linalg.norm(first[y == c] - centres[i], axis=1).max()
                 for i, c in enumerate(classes))
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=2)[np.triu_indices(3, 1)]
    assert gaps.min() > spread  # each class is its own island


def test_maps_of_tiny_sets_and_unavailable_methods():
    assert "umap" in available_map_methods() or "umap" not in ("pca", "tsne")
    assert embedding_map(np.ones((1, 5)), "tsne").shape == (1, 2)
    assert embedding_map(np.eye(3), "pca").shape == (3, 2)
    if "umap" not in available_map_methods():
        with pytest.raises(InvalidParameterError, match="unavailable map 'umap'"):
            embedding_map(np.eye(3), "umap")
