"""Few-shot benchmarks (`make bench`).

- ``fewshot_latency``: from a new label to updated predictions of 1,000 images on cached
  embeddings (train + predict), median of repeats; budget 300 ms.
- ``fewshot_accuracy``: ImageNet EfficientNet-Lite0 embeddings vs the pixel-density and the
  intensity-statistics controls on a multi-source morphology set built from ../shared/data
  (:func:`build_morphology_set`), identical splits, groups respected. Each class comes from
  one or two sources (network: AgNW/ANF + cellulose; dispersed: wires on chips + CNTs;
  particles: TiO2; singular: HRTEM frames), so source and class are confounded: the
  intensity-statistics control measures how much the source alone gives away.
- ``fewshot_choices``: the measurements behind the classifier's defaults (C, scaling,
  temperature calibration): accuracy, log-loss and expected calibration error on the real set
  and on a synthetic four-morphology set.
"""

from __future__ import annotations

import csv
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

KS = (1, 2, 4, 8)
REPEATS = 20
LATENCY_BUDGET_S = 0.300

# -- the multi-source morphology set -------------------------------------------------------------
# (file under ../shared/data, class, group, crop into 2 x 2 tiles, rows of text at the bottom
# to drop when the info-bar finder misses them). Large SEM micrographs are cut into 4
# non-overlapping crops whose group is their source micrograph (the three ANF slices of one
# acquisition share one group); TEM frames and TiO2 images are used whole (their crops would
# often hold no wire or particle). Left out: the 78 x 82 AgNW crop (too small) and
# nanotubes.png (a downscaled copy of nanotubes.tif).
_NETWORK = [("agnw_network_sem/agnw_0000.tif", "agnw_0000"), ("agnw_network_sem/agnw_0001.tif",
                                                               "agnw_0001")] + \
    [(f"agnw_network_sem/anf_{n}.tif", "anf") for n in ("0281", "0285", "0289")]
_SOURCES = (
    [(path, "network", group, True, 0) for path, group in _NETWORK]
    + [(f"cellulose_fibre_sem/{n}.jpg", "network", n, True, 48) for n in ("K1", "K2")]
    + [(f"sem_nanowires/{n}.tif", "dispersed", f"semnw_{n}", True, 0)
       for n in ("2_2", "4", "9", "13", "22", "23")]
    + [("cnt_composite_sem/nanotubes.tif", "dispersed", "cnt", True, 0)]
    + [(f"tio2_sem_seg/images/{1908248 + 2 * i}.tif", "particles", f"tio2_{i}", False, 0)
       for i in range(12)]
    + [(f"nanowire_tem_seg/images/{f:07d}.png", "singular", None, False, 0)
       for f in range(1, 94, 4)]
)
# nanowire_tem_seg/SOURCE.md: interleaved acquisition runs by frame range (first, last, what)
_TEM_RUNS = ((1, 4, "horizontal-a"), (5, 25, "diagonal-a"), (26, 32, "thin"),
             (33, 61, "horizontal-b"), (62, 66, "diagonal-b"), (67, 104, "horizontal-c"))


def tem_run(frame: int) -> str:
    """The acquisition run of a nanowire_tem_seg frame (its split group)."""
    return next(f"tem_{name}" for first, last, name in _TEM_RUNS if first <= frame <= last)


