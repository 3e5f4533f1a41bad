"""A movie opened as a project: its frames in the browser, the Over time step's plot with the
percolation onset, clicking a time to open its frame, CSV export, and the frame bar."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import tifffile

from nanomorph.jobs import run_job
from nanomorph.masks import METHOD_DEFAULTS
from nanomorph.synthetic import generate_morphology
from nanomorph.workflows.mask import auto_mask_project
from nanomorph.workflows.percolation import PercolationSettings, analyse_project
from napari_nanomorph.launcher import open_path

N_FRAMES = 6


@pytest.fixture
def movie(app, tmp_path):
    """The app on a project made from one 6-frame movie (dispersed wires, then networks),
    every frame masked and analysed."""
    frames = np.stack([generate_morphology("dispersed" if i < 3 else "network", shape=(128, 128),
                                           seed=i).image for i in range(N_FRAMES)])
    folder = tmp_path / "movie"
    folder.mkdir()
    tifffile.imwrite(folder / "growth.tif", frames, imagej=True,
                     metadata={"axes": "TYX", "finterval": 1.5})
    open_path(app.viewer, folder)
    app.wait_jobs()
    project = app.session.project
    ids = [r.id for r in project.images.all()]
    run_job(auto_mask_project(project, ids, METHOD_DEFAULTS["otsu"]))
    run_job(analyse_project(project, ids, PercolationSettings(eps=3.0, margin=2.0)))
    app.session.results_changed.emit(set(ids))
    return app


def test_the_frames_are_images_and_the_time_plot_opens_a_frame(movie, tmp_path):
    app = movie
    assert app.docks["Images"].count() == N_FRAMES
    assert app.docks["Images"].text_at(4).startswith("growth.tif #4")
    app.docks["Workflow"].show_step("Over time")
    dock = app.docks["Over time"]
    app.qtbot.waitUntil(lambda: dock.table is not None and len(dock.table["frame"]) == N_FRAMES,
                        timeout=20000)
    app.qtbot.waitUntil(lambda: dock.plot.axes_count == 1 and dock.plot.extra is not None,
                        timeout=20000)
    assert dock.movie.currentText() == "growth.tif"
    assert f"{N_FRAMES} frames, {N_FRAMES} analysed" in dock.summary.text()
    assert dock.table["time_s"].tolist() == [1.5 * i for i in range(N_FRAMES)]

    x = dock.plot.extra[0][4, 0]
    dock.table = {**dock.table}  # a newer table whose picture is not drawn yet: the click
    dock._clicked(x + 1, 10)     # opens the frame under it in the picture on show
    app.wait_jobs()
    assert app.session.current.frame == 4 and app.session.current.group == "growth.tif"
    # the current frame's line moved over the picture on show: nothing was drawn again
    assert dock.plot.idle and dock.plot.marker[0] == pytest.approx(x)
    top, bottom = dock.plot.extra[1]
    assert dock.plot.marker[1:] == (top, bottom) and 0 < top < bottom
    app.docks["Images"].step(-1)
    assert dock.plot.idle and dock.plot.marker[0] == pytest.approx(dock.plot.extra[0][3, 0])

    dock.metric.setCurrentIndex(2)  # clusters
    app.qtbot.waitUntil(lambda: dock.plot.idle, timeout=20000)
    dock.export_to(str(tmp_path / "t.csv"))
    app.wait_jobs()
    with open(tmp_path / "t.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [t["frame"] for t in table] == [str(i) for i in range(N_FRAMES)]
    assert all(t["percolates"] in ("True", "False") for t in table)


def test_the_frame_bar_steps_and_plays_through_the_movie(movie):
    app = movie
    bar = app.docks["Images"].movie_bar
    first = app.session.project.images.all()[0]
    app.docks["Images"].select(first.id)
    app.wait_jobs()
    assert not bar.isHidden() and bar.slider.maximum() == N_FRAMES - 1
    assert "frame 0 of 5" in bar.label.text() and "0 s" in bar.label.text()
    bar.step(2)
    app.wait_jobs()
    assert app.session.current.frame == 2 and bar.slider.value() == 2
    bar.play()
    app.qtbot.waitUntil(lambda: app.session.current.frame == N_FRAMES - 1, timeout=20000)
    app.qtbot.waitUntil(lambda: not bar.playing, timeout=5000)  # stops at the last frame
    bar.step(-1)
    app.wait_jobs()
    assert app.session.current.frame == N_FRAMES - 2


def test_without_a_movie_the_step_says_so(app, sample_copies):
    open_path(app.viewer, sample_copies(["network_01.tif"]))
    app.wait_jobs()
    app.docks["Workflow"].show_step("Over time")
    dock = app.docks["Over time"]
    app.qtbot.waitUntil(lambda: "no movie" in dock.summary.text(), timeout=20000)
    assert app.docks["Images"].movie_bar.isHidden()
    dock.export_csv()  # says why, writes nothing


def test_what_a_draw_needs_is_worked_out_with_the_table_not_at_each_frame_switch():
    from nanomorph.report.timeline import columns_of
    from napari_nanomorph.widgets.timeline import _shown

    table = columns_of([{"image_id": 10 + i, "frame": i, "time_s": None, "status": "ok",
                         "percolates": i >= 2, "predicted": ("network" if i >= 2 else
                                                             "dispersed") if i != 1 else None}
                        for i in range(4)])
    table["time_s"] = np.full(4, np.nan)
    classes, summary = _shown(table)
    assert classes == ["dispersed", "network"]
    np.testing.assert_array_equal(table["predicted_index"], [0, np.nan, 1, 1])
    assert summary == "4 frames, 4 analysed; percolates from frame 2"
