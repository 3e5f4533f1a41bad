"""The percolation workflow: analyses stored with their settings and mask version, CSV export."""

from __future__ import annotations

import csv

import numpy as np

from nanomorph.jobs import run_job
from nanomorph.workflows.percolation import (
    PercolationSettings,
    analyse_project,
    export_analyses_csv,
)
from tests.engine.workflows.conftest import ids_by_name


def test_results_are_stored_with_settings_and_mask_version(project):
    ids = ids_by_name(project)
    chosen = [ids["network_01.tif"], ids["dispersed_01.tif"]]
    settings = PercolationSettings(eps=3.0, margin=2.0)
    done = run_job(analyse_project(project, chosen, settings))
    assert set(done) == set(chosen)
    assert done[ids["network_01.tif"]]["percolates"] is True
    assert done[ids["dispersed_01.tif"]]["percolates"] is False
    stored = project.results.of_kind("percolation")
    for image in chosen:
        assert stored[image]["params"] == settings.as_json()
        assert stored[image]["mask_version"] == project.masks.latest_version(image)
        assert not stored[image]["stale"]
        assert stored[image]["result"]["network"]["total_length_nm"] > 0
    project.masks.save(chosen[0], np.zeros(project.masks.read(chosen[0]).shape, np.uint8))
    assert project.results.of_kind("percolation")[chosen[0]]["stale"]


def test_physical_units_on_an_uncalibrated_image_fail_for_that_image_only(project, tmp_path):
    from tests.engine.project.conftest import write_tif

    calibrated = ids_by_name(project)["network_02.tif"]
    plain = project.images.add_one(write_tif(tmp_path / "plain.tif", shape=(32, 40)))
    project.masks.save(plain.id, np.ones((32, 40), np.uint8))
    events = []
    done = run_job(analyse_project(project, [plain.id, calibrated],
                                   PercolationSettings(eps=5.0, margin=5.0, units="nm")),
                   events.append)
    assert set(done) == {calibrated}
    image_id, summary, error = events[0].payload
    assert image_id == plain.id and summary is None and "uncalibrated" in error
    assert done[calibrated]["eps"] == 5.0 and done[calibrated]["calibration"]["unit"] == "nm"


def test_images_without_a_mask_are_reported(project, tmp_path):
    from tests.engine.project.conftest import write_tif

    new = project.images.add_one(write_tif(tmp_path / "unmasked.tif"))
    events = []
    done = run_job(analyse_project(project, [new.id], PercolationSettings()), events.append)
    assert done == {} and events[0].payload == (new.id, None, "no mask yet")


def test_export_writes_one_row_per_analysed_image(project, tmp_path):
    ids = list(ids_by_name(project).values())[:4]
    run_job(analyse_project(project, ids, PercolationSettings()))
    out = tmp_path / "percolation.csv"
    assert export_analyses_csv(project, out) == 4
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and {"image", "percolates", "setting_eps", "pixel_unit"} <= set(rows[0])
    assert {r["stale"] for r in rows} == {"False"}