def build_morphology_set(shared: Path, folder: Path) -> Path:
    """Write the crops into ``folder`` and a LABELS.csv (path,label,group) listing crops and
    whole images (by their path in ``shared``); return the CSV's path."""
    import imageio.v3 as iio

    from nanomorph.io import read_image
    from nanomorph.masks import databar_rows_of

    rows = []
    for relative, label, group, crop, text_rows in _SOURCES:
        path = shared / relative
        if group is None:
            group = tem_run(int(path.stem))
        if not crop:
            rows.append((str(path), label, group))
            continue
        image = read_image(path)
        plane = image.plane(0)
        plane = plane[: plane.shape[0] - max(databar_rows_of(image), text_rows)]
        half_r, half_c = plane.shape[0] // 2, plane.shape[1] // 2
        for i, (r, c) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            target = folder / f"{path.stem}_crop{i}.png"
            iio.imwrite(target, plane[r * half_r:(r + 1) * half_r, c * half_c:(c + 1) * half_c])
            rows.append((str(target), label, group))
    labels = folder / "labels.csv"
    with open(labels, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(("path", "label", "group"))
        writer.writerows(rows)
    return labels


@pytest.fixture(scope="module")
def morphology_set(shared_data, tmp_path_factory):
    """(embeddings, control features, labels, groups) of the real multi-source set."""
    from nanomorph.embedding import embed_images
    from nanomorph.fewshot.control import control_features
    from nanomorph.fewshot.labels_csv import read_labels_csv
    from nanomorph.jobs import run_job

    folder = tmp_path_factory.mktemp("morphology_set")
    labelled = read_labels_csv(build_morphology_set(shared_data, folder))
    embedded = run_job(embed_images(labelled.paths, cache=folder / "cache"))
    control = run_job(control_features(labelled.paths))
    assert not embedded.failed and not control.failed
    return embedded.embeddings, control, np.asarray(labelled.labels), labelled.groups


# -- latency -------------------------------------------------------------------------------------
@pytest.mark.bench
def test_bench_label_to_predictions_latency(record):
    """Train on the labels + predict 1,000 cached 1280-d embeddings, as after each new label."""
    from nanomorph.fewshot.head import FewShotClassifier

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 1280))
    results = {}
    for per_class in (1, 8, 80):
        train_y = np.repeat(np.arange(4), per_class)
        train_X = centres[train_y] + rng.normal(scale=2.0, size=(len(train_y), 1280))
        unlabelled = centres[rng.integers(0, 4, 1000)] + rng.normal(scale=2.0, size=(1000, 1280))
        times = []
        for _ in range(15):
            start = time.perf_counter()
            FewShotClassifier().fit(train_X, train_y.astype(str)).predict_proba(unlabelled)
            times.append(time.perf_counter() - start)
        results[f"{per_class}_per_class_ms"] = round(1000 * statistics.median(times), 1)
    results["budget_ms"] = 1000 * LATENCY_BUDGET_S
    record("fewshot_latency", results)
    assert max(v for k, v in results.items() if k.endswith("_ms") and k != "budget_ms") \
        < 1000 * LATENCY_BUDGET_S


@pytest.mark.bench
def test_bench_latency_on_real_embeddings(morphology_set, record):
    """The same on real embeddings: train on 8 per class, predict the set tiled to 1,000."""
    from nanomorph.fewshot.head import FewShotClassifier

    X, _, y, _ = morphology_set
    train = np.concatenate([np.flatnonzero(y == c)[:8] for c in np.unique(y)])
    unlabelled = np.resize(X, (1000, X.shape[1]))
    times = []
    for _ in range(15):
        start = time.perf_counter()
        FewShotClassifier().fit(X[train], y[train]).predict_proba(unlabelled)
        times.append(time.perf_counter() - start)
    median_ms = round(1000 * statistics.median(times), 1)
    record("fewshot_latency_real", {"train_images": int(len(train)), "predicted": 1000,
                                    "median_ms": median_ms})
    assert median_ms < 1000 * LATENCY_BUDGET_S


# -- accuracy ------------------------------------------------------------------------------------
@pytest.mark.bench
def test_bench_accuracy_embeddings_vs_controls(morphology_set, record):
    from nanomorph.fewshot.control import control_classifier
    from nanomorph.fewshot.evaluate import EvaluationWarning, evaluate_label_efficiency

    X, control, y, groups = morphology_set
    methods = {"efficientnet-lite0 (ImageNet)": (X, None),
               "density control": (control.density, control_classifier),
               "intensity-statistics control": (control.intensity, control_classifier)}
    table = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EvaluationWarning)
        for name, (features, factory) in methods.items():
            result = evaluate_label_efficiency(features, y, groups=groups, ks=KS,
                                               repeats=REPEATS, seed=0,
                                               classifier_factory=factory)
            assert not result["skipped"]
            table[name] = {r["k"]: {"accuracy_mean": round(r["accuracy_mean"], 3),
                                    "accuracy_std": round(r["accuracy_std"], 3),
                                    "macro_f1_mean": round(r["macro_f1_mean"], 3),
                                    "repeats": r["repeats"]} for r in result["results"]}
        ungrouped = evaluate_label_efficiency(X, y, ks=KS, repeats=REPEATS, seed=0)
    classes, counts = np.unique(y, return_counts=True)
    record("fewshot_accuracy", {
        "set": {str(c): {"images": int(n), "groups": len({g for g, l in zip(groups, y)
                                                            if l == c})}
                for c, n in zip(classes, counts)},
        "ks": list(KS), "repeats": REPEATS, "table": table,
        "without_groups": {r["k"]: round(r["accuracy_mean"], 3) for r in ungrouped["results"]},
        "near_duplicates_without_groups": ungrouped["near_duplicates"],
        "warnings": sorted({str(w.message) for w in caught}),
    })
    lite0 = table["efficientnet-lite0 (ImageNet)"]
    assert lite0[1]["accuracy_mean"] > 0.5  # chance is 0.25
    assert all(lite0[k]["accuracy_mean"] > table["density control"][k]["accuracy_mean"]
               for k in lite0)


