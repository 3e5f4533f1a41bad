"""The project facade: layout, reopening, schema versions and migrations, damaged and read-only projects."""

from __future__ import annotations

import os
import time
import sqlite3

import numpy as np
import pytest

from nanomorph.errors import ProjectError, ProjectReadOnlyError
from nanomorph.io.calibration import Calibration
from nanomorph.project import Project, is_project
from nanomorph.project.schema import SCHEMA_VERSION


def test_create_makes_the_documented_layout(tmp_path):
    with Project.create(tmp_path / "p", name="wires") as p:
        assert p.name == "wires"
        assert p._db.query("PRAGMA journal_mode")[0][0] == "wal"
        assert p._db.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION
    for sub in ("masks", "models", "cache", "logs"):
        assert (tmp_path / "p" / sub).is_dir()
    assert is_project(tmp_path / "p")


def test_reopen_restores_everything(tmp_path, project, images):
    project.labels.set_classes(["bundle", "network"])
    ids = [r.id for r in project.images.all()]
    project.labels.set(ids[0], "network")
    project.settings.set("eps_px", 2.5)
    project.images.set_calibration(ids[1], Calibration((3.0, 3.0), "nm", "user"))
    version = project.masks.save(ids[2], np.eye(40, dtype=np.uint8)[:32] * 2, source="painted")
    run = project.runs.start("demo", {"seed": 1})
    project.runs.finish(run, "done", {"score": 0.5})
    project.close()

    with Project.open(tmp_path / "proj") as again:
        assert [r.path for r in again.images.all()] == images
        assert again.labels.classes() == ["bundle", "network"]
        assert again.labels.all() == {ids[0]: "network"}
        assert again.settings.get("eps_px") == 2.5
        assert again.images.get(ids[1]).calibration == Calibration((3.0, 3.0), "nm", "user")
        assert version == 1
        np.testing.assert_array_equal(again.masks.read(ids[2]), np.eye(40, dtype=np.uint8)[:32] * 2)
        assert again.runs.list("demo")[0]["result"] == {"score": 0.5}
        assert again.integrity_check() == "ok"


def test_opening_a_non_project_or_creating_twice_fails(tmp_path, project):
    with pytest.raises(ProjectError, match="not a nanomorph project"):
        Project.open(tmp_path)
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(project.folder)


def test_newer_schema_is_refused(tmp_path):
    Project.create(tmp_path / "p").close()
    conn = sqlite3.connect(tmp_path / "p" / "project.sqlite")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(ProjectError, match="newer nanomorph"):
        Project.open(tmp_path / "p")


def test_read_only_project_opens_read_only_and_refuses_edits(tmp_path, project, read_only):
    folder = project.folder
    image_id = project.images.all()[0].id
    project.close()
    read_only(folder)
    with Project.open(folder) as p:
        assert p.read_only
        assert len(p.images.all()) == 3
        with pytest.raises(ProjectReadOnlyError, match="read-only"):
            p.labels.set(image_id, None)
        with pytest.raises(ProjectReadOnlyError):
            p.masks.save(image_id, np.zeros((32, 40), np.uint8))
    assert os.listdir(folder / "masks") == []


def test_creating_a_project_in_a_read_only_folder_fails_clearly(tmp_path, read_only):
    folder = tmp_path / "ro"
    folder.mkdir()
    read_only(folder)
    with pytest.raises(ProjectError, match="read-only"):
        Project.create(folder)


def test_a_version_1_project_is_migrated_after_a_backup(tmp_path):
    from nanomorph.project.schema import MIGRATIONS

    folder = tmp_path / "old"
    folder.mkdir()
    conn = sqlite3.connect(folder / "project.sqlite", isolation_level=None)
    MIGRATIONS[1](conn)  # exactly what nanomorph with schema 1 created
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO classes(name, position) VALUES ('bundle', 0)")
    conn.close()
    with Project.open(folder) as p:
        assert p._db.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION
        assert p.labels.classes() == ["bundle"]
        assert p.results.of_kind("percolation") == {}
    backup = sqlite3.connect(folder / "project.sqlite.bak-v1")
    assert backup.execute("PRAGMA user_version").fetchone()[0] == 1
    assert backup.execute("SELECT name FROM classes").fetchall() == [("bundle",)]
    backup.close()


def test_a_failing_migration_leaves_the_project_as_it_was(tmp_path, monkeypatch):
    from nanomorph.project import schema

    folder = tmp_path / "old"
    folder.mkdir()
    conn = sqlite3.connect(folder / "project.sqlite", isolation_level=None)
    schema.MIGRATIONS[1](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.close()

    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setitem(schema.MIGRATIONS, 2, broken)
    with pytest.raises(ProjectError, match="upgrade"):
        Project.open(folder)
    conn = sqlite3.connect(folder / "project.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'"
                        ).fetchone()[0] == 0
    conn.close()


def test_reads_do_not_wait_for_another_threads_write(project):
    """A read on another thread (the GUI's) sees the last commit at once while a worker's write
    transaction is open; the writing thread sees its own transaction; a closed project's
    reads fail with one line."""
    import threading

    first = project.images.all()[0]
    in_write, release = threading.Event(), threading.Event()

    def worker() -> None:
        with project._db.write() as conn:
            conn.execute("UPDATE images SET name = 'renamed' WHERE id = ?", (first.id,))
            assert project.images.get(first.id).name == "renamed"  # its own transaction
            in_write.set()
            release.wait(10)

    thread = threading.Thread(target=worker)
    thread.start()
    assert in_write.wait(10)
    start = time.perf_counter()
    assert project.images.get(first.id).name == first.name  # the last commit, not waiting
    assert time.perf_counter() - start < 1.0
    release.set()
    thread.join()
    assert project.images.get(first.id).name == "renamed"  # committed: seen at once
    for _ in range(20):  # short-lived threads (one per job) share the idle readers
        one = threading.Thread(target=project.images.all)
        one.start()
        one.join()
    assert len(project._db._readers) <= 2
    project.close()
    with pytest.raises(ProjectError, match="closed"):
        project.images.all()
