"""The project store: persistence, calibration precedence, relinking, migrations, safety."""

from __future__ import annotations

import os
import shutil
import sqlite3

import numpy as np
import pytest
import tifffile

from nanomorph.errors import ProjectError, ProjectReadOnlyError
from nanomorph.io.calibration import Calibration
from nanomorph.jobs import run_job
from nanomorph.project import Project, is_project
from nanomorph.project.schema import SCHEMA_VERSION


def write_tif(path, seed=0, shape=(32, 40), pixel_um=None):
    """A small random uint8 TIFF (ImageJ-calibrated when pixel_um is given)."""
    data = np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8)
    kwargs = {}
    if pixel_um is not None:
        kwargs = dict(imagej=True, resolution=(1 / pixel_um, 1 / pixel_um),
                      metadata={"unit": "um"})
    tifffile.imwrite(path, data, **kwargs)
    return str(path)


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    return [write_tif(folder / f"img{i}.tif", seed=i, pixel_um=0.005 * (i + 1)) for i in range(3)]


@pytest.fixture
def project(tmp_path, images):
    p = Project.create(tmp_path / "proj")
    result = run_job(p.add_images(images))
    assert len(result.added) == 3
    yield p
    p.close()


def test_create_makes_the_documented_layout(tmp_path):
    with Project.create(tmp_path / "p", name="wires") as p:
        assert p.name == "wires"
        assert p._query("PRAGMA journal_mode")[0][0] == "wal"
        assert p._query("PRAGMA user_version")[0][0] == SCHEMA_VERSION
    for sub in ("masks", "models", "cache", "logs"):
        assert (tmp_path / "p" / sub).is_dir()
    assert is_project(tmp_path / "p")


def test_reopen_restores_everything(tmp_path, project, images):
    project.set_classes(["bundle", "network"])
    ids = [r.id for r in project.images()]
    project.set_label(ids[0], "network")
    project.set_setting("eps_px", 2.5)
    project.set_image_calibration(ids[1], Calibration((3.0, 3.0), "nm", "user"))
    version = project.save_mask(ids[2], np.eye(40, dtype=np.uint8)[:32] * 2, source="painted")
    run = project.start_run("demo", {"seed": 1})
    project.finish_run(run, "done", {"score": 0.5})
    project.close()

    with Project.open(tmp_path / "proj") as again:
        assert [r.path for r in again.images()] == images
        assert again.classes() == ["bundle", "network"]
        assert again.labels() == {ids[0]: "network"}
        assert again.get_setting("eps_px") == 2.5
        assert again.image(ids[1]).calibration == Calibration((3.0, 3.0), "nm", "user")
        assert version == 1
        np.testing.assert_array_equal(again.mask(ids[2]), np.eye(40, dtype=np.uint8)[:32] * 2)
        assert again.runs("demo")[0]["result"] == {"score": 0.5}
        assert again.integrity_check() == "ok"


def test_images_carry_hash_shape_and_file_calibration(project, images):
    r = project.images()[1]
    assert r.shape == (32, 40) and r.dtype == "uint8"
    assert r.size_bytes == os.path.getsize(images[1])
    assert r.calibration.source == "file"
    assert r.calibration.pixel_size_nm() == pytest.approx((10.0, 10.0), rel=1e-6)


def test_same_content_is_added_once(project, images, tmp_path):
    copy = tmp_path / "copy.tif"
    shutil.copy(images[0], copy)
    result = run_job(project.add_images([copy, images[1]]))
    assert result.added == [] and len(result.already_present) == 2
    assert len(project.images()) == 3


def test_unreadable_files_are_reported_and_the_rest_added(project, tmp_path):
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    good = write_tif(tmp_path / "good.tif", seed=9)
    result = run_job(project.add_images([empty, good]))
    assert [r.name for r in result.added] == ["good.tif"]
    assert result.failed[0][0] == str(empty) and result.failed[0][1]


def test_calibration_precedence_user_over_project_over_file(project):
    a, b, c = project.images()
    project.set_project_calibration(Calibration((7.0, 7.0), "nm", "project"))
    project.set_image_calibration(a.id, Calibration((1.0, 1.0), "µm", "user"))
    got = {r.id: r.calibration for r in project.images()}
    assert got[a.id].source == "user" and got[a.id].pixel_size == (1.0, 1.0)
    assert got[b.id].source == "project" and got[b.id].pixel_size == (7.0, 7.0)
    project.reset_calibrations()
    assert all(r.calibration.source == "file" for r in project.images())


def test_moved_images_are_relinked_by_hash(project, images, tmp_path):
    moved = tmp_path / "elsewhere" / "deep"
    moved.mkdir(parents=True)
    for p in images[:2]:
        shutil.move(p, moved / ("renamed_" + os.path.basename(p)))
    write_tif(moved / "unrelated.tif", seed=42)
    assert len(project.missing_images()) == 2
    count = run_job(project.relink(tmp_path / "elsewhere"))
    assert count == 2 and project.missing_images() == []
    assert project.images()[0].path == str(moved / "renamed_img0.tif")


