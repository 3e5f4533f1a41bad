"""The Measure step on sample images with exact masks: numbers, plots, wire overlay and table,
picking a wire, measuring all, CSV export, and images without masks."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from nanomorph.jobs import run_job
from nanomorph.workflows.transfer import import_masks
from napari_nanomorph.launcher import open_path
from napari_nanomorph.layers import find_layer

NAMES = ("network_01", "dispersed_01", "bundle_01")


@pytest.fixture
def measured(app, sample_copies, sample_folder):
    folder = sample_copies([f"{name}.tif" for name in NAMES])
    open_path(app.viewer, folder)
    app.wait_jobs()
    project = app.session.project
    run_job(import_masks(project, [sample_folder / "masks" / f"{n}_mask.png" for n in NAMES[:2]],
                         {"nonzero": 1}))
    app.session.masks_changed.emit([r.id for r in project.images.all()])
    return app


def select(app, name):
    record = next(r for r in app.session.project.images.all() if r.name == f"{name}.tif")
    app.docks["Images"].select(record.id)
    app.wait_jobs()
    return record


def test_measure_the_current_image_pick_a_wire_and_export(measured, tmp_path):
    app = measured
    dock = app.docks["Measure"]
    record = select(app, "dispersed_01")
    assert "Measure image" in dock.numbers.text()
    dock.run_current()
    app.wait_jobs()
    stored = app.session.project.results.get(record.id, "morphometry")
    summary = stored["result"]
    assert summary["unit"] == "nm" and summary["n_wires"] > 3 and not stored["stale"]
    assert f"{summary['n_wires']} wires" in dock.numbers.text()
    assert "order parameter" in dock.numbers.text() and "wires/µm²" in dock.numbers.text()
    assert dock.table.rowCount() == summary["n_wires"]
    overlay = find_layer(app.viewer, "wires")
    assert overlay is not None and overlay.visible
    assert app.viewer.layers.selection.active is not overlay  # the mask stays the active layer
    assert set(np.unique(overlay.data)) == set(range(summary["n_wires"] + 1))
    assert tuple(overlay.scale) == tuple(find_layer(app.viewer, "image").scale)
    app.qtbot.waitUntil(lambda: dock.plot.axes_count == 3, timeout=20000)

    longest = max(summary["wires"], key=lambda w: w["length"])
    from qtpy.QtCore import Qt

    dock.table.view.sortByColumn(1, Qt.SortOrder.DescendingOrder)  # longest first
    dock.table.view.clicked.emit(dock.table.proxy.index(0, 2))
    assert dock.wire_label.text().startswith(f"wire {longest['id']}:")
    assert overlay.selected_label == longest["id"]

    # a click on the canvas over another wire shows that one
    other = next(w for w in summary["wires"] if w["id"] != longest["id"])
    rows, cols = np.nonzero(overlay.data == other["id"])
    world = overlay.data_to_world((rows[len(rows) // 2], cols[len(cols) // 2]))

    class Click:
        position = tuple(world)

    dock._canvas_clicked(app.viewer, Click())
    assert dock.wire_label.text().startswith(f"wire {other['id']}:")

    dock.overlay_box.value = False
    assert not overlay.visible
    dock.export_to(str(tmp_path / "wires.csv"))
    app.wait_jobs()
    with open(tmp_path / "wires.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == summary["n_wires"] and table[0]["unit"] == "nm"


def test_measure_all_reports_images_without_masks_and_switching_shows_stored(measured,
                                                                             notifications):
    app = measured
    dock = app.docks["Measure"]
    import napari_nanomorph.widgets.measure as measure

    shown = []
    measure.show_info, original = shown.append, measure.show_info
    try:
        dock.run_all()
        app.wait_jobs(60000)
    finally:
        measure.show_info = original
    assert shown and shown[0].startswith("morphometry: 2 of 3 images measured")
    project = app.session.project
    assert len(project.results.of_kind("morphometry")) == 2
    select(app, "bundle_01")
    assert "no mask yet" in dock.numbers.text() and dock.table.rowCount() == 0
    assert find_layer(app.viewer, "wires") is None  # nothing stale from the last image
    app.docks["Workflow"].show_step("Percolation")  # another step is open
    network = select(app, "network_01")
    app.wait_jobs()
    stored = project.results.get(network.id, "morphometry")["result"]
    assert dock.table.rowCount() == stored["n_wires"]
    assert find_layer(app.viewer, "wires") is None  # no colours (nor work) for a hidden step
    app.docks["Workflow"].show_step("Measure")
    select(app, "dispersed_01")
    select(app, "network_01")
    app.wait_jobs()
    assert find_layer(app.viewer, "wires") is not None
    dock.scope.value = "all images"
    app.qtbot.waitUntil(lambda: dock.plot.axes_count == 3, timeout=20000)


def test_an_image_without_a_mask_says_what_to_do(measured, monkeypatch):
    import napari_nanomorph.widgets.measure as measure

    warnings = []
    monkeypatch.setattr(measure, "show_warning", warnings.append)
    app = measured
    select(app, "bundle_01")
    app.docks["Measure"].run_current()
    app.wait_jobs()
    assert warnings == ["bundle_01.tif: no mask yet"]
    app.session.set_current(None)
    app.docks["Measure"].run_current()
    assert "no current image" in warnings[-1]
