"""The images repository: content hashes, calibration precedence, relinking, file names."""

from __future__ import annotations

import os
import shutil

import pytest

from nanomorph.io.calibration import Calibration
from nanomorph.jobs import run_job
from nanomorph.project import Project
from tests.engine.project.conftest import write_tif


def test_images_carry_hash_shape_and_file_calibration(project, images):
    r = project.images.all()[1]
    assert r.shape == (32, 40) and r.dtype == "uint8"
    assert r.size_bytes == os.path.getsize(images[1])
    assert r.calibration.source == "file"
    assert r.calibration.pixel_size_nm() == pytest.approx((10.0, 10.0), rel=1e-6)


def test_same_content_is_added_once(project, images, tmp_path):
    copy = tmp_path / "copy.tif"
    shutil.copy(images[0], copy)
    result = run_job(project.images.add([copy, images[1]]))
    assert result.added == [] and len(result.already_present) == 2
    assert len(project.images.all()) == 3


def test_unreadable_files_are_reported_and_the_rest_added(project, tmp_path):
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    good = write_tif(tmp_path / "good.tif", seed=9)
    result = run_job(project.images.add([empty, good]))
    assert [r.name for r in result.added] == ["good.tif"]
    assert result.failed[0][0] == str(empty) and result.failed[0][1]


def test_calibration_precedence_user_over_project_over_file(project):
    a, b, c = project.images.all()
    project.images.set_project_calibration(Calibration((7.0, 7.0), "nm", "project"))
    project.images.set_calibration(a.id, Calibration((1.0, 1.0), "µm", "user"))
    got = {r.id: r.calibration for r in project.images.all()}
    assert got[a.id].source == "user" and got[a.id].pixel_size == (1.0, 1.0)
    assert got[b.id].source == "project" and got[b.id].pixel_size == (7.0, 7.0)
    project.images.reset_calibrations()
    assert all(r.calibration.source == "file" for r in project.images.all())


def test_moved_images_are_relinked_by_hash(project, images, tmp_path):
    moved = tmp_path / "elsewhere" / "deep"
    moved.mkdir(parents=True)
    for p in images[:2]:
        shutil.move(p, moved / ("renamed_" + os.path.basename(p)))
    write_tif(moved / "unrelated.tif", seed=42)
    assert len(project.images.missing()) == 2
    count = run_job(project.images.relink(tmp_path / "elsewhere"))
    assert count == 2 and project.images.missing() == []
    assert project.images.all()[0].path == str(moved / "renamed_img0.tif")


def test_non_utf8_file_names_round_trip(tmp_path):
    folder = os.fsencode(tmp_path) + b"/caf\xe9_wire.tif"
    write_tif(os.fsdecode(folder), seed=3)
    with Project.create(tmp_path / "p") as p:
        result = run_job(p.images.add([os.fsdecode(folder)]))
        record = result.added[0]
        assert os.fsencode(record.path) == folder and record.exists
        assert record.name == "caf\\xe9_wire.tif"
    with Project.open(tmp_path / "p") as p:
        assert os.fsencode(p.images.all()[0].path) == folder
