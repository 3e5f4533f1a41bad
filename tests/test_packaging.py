"""The install path: the wheel carries the manifest and resources, and what the tests import is
the installed package (make test installs the wheel, not an editable checkout)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_carries_manifest_resources_and_entry_points(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True,
                   cwd=tmp_path)
    wheel, = tmp_path.glob("napari_nanomorph-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("napari_nanomorph/napari.yaml", "nanomorph_resources/nanomorph.svg",
                     "nanomorph_resources/classes/default.json",
                     "nanomorph_resources/samples/recipe.json", "nanomorph/cli/__init__.py"):
        assert required in names
    entry_points = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "nanomorph = nanomorph.cli:main" in entry_points
    assert "napari-nanomorph = napari_nanomorph:napari.yaml" in entry_points


def test_resources_load_through_importlib_resources():
    root = resources.files("nanomorph_resources")
    assert (root / "samples" / "recipe.json").is_file()
    assert (root / "classes" / "default.json").is_file()


@pytest.mark.skipif(os.environ.get("NANOMORPH_TEST_INSTALLED") != "1",
                    reason="make test sets NANOMORPH_TEST_INSTALLED=1 after installing the wheel")
def test_tests_run_against_the_installed_wheel():
    import nanomorph
    import nanomorph_resources
    import napari_nanomorph

    for module in (nanomorph, napari_nanomorph, nanomorph_resources):
        assert "site-packages" in module.__file__, module.__file__
    console = Path(sys.executable).with_name("nanomorph")
    out = subprocess.run([str(console), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"nanomorph {nanomorph.__version__}"
