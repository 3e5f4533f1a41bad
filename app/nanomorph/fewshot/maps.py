"""2-D maps of embeddings, to see how the images cluster: PCA, t-SNE, and UMAP when the
``umap-learn`` package is installed (it is not a dependency; without it UMAP is not offered).
Every method is deterministic for a given seed.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from nanomorph.errors import InvalidParameterError

TSNE_PERPLEXITY = 30.0
# t-SNE and UMAP first reduce the embeddings to this many principal components (speed).
_PRE_PCA_COMPONENTS = 50


def available_map_methods() -> tuple[str, ...]:
    """The map methods this installation offers.

    Returns
    -------
    tuple of str
        ``pca``, ``tsne`` and, if importable, ``umap``.
    """
    return ("pca", "tsne") + (("umap",) if importlib.util.find_spec("umap") else ())


def embedding_map(X, method: str = "pca", *, seed: int = 0) -> np.ndarray:
    """2-D coordinates of embeddings.

    Parameters
    ----------
    X : array-like, shape (N, D)
        Embeddings.
    method : {"pca", "tsne", "umap"}
        ``tsne`` uses perplexity ``min(30, (N - 1) / 3)`` (t-SNE needs perplexity < N); ``umap``
        only where :func:`available_map_methods` lists it.
    seed : int
        Random state of t-SNE and UMAP (PCA is exact).

    Returns
    -------
    ndarray of float, shape (N, 2)
        One point per image. Sets of fewer than 4 images get PCA coordinates whatever the
        method (zeros where there is no axis: one image lies at the origin).

    Raises
    ------
    InvalidParameterError
        For an unknown or unavailable method, or embeddings that are not finite (N, D).
    """
    X = np.asarray(X, dtype=np.float64)
    if method not in available_map_methods():
        raise InvalidParameterError(f"unknown or unavailable map {method!r}: choose one of "
                                    f"{', '.join(available_map_methods())}")
    if X.ndim != 2 or 0 in X.shape or not np.isfinite(X).all():
        raise InvalidParameterError(f"expected finite embeddings of shape (N, D), got {X.shape}")
    if method == "pca" or len(X) < 4:
        return _pca(X, 2)
    reduced = _pca(X, _PRE_PCA_COMPONENTS)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(TSNE_PERPLEXITY, (len(X) - 1) / 3)
        return TSNE(n_components=2, perplexity=perplexity, init="pca",
                    random_state=seed).fit_transform(reduced)
    import umap

    return umap.UMAP(n_components=2, n_neighbors=min(15, len(X) - 1),
                     random_state=seed).fit_transform(reduced)


def _pca(X: np.ndarray, components: int) -> np.ndarray:
    """The first ``components`` principal coordinates (fewer when N or D is smaller, then
    padded with zero columns up to at least 2)."""
    from sklearn.decomposition import PCA

    if len(X) < 2:
        return np.zeros((len(X), 2))
    n = min(components, X.shape[0], X.shape[1])
    coords = PCA(n_components=n, svd_solver="full").fit_transform(X)
    if coords.shape[1] < 2:
        coords = np.hstack([coords, np.zeros((len(X), 2 - coords.shape[1]))])
    return coords
