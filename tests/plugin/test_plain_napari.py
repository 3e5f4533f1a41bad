"""The plugin in a plain napari: docks added through napari's plugin API (no nanomorph
launcher, no project) work on the user's own layers, no enabled button is silent, and the open
layers become a project without losing what was painted."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from napari_nanomorph.layers import find_layer
from napari_nanomorph.session import session_for

PLUGIN = "napari-nanomorph"


@pytest.fixture
def plain(make_napari_viewer, qtbot):
    """A plain napari with the plugin's sample network open (an Image and a Labels layer)."""
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "network")
    session = session_for(viewer)

    class Plain:
        pass

    p = Plain()
    p.viewer, p.qtbot, p.session = viewer, qtbot, session
    p.image = next(layer for layer in viewer.layers if layer._type_string == "image")
    p.mask = next(layer for layer in viewer.layers if layer._type_string == "labels")
    p.dock = lambda name: viewer.window.add_plugin_dock_widget(PLUGIN, name)[1]
    p.wait = lambda timeout=60000: qtbot.waitUntil(lambda: session.settled, timeout=timeout)
    yield p
    session.close_project()
    qtbot.waitUntil(lambda: not session.jobs.busy, timeout=10000)


@pytest.fixture
def shown(monkeypatch):
    """Every notification the nanomorph docks show, as (level, message)."""
    import importlib

    messages = []
    for module in ("percolation", "mask", "classify", "segment", "measure"):
        mod = importlib.import_module(f"napari_nanomorph.widgets.{module}")
        for level in ("show_info", "show_warning"):
            if hasattr(mod, level):
                monkeypatch.setattr(mod, level, lambda msg, level=level: messages.append(
                    (level[5:], msg)))
    import napari_nanomorph.jobrunner as jobrunner
    import napari_nanomorph.widgets.base as base

    for module in (base, jobrunner):
        monkeypatch.setattr(module, "show_error", lambda msg: messages.append(("error", msg)))
    monkeypatch.setattr(jobrunner, "show_info", lambda msg: messages.append(("info", msg)))
    return messages


def test_percolation_on_the_labels_layer_shows_the_verdict_and_its_overlay(plain, tmp_path):
    dock = plain.dock("Percolation")
    assert dock.banner.isVisibleTo(dock) and dock.labels_choice.layer is plain.mask
    plain.viewer.layers.selection.active = plain.mask
    dock.run_current()
    plain.wait()
    assert "PERCOLATES" in dock.verdict.text() or "does not percolate" in dock.verdict.text()
    overlay = find_layer(plain.viewer, "clusters")
    assert overlay is not None and overlay.data.shape == plain.mask.data.shape
    assert tuple(overlay.scale) == tuple(plain.mask.scale)
    assert "skeleton" in dock.details.text() and "µm" in dock.details.text()  # at its scale
    dock.run_all()
    plain.wait()
    assert dock.table.rowCount() == 1 and dock.table.shown_rows()[0][0] == plain.mask.name
    dock.export_to(str(tmp_path / "percolation.csv"))
    plain.wait()
    rows = list(csv.DictReader(open(tmp_path / "percolation.csv")))
    assert rows[0]["image"] == plain.mask.name and rows[0]["setting_eps"] == "2.0"


def test_auto_mask_of_the_image_layer_fills_a_new_labels_layer(plain):
    dock = plain.dock("Mask")
    assert dock.image_choice.layer is plain.image
    painted = plain.mask.data.copy()
    dock.form["method"].value = "otsu"
    dock.preview_box.value = True
    plain.wait()
    preview = find_layer(plain.viewer, "preview")
    assert preview is not None and preview.data.any()
    dock.accept_preview()
    made = [layer for layer in plain.viewer.layers if layer.name.startswith(
        f"{plain.image.name} mask")]
    assert len(made) == 1 and made[0].data.any()
    assert tuple(made[0].scale) == tuple(plain.image.scale)
    assert plain.viewer.layers.selection.active is made[0] and made[0].mode == "paint"
    np.testing.assert_array_equal(plain.mask.data, painted)  # the user's mask is untouched
    assert "paint on it" in dock.status.text()
    import_buttons = [b for b in dock.findChildren(type(dock.banner.button))
                      if b.text().startswith(("Import", "Export"))]
    assert all(not b.isEnabled() and "needs a project" in b.toolTip() for b in import_buttons)


def test_measure_the_labels_layer(plain):
    dock = plain.dock("Measure")
    dock.run_current()
    plain.wait()
    assert dock.summary is not None and dock.summary["unit"] == "nm"
    assert dock.table.rowCount() == dock.summary["n_wires"] > 3
    wires = find_layer(plain.viewer, "wires")
    assert wires is not None and tuple(wires.scale) == tuple(plain.mask.scale)


