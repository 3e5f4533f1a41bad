"""The app and damaged or busy projects: a project another program writes to opens read-only
with a warning; a damaged one is restored from its last good backup only when the user agrees,
and is otherwise left untouched."""

from __future__ import annotations

import multiprocessing

import pytest

from nanomorph.errors import ProjectDamagedError
from nanomorph.project import Project
from napari_nanomorph.launcher import open_path
from tests.engine.project.test_safety import _hold_project


def test_a_project_another_program_writes_to_opens_read_only(app, sample_copies,
                                                             notifications):
    folder = sample_copies(["network_01.tif"])
    open_path(app.viewer, folder)
    app.wait_jobs()
    project_folder = app.session.project.folder
    app.session.close_project()
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_project, args=(project_folder, ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        open_path(app.viewer, project_folder)
        app.wait_jobs()
        assert app.session.project.read_only
        assert any(level == "warning" and "read-only" in message and "another program"
                   in message for level, message in notifications)
        assert len(app.session.project.images.all()) == 1
    finally:
        release.set()
        holder.join(30)


@pytest.fixture
def damaged(tmp_path):
    folder = tmp_path / "p"
    Project.create(folder).close()
    with Project.open(folder) as p:
        p.settings.set("kept", "yes")
        p.backup()
    (folder / "project.sqlite").write_bytes(b"garbage" * 100)
    return folder


def test_a_damaged_project_is_restored_when_the_user_agrees(app, damaged, monkeypatch,
                                                            notifications):
    import napari_nanomorph.launcher as launcher

    asked = []
    monkeypatch.setattr(launcher, "confirm_restore",
                        lambda problem, newest: asked.append((problem, newest)) or True)
    open_path(app.viewer, damaged)
    assert "not an SQLite database" in asked[0][0]
    assert app.session.project.settings.get("kept") == "yes"
    assert any("restored the backup" in message for _, message in notifications)


def test_a_damaged_project_stays_untouched_when_the_user_declines(app, damaged, monkeypatch):
    import napari_nanomorph.launcher as launcher

    monkeypatch.setattr(launcher, "confirm_restore", lambda problem, newest: False)
    before = (damaged / "project.sqlite").read_bytes()
    with pytest.raises(ProjectDamagedError):
        open_path(app.viewer, damaged)
    assert (damaged / "project.sqlite").read_bytes() == before
    assert app.session.project is None


def test_opening_a_project_backs_it_up_on_a_worker(app, tmp_path, monkeypatch):
    """The backup taken at each opening runs in the job runner, not on the GUI thread."""
    import threading

    from nanomorph.project import Project
    from nanomorph.project.backups import list_backups
    from napari_nanomorph.launcher import open_path

    Project.create(tmp_path / "p").close()
    before = len(list_backups(tmp_path / "p"))
    threads = []
    real = Project.backup
    monkeypatch.setattr(Project, "backup", lambda self: threads.append(
        threading.current_thread()) or real(self))
    open_path(app.viewer, tmp_path / "p")
    app.wait_jobs()
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    assert len(list_backups(tmp_path / "p")) == before + 1


def test_the_window_runs_its_timers_between_the_database_check_and_the_docks(app, tmp_path,
                                                                             monkeypatch):
    """Opening runs on the GUI thread in two steps with one turn of the event loop between
    them (user input held back): a timer due then runs while the previous project is still the
    session's, before the docks refresh for the new one."""
    from nanomorph.project import Project
    from qtpy.QtCore import QTimer

    from napari_nanomorph.launcher import open_path
    from napari_nanomorph.session import Session

    Project.create(tmp_path / "p").close()
    order = []
    real = Session.open_project
    monkeypatch.setattr(Session, "open_project",
                        lambda self, project: (order.append("docks"), real(self, project))[1])
    QTimer.singleShot(0, lambda: order.append(("timer", app.session.project)))
    open_path(app.viewer, tmp_path / "p")
    assert order == [("timer", None), "docks"]
    assert app.session.project.folder == tmp_path / "p"
    app.wait_jobs()