# -- the classifier's defaults -------------------------------------------------------------------
def _pooled_scores(X, y, groups, make, ks=KS, repeats=REPEATS) -> dict:
    """Accuracy, macro-F1, log-loss and top-label ECE (10 bins) per K, test predictions pooled
    over the protocol's splits."""
    from sklearn.metrics import f1_score, log_loss

    from nanomorph.fewshot.evaluate import check_labelled, training_splits

    data = check_labelled(X, y, groups=groups)
    labels = data.labels
    scores = {}
    for k in ks:
        splits, reason = training_splits(data, k, repeats, seed=0)
        if reason:
            continue
        probabilities, truths, accuracy, f1 = [], [], [], []
        for train, test in splits:
            model = make().fit(data.X[train], labels[train])
            proba = model.predict_proba(data.X[test])
            predicted = np.asarray(model.classes_)[proba.argmax(axis=1)]
            accuracy.append(np.mean(predicted == labels[test]))
            f1.append(f1_score(labels[test], predicted, average="macro"))
            probabilities.append(proba)
            truths.append(data.y[test])
        proba, truth = np.concatenate(probabilities), np.concatenate(truths)
        scores[k] = {"accuracy": round(float(np.mean(accuracy)), 3),
                     "macro_f1": round(float(np.mean(f1)), 3),
                     "log_loss": round(float(log_loss(truth, proba,
                                                      labels=range(proba.shape[1]))), 3),
                     "ece": round(expected_calibration_error(proba, truth), 3)}
    return scores


def expected_calibration_error(proba: np.ndarray, truth: np.ndarray, bins: int = 10) -> float:
    """Top-label ECE: mean |accuracy - confidence| over equal-width confidence bins,
    weighted by the bins' counts."""
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == truth
    edges = np.minimum((confidence * bins).astype(int), bins - 1)
    return float(sum(abs(correct[edges == b].mean() - confidence[edges == b].mean())
                     * np.mean(edges == b) for b in range(bins) if np.any(edges == b)))


@pytest.fixture(scope="module")
def synthetic_set(tmp_path_factory):
    """Embeddings of 20 synthetic images per morphology class (TEM and SEM contrast mixed)."""
    import tifffile

    from nanomorph.embedding import embed_images
    from nanomorph.jobs import run_job
    from nanomorph.synthetic import MORPHOLOGIES, generate_morphology

    folder = tmp_path_factory.mktemp("synthetic_set")
    paths, labels = [], []
    for name in MORPHOLOGIES:
        for seed in range(20):
            path = folder / f"{name}_{seed}.tif"
            tifffile.imwrite(path, generate_morphology(name, seed=1000 + seed).image)
            paths.append(str(path))
            labels.append(name)
    embedded = run_job(embed_images(paths, cache=folder / "cache"))
    return embedded.embeddings, np.asarray(labels)


@pytest.mark.bench
def test_bench_classifier_choices(morphology_set, synthetic_set, record):
    from nanomorph.fewshot.head import FewShotClassifier

    real_X, _, real_y, real_groups = morphology_set
    synthetic_X, synthetic_y = synthetic_set
    sets = {"real": (real_X, real_y, real_groups), "synthetic": (synthetic_X, synthetic_y, None)}
    configurations = {f"{scaling} C={C}": {"scaling": scaling, "C": C, "calibrate": False}
                      for scaling in ("standard", "l2") for C in (0.01, 0.1, 1.0, 10.0, 100.0)}
    configurations.update({f"l2 C={C} calibrated": {"scaling": "l2", "C": C, "calibrate": True}
                           for C in (0.01, 0.1, 1.0, 10.0)})
    results = {}
    for set_name, (X, y, groups) in sets.items():
        for name, options in configurations.items():
            results[f"{set_name} {name}"] = _pooled_scores(
                X, y, groups, lambda: FewShotClassifier(**options))
    _, control, _, _ = morphology_set
    for kind in ("density", "intensity"):
        for C in (0.1, 1.0, 10.0):
            results[f"real {kind} control standard C={C}"] = _pooled_scores(
                getattr(control, kind), real_y, real_groups,
                lambda: FewShotClassifier(scaling="standard", C=C, calibrate=False))
    record("fewshot_choices", results)
