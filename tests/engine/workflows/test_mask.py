"""The mask workflow: auto-masking a project's images in the background, without Qt."""

from __future__ import annotations

import numpy as np

from nanomorph.jobs import run_job
from nanomorph.masks import METHOD_DEFAULTS, auto_mask_image
from nanomorph.masks.overlap import dice
from nanomorph.workflows.mask import auto_mask_project
from tests.engine.workflows.conftest import ids_by_name


def test_images_with_a_mask_keep_it_unless_replace(project):
    ids = list(ids_by_name(project).values())
    versions = {i: project.masks.latest_version(i) for i in ids}
    stored = run_job(auto_mask_project(project, ids, METHOD_DEFAULTS["otsu"]))
    assert stored == 0 and {i: project.masks.latest_version(i) for i in ids} == versions
    stored = run_job(auto_mask_project(project, ids[:3], METHOD_DEFAULTS["otsu"], replace=True))
    assert stored == 3
    for i in ids[:3]:
        assert project.masks.latest_version(i) == versions[i] + 1
        assert project.masks.versions(i)[-1]["source"] == "auto:otsu"


def test_the_stored_mask_is_the_auto_mask_and_close_to_the_truth(project):
    image = ids_by_name(project)["network_03.tif"]
    truth = project.masks.read(image) > 0
    run_job(auto_mask_project(project, [image], METHOD_DEFAULTS["local"], replace=True))
    stored = project.masks.read(image)
    expected = auto_mask_image(project.images.get(image).path, METHOD_DEFAULTS["local"])
    np.testing.assert_array_equal(stored, expected)
    assert dice(stored > 0, truth) > 0.8


def test_an_unreadable_image_is_reported_and_the_others_masked(project):
    ids = ids_by_name(project)
    broken, fine = ids["bundle_01.tif"], ids["bundle_02.tif"]
    record = project.images.get(broken)
    with open(record.path, "rb") as f:
        original = f.read()
    try:
        with open(record.path, "wb") as f:
            f.write(b"not an image")
        events = []
        stored = run_job(auto_mask_project(project, [broken, fine], METHOD_DEFAULTS["otsu"],
                                           replace=True), events.append)
    finally:
        with open(record.path, "wb") as f:
            f.write(original)
    assert stored == 1
    assert events[0].payload[0] == broken and events[0].payload[1]
    assert events[1].payload == (fine, None)
