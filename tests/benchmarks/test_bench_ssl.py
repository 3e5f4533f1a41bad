"""Self-supervised pretraining benchmark (`make bench`): does an encoder pretrained on these
micrographs, without their labels, make the few-shot classifier better than ImageNet's?

``ssl_label_efficiency``: every micrograph of ../shared/data (``role = image`` in the
MANIFEST.csv of the six micrograph folders; not the format samples of microscope_formats:
52 images; no label is read) pretrains three encoders on this machine's CPU, one torch
thread, a CPU-sized configuration (:data:`STEPS` steps, batch 32, 96-px views, the defaults
otherwise):

- Barlow Twins from the ImageNet EfficientNet-Lite0,
- SimCLR from the ImageNet EfficientNet-Lite0,
- Barlow Twins on a ResNet-18 from scratch (the paper-like baseline: Lu et al. 2022 started
  ResNet-50 from scratch).

Each encoder, the ImageNet Lite0 itself and the untrained ResNet-18 (its random starting point)
then go through the classifier's label-efficiency protocol
(:func:`nanomorph.fewshot.evaluate_label_efficiency`) on the multi-source morphology set of
``test_bench_fewshot.py`` (:func:`build_morphology_set`: the same crops, classes and groups),
with the same K, repeats and seed, so every encoder sees identical splits; the
intensity-statistics and pixel-density controls run on those splits too. The whole benchmark
takes about 11 minutes on 2 CPU cores; nothing asserts that pretraining helps (at this budget it
may not): the table says what it does. Runs are reproducible on one machine: the ResNet-18
run, the same code in two runs of the benchmark, gave identical losses and accuracies.
"""

from __future__ import annotations

import csv
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.benchmarks.test_bench_fewshot import KS, REPEATS, build_morphology_set

MICROGRAPH_FOLDERS = ("agnw_network_sem", "cellulose_fibre_sem", "cnt_composite_sem",
                      "sem_nanowires", "tio2_sem_seg", "nanowire_tem_seg")
STEPS = 200
BATCH = 32
IMAGE_SIZE_PX = 96
THREADS = 1  # two threads contending with the machine's other work were up to 10x slower


def pretraining_images(shared: Path) -> list[str]:
    """Every micrograph of the shared data (MANIFEST role ``image``), labels never read."""
    paths = []
    for folder in MICROGRAPH_FOLDERS:
        with open(shared / folder / "MANIFEST.csv", newline="") as file:
            paths += [str(shared / folder / row["file"]) for row in csv.DictReader(file)
                      if row["role"] == "image"]
    return paths


def _configurations(n_images: int) -> dict:
    from nanomorph.ssl import PretrainConfig

    epochs = STEPS // (n_images // BATCH)
    common = {"epochs": epochs, "batch_size": BATCH, "image_size_px": IMAGE_SIZE_PX,
              "checkpoint_every": STEPS // 2, "seed": 0}
    return {
        "Barlow Twins, Lite0 from ImageNet": PretrainConfig(method="barlow", **common),
        "SimCLR, Lite0 from ImageNet": PretrainConfig(method="simclr", **common),
        "Barlow Twins, ResNet-18 from scratch": PretrainConfig(method="barlow",
                                                               backbone="resnet18", **common),
    }


def _scores(features, y, groups, factory=None) -> dict:
    from nanomorph.fewshot.evaluate import evaluate_label_efficiency

    result = evaluate_label_efficiency(features, y, groups=groups, ks=KS, repeats=REPEATS,
                                       seed=0, classifier_factory=factory)
    assert not result["skipped"]
    return {r["k"]: {"accuracy_mean": round(r["accuracy_mean"], 3),
                     "accuracy_std": round(r["accuracy_std"], 3),
                     "macro_f1_mean": round(r["macro_f1_mean"], 3)} for r in result["results"]}


@pytest.mark.bench
def test_bench_ssl_label_efficiency(shared_data, tmp_path_factory, record):
    from nanomorph.embedding import embed_images
    from nanomorph.fewshot.control import control_classifier, control_features
    from nanomorph.fewshot.evaluate import EvaluationWarning
    from nanomorph.fewshot.labels_csv import read_labels_csv
    from nanomorph.jobs import run_job
    from nanomorph.ssl import pretrain

    folder = tmp_path_factory.mktemp("ssl_bench")
    images = pretraining_images(shared_data)
    runs, encoders = {}, {"ImageNet Lite0 (no pretraining)": "efficientnet-lite0",
                          "ResNet-18, random weights (no pretraining)": "resnet18-random"}
    for index, (name, config) in enumerate(_configurations(len(images)).items()):
        start = time.perf_counter()
        result = run_job(pretrain(images, folder / f"run{index}", config, device="cpu",
                                  threads=THREADS))
        epochs = result.epoch_losses()
        runs[name] = {"steps": len(result.losses), "minutes": round(
            (time.perf_counter() - start) / 60, 2), "first_epochs_loss": round(np.mean(
                [loss for _, loss in epochs[:10]]), 3), "last_epochs_loss": round(np.mean(
                    [loss for _, loss in epochs[-10:]]), 3), "skipped": result.skipped}
        encoders[name] = result.folder
        assert runs[name]["last_epochs_loss"] < runs[name]["first_epochs_loss"]

    labelled = read_labels_csv(build_morphology_set(shared_data, folder))
    y, groups = np.asarray(labelled.labels), labelled.groups
    table = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        for name, encoder in encoders.items():
            embedded = run_job(embed_images(labelled.paths, encoder=encoder, device="cpu"))
            assert not embedded.failed
            table[name] = _scores(embedded.embeddings, y, groups)
        control = run_job(control_features(labelled.paths))
        table["intensity-statistics control"] = _scores(control.intensity, y, groups,
                                                        control_classifier)
        table["density control"] = _scores(control.density, y, groups, control_classifier)
    record("ssl_label_efficiency", {
        "pretraining": {"images": len(images), "steps": STEPS, "batch_size": BATCH,
                        "image_size_px": IMAGE_SIZE_PX, "threads": THREADS, "device": "cpu",
                        "runs": runs},
        "evaluation": {"images": len(y), "ks": list(KS), "repeats": REPEATS, "seed": 0},
        "table": table})
    assert table["ImageNet Lite0 (no pretraining)"][1]["accuracy_mean"] > 0.5  # chance: 0.25
