"""The Project step reads scale bars: a job over the uncalibrated images, a review whose
ticks decide what is applied, the bar outlined on the canvas, one clear message when an image
has no bar."""

from __future__ import annotations

import pytest
import tifffile
from nanomorph.synthetic import generate_morphology
from napari_nanomorph.launcher import open_path
from napari_nanomorph.layers import find_layer
from napari_nanomorph.widgets.scalebar_review import ScaleBarReview

from tests.engine.workflows.test_scalebar import barred_tiff

pytestmark = pytest.mark.slow


@pytest.fixture
def barred_folder(tmp_path):
    folder = tmp_path / "micrographs"
    folder.mkdir()
    truths = {"a.tif": barred_tiff(folder / "a.tif", 3.0, seed=1),
              "b.tif": barred_tiff(folder / "b.tif", 6.0, seed=2)}
    tifffile.imwrite(folder / "c_nobar.tif",
                     generate_morphology("network", shape=(256, 256), seed=3).image)
    return folder, truths


def test_read_review_apply_and_marker(app, barred_folder, monkeypatch):
    folder, truths = barred_folder
    open_path(app.viewer, folder)
    app.wait_jobs()
    dock = app.docks["Project"]
    reviewed = []
    monkeypatch.setattr(dock, "review_readings", lambda rows, failed: reviewed.append(
        (rows, failed)))
    dock.read_uncalibrated_bars()
    app.wait_jobs()
    rows, failed = reviewed[0]
    assert sorted(r.name for r in rows) == ["a.tif", "b.tif"]
    assert failed == [("c_nobar.tif", "no scale bar found")]
    assert all(r.crop is not None and r.crop.dtype.name == "uint8" for r in rows)
    for r in rows:  # the bar lies inside its thumbnail
        x0, y0, x1, y1 = r.crop_box
        assert 0 <= x0 < x1 <= r.crop.shape[1] and 0 <= y0 < y1 <= r.crop.shape[0]

    review = ScaleBarReview(rows, failed)
    assert [c.isChecked() for c in review.checks] == [True, True]  # confident, no file size
    review.checks[[r.name for r in rows].index("b.tif")].setChecked(False)
    dock.apply_readings(review.chosen())
    app.wait_jobs()
    project = app.session.project
    calibrations = {r.name: r.calibration for r in project.images.all()}
    assert calibrations["a.tif"].pixel_size[1] == pytest.approx(truths["a.tif"].pixel_size_nm,
                                                                rel=0.02)
    assert calibrations["a.tif"].unit == "nm"
    assert not calibrations["b.tif"].is_length  # not ticked: not applied
    assert not calibrations["c_nobar.tif"].is_length

    current = app.session.current
    assert current.name == "a.tif"
    image = find_layer(app.viewer, "image")
    assert tuple(image.scale) == pytest.approx(calibrations["a.tif"].pixel_size)
    marker = find_layer(app.viewer, "scalebar")
    assert marker is not None and marker.visible
    x0, y0, x1, y1 = project.results.get(current.id, "scalebar")["result"]["bbox"]
    corners = marker.data[0]
    assert corners[:, 1].min() == pytest.approx(x0 - 0.5) and \
        corners[:, 1].max() == pytest.approx(x1 + 0.5)
    assert tuple(marker.scale) == pytest.approx(tuple(image.scale))


def test_an_image_without_a_bar_gives_one_message(app, barred_folder, monkeypatch):
    import napari_nanomorph.widgets.project as project_dock

    folder, _ = barred_folder
    open_path(app.viewer, folder / "c_nobar.tif")
    app.wait_jobs()
    shown = []
    monkeypatch.setattr(project_dock, "show_warning", shown.append)
    app.docks["Project"].read_current_bar()
    app.wait_jobs()
    assert shown == ["no scale bar found in c_nobar.tif"]
    marker = find_layer(app.viewer, "scalebar")
    assert marker is None or not marker.visible
