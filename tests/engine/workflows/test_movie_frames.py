"""A movie in a project: masks, analyses, embeddings, thumbnails and exports work per frame."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import tifffile

from nanomorph.jobs import run_job
from nanomorph.masks import METHOD_DEFAULTS
from nanomorph.project import Project
from nanomorph.project.thumbnails import thumbnail
from nanomorph.synthetic import generate_morphology
from nanomorph.workflows.mask import auto_mask_project
from nanomorph.workflows.percolation import (PercolationSettings, analyse_project,
                                             export_analyses_csv)
from nanomorph.workflows.transfer import export_masks, import_masks


@pytest.fixture
def movie_project(tmp_path):
    """A project holding a 4-frame movie that goes from dispersed wires to a network."""
    frames = np.stack([generate_morphology("dispersed" if i < 2 else "network",
                                           shape=(96, 96), seed=i).image for i in range(4)])
    path = tmp_path / "growth.tif"
    tifffile.imwrite(path, frames, imagej=True, metadata={"axes": "TYX", "finterval": 2.0})
    project = Project.create(tmp_path / "p")
    run_job(project.images.add([path]))
    yield project
    project.close()


def test_each_frame_is_masked_analysed_and_exported_on_its_own(movie_project, tmp_path):
    ids = [r.id for r in movie_project.images.all()]
    assert run_job(auto_mask_project(movie_project, ids, METHOD_DEFAULTS["otsu"])) == 4
    masks = [movie_project.masks.read(i) for i in ids]
    assert len({m.tobytes() for m in masks}) == 4  # not frame 0 four times

    run_job(analyse_project(movie_project, ids, PercolationSettings(eps=3.0, margin=2.0)))
    assert export_analyses_csv(movie_project, tmp_path / "a.csv") == 4
    with open(tmp_path / "a.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [(t["image"], t["frame"], t["time_s"]) for t in table] == [
        ("growth.tif #0", "0", "0.0"), ("growth.tif #1", "1", "2.0"),
        ("growth.tif #2", "2", "4.0"), ("growth.tif #3", "3", "6.0")]

    assert run_job(export_masks(movie_project, tmp_path / "out")) == 4
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [f"growth-f{i:05d}_mask.png" for i in range(4)]
    # and they come back to their frames
    movie_project.masks.save(ids[3], np.zeros((96, 96), np.uint8), source="painted")
    result = run_job(import_masks(movie_project, [tmp_path / "out" / names[3]], {255: 1}))
    assert not result.failed
    np.testing.assert_array_equal(movie_project.masks.read(ids[3]) > 0, masks[3] > 0)


def test_each_frame_has_its_own_thumbnail(movie_project):
    thumbs = [thumbnail(movie_project, r).tobytes() for r in movie_project.images.all()]
    assert len(set(thumbs)) == 4


def test_each_frame_is_embedded_from_its_own_pixels(movie_project):
    from nanomorph.embedding import embed_images
    from tests.engine.test_embedding import tiny_spec

    records = movie_project.images.all()
    result = run_job(embed_images([(r.path, r.sha256, r.page) for r in records],
                                  encoder=tiny_spec(), device="cpu"))
    assert result.sha256s == [r.sha256 for r in records]
    assert len({row.tobytes() for row in result.embeddings}) == 4


def test_a_movies_timeline_has_every_frame_and_its_onset(movie_project, tmp_path):
    from nanomorph.report.html import write_report
    from nanomorph.report.timeline import percolating, percolation_onset
    from nanomorph.workflows.timeline import (
        CSV_COLUMNS,
        movie_table,
        project_movies,
        write_timeline_csv,
    )

    ids = [r.id for r in movie_project.images.all()]
    run_job(auto_mask_project(movie_project, ids, METHOD_DEFAULTS["otsu"]))
    run_job(analyse_project(movie_project, ids[1:], PercolationSettings(eps=3.0, margin=2.0)))
    movie_project.labels.set_classes(["dispersed", "network"])
    movie_project.labels.set(ids[0], "dispersed")
    movies = project_movies(movie_project)
    assert list(movies) == ["growth.tif"] and [r.id for r in movies["growth.tif"]] == ids
    assert project_movies(movie_project, movie_project.images.all()[:2]) == {
        "growth.tif": movies["growth.tif"][:2]}  # the caller's records, not read again
    table = movie_table(movie_project, movies["growth.tif"])
    assert list(table) == ["image_id", *CSV_COLUMNS]  # what is shown, not the whole analysis
    assert table["image_id"].tolist() == ids and table["time_s"].tolist() == [0.0, 2.0, 4.0, 6.0]
    assert table["status"].tolist() == ["not analysed", "ok", "ok", "ok"]
    assert table["label"][0] == "dispersed" and table["foreground_fraction"][1] > 0
    assert table["percolates"][0] is None and table["predicted"].tolist() == [None] * 4
    onset = percolation_onset(percolating(table)[1:])
    assert onset is None or table["percolates"][1 + onset]

    assert write_timeline_csv(tmp_path / "t.csv", table) == 4
    with open(tmp_path / "t.csv", newline="") as f:
        written = list(csv.DictReader(f))
    assert [t["frame"] for t in written] == ["0", "1", "2", "3"]
    assert written[0]["label"] == "dispersed" and written[0]["time_s"] == "0.0"
    assert written[0]["foreground_fraction"] == "" and "wires" not in written[0]
    assert written[0]["confidence"] == "" and written[1]["status"] == "ok"

    html = write_report(movie_project.folder, tmp_path / "report").read_text()
    assert "Over time" in html and "growth.tif: 3 frames" in html
