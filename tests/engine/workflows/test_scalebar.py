"""Reading a project's scale bars: readings kept with the images, applied on acceptance, and
never applied silently over a file's own pixel size that they contradict."""

from __future__ import annotations

import pytest
import tifffile
from nanomorph.errors import NanomorphError
from nanomorph.jobs import run_job
from nanomorph.project import Project
from nanomorph.synthetic import generate_morphology
from nanomorph.synthetic.scalebar import draw_scale_bar
from nanomorph.workflows.scalebar import KIND, apply_reading, read_project_scale_bars

pytestmark = pytest.mark.slow


def barred_tiff(path, pixel_nm: float, file_pixel_um: float | None = None, seed: int = 0):
    """A synthetic micrograph with a scale bar stating ``pixel_nm``; the TIFF itself records
    ``file_pixel_um`` when given."""
    image = generate_morphology("dispersed", shape=(384, 448), seed=seed).image
    image, truth = draw_scale_bar(image, pixel_nm, target_px=150, font_px=18)
    options = {}
    if file_pixel_um is not None:
        options = dict(imagej=True, resolution=(1 / file_pixel_um, 1 / file_pixel_um),
                       metadata={"unit": "um"})
    tifffile.imwrite(path, image, **options)
    return truth


@pytest.fixture
def barred_project(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    truths = {
        "plain.tif": barred_tiff(folder / "plain.tif", 4.0, seed=1),
        "agrees.tif": barred_tiff(folder / "agrees.tif", 4.0, file_pixel_um=0.00401, seed=2),
        "contradicts.tif": barred_tiff(folder / "contradicts.tif", 4.0, file_pixel_um=0.005,
                                       seed=3),
    }
    tifffile.imwrite(folder / "nobar.tif", generate_morphology("network", shape=(256, 256),
                                                                seed=4).image)
    with Project.create(tmp_path / "project") as project:
        run_job(project.images.add(sorted(folder.iterdir())))
        yield project, truths


def test_readings_are_kept_and_failures_reported(barred_project):
    project, truths = barred_project
    ids = {r.name: r.id for r in project.images.all()}
    events = []
    readings = run_job(read_project_scale_bars(project, list(ids.values())), events.append)
    assert set(readings) == {ids[name] for name in truths}
    errors = [e.payload for e in events if e.payload and e.payload[2]]
    assert errors == [(ids["nobar.tif"], None, "no scale bar found")]
    plain = readings[ids["plain.tif"]]
    assert plain["pixel_size"] == pytest.approx(truths["plain.tif"].pixel_size_nm, rel=0.02)
    assert plain["file_disagreement"] is None
    assert project.results.get(ids["plain.tif"], KIND)["result"]["text"] == plain["text"]
    assert readings[ids["contradicts.tif"]]["file_disagreement"] > 0.05
    assert project.images.get(ids["plain.tif"]).calibration.calibrated is False  # a proposal


def test_accepted_readings_calibrate_and_contradictions_need_force(barred_project):
    project, truths = barred_project
    ids = {r.name: r.id for r in project.images.all()}
    readings = run_job(read_project_scale_bars(project, list(ids.values())))
    apply_reading(project, ids["plain.tif"], readings[ids["plain.tif"]])
    calibration = project.images.get(ids["plain.tif"]).calibration
    assert calibration.unit == "nm" and calibration.pixel_size[1] == pytest.approx(
        truths["plain.tif"].pixel_size_nm, rel=0.02)
    before = project.images.get(ids["contradicts.tif"]).calibration
    with pytest.raises(NanomorphError, match="not applied"):
        apply_reading(project, ids["contradicts.tif"], readings[ids["contradicts.tif"]])
    assert project.images.get(ids["contradicts.tif"]).calibration == before
    apply_reading(project, ids["contradicts.tif"], readings[ids["contradicts.tif"]], force=True)
    assert project.images.get(ids["contradicts.tif"]).calibration.pixel_size[1] == \
        pytest.approx(4.0, rel=0.02)