def test_mask_versions_accumulate(project):
    image_id = project.images()[0].id
    assert project.mask(image_id) is None
    first = np.zeros((32, 40), np.uint8)
    second = first.copy()
    second[5:9, 3:30] = 1
    assert project.save_mask(image_id, first) == 1
    assert project.save_mask(image_id, second, source="auto:otsu") == 2
    np.testing.assert_array_equal(project.mask(image_id), second)
    np.testing.assert_array_equal(project.mask(image_id, version=1), first)
    assert [v["source"] for v in project.mask_versions(image_id)] == ["painted", "auto:otsu"]


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


def test_a_corrupt_database_gives_a_clear_error(tmp_path):
    Project.create(tmp_path / "p").close()
    (tmp_path / "p" / "project.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProjectError, match="cannot be read"):
        Project.open(tmp_path / "p")


def test_labels_need_a_known_class_and_classes_are_unique(project):
    project.set_classes(["a", "b"])
    image_id = project.images()[0].id
    with pytest.raises(ProjectError, match="no class named"):
        project.set_label(image_id, "zebra")
    with pytest.raises(ProjectError, match="unique"):
        project.set_classes(["a", "a"])
    project.set_label(image_id, "b")
    project.set_classes(["b", "c"])  # removing "a" keeps b's labels
    assert project.labels() == {image_id: "b"}
    project.set_classes(["c"])  # removing "b" drops its labels
    assert project.labels() == {}


def test_non_utf8_file_names_round_trip(tmp_path):
    folder = os.fsencode(tmp_path) + b"/caf\xe9_wire.tif"
    write_tif(os.fsdecode(folder), seed=3)
    with Project.create(tmp_path / "p") as p:
        result = run_job(p.add_images([os.fsdecode(folder)]))
        record = result.added[0]
        assert os.fsencode(record.path) == folder and record.exists
        assert record.name == "caf\\xe9_wire.tif"
    with Project.open(tmp_path / "p") as p:
        assert os.fsencode(p.images()[0].path) == folder


@pytest.fixture
def read_only(tmp_path):
    """Make folders read-only even for root (chattr +i); skip where that is impossible."""
    made = []

    def freeze(folder):
        os.chmod(folder, 0o555)
        if os.geteuid() == 0:
            os.system(f"chattr +i '{folder}' 2>/dev/null")
        made.append(folder)
        probe = os.path.join(folder, "probe")
        try:
            open(probe, "w").close()
        except OSError:
            return folder
        os.unlink(probe)
        pytest.skip("cannot make a read-only folder on this machine")

    yield freeze
    for folder in made:
        if os.geteuid() == 0:
            os.system(f"chattr -i '{folder}' 2>/dev/null")
        os.chmod(folder, 0o755)


def test_read_only_project_opens_read_only_and_refuses_edits(tmp_path, project, read_only):
    folder = project.folder
    image_id = project.images()[0].id
    project.close()
    read_only(folder)
    with Project.open(folder) as p:
        assert p.read_only
        assert len(p.images()) == 3
        with pytest.raises(ProjectReadOnlyError, match="read-only"):
            p.set_label(image_id, None)
        with pytest.raises(ProjectReadOnlyError):
            p.save_mask(image_id, np.zeros((32, 40), np.uint8))
    assert os.listdir(folder / "masks") == []


def test_creating_a_project_in_a_read_only_folder_fails_clearly(tmp_path, read_only):
    folder = tmp_path / "ro"
    folder.mkdir()
    read_only(folder)
    with pytest.raises(ProjectError, match="read-only"):
        Project.create(folder)


def test_analyses_go_stale_when_the_mask_changes(project):
    image_id = project.images()[0].id
    v1 = project.save_mask(image_id, np.ones((32, 40), np.uint8))
    project.save_analysis(image_id, "percolation", {"eps": 2}, {"percolates": True}, v1)
    got = project.analyses("percolation")[image_id]
    assert got["result"] == {"percolates": True} and not got["stale"]
    project.save_mask(image_id, np.zeros((32, 40), np.uint8))
    assert project.analyses("percolation")[image_id]["stale"]
    assert project.analyses("network") == {}


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
        assert p._query("PRAGMA user_version")[0][0] == SCHEMA_VERSION
        assert p.classes() == ["bundle"]
        assert p.analyses("percolation") == {}
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


def test_models_and_predictions(project):
    a, b, c = (r.id for r in project.images())
    model = project.register_model("classifier", "live", "live.npz", {"encoder": "x"})
    assert project.register_model("classifier", "live", "live2.npz", {}) == model
    assert project.models("classifier")[0]["file"] == "live2.npz"
    project.save_predictions(model, {a: {"label": "network", "confidence": 0.9}})
    project.save_predictions(model, {b: {"label": "bundle", "confidence": 0.6}})
    assert project.predictions(model) == {b: {"label": "bundle", "confidence": 0.6}}
    project.remove_image(b)
    assert project.predictions(model) == {}


def test_a_new_project_starts_with_the_default_classes(tmp_path):
    with Project.create(tmp_path / "p") as p:
        assert p.classes() == ["bundle", "dispersed", "network", "singular"]
        assert p.class_colors()["network"] == "#7bc043"
