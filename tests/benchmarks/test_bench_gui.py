"""GUI responsiveness (`make bench`): the app's phases in a fresh process under a heartbeat
(:mod:`tests.support.gui_phases`), beside bare napari doing the least any image switch needs,
in the same process; and label → updated predictions through the Classify dock's own path on
a project of 1,000 images with cached embeddings (budget: median < 300 ms)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LABEL_BUDGET_MS = 300


def run_phases(folder: Path, *options: str) -> dict:
    """The phases of :mod:`tests.support.gui_phases` on ``folder`` in a fresh process, with
    preferences of its own (the user's last workflow step would decide which step is open)."""
    import tempfile

    env = {**os.environ, "QT_API": "pyside6", "XDG_CONFIG_HOME": tempfile.mkdtemp()}
    done = subprocess.run([sys.executable, "-m", "tests.support.gui_phases", str(folder),
                           *options], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=3600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.bench
def test_gui_phases_on_the_sample_project(tmp_path, record):
    from nanomorph.jobs import run_job
    from nanomorph.workflows.sample_project import prepare_sample_project

    sample = run_job(prepare_sample_project(tmp_path / "sample"))
    runs = []
    for n in range(3):
        folder = tmp_path / f"run{n}"
        shutil.copytree(sample, folder)
        runs.append(run_phases(folder))
    worst = {phase: max(r[phase]["worst_ms"] for r in runs)
             for phase in ("open", "switch", "label", "bare_napari_swap")}
    record("gui_phases", {
        "runs": runs,
        "worst_ms": worst,
        "switch_vs_bare_napari": round(worst["switch"] / worst["bare_napari_swap"], 2),
        "label_to_predictions_ms_median": sorted(
            r["label"]["label_to_predictions_ms_median"] for r in runs)[1],
        "switch_show_ms_median": sorted(r["switch"]["show_ms_median"] for r in runs)[1],
    })


def thousand_image_project(folder: Path) -> Path:
    """1,000 small synthetic micrographs (the four morphologies in turn), two labelled per
    class, embeddings computed and cached."""
    import imageio.v3 as iio

    from nanomorph.jobs import run_job
    from nanomorph.project import Project
    from nanomorph.synthetic import generate_morphology
    from nanomorph.workflows.classify import project_embeddings

    morphologies = ("bundle", "dispersed", "network", "singular")
    images = folder / "images"
    images.mkdir(parents=True)
    for i in range(1000):
        kind = morphologies[i % 4]
        sample = generate_morphology(kind, shape=(96, 96), seed=i)
        iio.imwrite(images / f"{kind}_{i:04d}.png", sample.image)
    with Project.create(folder / "project") as project:
        run_job(project.images.add(sorted(images.iterdir())))
        per_class: dict[str, int] = {}
        for record in project.images.all():
            kind = record.name.split("_")[0]
            if per_class.get(kind, 0) < 2:
                project.labels.set(record.id, kind)
                per_class[kind] = per_class.get(kind, 0) + 1
        run_job(project_embeddings(project))
    return folder / "project"


@pytest.mark.bench
def test_label_to_predictions_at_1000_images_through_the_dock(tmp_path, record):
    folder = thousand_image_project(tmp_path)
    result = run_phases(folder, "--label-only")
    record("gui_label_1000", {"images": result["images"], "label": result["label"],
                              "budget_ms": LABEL_BUDGET_MS})
    assert result["images"] == 1000
    assert result["label"]["label_to_predictions_ms_median"] < LABEL_BUDGET_MS
