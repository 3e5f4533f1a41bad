"""Batch over movies and stacks: one row per frame with its index and time, never a silent
first frame; a movie cannot take single masks from a folder."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import tifffile

from nanomorph.batch.config import BatchConfig
from nanomorph.synthetic import generate_morphology
from tests.engine.test_batch import make_images, run


def write_movie(path, n=5, interval_s=0.5):
    """An ImageJ stack whose frames grow denser: dispersed wires, then networks."""
    frames = [generate_morphology("dispersed" if i < n // 2 else "network", shape=(96, 96),
                                  seed=i).image for i in range(n)]
    tifffile.imwrite(path, np.stack(frames), imagej=True,
                     metadata={"axes": "TYX", "finterval": interval_s})
    return frames


def test_every_frame_is_a_row_with_its_time(tmp_path):
    write_movie(tmp_path / "movie.tif")
    still = make_images(tmp_path / "stills", 1)[0]
    rows = run([tmp_path / "movie.tif", still], tmp_path / "out",
               BatchConfig(write_masks=True)).rows
    assert len(rows) == 6 and {r["status"] for r in rows} == {"ok"}
    movie = rows[:5]
    assert [r["frame"] for r in movie] == [0, 1, 2, 3, 4]
    assert [r["time_s"] for r in movie] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert len({r["foreground_pixels"] for r in movie}) > 1  # each frame analysed on its own
    assert [r["mask_file"] for r in movie] == [f"masks/movie-f{i:05d}.png" for i in range(5)]
    assert "frame" not in rows[5] or rows[5]["frame"] is None
    with open(tmp_path / "out" / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert [t["frame"] for t in table[:5]] == ["0", "1", "2", "3", "4"]


def test_a_stack_without_a_frame_interval_has_no_times(tmp_path):
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((3, 32, 32), np.uint8), photometric="minisblack")
    rows = run([tmp_path / "stack.tif"], tmp_path / "out").rows
    assert [(r["frame"], r["time_s"]) for r in rows] == [(0, None), (1, None), (2, None)]


def test_a_movie_with_a_folder_of_single_masks_is_one_clear_error(tmp_path):
    write_movie(tmp_path / "movie.tif", n=3)
    (tmp_path / "masks").mkdir()
    tifffile.imwrite(tmp_path / "masks" / "movie.tif", np.zeros((96, 96), np.uint8))
    rows = run([tmp_path / "movie.tif"], tmp_path / "out",
               BatchConfig(mask_source="masks", masks_dir=str(tmp_path / "masks"))).rows
    assert len(rows) == 1 and rows[0]["status"] == "error"
    assert "needs a mask per frame" in rows[0]["error"]


def test_the_report_plots_a_movie_over_time_with_its_onset(tmp_path):
    from nanomorph.report.html import write_report
    from nanomorph.report.timeline import columns_of, percolating, percolation_onset

    write_movie(tmp_path / "movie.tif", n=6)
    summary = run([tmp_path / "movie.tif"], tmp_path / "out", BatchConfig(morphometry=True))
    onset = percolation_onset(percolating(columns_of(list(summary.rows))))
    text = write_report(tmp_path / "out", tmp_path / "report.html").read_text("utf-8")
    assert "<h2>Over time</h2>" in text and "movie.tif: 6 frames" in text
    if onset is None:
        assert "does not stay percolating" in text
    else:
        assert f"percolates from frame {summary.rows[onset]['frame']}" in text


def test_onset_is_where_the_network_keeps_percolating():
    from nanomorph.report.timeline import columns_of, percolating, percolation_onset

    rows = [{"frame": i, "percolates": p} for i, p in enumerate((False, True, None, True, True))]
    percolates = percolating(columns_of(rows))  # a frame without a verdict does not percolate
    assert percolates.tolist() == [False, True, False, True, True]
    assert percolation_onset(percolates) == 3 and percolation_onset(percolates[1:2]) == 0
    assert percolation_onset(percolates[:3]) is None and percolation_onset([]) is None


def test_each_frame_is_classified_from_its_own_pixels(tmp_path):
    from tests.engine.test_batch import trained_classifier

    class Factory:  # trained_classifier takes pytest's tmp_path_factory
        @staticmethod
        def mktemp(name):
            folder = tmp_path / name
            folder.mkdir()
            return folder

    write_movie(tmp_path / "movie.tif", n=4)
    rows = run([tmp_path / "movie.tif"], tmp_path / "out",
               BatchConfig(classifier=str(trained_classifier(Factory)))).rows
    assert [r["frame"] for r in rows] == [0, 1, 2, 3]
    # one shared file hash gave every frame frame 0's embedding: one confidence for all
    assert len({round(r["confidence"], 6) for r in rows}) == 4


def test_a_movie_is_hashed_once_for_all_its_frames_and_again_when_it_changes(tmp_path,
                                                                              monkeypatch):
    """Each frame is an item whose result depends on the movie's hash: the file is read for it
    once per run, not once per frame (N frames cost N² before); a rewritten movie is hashed
    again and its frames analysed again."""
    import nanomorph.io.hashing as hashing

    write_movie(tmp_path / "movie.tif", n=6)
    reads = []
    real = hashing.sha256_file
    monkeypatch.setattr(hashing, "sha256_file", lambda path: reads.append(path) or real(path))
    rows = run([tmp_path / "movie.tif"], tmp_path / "out").rows
    assert len(rows) == 6 and len({r["sha256"] for r in rows}) == 1
    assert reads.count(str(tmp_path / "movie.tif")) == 1
    write_movie(tmp_path / "movie.tif", n=6, interval_s=0.25)  # rewritten: new time stamps
    again = run([tmp_path / "movie.tif"], tmp_path / "out").rows
    assert reads.count(str(tmp_path / "movie.tif")) == 2
    assert [r["time_s"] for r in again] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]


def test_a_resumed_movie_gives_each_frame_its_own_row(tmp_path):
    """Frames share their file and its hash: each has its own record, so a re-run reuses every
    frame's own row (it gave every frame the last frame's row before)."""
    write_movie(tmp_path / "movie.tif", n=6)
    first = run([tmp_path / "movie.tif"], tmp_path / "out")
    again = run([tmp_path / "movie.tif"], tmp_path / "out")
    assert again.reused == 6
    assert [r["frame"] for r in again.rows] == [0, 1, 2, 3, 4, 5]
    for before, after in zip(first.rows, again.rows):
        assert (after["foreground_pixels"], after["time_s"]) == (before["foreground_pixels"],
                                                                  before["time_s"])
    assert again.counts["percolates"] == first.counts["percolates"]


def test_a_file_memo_recomputes_for_a_changed_file_forgets_the_oldest_and_not_errors(tmp_path):
    import os

    import pytest

    from nanomorph.io.hashing import FileMemo

    memo, calls = FileMemo(kept=2), []
    path = tmp_path / "a.bin"
    path.write_bytes(b"one")

    def compute(value):
        return lambda: calls.append(value) or value

    assert memo.get(str(path), os.stat(path), compute(1)) == 1
    assert memo.get(str(path), os.stat(path), compute(2)) == 1 and calls == [1]
    path.write_bytes(b"two!")  # another size: computed again
    assert memo.get(str(path), os.stat(path), compute(3)) == 3
    with pytest.raises(ValueError):
        memo.get(str(tmp_path), os.stat(tmp_path), lambda: int("x"))
    assert memo.get(str(tmp_path), os.stat(tmp_path), compute(4)) == 4  # the error was not kept
    others = [tmp_path / f"{i}.bin" for i in range(2)]
    for other in others:
        other.write_bytes(b"x")
        memo.get(str(other), os.stat(other), compute(0))
    assert memo.get(str(path), os.stat(path), compute(5)) == 5  # forgotten: the oldest


def write_frames_folder(folder, n=4):
    """A folder of numbered frame files (frame_0001.tif …), dispersed wires then networks."""
    frames = write_movie(folder.parent / "_stack.tif", n=n)
    folder.mkdir()
    for i, frame in enumerate(frames):
        tifffile.imwrite(folder / f"frame_{i + 1:04d}.tif", frame)
    return frames


def test_a_numbered_frames_folder_gives_a_row_per_frame_file_with_its_time(tmp_path):
    write_frames_folder(tmp_path / "run")
    rows = run([tmp_path / "run"], tmp_path / "out", BatchConfig(write_masks=True),
               frames_folders=True, frame_interval_s=2.0).rows
    assert [(r["frame"], r["time_s"]) for r in rows] == [(i, 2.0 * i) for i in range(4)]
    assert [r["path"].rsplit("/", 1)[1] for r in rows] == [f"frame_{i:04d}.tif"
                                                          for i in range(1, 5)]
    assert [r["mask_file"] for r in rows] == [f"masks/frame_{i:04d}.png" for i in range(1, 5)]
    stills = run([tmp_path / "run"], tmp_path / "out2").rows  # without the option: stills
    assert all(r.get("frame") is None for r in stills)
    assert [r["foreground_pixels"] for r in stills] == [r["foreground_pixels"] for r in rows]


def test_a_project_movie_is_analysed_frame_by_frame(tmp_path):
    from nanomorph.jobs import run_job
    from nanomorph.project import Project

    frames = write_movie(tmp_path / "movie.tif", n=4)
    write_frames_folder(tmp_path / "run", n=3)
    with Project.create(tmp_path / "p") as project:
        run_job(project.images.add([tmp_path / "movie.tif"]))
        run_job(project.images.add_numbered_frames(tmp_path / "run", interval_s=1.0))
    rows = run([tmp_path / "p"], tmp_path / "out", BatchConfig(write_masks=True)).rows
    by_movie = run([tmp_path / "movie.tif"], tmp_path / "out2").rows
    assert [(r["frame"], r["time_s"]) for r in rows] == [
        (0, 0.0), (1, 0.5), (2, 1.0), (3, 1.5), (0, 0.0), (1, 1.0), (2, 2.0)]
    # each frame of the movie file its own pixels, as a batch over the file gives them
    assert [r["foreground_pixels"] for r in rows[:4]] == [r["foreground_pixels"]
                                                          for r in by_movie]
    assert len({r["foreground_pixels"] for r in rows[:4]}) > 1 and len(frames) == 4
    assert [r["mask_file"] for r in rows] == (
        [f"masks/movie-f{i:05d}.png" for i in range(4)]
        + [f"masks/frame_{i:04d}.png" for i in range(1, 4)])


def test_a_movie_without_values_is_drawn_over_its_whole_time_with_a_note():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from nanomorph.report.timeline import columns_of, draw_series, times_of

    ax = Figure().add_subplot()
    frames = columns_of([{"frame": i, "time_s": 0.5 * i, "status": "not analysed"}
                         for i in range(12)])
    draw_series(ax, frames, times_of(frames)[0], "foreground_fraction", "wire fraction", 1.0,
                None)
    assert ax.get_xlim() == (0.0, 5.5) and list(ax.get_yticks()) == []
    assert [t.get_text() for t in ax.texts] == ["no frame has a wire fraction yet"]


def test_a_long_movie_is_drawn_as_its_envelope():
    from nanomorph.report.timeline import envelope

    x = np.arange(10.0)
    values = np.array([1, 5, np.nan, np.nan, 2, 8, 3, 3, np.nan, 4])
    assert envelope(x, values, 10) == (x, values)  # short enough: as it is
    drawn_x, drawn = envelope(x, values, 10 - 4)  # 3 runs: 0-3, 3-6, 6-10
    np.testing.assert_array_equal(drawn_x, [0, 2, 3, 5, 6, 9])
    np.testing.assert_array_equal(drawn, [1, 5, 2, 8, 3, 4])
    _, none = envelope(x, np.full(10, np.nan), 4)  # no value in a run: none drawn there
    assert np.isnan(none).all()
    _, shaded = envelope(x, x >= 7, 4)  # percolating frames: a run is shaded where any is
    np.testing.assert_array_equal(shaded, [0, 0, 0, 1])


def test_100000_frames_are_drawn_with_at_most_4000_points():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from nanomorph.report.timeline import MAX_DRAWN_FRAMES, draw_series

    frame = np.arange(100_000)
    frames = {"frame": frame, "time_s": 0.1 * frame, "foreground_fraction": frame % 7 / 10,
              "percolates": frame > 60_000}
    ax = Figure().add_subplot()
    draw_series(ax, frames, frames["time_s"], "foreground_fraction", "wire fraction", 1.0,
                60_001)
    line, = ax.get_lines()[:1]
    assert len(line.get_xdata()) <= MAX_DRAWN_FRAMES
    assert line.get_ydata().min() == 0.0 and line.get_ydata().max() == 0.6
    assert ax.get_xlim() == pytest.approx((0.0, 9999.9))


def test_a_numbered_frames_folder_takes_its_times_from_the_files_stamps(tmp_path):
    """Without --frame-interval the frame files' acquisition stamps give the times, as they do
    for a project's movie; a given interval wins; a frame without a stamp leaves them unknown."""
    from tests.engine.project.test_numbered_frames import stamp_frames

    stamp_frames(tmp_path / "run", ["2024:03:01 10:00:05", "2024:03:01 10:00:09",
                                    "2024:03:01 10:01:05"])
    rows = run([tmp_path / "run"], tmp_path / "out", frames_folders=True).rows
    assert [(r["frame"], r["time_s"]) for r in rows] == [(0, 0.0), (1, 4.0), (2, 60.0)]
    given = run([tmp_path / "run"], tmp_path / "out2", frames_folders=True,
                frame_interval_s=0.5).rows
    assert [r["time_s"] for r in given] == [0.0, 0.5, 1.0]
    stamp_frames(tmp_path / "gap", ["2024:03:01 10:00:05", None, "2024:03:01 10:01:05"])
    unknown = run([tmp_path / "gap"], tmp_path / "out3", frames_folders=True).rows
    assert [r["time_s"] for r in unknown] == [None, None, None]