def test_segment_predicts_with_a_model_file_into_a_labels_layer(plain, shown, tmp_path_factory):
    from tests.engine.test_batch import segmenter

    dock = plain.dock("Segment")
    assert not dock.model_box.isEnabled() and "needs a project" in dock.model_box.toolTip()
    dock.predict_current()
    assert shown and "model file" in shown[-1][1]
    dock.load_model_file(str(segmenter.__wrapped__(tmp_path_factory)))
    plain.wait(120000)
    dock.predict_current()
    plain.wait(120000)
    predicted = next(layer for layer in plain.viewer.layers
                     if layer.name == f"{plain.image.name} prediction")
    assert predicted.data.shape == plain.image.data.shape
    assert tuple(predicted.scale) == tuple(plain.image.scale)


def test_classify_explains_and_disables_what_needs_a_project(plain, shown):
    dock = plain.dock("Classify")
    assert dock.banner.isVisibleTo(dock)
    assert not dock.table.isEnabled() and "needs a project" in dock.table.toolTip()
    dock.label_with_key(1)
    dock.label_current(None)
    assert shown[-1] == ("warning", "labelling needs a project: Make a project from these "
                                    "layers (Classify step)")


@pytest.mark.parametrize("step", ["Percolation", "Mask", "Classify", "Segment", "Measure"])
def test_no_enabled_button_is_silent(plain, shown, monkeypatch, step):
    """Every enabled, visible button does something (a notification, a dialog, a new or
    changed layer, a job) or is disabled with a reason."""
    from qtpy.QtWidgets import QFileDialog, QPushButton

    dialogs = []
    for name in ("getExistingDirectory", "getOpenFileName", "getSaveFileName",
                 "getOpenFileNames"):
        monkeypatch.setattr(QFileDialog, name, staticmethod(
            lambda *a, name=name, **k: dialogs.append(name) or ("" if name ==
                                                                 "getExistingDirectory"
                                                                 else ("", ""))))
    dock = plain.dock(step)
    plain.viewer.layers.selection.active = plain.mask
    for button in dock.findChildren(QPushButton):
        if not button.isVisibleTo(dock):
            continue
        if not button.isEnabled():
            assert button.toolTip(), f"{step}: '{button.text()}' is disabled without a reason"
            continue
        before = state(plain.viewer, dock, shown, dialogs)
        button.click()
        plain.wait(120000)
        assert state(plain.viewer, dock, shown, dialogs) != before, \
            f"{step}: '{button.text()}' did nothing and said nothing"


def state(viewer, dock, shown, dialogs) -> tuple:
    """What a user can see change: notifications, dialogs, layers (and their data), the dock's
    texts and table sizes."""
    from qtpy.QtWidgets import QLabel, QTableView

    return (len(shown), len(dialogs),
            tuple((layer.name, id(layer.data), layer.visible) for layer in viewer.layers),
            tuple(label.text() for label in dock.findChildren(QLabel)),
            tuple(view.model().rowCount() for view in dock.findChildren(QTableView)))


def test_make_a_project_from_the_layers_keeps_what_was_painted(plain, tmp_path):
    from napari_nanomorph.layer_mode import make_project_from_layers

    percolation = plain.dock("Percolation")
    plain.mask.data[5:9, 5:60] = 1  # an edit the user made
    painted = np.asarray(plain.mask.data).copy()
    make_project_from_layers(percolation, str(tmp_path / "from_layers"))
    plain.wait()
    project = plain.session.project
    assert project is not None and not percolation.banner.isVisibleTo(percolation)
    (record,) = project.images.all()
    assert record.name.endswith(".tif") and record.calibration.is_length
    from napari_nanomorph.layer_mode import pixel_size_nm

    assert record.calibration.pixel_size_nm() == pytest.approx(pixel_size_nm(plain.image))
    np.testing.assert_array_equal(project.masks.read(record.id), painted.astype(np.uint8))
    assert project.masks.versions(record.id)[0]["source"] == "layer"
    assert plain.mask in plain.viewer.layers  # the user's layers stay
    # the same docks now work on the project: its image is current, results are stored
    assert plain.session.current is not None and plain.session.current.id == record.id
    percolation.run_current()
    plain.wait()
    assert record.id in project.results.of_kind("percolation")
    measure = plain.dock("Measure")
    measure.run_current()
    plain.wait()
    assert project.results.get(record.id, "morphometry") is not None


def test_a_non_empty_folder_is_refused_with_one_message(plain, tmp_path, shown):
    from napari_nanomorph.layer_mode import make_project_from_layers

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    make_project_from_layers(plain.dock("Percolation"), str(tmp_path / "busy"))
    plain.wait()
    assert plain.session.project is None
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    assert [m for level, m in shown if level == "error" and "is not empty" in m]


def test_segment_trains_on_image_and_mask_layers_and_saves_the_model(plain, tmp_path):
    dock = plain.dock("Segment")
    dock.settings_form["epochs"].value = 1
    dock.settings_form["patch_px"].value = 64
    dock._train_on_layers(str(tmp_path / "segmenter.pt"))
    plain.wait(600000)
    assert (tmp_path / "segmenter.pt").is_file() and dock.segmenter is not None
    assert "saved" in dock.status.text() and dock.history
    dock.predict_current()
    plain.wait(120000)
    assert any(layer.name == f"{plain.image.name} prediction" for layer in plain.viewer.layers)
