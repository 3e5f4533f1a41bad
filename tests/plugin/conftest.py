"""Fixtures for GUI tests: a viewer with the nanomorph docks, and waiting for background jobs."""

from __future__ import annotations

import gc

import pytest

from napari_nanomorph.session import session_for


@pytest.fixture(autouse=True)
def _own_preferences(tmp_path, monkeypatch):
    """Each GUI test reads and writes its own user preferences (window geometry, last step)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture(autouse=True)
def _gc_unfrozen():
    """What the app moves out of the garbage collector's reach (``keep_out_of_gc``) goes back
    after each test: in the one pytest process, frozen viewers of earlier tests would never be
    collected."""
    yield
    gc.unfreeze()


@pytest.fixture
def app(make_napari_viewer, qtbot):
    """A napari viewer with every nanomorph dock, plus helpers to wait for its jobs."""
    from napari_nanomorph.launcher import add_docks

    viewer = make_napari_viewer()
    docks = add_docks(viewer)
    session = session_for(viewer)

    class App:
        pass

    a = App()
    a.viewer, a.docks, a.session, a.qtbot = viewer, docks, session, qtbot

    def wait_jobs(timeout_ms=20000):
        qtbot.waitUntil(lambda: session.settled, timeout=timeout_ms)

    a.wait_jobs = wait_jobs
    yield a
    session.close_project()
    qtbot.waitUntil(lambda: not session.jobs.busy, timeout=10000)


@pytest.fixture(scope="session")
def sample_folder(tmp_path_factory):
    """The bundled synthetic sample set written once: 24 calibrated TIFFs and exact masks."""
    from nanomorph.synthetic.samples import write_samples

    folder = tmp_path_factory.mktemp("samples")
    write_samples(folder)
    return folder


@pytest.fixture
def sample_copies(sample_folder, tmp_path):
    """``sample_copies(names)``: a new folder ``tmp_path/micrographs`` holding copies of those
    sample images (file names as in the sample folder)."""
    import shutil

    def copy(names):
        folder = tmp_path / "micrographs"
        folder.mkdir()
        for name in names:
            shutil.copy(sample_folder / name, folder / name)
        return folder

    return copy


@pytest.fixture
def notifications(monkeypatch):
    """Every notification shown by nanomorph code, as (level, message)."""
    import napari_nanomorph.jobrunner as jobrunner
    import napari_nanomorph.launcher as launcher

    shown = []
    for module in (jobrunner, launcher):
        for level in ("show_error", "show_warning", "show_info"):
            if hasattr(module, level):
                monkeypatch.setattr(module, level,
                                    lambda msg, level=level: shown.append((level[5:], msg)))
    return shown
