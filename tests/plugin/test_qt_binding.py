"""The Qt binding: PySide6 is what runs (and what the package installs), its reference counting
holds, and the three root causes met on the way to it stay fixed:

1. PySide6 6.12.0 drops a reference to ``True`` on every signal emission, so the process aborts
   ("bool_dealloc") once enough signals have fired — it took the plugin test run down. That
   release is excluded in pyproject.toml; the test below catches the next one that does it.
2. napari's ``create_worker`` connects two-argument slots to the one-argument ``errored``
   signal; PySide6 passes every argument, so each failed job raised a TypeError in the Qt event
   loop. The job runner uses superqt's workers.
3. A job could still run when its project closed (switching projects, closing the window) and
   use the closed database. Closing a project now saves pending edits, cancels and waits for the
   jobs, and drops their late callbacks.

A smoke subset (marker ``qtsmoke``) runs again on PyQt6 when it is installed.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from qtpy.QtCore import QObject, Signal

from nanomorph.errors import ImageReadError
from nanomorph.jobs import Progress, check_cancel
from nanomorph.project import Project
from napari_nanomorph.jobrunner import JobRunner
from napari_nanomorph.launcher import open_path
from napari_nanomorph.layers import find_layer

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.qtsmoke
def test_the_gui_runs_on_pyside6_unless_asked_otherwise():
    import qtpy

    assert qtpy.API_NAME.lower() == os.environ.get("QT_API", "pyside6").lower()


def test_the_installed_requirements_name_pyside6_and_not_pyqt6():
    from importlib.metadata import requires

    required = [r for r in requires("napari-nanomorph") if "extra ==" not in r]
    assert any(r.lower().startswith("pyside6") or "[pyside6]" in r.lower() for r in required)
    assert not any("pyqt" in r.lower() for r in required)


@pytest.mark.qtsmoke
def test_signal_emissions_keep_reference_counts(qtbot):
    class Emitter(QObject):
        value = Signal(object)
        plain = Signal()

    emitter, seen = Emitter(), []
    emitter.value.connect(seen.append)
    emitter.plain.connect(lambda: None)
    # The release this guards against drops one reference per emission, so 20,000 emissions move
    # a count by 20,000; other threads and the collector move them by a few hundred at most.
    emissions = 10_000
    gc.collect()
    gc.disable()
    try:
        before = sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None)
        for i in range(emissions):
            emitter.value.emit(None if i % 2 else i)
            emitter.plain.emit()
        seen.clear()
        after = sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None)
    finally:
        gc.enable()
    drift = [b - a for a, b in zip(before, after)]
    assert all(abs(d) < emissions // 10 for d in drift), f"True/False/None reference drift {drift}"


@pytest.mark.qtsmoke
def test_a_failing_job_in_a_viewer_raises_nothing_in_the_qt_event_loop(make_napari_viewer,
                                                                       qtbot, monkeypatch):
    import napari_nanomorph.jobrunner as jr

    make_napari_viewer()  # napari's own worker wiring is active while a viewer exists
    shown = []
    monkeypatch.setattr(jr, "show_error", shown.append)

    def failing(_token):
        yield Progress(0, 1)
        raise ImageReadError("the file is empty", "/data/a.tif")

    errors = []
    runner = JobRunner()
    with qtbot.captureExceptions() as exceptions:
        runner.start(failing, name="Read", on_error=errors.append)
        qtbot.waitUntil(lambda: bool(errors) and not runner.busy, timeout=5000)
    assert not exceptions, exceptions
    assert shown == ["Read: /data/a.tif: the file is empty"]


def _slow_reader(project, steps=100):
    """A job that works for about a second, then reads the project."""
    def job(token):
        for i in range(steps):
            check_cancel(token)
            time.sleep(0.01)
            yield Progress(i + 1, steps)
        return len(project.images.all())
    return job


@pytest.mark.qtsmoke
def test_switching_projects_stops_the_old_projects_jobs_first(app, sample_copies, tmp_path,
                                                              monkeypatch):
    import napari_nanomorph.jobrunner as jr

    shown = []
    monkeypatch.setattr(jr, "show_error", shown.append)
    open_path(app.viewer, sample_copies(["network_01.tif"]))
    app.wait_jobs()
    old = app.session.project
    done = []
    handle = app.session.jobs.start(_slow_reader(old), name="Slow", on_done=done.append)
    app.qtbot.wait(100)
    app.session.open_project(Project.create(tmp_path / "second"))
    assert handle.stopped.is_set() and handle.token.cancelled
    app.qtbot.waitUntil(lambda: not app.session.jobs.busy, timeout=5000)
    assert done == [] and shown == [] and old._db.conn is None


@pytest.mark.qtsmoke
def test_an_edit_made_just_before_the_project_closes_is_saved(app, sample_copies):
    folder = sample_copies(["network_01.tif"])
    open_path(app.viewer, folder)
    app.wait_jobs()
    project, image = app.session.project, app.session.current
    layer = find_layer(app.viewer, "mask")
    layer.selected_label = 1
    layer.paint((50, 60), 1)  # the autosave timer has not fired yet
    app.session.close_project()
    assert project._db.conn is None and app.session.project is None
    with Project.open(project.folder) as again:
        assert again.masks.read(image.id)[50, 60] == 1


@pytest.mark.qtsmoke
def test_closing_the_window_saves_and_closes_the_project(make_napari_viewer, qtbot,
                                                         sample_copies):
    from napari_nanomorph.launcher import add_docks
    from napari_nanomorph.session import session_for

    viewer = make_napari_viewer(show=True)
    add_docks(viewer)
    session = session_for(viewer)
    open_path(viewer, sample_copies(["bundle_01.tif"]))
    qtbot.waitUntil(lambda: not session.jobs.busy and find_layer(viewer, "mask") is not None,
                    timeout=20000)
    project, image = session.project, session.current
    layer = find_layer(viewer, "mask")
    layer.selected_label = 1
    layer.paint((20, 30), 1)
    viewer.close()  # as the user closing the window: napari closes its Qt window
    assert session.project is None and project._db.conn is None
    with Project.open(project.folder) as again:
        assert again.masks.read(image.id)[20, 30] == 1


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("PyQt6") is None, reason="PyQt6 is not installed")
def test_the_smoke_subset_passes_on_pyqt6():
    env = {**os.environ, "QT_API": "pyqt6", "PYTEST_QT_API": "pyqt6"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "xvfb", "-q", "-m", "qtsmoke",
         "-p", "no:cacheprovider", "tests/plugin"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " skipped" not in result.stdout
