"""Exact grid DBSCAN against scikit-learn on real masks from ../shared/data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from nanomorph.percolation import analyse_percolation
from tests.engine.test_percolation_dbscan import assert_same_as_sklearn

# (file under shared/data, foreground value): nanowire = 127 (255 is the catalyst droplet),
# TiO2 particles = 255
REAL_MASKS = [
    ("nanowire_tem_seg/masks/0000001.png", 127),
    ("nanowire_tem_seg/masks/0000049.png", 127),
    ("tio2_sem_seg/masks/1908248.tif", 255),
]


def read_mask(path: Path, value: int) -> np.ndarray:
    pixels = tifffile.imread(path) if path.suffix == ".tif" else np.asarray(Image.open(path))
    return pixels == value


@pytest.mark.parametrize("name, value", REAL_MASKS)
@pytest.mark.parametrize("eps, min_samples", [(2.0, 2), (3.0, 7)])
def test_exact_equals_sklearn_on_real_masks_at_quarter_resolution(shared_data, name, value, eps,
                                                                   min_samples):
    mask = read_mask(shared_data / name, value)[::4, ::4]  # jagged outlines, stray pixels
    assert mask.any()
    assert_same_as_sklearn(mask, eps, min_samples, (1.0, 1.0))


def test_exact_equals_sklearn_on_a_full_resolution_mask(shared_data):
    mask = read_mask(shared_data / "tio2_sem_seg/masks/1908250.tif", 255)
    assert_same_as_sklearn(mask, 2.0, 2, (1.0, 1.0))
    exact = analyse_percolation(mask).as_record()
    paper = analyse_percolation(mask, method="dbscan").as_record()
    assert {k: v for k, v in exact.items() if k not in ("method", "seconds")} == \
        {k: v for k, v in paper.items() if k not in ("method", "seconds")}
    assert not exact["percolates"]  # separate particles: the non-percolating control
