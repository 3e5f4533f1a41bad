"""The Mask and Percolation docks on a small project of synthetic images with exact masks."""

from __future__ import annotations

import csv
import time

import imageio.v3 as iio
import numpy as np
import pytest

from napari_nanomorph.launcher import open_path
from napari_nanomorph.layers import find_layer
from napari_nanomorph.widgets.percolation import NOISE, SPANNING

NAMES = ("network_01", "singular_01", "bundle_01")


@pytest.fixture
def opened(app, sample_folder, sample_copies):
    """A project of three sample images, the first current, with no masks yet."""
    folder = sample_copies([f"{name}.tif" for name in NAMES])
    open_path(app.viewer, folder)
    app.wait_jobs()
    app.sample_folder = sample_folder
    return app


def truth(app, name) -> np.ndarray:
    return (iio.imread(app.sample_folder / "masks" / f"{name}_mask.png") > 0).astype(np.uint8)


def select(app, name):
    project = app.session.project
    record = next(r for r in project.images.all() if r.name == f"{name}.tif")
    app.docks["Images"].select(record.id)
    app.wait_jobs()
    return record


@pytest.mark.qtsmoke
def test_painting_is_autosaved_within_two_seconds(opened):
    app = opened
    record = app.session.current
    layer = find_layer(app.viewer, "mask")
    assert layer is not None and layer.data.shape == (384, 384) and not layer.data.any()
    scale = tuple(layer.scale)
    assert scale == tuple(find_layer(app.viewer, "image").scale)  # mask at physical scale
    layer.selected_label = 1
    layer.brush_size = 5
    painted = time.perf_counter()
    layer.paint((100, 120), 1)  # data coordinates
    app.qtbot.waitUntil(lambda: app.session.project.masks.latest_version(record.id) == 1,
                        timeout=2000)
    app.wait_jobs()
    assert time.perf_counter() - painted < 2.0
    saved = app.session.project.masks.read(record.id)
    assert saved[100, 120] == 1 and saved.sum() > 5


def test_switching_images_saves_pending_edits_first(opened):
    app = opened
    first = app.session.current
    layer = find_layer(app.viewer, "mask")
    layer.paint((10, 10), 1)
    select(app, "singular_01")  # immediately, before the autosave timer fires
    assert app.session.project.masks.latest_version(first.id) == 1
    assert not find_layer(app.viewer, "mask").data.any()  # the new image has no mask


def test_auto_mask_preview_accept_and_apply_to_all(opened):
    app = opened
    dock = app.docks["Mask"]
    dock.form["method"].value = "otsu"
    dock.preview_box.value = True
    app.wait_jobs()
    preview = find_layer(app.viewer, "preview")
    assert preview is not None and preview.data.any()
    dock.accept_preview()
    app.wait_jobs()
    record = app.session.current
    versions = app.session.project.masks.versions(record.id)
    assert versions[-1]["source"] == "auto:otsu"
    from nanomorph.masks.overlap import dice

    assert dice(app.session.project.masks.read(record.id) > 0, truth(app, "bundle_01") > 0) > 0.5
    dock.apply_all_button.click()
    app.wait_jobs()
    project = app.session.project
    assert all(project.masks.latest_version(r.id) is not None for r in project.images.all())
    assert project.masks.versions(record.id)[-1]["source"] == "auto:otsu"  # kept, not replaced


def test_import_previews_the_values_and_keeps_classes_apart_then_export(opened, tmp_path,
                                                                        monkeypatch):
    from napari_nanomorph.widgets.import_dialog import MappingDialog

    app = opened
    dock = app.docks["Mask"]
    masks = tmp_path / "masks_in"
    masks.mkdir()
    for name in NAMES:
        values = truth(app, name) * 127
        values[:8, :8] = 255  # a second class (a droplet) in the corner
        iio.imwrite(masks / f"{name}_mask.png", values)
    iio.imwrite(masks / "unknown_mask.png", np.zeros((384, 384), np.uint8))
    shown = []

    def accept(dialog):
        shown.append((dialog.values, dialog.mapping()))
        return True

    monkeypatch.setattr(MappingDialog, "exec", accept)
    dock.import_files([str(p) for p in sorted(masks.iterdir())])
    app.wait_jobs()
    assert shown == [([0, 127, 255], {127: 1, 255: 2})]  # each value its own label
    project = app.session.project
    for name in NAMES:
        record = next(r for r in project.images.all() if r.name == f"{name}.tif")
        stored = project.masks.read(record.id)
        assert (stored[:8, :8] == 2).all()
        np.testing.assert_array_equal(stored[8:], truth(app, name)[8:])
    assert project.settings.get("mask_import_mapping") == "127:1, 255:2"
    out = tmp_path / "masks_out"
    dock.export_to(str(out))
    app.wait_jobs()
    exported = iio.imread(out / "network_01_mask.png")
    assert (exported[:8, :8] == 2).all()  # the project's label values
    np.testing.assert_array_equal(exported[8:], truth(app, "network_01")[8:])


def test_the_import_dialog_offers_one_class_for_instance_masks_and_remembers(opened):
    from nanomorph.workflows.transfer import MaskSurvey
    from napari_nanomorph.widgets.import_dialog import MappingDialog

    many = MaskSurvey(pixels={v: 10 for v in range(30)}, files={v: 1 for v in range(30)})
    dialog = MappingDialog(many)
    assert dialog.nonzero.isChecked() and dialog.mapping() == {"nonzero": 1}
    two = MaskSurvey(pixels={0: 5, 127: 5, 255: 5}, files={0: 1, 127: 1, 255: 1})
    dialog = MappingDialog(two, previous={127: 1, 255: 1})  # the user merged them last time
    assert not dialog.nonzero.isChecked() and dialog.mapping() == {127: 1, 255: 1}
    dialog.spins[255].setValue(0)
    assert dialog.mapping() == {127: 1}


