"""The workflow step bar, the window's first layout, and what the app remembers: per-user
preferences (geometry, bar width, last step) and per-project settings (forms)."""

from __future__ import annotations

import pytest

from napari_nanomorph.launcher import arrange_window, open_path
from napari_nanomorph.widgets.workflow import STEPS


def test_every_step_name_is_fully_visible_and_the_active_step_is_tall(app):
    from qtpy.QtWidgets import QAbstractButton

    workflow = app.docks["Workflow"]
    arrange_window(app.docks)
    app.viewer.window._qt_window.show()
    app.qtbot.waitUntil(lambda: workflow.isVisible())
    buttons = [b for b in workflow.toolbox.findChildren(QAbstractButton)
               if b.metaObject().className() == "QToolBoxButton"]
    titles = [b.text().replace("&&", "&") for b in buttons]
    assert titles == [f"{n}  {t}" for n, (t, _, _) in enumerate(STEPS, start=1)]
    for button in buttons:
        assert button.width() >= button.fontMetrics().horizontalAdvance(button.text()), \
            button.text()
    page = workflow.toolbox.currentWidget()
    app.qtbot.waitUntil(lambda: page.height() > 0.5 * workflow.height(), timeout=2000)


def test_the_first_window_gives_the_canvas_most_of_a_1080p_screen(app):
    window = app.viewer.window._qt_window
    arrange_window(app.docks)
    window.show()
    app.qtbot.waitUntil(lambda: window.isVisible())
    canvas = app.viewer.window._qt_viewer.canvas.native
    app.qtbot.waitUntil(lambda: canvas.width() > 0)
    screen = window.screen().availableGeometry()
    assert window.width() >= 0.85 * screen.width() and window.height() >= 0.85 * screen.height()
    assert canvas.width() >= 0.45 * window.width(), (canvas.width(), window.width())
    assert app.docks["Workflow"].width() >= 380


def test_the_last_step_and_the_geometry_are_restored(app, make_napari_viewer):
    from napari_nanomorph.launcher import add_docks
    from napari_nanomorph.preferences import load_preferences

    window = app.viewer.window._qt_window
    arrange_window(app.docks)
    window.show()
    app.docks["Workflow"].show_step("Segment")
    window.setGeometry(50, 60, 1400, 900)
    app.qtbot.wait(50)
    window.hide()  # as when the window closes
    prefs = load_preferences()
    assert prefs["step"] == "Segment" and prefs["geometry"]
    second = make_napari_viewer()
    docks = add_docks(second)
    assert docks["Workflow"].current_step == "Segment"
    arrange_window(docks)
    assert second.window._qt_window.width() == 1400


def test_forms_are_kept_in_the_project_and_restored_on_reopen(app, sample_copies):
    project = open_path(app.viewer, sample_copies(("network_01.tif",)))
    app.wait_jobs()
    folder = project.folder
    app.docks["Segment"].settings_form["epochs"].value = 17
    app.docks["Percolation"].settings_form["eps"].value = 3.5
    app.docks["Mask"].form["method"].value = "li"
    app.session.close_project()
    assert app.docks["Segment"].settings_form["epochs"].value == 17  # the form keeps them
    app.docks["Segment"].settings_form["epochs"].value = 40  # as a fresh start shows
    app.docks["Percolation"].settings_form["eps"].value = 2.0
    open_path(app.viewer, folder)
    app.wait_jobs()
    assert app.docks["Segment"].settings_form["epochs"].value == 17
    assert app.docks["Percolation"].settings_form["eps"].value == pytest.approx(3.5)
    assert app.docks["Mask"].form["method"].value == "li"


def test_preferences_survive_a_damaged_file(tmp_path):
    from napari_nanomorph.preferences import (
        load_preferences,
        preferences_path,
        update_preferences,
    )

    path = preferences_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    assert load_preferences() == {}
    update_preferences(step="Mask")
    assert load_preferences() == {"step": "Mask"}
