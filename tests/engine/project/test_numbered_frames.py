"""Folders of numbered frames as movies: each frame file an image of its own, with its frame
index, time and the folder as its movie; bad frames reported, the rest kept."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest
import tifffile

from nanomorph.errors import ImageReadError, InvalidParameterError
from nanomorph.io import read_image
from nanomorph.io.hashing import sha256_file
from nanomorph.io.sequence import frames_info, numbered_frames
from nanomorph.jobs import run_job
from nanomorph.project import Project


def write_frames(folder, numbers, shape=(16, 20), prefix="frame_", width=4, pixel_um=0.01):
    """Numbered calibrated TIFF frames; returns their pixels by number."""
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(7)
    pixels = {}
    for n in numbers:
        pixels[n] = rng.integers(0, 255, shape, dtype=np.uint8)
        tifffile.imwrite(folder / f"{prefix}{n:0{width}d}.tif", pixels[n], imagej=True,
                         resolution=(1 / pixel_um, 1 / pixel_um), metadata={"unit": "um"})
    return pixels


def test_frames_follow_their_numbers_with_gaps_kept_and_other_files_left_out(tmp_path):
    run = tmp_path / "run1"
    write_frames(run, [1, 2, 10, 3, 5], width=1)  # frame_10 after frame_5, not after frame_1
    tifffile.imwrite(run / "overview.tif", np.zeros((8, 8), np.uint8))
    (run / "notes.txt").write_text("not an image")
    frames = numbered_frames(run)
    assert [p.rsplit("/", 1)[1] for p in frames.paths] == [
        "frame_1.tif", "frame_2.tif", "frame_3.tif", "frame_5.tif", "frame_10.tif"]
    assert frames.frames == (0, 1, 2, 4, 9)  # frame_4 is missing: the gap stays
    assert frames.name == "run1/" and frames.left_out == 1 and frames.pattern == "frame_#.tif"


def test_the_pattern_with_most_files_is_the_movie(tmp_path):
    write_frames(tmp_path / "r", range(3), prefix="a_")
    write_frames(tmp_path / "r", range(5), prefix="b_")
    frames = numbered_frames(tmp_path / "r")
    assert frames.pattern == "b_####.tif" and len(frames.paths) == 5 and frames.left_out == 3


@pytest.mark.parametrize("make, reason", [
    (lambda d: None, "no such folder"),
    (lambda d: (d.mkdir(), tifffile.imwrite(d / "only_1.tif", np.zeros((4, 4), np.uint8))),
     "holds no numbered frames \\(1 image files"),
    (lambda d: (write_frames(d, [1], width=1), write_frames(d, [1], width=2)),
     "two files carry the same frame number \\(frame_01.tif, frame_1.tif\\)"),
])
def test_a_folder_that_is_not_a_movie_is_refused_with_one_line(tmp_path, make, reason):
    folder = tmp_path / "f"
    make(folder)
    with pytest.raises(ImageReadError, match=reason) as caught:
        numbered_frames(folder)
    assert str(folder) in str(caught.value)


def test_info_of_a_frames_folder_is_its_first_frame_with_a_frame_axis(tmp_path):
    write_frames(tmp_path / "run", range(6))
    info = frames_info(numbered_frames(tmp_path / "run"))
    assert info.path == str(tmp_path / "run") and info.shape == (6, 16, 20)
    assert info.frames == 6 and info.frame_interval_s is None and info.dtype == "uint8"
    assert info.calibration.pixel_size_nm() == pytest.approx((10.0, 10.0))
    assert info.metadata["pattern"] == "frame_####.tif"


def test_info_of_a_frames_folder_whose_first_frame_is_a_movie_names_that_file(tmp_path):
    write_frames(tmp_path / "run", [1, 2])
    tifffile.imwrite(tmp_path / "run" / "frame_0001.tif", np.zeros((3, 16, 20), np.uint8),
                     photometric="minisblack")
    with pytest.raises(ImageReadError, match="is itself a movie of 3 frames") as caught:
        frames_info(numbered_frames(tmp_path / "run"))
    assert caught.value.path == str(tmp_path / "run" / "frame_0001.tif")


def test_each_frame_file_becomes_a_frame_of_one_movie(tmp_path):
    pixels = write_frames(tmp_path / "run", [3, 4, 5, 7])
    with Project.create(tmp_path / "p") as project:
        result = run_job(project.images.add_numbered_frames(tmp_path / "run", interval_s=0.5))
        records = project.images.all()
    assert len(result.added) == 4 and not result.failed
    assert [r.frame for r in records] == [0, 1, 2, 4]
    assert [r.time_s for r in records] == [0.0, 0.5, 1.0, 2.0]
    assert {r.group for r in records} == {"run/"}
    last = records[-1]
    assert last.name == "frame_0007.tif" and last.stem == "frame_0007"
    assert last.file_page is None and last.page is None and last.shape == (16, 20)
    assert last.sha256 == sha256_file(last.path)  # a file of its own, known by its bytes
    np.testing.assert_array_equal(read_image(last.path, page=last.page).data, pixels[7])


def test_without_an_interval_frame_times_stay_unknown_and_adding_again_adds_nothing(tmp_path):
    write_frames(tmp_path / "run", range(3))
    with Project.create(tmp_path / "p") as project:
        run_job(project.images.add_numbered_frames(tmp_path / "run"))
        again = run_job(project.images.add_numbered_frames(tmp_path / "run"))
        assert [r.time_s for r in project.images.all()] == [None] * 3
    assert not again.added and len(again.already_present) == 3


def test_plain_images_of_the_folder_become_its_frames_and_keep_their_labels(tmp_path):
    write_frames(tmp_path / "run", range(4))
    with Project.create(tmp_path / "p") as project:
        stills = run_job(project.images.add(sorted((tmp_path / "run").iterdir()))).added
        project.labels.set_classes(["network"])
        project.labels.set(stills[2].id, "network")
        events = []
        project.events.images.connect(events.append)
        result = run_job(project.images.add_numbered_frames(tmp_path / "run", interval_s=2.0))
        records = project.images.all()
        assert project.labels.all() == {stills[2].id: "network"}
    assert not result.added and [r.frame for r in result.already_present] == [0, 1, 2, 3]
    assert [r.id for r in records] == [r.id for r in stills]
    assert [(r.frame, r.time_s, r.group) for r in records] == [
        (i, 2.0 * i, "run/") for i in range(4)]
    assert events == [[r.id for r in stills]]  # one change for the four


def test_a_frame_of_another_size_or_a_movie_among_the_frames_is_reported_the_rest_added(
        tmp_path):
    write_frames(tmp_path / "run", range(4))
    tifffile.imwrite(tmp_path / "run" / "frame_0004.tif", np.zeros((9, 9), np.uint8))
    tifffile.imwrite(tmp_path / "run" / "frame_0005.tif", np.zeros((3, 16, 20), np.uint8),
                     photometric="minisblack")
    (tmp_path / "run" / "frame_0006.tif").write_bytes(b"II*\0 cut")
    with Project.create(tmp_path / "p") as project:
        result = run_job(project.images.add_numbered_frames(tmp_path / "run"))
        assert [r.frame for r in project.images.all()] == [0, 1, 2, 3]
    reasons = {path.rsplit("/", 1)[1]: reason for path, reason in result.failed}
    assert reasons["frame_0004.tif"] == "its size 9 × 9 differs from the first frame's 16 × 20"
    assert reasons["frame_0005.tif"] == "is itself a movie of 3 frames, not one frame"
    assert "frame_0006.tif" in reasons and len(result.added) == 4


@pytest.mark.parametrize("interval", [0.0, -1.0, float("nan")])
def test_a_frame_interval_must_be_positive(tmp_path, interval):
    write_frames(tmp_path / "run", range(2))
    with Project.create(tmp_path / "p") as project:
        with pytest.raises(InvalidParameterError, match="positive number of seconds"):
            run_job(project.images.add_numbered_frames(tmp_path / "run", interval_s=interval))
        assert project.images.all() == []


def test_a_moved_frames_folder_is_relinked_frame_by_frame(tmp_path):
    write_frames(tmp_path / "run", range(3))
    with Project.create(tmp_path / "p") as project:
        run_job(project.images.add_numbered_frames(tmp_path / "run"))
        shutil.move(tmp_path / "run", tmp_path / "moved")
        assert len(project.images.missing()) == 3
        assert run_job(project.images.relink(tmp_path / "moved")) == 3
        records = project.images.all()
    assert all(r.exists and "/moved/" in r.path for r in records)
    assert [r.name for r in records] == [f"frame_000{i}.tif" for i in range(3)]
    assert [r.frame for r in records] == [0, 1, 2]


def test_movie_frames_of_a_version_3_project_keep_their_page(tmp_path):
    from nanomorph.project.schema import MIGRATIONS

    folder = tmp_path / "old"
    folder.mkdir()
    conn = sqlite3.connect(folder / "project.sqlite", isolation_level=None)
    for version in (1, 2, 3):
        MIGRATIONS[version](conn)  # what nanomorph with schema 3 created
    conn.execute("PRAGMA user_version = 3")
    conn.execute("INSERT INTO images(sha256, path, name, size_bytes, format, shape, dtype,"
                 " added_at, frame, time_s, movie) VALUES ('k7', x'2f6d2e746966', 'm.tif #7',"
                 " 10, 'TIFF', '[4, 4]', 'uint8', 0, 7, 3.5, 'm.tif')")
    conn.close()
    with Project.open(folder) as project:
        record, = project.images.all()
    assert (record.frame, record.file_page, record.page, record.stem) == (7, 7, 7, "m-f00007")


def test_a_repeated_frame_file_is_a_frame_of_its_own_and_relinks_with_the_folder(tmp_path):
    write_frames(tmp_path / "run", range(4))
    shutil.copy(tmp_path / "run" / "frame_0001.tif", tmp_path / "run" / "frame_0002.tif")
    with Project.create(tmp_path / "p") as project:
        result = run_job(project.images.add_numbered_frames(tmp_path / "run", interval_s=1.0))
        assert [(r.frame, r.time_s) for r in project.images.all()] == [
            (i, float(i)) for i in range(4)]
        again = run_job(project.images.add_numbered_frames(tmp_path / "run"))
        shutil.move(tmp_path / "run", tmp_path / "moved")
        relinked = run_job(project.images.relink(tmp_path / "moved"))
        records = project.images.all()
    assert len(result.added) == 4 and not again.added and len(again.already_present) == 4
    assert relinked == 4 and [r.name for r in records] == [f"frame_000{i}.tif" for i in range(4)]
    assert all(r.exists and "/moved/" in r.path for r in records)


def test_a_still_copied_into_a_frames_folder_twice_becomes_two_frames(tmp_path):
    write_frames(tmp_path / "run", range(3))
    shutil.copy(tmp_path / "run" / "frame_0000.tif", tmp_path / "run" / "frame_0003.tif")
    with Project.create(tmp_path / "p") as project:
        stills = run_job(project.images.add(sorted((tmp_path / "run").iterdir())))
        result = run_job(project.images.add_numbered_frames(tmp_path / "run"))
        records = project.images.all()
    assert len(stills.added) == 3 and len(stills.already_present) == 1  # a copy, as a still
    assert len(result.added) == 1 and [r.frame for r in records] == [0, 1, 2, 3]
    assert {r.group for r in records} == {"run/"}


def stamp_frames(folder, stamps):
    """Frame files with TIFF DateTime stamps (``None``: no stamp)."""
    folder.mkdir()
    for n, stamp in enumerate(stamps):
        tags = [] if stamp is None else [(306, "s", 0, stamp, True)]
        tifffile.imwrite(folder / f"f_{n:03d}.tif", np.full((8, 8), n, np.uint8), extratags=tags)


def test_frame_times_come_from_the_files_acquisition_stamps(tmp_path):
    stamp_frames(tmp_path / "run", ["2024:03:01 10:00:05", "2024:03:01 10:00:09",
                                    "2024:03:01 10:01:05"])
    with Project.create(tmp_path / "p") as project:
        events = []
        project.events.images.connect(events.append)
        result = run_job(project.images.add_numbered_frames(tmp_path / "run"))
        assert [r.time_s for r in project.images.all()] == [0.0, 4.0, 60.0]
    assert [r.time_s for r in result.added] == [0.0, 4.0, 60.0]
    assert events == [[r.id for r in result.added]]  # one announcement, with the times in


def test_a_given_interval_wins_over_stamps_and_adding_without_one_keeps_the_times(tmp_path):
    stamp_frames(tmp_path / "run", ["2024:03:01 10:00:05", "2024:03:01 10:00:09"])
    with Project.create(tmp_path / "p") as project:
        run_job(project.images.add_numbered_frames(tmp_path / "run", interval_s=0.5))
        assert [r.time_s for r in project.images.all()] == [0.0, 0.5]
        run_job(project.images.add_numbered_frames(tmp_path / "run", interval_s=2.0))
        assert [r.time_s for r in project.images.all()] == [0.0, 2.0]
        run_job(project.images.add_numbered_frames(tmp_path / "run"))  # stamps say 4 s
        assert [r.time_s for r in project.images.all()] == [0.0, 2.0]


@pytest.mark.parametrize("stamps", [
    ["2024:03:01 10:00:05", None, "2024:03:01 10:00:09"],  # a frame without
    ["2024:03:01 10:00:05", "2024:03:01 10:00:05", "2024:03:01 10:00:05"],  # faster than 1 s
])
def test_stamps_that_do_not_tell_every_frame_time_leave_the_times_unknown(tmp_path, stamps):
    stamp_frames(tmp_path / "run", stamps)
    with Project.create(tmp_path / "p") as project:
        run_job(project.images.add_numbered_frames(tmp_path / "run"))
        assert [r.time_s for r in project.images.all()] == [None] * 3


def test_a_folder_of_camera_jpegs_takes_its_frame_times_from_their_exif(tmp_path):
    """Photographs of a run (a camera on the microscope's screen): EXIF ``DateTimeOriginal``
    with its fraction of a second gives each frame's time."""
    from PIL import Image

    (tmp_path / "run").mkdir()
    for n, (stamp, fraction) in enumerate([("2024:03:01 10:00:05", "0"),
                                           ("2024:03:01 10:00:05", "5"),
                                           ("2024:03:01 10:00:07", "25")]):
        exif = Image.Exif()
        exif.get_ifd(0x8769).update({36867: stamp, 37521: fraction})
        Image.fromarray(np.full((8, 8), n, np.uint8)).save(tmp_path / "run" / f"img_{n}.jpg",
                                                           exif=exif.tobytes())
    with Project.create(tmp_path / "p") as project:
        run_job(project.images.add_numbered_frames(tmp_path / "run"))
        assert [r.time_s for r in project.images.all()] == [0.0, 0.5, 2.25]
