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
