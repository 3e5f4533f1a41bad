"""Clusters of images by their embeddings.

Embeddings are L2-normalised first (so that Euclidean distance orders pairs as cosine
similarity does), optionally reduced by PCA, then grouped by

- ``kmeans`` (scikit-learn, 10 initialisations): with a number of clusters given, or ``auto``:
  the number from 2 to :data:`MAX_AUTO_CLUSTERS` (at most N − 1) with the best mean silhouette;
- ``hdbscan`` (scikit-learn): the data decide the number; images in no dense group are noise
  (cluster −1).

Each image's ``distance`` is its cosine distance (1 − cosine similarity) to its cluster's
centroid (for noise: to the nearest centroid).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nanomorph.errors import InvalidParameterError

METHODS = ("kmeans", "hdbscan")
MAX_AUTO_CLUSTERS = 12
NOISE = -1


@dataclass
class Clustering:
    """The clusters of a set of images.

    Attributes
    ----------
    labels : ndarray of int, shape (N,)
        Cluster of each image (0, 1, …; −1 = noise, HDBSCAN only).
    distances : ndarray of float, shape (N,)
        Cosine distance of each image to its cluster's centroid.
    n_clusters : int
        Clusters found (noise not counted).
    method : str
        ``kmeans`` or ``hdbscan``.
    silhouettes : dict
        ``auto`` k-means: number of clusters → mean silhouette of each tried.
    """

    labels: np.ndarray
    distances: np.ndarray
    n_clusters: int
    method: str
    silhouettes: dict


def cluster_embeddings(X, *, n_clusters: int | str = "auto", method: str = "kmeans",
                       pca_components: int | None = None, seed: int = 0) -> Clustering:
    """Group images by their embeddings.

    Parameters
    ----------
    X : array-like, shape (N, D)
        One embedding per image.
    n_clusters : int or ``"auto"``
        k-means: the number of clusters, or ``auto`` (best silhouette); ignored by HDBSCAN.
    method : str
        ``kmeans`` or ``hdbscan``.
    pca_components : int, optional
        Reduce to this many principal components first (at most N − 1).
    seed : int
        Random state of k-means and PCA.

    Returns
    -------
    Clustering
        Labels, distances and what was chosen.

    Raises
    ------
    InvalidParameterError
        For an unknown method, a bad number of clusters, fewer than two images, more clusters
        than images, or embeddings that are not finite.
    """
    X = _unit_rows(X)
    if method not in METHODS:
        raise InvalidParameterError(f"unknown clustering method {method!r}: choose "
                                    f"{' or '.join(METHODS)}")
    n = len(X)
    if n < 2:
        raise InvalidParameterError(f"clustering needs at least two images, got {n}")
    if n_clusters != "auto" and not (isinstance(n_clusters, int) and n_clusters >= 1):
        raise InvalidParameterError(f"the number of clusters must be a whole number >= 1 or "
                                    f"auto, got {n_clusters!r}")
    if isinstance(n_clusters, int) and n_clusters > n:
        raise InvalidParameterError(f"{n_clusters} clusters asked of {n} images: ask for at "
                                    f"most {n}")
    features = _reduced(X, pca_components, seed)
    if method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        labels = HDBSCAN(min_cluster_size=max(2, min(5, n // 10 or 2)),
                         copy=True).fit_predict(features)
        silhouettes = {}
    elif n_clusters == "auto":
        labels, silhouettes = _auto_kmeans(features, seed)
    else:
        labels, silhouettes = _kmeans(features, n_clusters, seed), {}
    labels = _renumbered(labels)
    found = int(labels.max()) + 1 if (labels >= 0).any() else 0
    return Clustering(labels, _centroid_distances(X, labels, found), found, method, silhouettes)


def _unit_rows(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or not np.isfinite(X).all():
        raise InvalidParameterError("embeddings must be a 2-D array of finite numbers")
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def _reduced(X: np.ndarray, components: int | None, seed: int) -> np.ndarray:
    if components is None:
        return X
    from sklearn.decomposition import PCA

    k = max(1, min(int(components), len(X) - 1, X.shape[1]))
    return PCA(n_components=k, random_state=seed).fit_transform(X)


def _kmeans(X: np.ndarray, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    distinct = len(np.unique(np.round(X, 12), axis=0))
    return KMeans(n_clusters=min(k, distinct), n_init=10, random_state=seed).fit_predict(X)


def _auto_kmeans(X: np.ndarray, seed: int) -> tuple[np.ndarray, dict]:
    """k-means for every k from 2 to MAX_AUTO_CLUSTERS (< N); the best mean silhouette."""
    from sklearn.metrics import silhouette_score

    distinct = len(np.unique(np.round(X, 12), axis=0))
    if distinct < 3:  # silhouettes need 2 <= k < distinct points
        return np.zeros(len(X), int) if distinct < 2 else _kmeans(X, 2, seed), {}
    tried = {}
    for k in range(2, min(MAX_AUTO_CLUSTERS, distinct - 1) + 1):
        labels = _kmeans(X, k, seed)
        tried[k] = (float(silhouette_score(X, labels, metric="euclidean")), labels)
    best = max(tried, key=lambda k: tried[k][0])
    return tried[best][1], {k: round(score, 4) for k, (score, _) in tried.items()}


def _renumbered(labels: np.ndarray) -> np.ndarray:
    """Clusters numbered by size, largest 0 (noise stays −1)."""
    labels = np.asarray(labels, int)
    kept = [c for c in np.unique(labels) if c != NOISE]
    order = sorted(kept, key=lambda c: (-(labels == c).sum(), c))
    out = np.full_like(labels, NOISE)
    for new, old in enumerate(order):
        out[labels == old] = new
    return out


def _centroid_distances(X: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    if n_clusters == 0:
        return np.ones(len(X))
    centroids = _unit_rows(np.array([X[labels == c].mean(axis=0) for c in range(n_clusters)]))
    similarity = X @ centroids.T
    own = np.where(labels >= 0, similarity[np.arange(len(X)), np.maximum(labels, 0)],
                   similarity.max(axis=1))
    return np.clip(1.0 - own, 0.0, 2.0)
