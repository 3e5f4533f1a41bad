"""The Classify dock on the sample project: labels by key, live retraining, badges, label next,
save and load."""

from __future__ import annotations

import pytest

from nanomorph.jobs import run_job
from nanomorph.workflows.sample_project import prepare_sample_project
from napari_nanomorph.launcher import open_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample_project(tmp_path_factory):
    return run_job(prepare_sample_project(tmp_path_factory.mktemp("sample") / "project"))


@pytest.fixture
def classify(app, sample_project, tmp_path):
    import shutil

    folder = tmp_path / "project"
    shutil.copytree(sample_project, folder)
    open_path(app.viewer, folder)
    dock = app.docks["Classify"]
    wait = app.wait_jobs

    def wait_all(timeout_ms=120000):  # jobs, and the retraining they schedule
        for _ in range(3):
            wait(timeout_ms)
            app.qtbot.waitUntil(lambda: not dock.retrain_pending, timeout=timeout_ms)
        wait(timeout_ms)

    app.wait_jobs = wait_all
    app.wait_jobs()  # embeddings of 24 images (first run) and the first training
    return app, dock


def test_embeddings_and_predictions_arrive_for_every_unlabelled_image(classify):
    app, dock = classify
    project = app.session.project
    labels = project.labels.all()
    assert len(labels) == 8 and dock.embeddings is not None
    assert set(dock.predictions) == {r.id for r in project.images.all()} - set(labels)
    correct = sum(p["label"] == project.images.get(i).name.split("_")[0]
                  for i, p in dock.predictions.items())
    assert correct / len(dock.predictions) >= 0.6  # 2 labels per class, synthetic morphologies
    assert "trained on 8 labels" in dock.model_status.text()
    browser = app.docks["Images"]
    texts = [browser.text_at(r) for r in range(browser.count())]
    assert sum("■" in t for t in texts) == 8 and sum("?" in t for t in texts) == 16


def test_number_keys_label_and_retrain(classify):
    app, dock = classify
    project = app.session.project
    unlabelled = next(r for r in project.images.all() if r.id not in project.labels.all())
    app.session.set_current(unlabelled)
    app.wait_jobs()
    dock.label_with_key(3)  # third class: network
    app.wait_jobs()
    assert project.labels.all()[unlabelled.id] == "network"
    assert unlabelled.id not in dock.predictions
    assert "trained on 9 labels" in dock.model_status.text()
    dock.label_with_key(0)
    app.wait_jobs()
    assert unlabelled.id not in project.labels.all() and unlabelled.id in dock.predictions


def test_label_next_opens_the_least_certain_image(classify):
    app, dock = classify
    dock.label_next()
    app.wait_jobs()
    margins = {i: p["margin"] for i, p in dock.predictions.items()}
    assert app.session.current.id == min(margins, key=margins.get)


def test_save_and_load_a_classifier(classify, tmp_path):
    app, dock = classify
    path = tmp_path / "model.npz"
    dock.save_to(str(path))
    assert path.is_file()
    before = {i: p["label"] for i, p in dock.predictions.items()}
    dock.load_from(str(path))
    app.wait_jobs()
    assert len(dock.predictions) == 24  # a loaded model predicts every image
    assert all(dock.predictions[i]["label"] == label for i, label in before.items())


def test_editing_classes_keeps_labels_of_kept_classes(classify):
    app, dock = classify
    project = app.session.project
    dock.set_classes(["bundle", "dispersed", "network", "singular", "particles"])
    app.wait_jobs()
    assert project.labels.classes()[-1] == "particles" and len(project.labels.all()) == 8
    assert dock.class_buttons.count() == 6  # five classes and "unlabel"


def test_evaluation_dock_plots_the_protocol_and_opens_images_from_the_map(classify):
    app, _ = classify
    dock = app.docks["Evaluation"]
    dock.form["ks"].value = "1, 2"
    dock.form["repeats"].value = 3
    dock.run()
    app.wait_jobs()
    result = dock.result
    assert [r["k"] for r in result["encoder"]["results"]] == [1]  # 2 labels/class: K=2 skipped
    assert [r["k"] for r in result["control"]["results"]] == [1]
    assert "accuracy" in dock.summary.text() and "control" in dock.summary.text()
    app.qtbot.waitUntil(lambda: all(p.idle for p in dock.plots.values()), timeout=30000)
    assert all(p.axes_count == 1 for p in dock.plots.values())
    assert "best anchor" in dock.anchors.text()
    ids, points = result["map"]["ids"], dock.plots["map"].extra
    assert points.shape == (len(ids), 2)
    dock.plots["map"].clicked.emit(*points[5])
    app.wait_jobs()
    assert app.session.current.id == ids[5]


def test_label_spreading_is_a_project_setting_that_retrains(classify):
    app, dock = classify
    project = app.session.project
    linear = dict(dock.predictions)
    dock.spreading.setChecked(True)
    app.wait_jobs()
    assert project.settings.get("classify.semi_supervised") is True
    assert set(dock.predictions) == set(linear)  # every unlabelled image, predicted again
    assert dock.predictions != linear
    assert all(abs(sum(p["probabilities"].values()) - 1) < 1e-6
               for p in dock.predictions.values())
    dock._project_changed(project)  # reopened: the box comes back ticked
    assert dock.spreading.isChecked()


def test_badges_are_made_on_lookup_labels_first():
    """The browser's badges: a label wins over a prediction; unknown images have none."""
    import pytest

    from napari_nanomorph.widgets.classify import Badges

    badges = Badges({1: "network", 2: None}, {1: {"label": "bundle", "confidence": 0.5},
                                             2: {"label": "bundle", "confidence": 0.934}},
                    {"network": "#00ff00"})
    assert badges[1] == ("■ network", "#00ff00")
    assert badges[2] == ("bundle? 0.93", None)
    assert sorted(badges) == [1, 2] and len(badges) == 2
    assert badges.get(3) is None
    with pytest.raises(KeyError):
        badges[3]


def test_stored_predictions_are_read_in_the_job_runner_at_open(app, tmp_path, monkeypatch):
    """A reopened project's stored predictions are read off the GUI thread (100,000 took
    1.7 s there) and shown when they arrive."""
    import threading

    import napari_nanomorph.widgets.classify as classify_module
    from nanomorph.project import Project

    with Project.create(tmp_path / "p"):
        pass
    threads = []

    def stored(project):
        threads.append(threading.current_thread())
        return {1: {"label": "network", "confidence": 0.9, "margin": 0.8,
                    "probabilities": {"network": 0.9, "bundle": 0.1}}}

    monkeypatch.setattr(classify_module, "live_predictions", stored)
    open_path(app.viewer, tmp_path / "p")
    app.wait_jobs()
    assert threads and threading.main_thread() not in threads
    assert app.session.predictions == stored(None)
