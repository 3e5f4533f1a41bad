"""napari start-up with the plugin installed loads none of the plugin's code: npe2 reads the
manifest, and widget modules import only when their dock opens."""

from __future__ import annotations

import json
import subprocess
import sys

CODE = """
import json, sys
import napari
from npe2 import PluginManager
viewer = napari.Viewer(show=False)
registered = "napari-nanomorph" in PluginManager.instance()._manifests
loaded = sorted(m for m in sys.modules if m.startswith(("napari_nanomorph", "nanomorph", "torch")))
viewer.close()
print(json.dumps({"registered": registered, "loaded": loaded}))
"""


def test_napari_startup_registers_the_plugin_without_importing_it():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["registered"]
    assert result["loaded"] == []


OPEN_AFTER_WARM_UP = """
import json, sys
from napari_nanomorph.launcher import warm_up
from nanomorph.project import Project
warm_up()
before = set(sys.modules)
with Project.open(sys.argv[1], backup=False):
    pass
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_opening_a_project_after_the_warm_up_imports_nothing(tmp_path):
    """The app opens a project on the GUI thread; a first import there (the file lock's took
    10–30 ms) stalls the window. The warm-up, while the splash shows, has loaded them all."""
    from nanomorph.project import Project

    Project.create(tmp_path / "p").close()
    out = subprocess.run([sys.executable, "-c", OPEN_AFTER_WARM_UP, str(tmp_path / "p")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
