"""Explore (`make bench`): how well clusters and similar-image search recover the classes of
``pan_nanofiber_dev`` and the multi-source set (labels used only to score), beside the same on
the intensity-statistics control; and exact cosine search time against the number of images.

- NMI / ARI of k-means with the number of classes given, of ``auto`` (best silhouette) and of
  HDBSCAN (noise counted as its own group);
- precision@5: the share of each image's 5 most similar images (itself excluded) that have its
  label, mean over images;
- query time of :func:`nanomorph.explore.most_similar` on random 1280-d embeddings of 10,000 to
  300,000 images (median of 50 queries)."""

from __future__ import annotations

import time

import numpy as np
import pytest

QUERY_BUDGET_S = 0.050


def precision_at(X, labels, k=5) -> float:
    from nanomorph.explore import most_similar

    labels = np.asarray(labels)
    hits = [np.mean([labels[j] == labels[i] for j, _ in most_similar(X, i, top=k)])
            for i in range(len(X))]
    return round(float(np.mean(hits)), 3)


def cluster_scores(X, labels) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from nanomorph.explore import cluster_embeddings

    n_classes = len(set(labels))
    out = {}
    for name, options in {f"kmeans k={n_classes}": dict(n_clusters=n_classes),
                          "kmeans auto": dict(n_clusters="auto"),
                          "hdbscan": dict(method="hdbscan")}.items():
        found = cluster_embeddings(X, **options)
        out[name] = {"nmi": round(normalized_mutual_info_score(labels, found.labels), 3),
                     "ari": round(adjusted_rand_score(labels, found.labels), 3),
                     "clusters": found.n_clusters}
    return out


@pytest.mark.bench
def test_explore_accuracy(shared_data, tmp_path, record):
    from nanomorph.embedding import embed_images
    from nanomorph.fewshot.control import control_features
    from nanomorph.fewshot.labels_csv import read_labels_csv
    from nanomorph.jobs import run_job
    from tests.benchmarks.test_bench_fewshot import build_morphology_set

    (tmp_path / "morphology").mkdir()
    sets = {"pan_nanofiber_dev": shared_data / "pan_nanofiber_dev" / "labels.csv",
            "multi-source": build_morphology_set(shared_data, tmp_path / "morphology")}
    results = {}
    for name, csv_path in sets.items():
        labelled = read_labels_csv(csv_path)
        embedded = run_job(embed_images(labelled.paths, device="cpu"))
        control = run_job(control_features(labelled.paths))
        labels = list(labelled.labels)
        results[name] = {
            "embeddings": {**cluster_scores(embedded.embeddings, labels),
                           "precision@5": precision_at(embedded.embeddings, labels)},
            "control: intensity": {**cluster_scores(control.intensity, labels),
                                   "precision@5": precision_at(control.intensity, labels)},
        }
    record("explore_accuracy", results)


@pytest.mark.bench
def test_similar_query_time(record):
    from nanomorph.explore import most_similar

    rng = np.random.default_rng(0)
    times = {}
    for n in (10_000, 100_000, 300_000):
        X = rng.normal(size=(n, 1280)).astype(np.float32)
        seconds = []
        for q in range(50):
            start = time.perf_counter()
            most_similar(X, q, top=10)
            seconds.append(time.perf_counter() - start)
        times[n] = round(1e3 * float(np.median(seconds)), 2)
        del X
    record("explore_query_ms", {"median_ms_by_images": times})
    assert times[10_000] / 1e3 < QUERY_BUDGET_S
