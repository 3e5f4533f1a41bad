"""The masks repository: versions, files, reading back."""

from __future__ import annotations

import numpy as np


def test_mask_versions_accumulate(project):
    image_id = project.images.all()[0].id
    assert project.masks.read(image_id) is None
    first = np.zeros((32, 40), np.uint8)
    second = first.copy()
    second[5:9, 3:30] = 1
    assert project.masks.save(image_id, first) == 1
    assert project.masks.save(image_id, second, source="auto:otsu") == 2
    np.testing.assert_array_equal(project.masks.read(image_id), second)
    np.testing.assert_array_equal(project.masks.read(image_id, version=1), first)
    assert [v["source"] for v in project.masks.versions(image_id)] == ["painted", "auto:otsu"]
    assert project.masks.latest_versions() == {image_id: 2}
