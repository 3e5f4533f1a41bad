"""A project made from open images (napari layers): files referenced, arrays saved with their
pixel size, masks kept as first versions; bad input refused before anything is written."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from nanomorph.errors import InvalidParameterError, NanomorphError
from nanomorph.jobs import run_job
from nanomorph.project import Project
from nanomorph.workflows.arrays import analyse_arrays
from nanomorph.workflows.from_layers import IMAGES_FOLDER, LayerImage, project_from_layers


def test_files_are_referenced_arrays_saved_and_masks_kept(tmp_path):
    on_disk = tmp_path / "micrograph.tif"
    pixels = (np.arange(64 * 80) % 251).reshape(64, 80).astype(np.uint8)
    tifffile.imwrite(on_disk, pixels)
    mask = np.zeros((64, 80), np.int32)
    mask[10:14, :] = 1
    mask[30:34, 5:9] = 2
    images = [LayerImage("micrograph", pixels, path=str(on_disk), pixel_size_nm=(2.0, 2.0),
                         mask=mask),
              LayerImage("sample <1>", np.random.default_rng(0).random((32, 32)),
                         pixel_size_nm=(5.0, 5.0))]
    summary = run_job(project_from_layers(tmp_path / "project", images))
    assert summary["referenced"] == 1 and summary["written"] == 1 and summary["masks"] == 1
    with Project.open(tmp_path / "project") as project:
        first, second = project.images.all()
        assert first.path == str(on_disk)  # the file stays where it is
        assert first.calibration.pixel_size_nm() == (2.0, 2.0)  # the viewer's scale
        np.testing.assert_array_equal(project.masks.read(first.id), mask.astype(np.uint8))
        assert second.path.startswith(str(tmp_path / "project" / IMAGES_FOLDER))
        assert second.name == "sample_1.tif"
        assert second.calibration.pixel_size_nm() == pytest.approx((5.0, 5.0))
        assert project.masks.latest_version(second.id) is None


def test_instance_labels_become_wire(tmp_path):
    labels = np.zeros((16, 16), np.int32)
    labels[2:4] = 300
    labels[8:10] = 7
    run_job(project_from_layers(tmp_path / "p", [LayerImage("a", np.ones((16, 16)),
                                                            mask=labels)]))
    with Project.open(tmp_path / "p") as project:
        (record,) = project.images.all()
        assert set(np.unique(project.masks.read(record.id))) == {0, 1}


@pytest.mark.parametrize("images, reason", [
    ([], "no image layer"),
    ([LayerImage("stack", np.zeros((3, 8, 8)))], "2-D"),
    ([LayerImage("a", np.zeros((8, 8)), mask=np.zeros((4, 4)))], "its mask is"),
])
def test_bad_layers_are_refused_with_a_reason(tmp_path, images, reason):
    with pytest.raises(InvalidParameterError, match=reason):
        run_job(project_from_layers(tmp_path / "p", images))
    assert not (tmp_path / "p").exists()


def test_a_folder_with_files_is_never_used(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(InvalidParameterError, match="not empty"):
        run_job(project_from_layers(tmp_path / "busy", [LayerImage("a", np.zeros((8, 8)))]))
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["notes.txt"]


def test_analyse_arrays_reports_failures_and_goes_on():
    def analyse(array, pixel_size):
        if array.sum() == 0:
            raise NanomorphError("empty")
        return float(array.sum()) * (pixel_size or 1)

    job = analyse_arrays([("a", np.ones(3), None), ("b", np.zeros(3), None),
                          ("c", np.ones(2), 2.0)], analyse)
    events = []
    try:
        while True:
            events.append(next(job).payload)
    except StopIteration as stop:
        done = stop.value
    assert done == {"a": 3.0, "c": 4.0}
    assert events[1] == ("b", None, "empty")
