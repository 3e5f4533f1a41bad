"""Few-shot classification that also uses the unlabelled images: label spreading.

A user labels 5 images of 500; the other 495 still show where the classes lie. Label spreading
(Zhou et al. 2004, scikit-learn's ``LabelSpreading``) lets the labels flow along a k-nearest-
neighbour graph of all embeddings (L2-normalised, so that neighbours are by cosine) before each
image takes the class that reached it most.

Measured (``tests/benchmarks/test_bench_accuracy.py``, group-aware splits, 60 per K, the
same splits as the linear head on the same embeddings):

- ``pan_nanofiber_dev`` (one microscope, each class one look): 0.711 / 0.761 at 1 / 2 labels
  per class against 0.664 / 0.743 for the head; with k = 8 neighbours instead of √N = 5 it
  lost to the head — the graph must be sparse enough for the classes to stay apart;
- the multi-source set (a class made of two instruments' images): 0.60 against 0.92. Labels
  spread within the sub-cluster they were given in; an unlabelled sub-cluster of a class
  takes whatever class its neighbours have.

So it is an option (``classify evaluate --semi-supervised``, the Classify step's check box),
never the default: it helps when every look of a class has a label, and harms when one does not.
"""

from __future__ import annotations

import numpy as np

from nanomorph.errors import InvalidParameterError

MIN_NEIGHBOURS, MAX_NEIGHBOURS = 3, 15
SPREADING_ALPHA = 0.2  # how much a labelled image's own label may change (sklearn's alpha)


def default_neighbours(n_images: int) -> int:
    """The neighbours each image links to: √N, between 3 and 15.

    Parameters
    ----------
    n_images : int
        Labelled and unlabelled images together.

    Returns
    -------
    int
        The number of neighbours.
    """
    return int(np.clip(round(np.sqrt(max(n_images, 1))), MIN_NEIGHBOURS, MAX_NEIGHBOURS))


class SpreadingClassifier:
    """Label spreading over the labelled images and a pool of unlabelled ones.

    Parameters
    ----------
    unlabelled : array-like, shape (M, D)
        Embeddings of the images without labels (rows equal to a labelled image's are left
        out of the pool at ``fit``).
    n_neighbors : int, optional
        Neighbours in the graph; default :func:`default_neighbours` of the graph's size.

    Raises
    ------
    InvalidParameterError
        For a pool that is not a 2-D array of finite numbers.
    """

    def __init__(self, unlabelled, n_neighbors: int | None = None):
        pool = np.asarray(unlabelled, dtype=np.float64)
        if pool.ndim != 2 or not np.isfinite(pool).all():
            raise InvalidParameterError("the unlabelled embeddings must be a 2-D array of "
                                        "finite numbers")
        self.pool = pool
        self.n_neighbors = n_neighbors
        self.classes_: list[str] = []

    def fit(self, X, y) -> "SpreadingClassifier":
        """Keep the labelled images (the spreading runs at prediction, over the whole graph).

        Parameters
        ----------
        X : array-like, shape (N, D)
            Embeddings of the labelled images.
        y : sequence of str
            Their classes.

        Returns
        -------
        SpreadingClassifier
            Itself.

        Raises
        ------
        InvalidParameterError
            For no labels, or embeddings of another length than the pool's.
        """
        X = np.asarray(X, dtype=np.float64)
        if len(X) == 0 or X.ndim != 2 or X.shape[1] != self.pool.shape[1]:
            raise InvalidParameterError("label spreading needs labelled embeddings as long as "
                                        "the unlabelled ones")
        labelled = {row.tobytes() for row in X}
        self._pool = np.array([row for row in self.pool if row.tobytes() not in labelled]
                              ).reshape(-1, X.shape[1])
        self.classes_ = sorted({str(c) for c in y})
        self._X = X
        self._y = np.array([self.classes_.index(str(c)) for c in y])
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of images after spreading.

        Parameters
        ----------
        X : array-like, shape (T, D)
            Embeddings to classify (typically from the pool).

        Returns
        -------
        ndarray, shape (T, C)
            Probabilities in the order of ``classes_``.
        """
        from sklearn.semi_supervised import LabelSpreading

        X = np.asarray(X, dtype=np.float64)
        # images of the pool are its nodes already (the usual, transductive case); others
        # join the graph as nodes of their own
        offset = len(self._X)
        in_pool = {row.tobytes(): offset + i for i, row in enumerate(self._pool)}
        extra = [row for row in X if row.tobytes() not in in_pool]
        nodes = _unit(np.vstack([self._X, self._pool, *([np.array(extra)] if extra else [])]))
        rows, n_extra = [], 0
        for row in X:
            if row.tobytes() in in_pool:
                rows.append(in_pool[row.tobytes()])
            else:
                rows.append(offset + len(self._pool) + n_extra)
                n_extra += 1
        targets = np.concatenate([self._y, -np.ones(len(nodes) - offset, int)])
        k = self.n_neighbors or default_neighbours(len(nodes))
        model = LabelSpreading(kernel="knn", n_neighbors=min(k, len(nodes) - 1),
                               alpha=SPREADING_ALPHA, max_iter=200)
        model.fit(nodes, targets)
        proba = np.zeros((len(X), len(self.classes_)))
        proba[:, model.classes_[model.classes_ >= 0]] = model.label_distributions_[rows]
        return proba

    def predict(self, X) -> np.ndarray:
        """The class of each image after spreading.

        Parameters
        ----------
        X : array-like, shape (T, D)
            Embeddings to classify.

        Returns
        -------
        ndarray of str, shape (T,)
            Class names.
        """
        return np.array(self.classes_)[self.predict_proba(X).argmax(axis=1)]


def _unit(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)
