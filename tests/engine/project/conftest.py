"""Fixtures of the project store tests: small calibrated TIFFs and a project holding them."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tifffile

from nanomorph.jobs import run_job
from nanomorph.project import Project


def write_tif(path, seed=0, shape=(32, 40), pixel_um=None):
    """A small random uint8 TIFF (ImageJ-calibrated when pixel_um is given)."""
    data = np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8)
    kwargs = {}
    if pixel_um is not None:
        kwargs = dict(imagej=True, resolution=(1 / pixel_um, 1 / pixel_um),
                      metadata={"unit": "um"})
    tifffile.imwrite(path, data, **kwargs)
    return str(path)


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    return [write_tif(folder / f"img{i}.tif", seed=i, pixel_um=0.005 * (i + 1)) for i in range(3)]


@pytest.fixture
def project(tmp_path, images):
    p = Project.create(tmp_path / "proj")
    result = run_job(p.images.add(images))
    assert len(result.added) == 3
    yield p
    p.close()


@pytest.fixture
def read_only(tmp_path):
    """Make folders read-only even for root (chattr +i); skip where that is impossible."""
    made = []

    def freeze(folder):
        os.chmod(folder, 0o555)
        if os.geteuid() == 0:
            os.system(f"chattr +i '{folder}' 2>/dev/null")
        made.append(folder)
        probe = os.path.join(folder, "probe")
        try:
            open(probe, "w").close()
        except OSError:
            return folder
        os.unlink(probe)
        pytest.skip("cannot make a read-only folder on this machine")

    yield freeze
    for folder in made:
        if os.geteuid() == 0:
            os.system(f"chattr -i '{folder}' 2>/dev/null")
        os.chmod(folder, 0o755)
