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


FIRST_IMAGE_AFTER_WARM_UP = """
import json, sys
from napari_nanomorph.launcher import warm_up
warm_up()
before = set(sys.modules)
from nanomorph.embedding import EmbeddingCache
from nanomorph.project import Project
from nanomorph.project.thumbnails import thumbnail
from nanomorph.masks.auto import auto_mask
from napari_nanomorph.read_ahead import read_layer
with Project.open(sys.argv[1], backup=False) as project:
    record = project.images.all()[1]
    auto_mask(read_layer(record)[0].astype(float))
    project.masks.read(record.id)
    thumbnail(project, record)
    with EmbeddingCache.for_project(project) as cache:
        cache.get_many([record.sha256], "encoder", "preprocessing")
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_showing_a_movies_first_frame_after_the_warm_up_imports_no_library(tmp_path):
    """The workers that show a project's first image (its frame, mask, thumbnail, cached
    embeddings) and make its first auto-mask import no library the warm-up has not: a module
    loading on a worker held Python's lock for tens of ms at a time while the window painted."""
    import numpy as np
    import tifffile
    from nanomorph.jobs import run_job
    from nanomorph.project import Project

    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, np.arange(3 * 32 * 32, dtype=np.uint16).reshape(3, 32, 32),
                     imagej=True, metadata={"axes": "TYX", "finterval": 0.1})
    with Project.create(tmp_path / "p") as project:
        run_job(project.images.add([movie]))
    out = subprocess.run([sys.executable, "-c", FIRST_IMAGE_AFTER_WARM_UP, str(tmp_path / "p")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    imported = json.loads(out.stdout.strip().splitlines()[-1])
    libraries = [m for m in imported if m.split(".")[0] not in sys.stdlib_module_names
                 and not m.startswith(("nanomorph.", "napari_nanomorph."))]
    assert libraries == []
