"""`import nanomorph` and `import napari_nanomorph` stay light: no torch, Qt, sklearn, napari."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "sklearn", "qtpy", "PyQt6", "PyQt5", "PySide6", "napari", "magicgui",
         "superqt", "dask", "matplotlib", "rsciio", "skimage")


def modules_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_engine_and_plugin_packages_import_nothing_heavy():
    loaded = modules_after("import nanomorph, napari_nanomorph")
    assert not [m for m in HEAVY if m in loaded]


def test_cli_help_does_not_load_the_science_stack():
    loaded = modules_after("import nanomorph.cli; nanomorph.cli.build_parser()")
    assert not [m for m in HEAVY if m in loaded]


def test_readers_and_project_store_do_not_need_torch():
    loaded = modules_after("import nanomorph.io, nanomorph.project, nanomorph.synthetic")
    assert "torch" not in loaded and "sklearn" not in loaded
