"""The results repository: analyses keep their parameters and go stale with the mask."""

from __future__ import annotations


import numpy as np



def test_analyses_go_stale_when_the_mask_changes(project):
    image_id = project.images.all()[0].id
    v1 = project.masks.save(image_id, np.ones((32, 40), np.uint8))
    project.results.save(image_id, "percolation", {"eps": 2}, {"percolates": True}, v1)
    got = project.results.of_kind("percolation")[image_id]
    assert got["result"] == {"percolates": True} and not got["stale"]
    project.masks.save(image_id, np.zeros((32, 40), np.uint8))
    assert project.results.of_kind("percolation")[image_id]["stale"]
    assert project.results.of_kind("network") == {}
