"""The Pretrain dock: a tiny run with a live loss plot, then its encoder for the classifier."""

from __future__ import annotations

import shutil

import pytest

from napari_nanomorph.launcher import open_path

pytestmark = pytest.mark.slow


def test_tiny_run_then_use_as_encoder(app, sample_folder, sample_copies):
    folder = sample_copies([p.name for p in sorted(sample_folder.glob("*.tif"))[:8]])
    open_path(app.viewer, folder)
    app.wait_jobs(120000)
    dock = app.docks["Pretrain"]
    dock.form["run_name"].value = "tiny"
    dock.form["epochs"].value = 2
    dock.form["batch_size"].value = 4
    dock.form["image_size_px"].value = 64
    dock.start(resume=False)
    app.wait_jobs(300000)
    assert dock.finished_encoder == "ssl:tiny"
    app.qtbot.waitUntil(lambda: dock.plot.idle and dock.plot.axes_count == 1, timeout=5000)
    assert len(dock.losses) >= 4
    project = app.session.project
    assert project.runs.list("pretrain")[-1]["status"] == "done"
    dock.use_as_encoder()
    app.wait_jobs(120000)  # registered, listed, and the Classify dock embeds with it
    assert app.session.encoder == "ssl:tiny"
    assert app.docks["Classify"].encoder.currentText() == "ssl:tiny"
    assert app.docks["Classify"].embeddings.encoder == "ssl:tiny"


def test_a_bad_run_name_is_refused_without_starting(app, sample_folder, tmp_path, monkeypatch):
    import napari_nanomorph.widgets.base as base

    shown = []
    monkeypatch.setattr(base, "show_error", shown.append)
    folder = tmp_path / "micrographs"
    folder.mkdir()
    shutil.copy(next(sample_folder.glob("*.tif")), folder / "a.tif")
    open_path(app.viewer, folder)
    app.wait_jobs(120000)
    dock = app.docks["Pretrain"]
    dock.form["run_name"].value = "../escape"
    dock.start(resume=False)
    assert shown and "cannot name a run" in shown[0]
    assert not app.session.jobs.busy