def test_percolation_of_the_current_image_with_overlay_and_table(opened, tmp_path):
    app = opened
    project = app.session.project
    from nanomorph.workflows.transfer import import_masks
    from nanomorph.jobs import run_job

    run_job(import_masks(project, sorted((app.sample_folder / "masks").glob("*_mask.png")),
                         {"nonzero": 1}))
    network = select(app, "network_01")
    dock = app.docks["Percolation"]
    dock.run_current()
    app.wait_jobs()
    stored = project.results.of_kind("percolation")[network.id]
    assert stored["result"]["percolates"] and not stored["stale"]
    assert "PERCOLATES" in dock.verdict.text()
    overlay = find_layer(app.viewer, "clusters")
    assert overlay is not None and (overlay.data == SPANNING).any()
    assert set(np.unique(overlay.data)) <= set(range(0, 15))
    dock.overlay_box.value = False
    assert not overlay.visible

    dock.run_all()
    app.wait_jobs()
    assert dock.table.rowCount() == 3
    rows = {row[0]: row[1] for row in dock.table.shown_rows()}
    assert rows["network_01.tif"] == "yes" and rows["singular_01.tif"] == "no"
    # editing the mask marks the result stale
    layer = find_layer(app.viewer, "mask")
    layer.paint((5, 5), 1)
    app.masks = app.session.mask_controller
    app.masks.save_now()
    app.wait_jobs()
    assert project.results.of_kind("percolation")[network.id]["stale"]
    statuses = {row[0]: row[7] for row in dock.table.shown_rows()}
    assert statuses["network_01.tif"] == "stale"
    # clicking a row opens that image
    dock.table.filter.setText("singular")
    assert [row[0] for row in dock.table.shown_rows()] == ["singular_01.tif"]
    dock.table.view.clicked.emit(dock.table.proxy.index(0, 3))
    app.wait_jobs()
    assert app.session.current.name == "singular_01.tif"
    dock.export_to(str(tmp_path / "results.csv"))
    app.wait_jobs()
    with open(tmp_path / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 3 and {"percolates", "n_clusters", "setting_eps"} <= set(table[0])


def test_noise_pixels_get_their_own_colour(opened):
    from napari_nanomorph.widgets.percolation import overlay_labels

    labels = np.array([[1, 1, 0, -1], [0, 2, 2, 0]])
    out = overlay_labels(labels, spanning={2})
    assert out[0, 3] == NOISE and out[1, 1] == SPANNING and out[0, 0] not in (NOISE, SPANNING)


def test_physical_eps_on_an_uncalibrated_image_warns_and_keeps_going(opened, monkeypatch,
                                                                     tmp_path):
    import tifffile

    import napari_nanomorph.widgets.percolation as perc
    from nanomorph.jobs import run_job

    shown = []
    monkeypatch.setattr(perc, "show_warning", shown.append)
    app = opened
    project = app.session.project
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, (truth(app, "bundle_01") * 200).astype(np.uint8))  # no pixel size
    record = run_job(project.images.add([plain])).added[0]
    assert not record.calibration.calibrated
    project.masks.save(record.id, truth(app, "bundle_01"))
    app.session.images_changed.emit()
    app.docks["Images"].select(record.id)
    app.wait_jobs()
    dock = app.docks["Percolation"]
    dock.settings_form["units"].value = "nm"
    dock.run_current()
    app.wait_jobs()
    assert shown and "uncalibrated" in shown[0]
    assert record.id not in project.results.of_kind("percolation")
    dock.settings_form["units"].value = "px"  # the app keeps working
    dock.run_current()
    app.wait_jobs()
    assert record.id in project.results.of_kind("percolation")


def test_choosing_a_method_loads_its_measured_defaults(opened):
    from nanomorph.masks import METHOD_DEFAULTS

    dock = opened.docks["Mask"]
    dock.form["smooth_sigma_px"].value = 9.0
    dock.form["method"].value = "ridge"
    assert dock.form["smooth_sigma_px"].value == METHOD_DEFAULTS["ridge"].smooth_sigma_px
    assert not dock.form["ridge_filter"].native.isHidden()
    assert dock.form["block_size_px"].native.isHidden()
    assert dock.params().method == "ridge"


def test_batch_and_report_step(opened, tmp_path):
    from nanomorph.jobs import run_job
    from nanomorph.workflows.transfer import import_masks

    app = opened
    project = app.session.project
    run_job(import_masks(project, sorted((app.sample_folder / "masks").glob("*_mask.png")),
                         {"nonzero": 1}))
    dock = app.docks["Batch & Report"]
    assert not dock.open_button.isEnabled()
    dock.run_batch()
    app.wait_jobs(120000)
    results = dock.last_batch / "results.csv"
    with open(results) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and {r["status"] for r in rows} == {"ok"}
    verdicts = {r["path"].rsplit("/", 1)[-1]: r["percolates"] for r in rows}
    assert verdicts["network_01.tif"] == "True" and verdicts["singular_01.tif"] == "False"
    assert all(int(r["wires"]) >= 1 and r["order_parameter"] for r in rows)
    dock.write_report(str(tmp_path / "report.html"))
    app.wait_jobs(120000)
    html = (tmp_path / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "network_01.tif" in html
    assert "<script" not in html
    assert dock.open_button.isEnabled() and dock.last_report == tmp_path / "report.html"
