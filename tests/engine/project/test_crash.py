"""Crash safety: SIGKILL a process that is editing a project; nothing acknowledged is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from nanomorph.project import Project
from nanomorph.io.label_tiff import read_label_tiff

WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from nanomorph.project import Project

    project = Project.open(sys.argv[1])
    image_id = project.images.all()[0].id
    i = 0
    while True:
        i += 1
        project.runs.start("edit", {"i": i})
        project.settings.set("counter", i)
        if i % 5 == 0:
            project.masks.save(image_id, np.full((16, 16), i % 250, np.uint8))
        print(i, time.time(), flush=True)
""")


def test_sigkill_while_editing_loses_no_acknowledged_edit(tmp_path):
    import tifffile

    image = tmp_path / "img.tif"
    tifffile.imwrite(image, np.zeros((16, 16), np.uint8))
    with Project.create(tmp_path / "p") as p:
        p.images.add_one(image)

    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "p")],
                            stdout=subprocess.PIPE, text=True)
    acknowledged = []
    deadline = time.time() + 60
    while len(acknowledged) < 40 and time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged.append(int(line.split()[0]))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(acknowledged) >= 40, "the writer did not get going"

    with Project.open(tmp_path / "p") as p:
        assert p.integrity_check() == "ok"
        counter = p.settings.get("counter")
        assert counter >= acknowledged[-1]
        runs = [r["config"]["i"] for r in p.runs.list("edit")]
        assert runs == list(range(1, len(runs) + 1))  # no edit lost or doubled
        assert len(runs) in (counter, counter + 1)  # the kill may fall between two edits
        image_id = p.images.all()[0].id
        versions = p.masks.versions(image_id)
        assert len(versions) >= acknowledged[-1] // 5
        for v in versions:  # every indexed mask file is complete and readable
            assert read_label_tiff(p.masks_dir / v["file"]).shape == (16, 16)
