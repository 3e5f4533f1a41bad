"""The Segment dock: train from the project's masks (live curve), predict, compare, accept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nanomorph.workflows.transfer import import_masks
from nanomorph.jobs import run_job
from napari_nanomorph.launcher import open_path
from napari_nanomorph.layers import find_layer

pytestmark = pytest.mark.slow
NAMES = ("network_01", "network_02", "dispersed_01")


@pytest.fixture
def segment(app, sample_folder, sample_copies):
    folder = sample_copies([f"{name}.tif" for name in NAMES])
    open_path(app.viewer, folder)
    app.wait_jobs()
    project = app.session.project
    run_job(import_masks(project, [sample_folder / "masks" / f"{n}_mask.png" for n in NAMES[:2]],
                         {"nonzero": 1}))
    app.session.images_changed.emit()
    app.wait_jobs()
    return app, app.docks["Segment"]


def test_train_predict_score_and_accept(segment):
    app, dock = segment
    project = app.session.project
    assert dock.training_ids() == [r.id for r in project.images.all()
                                   if project.masks.latest_version(r.id)]
    dock.settings_form["epochs"].value = 3
    dock.settings_form["patch_px"].value = 128
    dock.train()
    app.wait_jobs(300000)
    assert dock.segmenter is not None and dock.model_file.endswith(".pt")
    assert len(dock.history) >= 1
    app.qtbot.waitUntil(lambda: dock.plot.idle and dock.plot.axes_count == 2)  # loss, Dice
    assert (project.models_dir / dock.model_file).is_file()
    assert project.runs.list("segment-train")[-1]["status"] == "done"

    dock.predict_all()
    app.wait_jobs(300000)
    assert set(dock.predictions) == {r.id for r in project.images.all()}
    assert dock.metrics.rowCount() == 2  # the two images with masks
    masked = [r.id for r in project.images.all() if project.masks.latest_version(r.id)]
    assert [dock.metrics.cell(i, 2) for i in masked] == ["yes", "yes"]  # both trained on
    folder = Path(project.images.get(masked[0]).path).parent.name
    assert [dock.metrics.cell(i, 1) for i in masked] == [folder, folder]  # the group
    assert dock.segmenter.pixel_size_nm and "nm/px" in dock.status.text()  # calibrated
    assert "training images (memory, not accuracy)" in dock.metrics_note.text()
    assert "classical" in dock.metrics_note.text()

    target = next(r for r in project.images.all() if r.name.startswith("dispersed"))
    app.docks["Images"].select(target.id)
    app.wait_jobs()
    assert find_layer(app.viewer, "prediction") is not None
    assert find_layer(app.viewer, "difference") is None  # this image has no mask
    dock.accept_current()
    app.wait_jobs()
    assert project.masks.versions(target.id)[-1]["source"].startswith("predicted:")
    np.testing.assert_array_equal(project.masks.read(target.id), dock.predictions[target.id])

    dock.tta_box.value = True  # 8-view predictions are kept apart from the plain ones
    assert dock.predictions == {}
    dock.predict_current()
    app.wait_jobs(300000)
    from nanomorph.workflows.segment import prediction_path

    assert prediction_path(project, dock.model_file, target, tta=True).is_file()
    assert prediction_path(project, dock.model_file, target).is_file()


def test_several_groups_are_summed_up_weakest_first():
    from napari_nanomorph.widgets.segment import by_group

    groups = [{"group": "horizontal", "n_images": 3, "dice_mean": 0.95, "iou_mean": 0.9},
              {"group": "diagonal", "n_images": 2, "dice_mean": 0.65, "iou_mean": 0.5}]
    assert by_group(groups) == " By group: diagonal 0.650 (2); horizontal 0.950 (3)."
    assert by_group(groups[:1]) == ""


def test_difference_colours_are_not_mask_label_colours():
    from napari_nanomorph.mask_layer import WIRE_COLOR
    from napari_nanomorph.widgets.segment import DIFFERENCE_COLOURS

    used = {c.lower() for k, c in WIRE_COLOR.items() if k}
    assert not used & {c.lower() for k, c in DIFFERENCE_COLOURS.items() if k}


def test_the_gui_keeps_ticking_while_the_segmenter_trains_and_predicts(segment, qtbot):
    """A 10 ms QTimer on the GUI thread keeps ticking while a model trains (with its live plot)
    and then predicts every image (updating the current image's overlays): the worst gap stays
    under the 100 ms bar (the 50 ms goal holds on an idle machine; CI machines are loaded) and
    99 % of the gaps under 30 ms.

    The overlay layers exist before the clock starts: napari 0.9 itself needs 0.2-0.6 s on
    the GUI thread to insert a new layer (unit lookups in its transforms), once per layer."""
    import time

    from qtpy.QtCore import QTimer

    app, dock = segment
    dock.settings_form["epochs"].value = 1
    dock.settings_form["patch_px"].value = 128
    dock.train()
    app.wait_jobs(300000)
    dock.predict_current()
    app.wait_jobs(300000)
    assert find_layer(app.viewer, "prediction") is not None

    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    dock.settings_form["epochs"].value = 3
    timer.start()
    dock.train()
    app.wait_jobs(300000)
    dock.predict_all()
    app.wait_jobs(300000)
    qtbot.waitUntil(lambda: dock.plot.idle)
    timer.stop()
    gaps = np.diff(ticks)
    assert len(dock.predictions) == len(NAMES) and len(dock.history) == 3
    assert len(ticks) > 100
    assert np.percentile(gaps, 99) < 0.030, f"p99 gap {np.percentile(gaps, 99) * 1e3:.0f} ms"
    assert gaps.max() < 0.100, f"GUI stalled {gaps.max() * 1e3:.0f} ms"


def test_workflow_docks_scroll_rather_than_squeeze(app):
    """Every workflow dock's content sits in a vertical scroll area (no horizontal scrolling:
    the dock becomes as wide as its content when shown)."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QScrollArea

    from napari_nanomorph.widgets.workflow import STEPS

    for name in {title for title, _, _ in STEPS} - {"Evaluation"}:  # Evaluation: tabs that scroll each
        scroll = app.docks[name].findChild(QScrollArea)
        assert scroll is not None and scroll.widget() is not None, name
        assert scroll.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        assert scroll.minimumHeight() >= 400
