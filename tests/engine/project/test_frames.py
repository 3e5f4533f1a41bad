"""Movies and stacks in a project: each frame is an image that references (file, frame index),
with a hash over its pixels, its time and its movie as split group."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import tifffile

from nanomorph.io import read_image
from nanomorph.jobs import run_job
from nanomorph.project import Project
from nanomorph.project import frames as frames_module
from nanomorph.project.frames import frame_key, frame_name, frame_time


def write_movie(path, n_frames=12, shape=(24, 32), interval_s=0.5, repeat=None):
    """An ImageJ TIFF movie with a frame interval; frame ``repeat`` copies frame 0."""
    data = np.random.default_rng(3).integers(0, 255, (n_frames, *shape), dtype=np.uint8)
    if repeat is not None:
        data[repeat] = data[0]
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / 0.01, 1 / 0.01),
                     metadata={"axes": "TYX", "unit": "um", "finterval": interval_s})
    return str(path), data


def test_every_frame_of_a_movie_becomes_an_image_with_its_time_and_group(tmp_path):
    path, data = write_movie(tmp_path / "growth.tif")
    with Project.create(tmp_path / "p") as project:
        result = run_job(project.images.add([path]))
        records = project.images.all()
    assert len(result.added) == 12 and not result.failed
    assert [r.frame for r in records] == list(range(12))
    assert [r.time_s for r in records] == [0.5 * i for i in range(12)]
    assert {r.group for r in records} == {"growth.tif"}
    assert records[7].name == "growth.tif #07" and records[7].page == 7
    assert records[7].shape == (24, 32) and records[7].path == path
    assert records[7].calibration.pixel_size == pytest.approx((10.0, 10.0))
    assert records[7].sha256 == frame_key(7, data[7])
    # what every analysis reads for the record is that frame
    np.testing.assert_array_equal(read_image(records[7].path, page=records[7].page).data, data[7])


def test_adding_a_movie_again_finds_every_frame_and_identical_frames_stay_apart(tmp_path):
    path, _ = write_movie(tmp_path / "m.tif", n_frames=5, repeat=3)
    with Project.create(tmp_path / "p") as project:
        first = run_job(project.images.add([path]))
        again = run_job(project.images.add([path]))
        assert len(first.added) == 5  # frame 3 equals frame 0 and is still its own image
        assert not again.added and len(again.already_present) == 5


def test_frames_keep_their_masks_and_labels_across_reopening(tmp_path):
    path, _ = write_movie(tmp_path / "m.tif", n_frames=4)
    with Project.create(tmp_path / "p") as project:
        run_job(project.images.add([path]))
        ids = [r.id for r in project.images.all()]
        project.labels.set_classes(["network", "dispersed"])
        project.labels.set(ids[2], "network")
        project.masks.save(ids[1], np.eye(24, 32, dtype=np.uint8), source="painted")
    with Project.open(tmp_path / "p") as project:
        assert project.labels.all() == {ids[2]: "network"}
        assert project.masks.read(ids[1]).sum() == 24
        assert project.masks.read(ids[0]) is None


def test_a_moved_movie_is_relinked_with_its_frame_names(tmp_path):
    (tmp_path / "a").mkdir()
    path, _ = write_movie(tmp_path / "a" / "m.tif", n_frames=3)
    with Project.create(tmp_path / "p") as project:
        run_job(project.images.add([path]))
        (tmp_path / "b").mkdir()
        shutil.move(path, tmp_path / "b" / "moved.tif")
        assert len(project.images.missing()) == 3
        assert run_job(project.images.relink(tmp_path / "b")) == 3
        records = project.images.all()
    assert [r.name for r in records] == ["moved.tif #0", "moved.tif #1", "moved.tif #2"]
    assert all(r.exists for r in records)


@pytest.mark.parametrize("block_bytes", [1, 24 * 32 * 4, 2**30])
def test_a_movie_is_read_in_blocks_with_the_same_keys(tmp_path, monkeypatch, block_bytes):
    path, data = write_movie(tmp_path / "m.tif", n_frames=6)
    monkeypatch.setattr(frames_module, "FRAME_BLOCK_BYTES", block_bytes)
    with Project.create(tmp_path / "p") as project:
        run_job(project.images.add([path]))
        assert [r.sha256 for r in project.images.all()] == [frame_key(i, data[i])
                                                             for i in range(6)]


def test_frame_names_sort_in_frame_order_and_times_need_an_interval():
    names = [frame_name("x.tif", i, 120) for i in (0, 9, 10, 119)]
    assert names == sorted(names) == ["x.tif #000", "x.tif #009", "x.tif #010", "x.tif #119"]
    assert frame_time(4, 0.25) == 1.0 and frame_time(4, None) is None


def test_a_still_image_stays_one_record_without_frame(tmp_path):
    still = tmp_path / "still.tif"
    tifffile.imwrite(still, np.zeros((16, 16), np.uint8))
    with Project.create(tmp_path / "p") as project:
        record = project.images.add_one(still)
    assert record.frame is None and record.time_s is None and record.group is None
    assert record.page is None


def test_a_real_velox_stack_opens_as_frames_with_their_times(tmp_path, shared_data):
    from nanomorph.io.readers import read_frames

    path = shared_data / "microscope_formats" / "fei_example_tem_stack.emd"
    with Project.create(tmp_path / "p") as project:
        result = run_job(project.images.add([path]))
        records = project.images.all()
    assert len(result.added) == 2 and not result.failed
    assert [(r.frame, r.time_s) for r in records] == [(0, 0.0), (1, 0.8)]
    assert all(r.calibration.pixel_size_nm() == pytest.approx((0.0081728831923,) * 2)
               for r in records)
    both = read_frames(path, 0, 2)
    for record, frame in zip(records, both):
        np.testing.assert_array_equal(read_image(record.path, page=record.page).data, frame)
        assert record.sha256 == frame_key(record.frame, frame)


def test_a_movie_that_fails_half_way_adds_no_frame_and_says_why(tmp_path, monkeypatch):
    from nanomorph.errors import ImageReadError
    from nanomorph.io import readers

    path, _ = write_movie(tmp_path / "m.tif", n_frames=6)
    real = readers.read_frames

    def failing(p, start, stop):
        if start >= 2:
            raise ImageReadError("the file is truncated: its image data end at byte 9", p)
        return real(p, start, stop)

    monkeypatch.setattr(readers, "read_frames", failing)
    monkeypatch.setattr(frames_module, "FRAME_BLOCK_BYTES", 24 * 32 * 2)  # blocks of 2 frames
    with Project.create(tmp_path / "p") as project:
        result = run_job(project.images.add([path]))
        assert project.images.all() == []
    assert not result.added and result.failed == [(path, "the file is truncated: its image "
                                                         "data end at byte 9")]


def test_a_cut_movie_adds_its_whole_frames_and_says_so(tmp_path):
    path, data = write_movie(tmp_path / "whole.tif", n_frames=10, shape=(16, 24))
    with tifffile.TiffFile(path) as tif:
        first = tif.pages[0].dataoffsets[0]
    cut = tmp_path / "cut.tif"
    cut.write_bytes(open(path, "rb").read()[:first + 7 * 16 * 24 + 100])  # 7.3 frames
    with Project.create(tmp_path / "p") as project:
        result = run_job(project.images.add([cut]))
        assert [r.frame for r in result.added] == list(range(7)) and not result.failed
        assert result.partial == [(str(cut), "the file is truncated: only its first 7 of 10 "
                                             "frames are whole; the rest are cut off")]
        np.testing.assert_array_equal(
            read_image(result.added[6].path, page=result.added[6].page).data, data[6])
        again = run_job(project.images.add([path]))  # the whole movie: its first 7 are known
        assert [r.frame for r in again.already_present] == list(range(7))
        assert [r.frame for r in again.added] == [7, 8, 9] and not again.partial


def test_a_moved_movie_added_again_is_relinked_in_one_change(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    path, _ = write_movie(tmp_path / "a" / "m.tif", n_frames=4)
    with Project.create(tmp_path / "p") as project:
        ids = [r.id for r in run_job(project.images.add([path])).added]
        shutil.move(path, tmp_path / "b" / "m.tif")
        events = []
        project.events.images.connect(events.append)
        again = run_job(project.images.add([tmp_path / "b" / "m.tif"]))
        assert not again.added and [r.id for r in again.already_present] == ids
        assert all(r.path == str(tmp_path / "b" / "m.tif") for r in again.already_present)
        assert [r.name for r in project.images.all()] == [f"m.tif #{i}" for i in range(4)]
        assert events == [ids]  # one change for the four frames
