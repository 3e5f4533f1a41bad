"""Clusters and similar-image search over embeddings: the groups come back, numbers are
stable, bad input is refused with a clear message."""

from __future__ import annotations

import numpy as np
import pytest

from nanomorph.errors import InvalidParameterError
from nanomorph.explore import cluster_embeddings, most_similar


def clouds(sizes=(20, 12, 8), dim=32, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), dim))
    X = np.vstack([c + rng.normal(0, 0.2, (n, dim)) for c, n in zip(centres, sizes)])
    return X, np.repeat(np.arange(len(sizes)), sizes)


def agreement(a, b) -> float:
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(a, b)


@pytest.mark.parametrize("n_clusters", [3, "auto"])
def test_kmeans_finds_the_clouds_numbered_by_size(n_clusters):
    X, truth = clouds()
    result = cluster_embeddings(X, n_clusters=n_clusters)
    assert result.n_clusters == 3 and agreement(result.labels, truth) == 1.0
    assert list(np.bincount(result.labels)) == [20, 12, 8]  # the largest cluster is 0
    assert np.all((result.distances >= 0) & (result.distances < 0.5))
    if n_clusters == "auto":
        assert max(result.silhouettes, key=result.silhouettes.get) == 3


def test_hdbscan_lets_the_data_decide_and_marks_outliers_as_noise():
    X, truth = clouds(sizes=(30, 30))
    scattered = np.random.default_rng(9).normal(size=(8, X.shape[1])) * 10
    result = cluster_embeddings(np.vstack([X, scattered]), method="hdbscan")
    assert result.n_clusters == 2 and agreement(result.labels[:60], truth) == 1.0
    assert (result.labels[60:] == -1).sum() >= 3  # images in no dense group are noise


def test_similar_images_by_cosine_without_the_query_itself():
    X, truth = clouds()
    found = most_similar(X, 0, top=5)
    assert [row for row, _ in found if row == 0] == []
    assert all(truth[row] == truth[0] for row, _ in found)
    scores = [s for _, s in found]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)
    outside = most_similar(X, X[25] * 3.0, top=1)  # a query outside the set: scale-free
    assert outside[0][0] == 25 and outside[0][1] == pytest.approx(1.0, abs=1e-5)
    assert len(most_similar(X[:3], 0, top=10)) == 2


def test_float16_embeddings_are_searched_in_chunks_with_the_same_answer(monkeypatch):
    from nanomorph.explore import similar

    X, _ = clouds()
    whole = most_similar(X.astype(np.float16), 3, top=6)
    monkeypatch.setattr(similar, "CHUNK_ROWS", 7)
    chunked = most_similar(X.astype(np.float16), 3, top=6)
    assert [row for row, _ in chunked] == [row for row, _ in whole]
    assert [row for row, _ in whole] == [row for row, _ in most_similar(X, 3, top=6)]
    assert [s for _, s in chunked] == pytest.approx([s for _, s in whole], abs=1e-6)


def test_degenerate_and_bad_input():
    X, _ = clouds()
    same = np.repeat(X[:1], 6, axis=0)  # identical images: one cluster, distance 0
    result = cluster_embeddings(same)
    assert result.n_clusters == 1 and np.allclose(result.distances, 0)
    assert cluster_embeddings(same, n_clusters=3).n_clusters == 1
    with pytest.raises(InvalidParameterError, match="at least two images"):
        cluster_embeddings(X[:1])
    with pytest.raises(InvalidParameterError, match="5 clusters asked of 3 images"):
        cluster_embeddings(X[:3], n_clusters=5)
    with pytest.raises(InvalidParameterError, match="unknown clustering method 'dbscan'"):
        cluster_embeddings(X, method="dbscan")
    with pytest.raises(InvalidParameterError, match="finite"):
        cluster_embeddings(np.full((3, 2), np.nan))
    with pytest.raises(InvalidParameterError, match="not among the 40 images"):
        most_similar(X, 40)
    with pytest.raises(InvalidParameterError, match="top must be"):
        most_similar(X, 0, top=0)
    with pytest.raises(InvalidParameterError, match="the query has 3 numbers"):
        most_similar(X, np.ones(3))
