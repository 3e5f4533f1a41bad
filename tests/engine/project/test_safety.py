"""Data safety of the store: concurrent saves lose nothing, one writing program at a time,
damaged databases are refused (never replaced), backups restore, stored names cannot lead out
of the project folder, read-only copies see committed data, orphan temporary files go."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import threading

import numpy as np
import pytest

from nanomorph.errors import ProjectDamagedError, ProjectError, ProjectLockedError
from nanomorph.jobs import run_job
from nanomorph.project import Project
from nanomorph.project.backups import list_backups, restore_backup
from tests.engine.project.conftest import write_tif

SHAPE = (32, 40)


def _save_many(folder, image_id, values, results, errors):
    try:
        with Project.open(folder) as p:
            for v in values:
                results.append((p.masks.save(image_id, np.full(SHAPE, v, np.uint8)), v))
    except Exception as exc:  # noqa: BLE001 - the test reports whatever escaped
        import traceback
        errors.append("".join(traceback.format_exception(exc)))


def _save_on(project, image_id, values, results, errors):
    try:
        for v in values:
            results.append((project.masks.save(image_id, np.full(SHAPE, v, np.uint8)), v))
    except Exception as exc:  # noqa: BLE001
        errors.append(exc)


def _check_every_save_kept(project, image_id, results):
    versions = [version for version, _ in results]
    assert len(set(versions)) == len(versions), "two saves got the same version"
    for version, value in results:
        assert (project.masks.read(image_id, version) == value).all()


def test_threads_sharing_a_project_lose_no_save(project):
    image = project.images.all()[0].id
    results, errors = [], []
    threads = [threading.Thread(target=_save_on, args=(project, image, range(t * 40, t * 40 + 40),
                                                       results, errors)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    _check_every_save_kept(project, image, results)
    assert len(results) == 160


def test_threads_with_their_own_connections_lose_no_save(project):
    image = project.images.all()[0].id
    results, errors = [], []
    threads = [threading.Thread(target=_save_many, args=(project.folder, image,
                                                         range(t * 30, t * 30 + 30), results,
                                                         errors)) for t in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    _check_every_save_kept(project, image, results)
    assert len(results) == 90


def _hold_project(folder, ready, release):
    with Project.open(folder):
        ready.set()
        release.wait(30)


def test_a_second_program_cannot_write_but_can_read(project):
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    folder = project.folder
    project.close()
    holder = context.Process(target=_hold_project, args=(folder, ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(ProjectLockedError, match="open for writing in another program"):
            Project.open(folder)
        with Project.open(folder, read_only=True) as reader:
            assert len(reader.images.all()) == 3
    finally:
        release.set()
        holder.join(30)
    with Project.open(folder) as again:  # the lock went with the program
        assert not again.read_only


def test_no_sqlite_error_reaches_the_caller_when_the_database_stays_locked(project, monkeypatch):
    from nanomorph.project import database

    monkeypatch.setattr(database, "BUSY_RETRIES", 1)
    other = sqlite3.connect(project.folder / "project.sqlite", timeout=0.1)
    other.execute("BEGIN EXCLUSIVE")
    project._db.conn.execute("PRAGMA busy_timeout = 100")
    try:
        with pytest.raises(ProjectError, match="busy"):
            project.settings.set("x", 1)
    finally:
        other.rollback()
        other.close()


def test_an_empty_database_is_refused_and_left_alone(tmp_path):
    Project.create(tmp_path / "p").close()
    db = tmp_path / "p" / "project.sqlite"
    db.write_bytes(b"")
    with pytest.raises(ProjectDamagedError, match="empty"):
        Project.open(tmp_path / "p")
    assert db.stat().st_size == 0


def test_a_database_with_a_damaged_page_is_refused_and_left_alone(project, tmp_path):
    folder = project.folder
    for i in range(200):
        project.settings.set(f"key{i}", "x" * 200)
    project.close()
    db = folder / "project.sqlite"
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    for start in range(2 * page, len(data), page):  # damage the interior pages' headers
        data[start:start + 64] = os.urandom(64)
    db.write_bytes(bytes(data))
    damaged = db.read_bytes()
    with pytest.raises(ProjectDamagedError, match="damaged"):
        Project.open(folder)
    assert db.read_bytes() == damaged


def test_a_file_that_is_no_database_is_refused(tmp_path):
    Project.create(tmp_path / "p").close()
    (tmp_path / "p" / "project.sqlite").write_bytes(b"hello, this is not sqlite" * 100)
    with pytest.raises(ProjectDamagedError, match="not an SQLite database"):
        Project.open(tmp_path / "p")


def test_backups_rotate_and_the_last_good_one_restores(tmp_path, monkeypatch):
    from nanomorph.project import backups

    monkeypatch.setattr(backups, "KEEP", 3)
    folder = tmp_path / "p"
    Project.create(folder).close()
    for i in range(5):
        with Project.open(folder) as p:
            p.settings.set("generation", i)
            p.backup()
    names = list_backups(folder)
    assert len(names) == 3
    (folder / "project.sqlite").write_bytes(b"")
    restored = restore_backup(folder)
    assert restored == names[-1]
    with Project.open(folder) as p:
        assert p.settings.get("generation") == 4
    assert any(n.startswith("project.sqlite.damaged-") for n in os.listdir(folder))


def test_stored_names_cannot_lead_out_of_the_project(project, tmp_path):
    image = project.images.all()[0].id
    project.masks.save(image, np.ones(SHAPE, np.uint8))
    conn = project._db.conn
    outside = tmp_path / "secret.tif"
    outside.write_bytes(b"x")
    for bad in ("../../secret.tif", str(outside), "sub/../../x.tif"):
        conn.execute("UPDATE masks SET file = ? WHERE image_id = ?", (bad, image))
        with pytest.raises(ProjectError, match="outside|not a mask file"):
            project.masks.read(image)
    conn.execute("UPDATE images SET sha256 = ? WHERE id = ?", ("../" * 10 + "a" * 34, image))
    with pytest.raises(ProjectError, match="content hash"):
        project.masks.save(image, np.ones(SHAPE, np.uint8))


def test_a_read_only_copy_with_a_wal_and_no_shm_sees_committed_data(tmp_path):
    folder = tmp_path / "p"
    with Project.create(folder) as p:
        p.settings.set("first", 1)
    writer = sqlite3.connect(folder / "project.sqlite", isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT OR REPLACE INTO settings(key, value) VALUES ('late', '2')")
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)  # a snapshot taken while the WAL holds the commit
    writer.close()
    (copy / "project.sqlite-shm").unlink(missing_ok=True)
    assert (copy / "project.sqlite-wal").stat().st_size > 0
    os.chmod(copy, 0o555)
    try:
        with Project.open(copy, read_only=True) as p:
            assert p.settings.get("late") == 2 and p.read_only
    finally:
        os.chmod(copy, 0o755)


def test_orphan_temporary_files_are_removed_on_open(project):
    orphan = project.masks_dir / ".abc_v1.tif.xyz.tmp"
    orphan.write_bytes(b"half a mask")
    kept = project.masks_dir / "notes.txt"
    kept.write_text("mine")
    folder = project.folder
    project.close()
    with Project.open(folder):
        assert not orphan.exists() and kept.exists()


def test_adding_images_while_another_thread_saves_masks(project, tmp_path):
    image = project.images.all()[0].id
    results, errors = [], []
    saver = threading.Thread(target=_save_on, args=(project, image, range(50), results, errors))
    saver.start()
    added = run_job(project.images.add([write_tif(tmp_path / f"n{i}.tif", seed=50 + i)
                                        for i in range(10)]))
    saver.join()
    assert not errors and len(added.added) == 10
    _check_every_save_kept(project, image, results)
