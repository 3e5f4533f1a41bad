"""The session's shared read of the project's images: one read per change, and never stale
(a dock reading them right after a change, before the merged event reaches it, sees it)."""

from __future__ import annotations

import gc
import threading

import numpy as np
import tifffile

from napari_nanomorph.launcher import open_path


def test_records_are_read_once_and_follow_every_change(app, tmp_path, monkeypatch):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        tifffile.imwrite(folder / f"img{i}.tif", np.full((16, 16), i, np.uint8))
    open_path(app.viewer, folder)
    app.wait_jobs()
    session, project = app.session, app.session.project
    reads = []
    real = project.images.all
    monkeypatch.setattr(project.images, "all", lambda: reads.append(1) or real())
    session._index = None
    first = session.records()
    assert len(first) == 3 and session.records() is first and len(reads) == 1

    extra = tmp_path / "extra.tif"
    tifffile.imwrite(extra, np.full((16, 16), 9, np.uint8))
    project.images.add_one(extra)  # the merged event has not reached the docks yet
    assert [r.name for r in session.records()][-1] == "extra.tif" and len(reads) == 2
    app.wait_jobs()  # the docks refresh on the merged event: at most one more read
    assert len(session.records()) == 4 and len(reads) <= 3
    settled = len(reads)
    for _ in range(5):
        session.records()
    assert len(reads) == settled


def test_a_large_projects_records_are_read_in_the_background(app, tmp_path, monkeypatch):
    """Above EAGER_RECORDS the window paints before the image list is read: the docks see no
    images until the worker's read arrives, then the list fills and the first image shows."""
    from nanomorph.project import Project
    from nanomorph.project.images import ImageRepository

    from napari_nanomorph import session as session_module
    from napari_nanomorph.record_index import RecordIndex

    folder = tmp_path / "project"
    with Project.create(folder) as project:
        for i in range(3):
            tifffile.imwrite(tmp_path / f"img{i}.tif", np.full((16, 16), i, np.uint8))
            project.images.add_one(tmp_path / f"img{i}.tif")
    monkeypatch.setattr(session_module, "EAGER_RECORDS", 2)  # as if the project were large
    reading_threads, indexing_threads = [], []
    real = ImageRepository.all
    monkeypatch.setattr(ImageRepository, "all", lambda self: reading_threads.append(
        threading.current_thread()) or real(self))
    real_of = RecordIndex.of.__func__
    monkeypatch.setattr(RecordIndex, "of", classmethod(lambda cls, records: (
        indexing_threads.append(threading.current_thread()), real_of(cls, records))[1]))
    open_path(app.viewer, folder)
    session = app.session
    assert session.records() == () and session.current is None  # not read yet: nothing shown
    assert app.docks["Images"].count() == 0
    app.wait_jobs()
    assert [r.name for r in session.records()] == ["img0.tif", "img1.tif", "img2.tif"]
    assert app.docks["Images"].count() == 3
    assert session.current is not None and session.current.name == "img0.tif"
    assert threading.main_thread() not in reading_threads
    # the browser's rows and the frame bar's movies were indexed with them, on the worker
    assert indexing_threads and threading.main_thread() not in indexing_threads
    assert session.record_index().row_of == {r.id: row for row, r in enumerate(session.records())}
    # the records are out of the garbage collector's reach (full collections skip them)
    assert gc.get_freeze_count() > len(session.records())
    # a change: the previous list stays until the new one, read on a worker, lands
    reading_threads.clear()
    tifffile.imwrite(tmp_path / "img3.tif", np.full((16, 16), 3, np.uint8))
    session.project.images.add_one(tmp_path / "img3.tif")
    assert len(session.records()) == 3
    app.wait_jobs()
    assert [r.name for r in session.records()][-1] == "img3.tif"
    assert app.docks["Images"].count() == 4
    assert reading_threads and threading.main_thread() not in reading_threads
