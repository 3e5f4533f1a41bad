"""The napari manifest: valid, discoverable, and every python_name importable (no display)."""

from __future__ import annotations

import importlib
from importlib import metadata

import npe2


def manifest() -> npe2.PluginManifest:
    return npe2.PluginManifest.from_distribution("napari-nanomorph")


def test_manifest_is_valid_and_registered_through_the_entry_point():
    eps = [ep for ep in metadata.entry_points(group="napari.manifest")
           if ep.name == "napari-nanomorph"]
    assert len(eps) == 1
    m = manifest()
    assert m.name == "napari-nanomorph"
    assert {w.display_name for w in m.contributions.widgets} >= {"Project", "Images"}
    assert m.contributions.readers and m.contributions.writers and m.contributions.sample_data


def test_every_python_name_imports():
    for command in manifest().contributions.commands:
        module_name, attr = command.python_name.split(":")
        assert callable(getattr(importlib.import_module(module_name), attr)), command.id


def test_npe2_validate_command_is_clean():
    import subprocess
    import sys
    from pathlib import Path

    npe2_cli = Path(sys.executable).with_name("npe2")
    out = subprocess.run([str(npe2_cli), "validate", "napari-nanomorph"], capture_output=True,
                         text=True)
    assert out.returncode == 0 and "valid" in out.stdout, out.stdout + out.stderr
