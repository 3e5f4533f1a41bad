"""Label spreading: labels reach the unlabelled images of their cluster; bad pools are refused."""

from __future__ import annotations

import numpy as np
import pytest

from nanomorph.errors import InvalidParameterError
from nanomorph.fewshot.semi import SpreadingClassifier, default_neighbours


def clusters(n=30, dim=16, seed=0):
    """Three tight clouds of embeddings around random directions (cosine geometry)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, dim))
    return [c + rng.normal(0, 0.15, (n, dim)) for c in centres]


def test_one_label_per_cluster_reaches_its_cloud():
    clouds = clusters()
    pool = np.vstack(clouds)
    model = SpreadingClassifier(pool).fit(np.vstack([c[:1] for c in clouds]), ["a", "b", "c"])
    predicted = model.predict(pool)
    assert list(predicted[::30]) == ["a", "b", "c"]
    assert (predicted == np.repeat(["a", "b", "c"], 30)).mean() > 0.95
    proba = model.predict_proba(pool[:3])
    assert proba.shape == (3, 3) and np.allclose(proba.sum(axis=1), 1)


def test_neighbours_and_bad_input():
    assert default_neighbours(28) == 5 and default_neighbours(4) == 3
    assert default_neighbours(10_000) == 15
    with pytest.raises(InvalidParameterError, match="finite"):
        SpreadingClassifier(np.array([[np.nan, 1.0]]))
    with pytest.raises(InvalidParameterError, match="as long as"):
        SpreadingClassifier(np.ones((3, 4))).fit(np.ones((2, 5)), ["a", "b"])
    # every pooled image is labelled: the images to classify alone are spread to
    clouds = clusters(seed=1)
    labelled = np.vstack([c[:5] for c in clouds])
    model = SpreadingClassifier(labelled).fit(labelled, np.repeat(["a", "b", "c"], 5))
    assert len(model._pool) == 0
    assert list(model.predict(np.vstack([c[10:11] for c in clouds]))) == ["a", "b", "c"]
