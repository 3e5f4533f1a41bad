"""``nanomorph demo``: a headless run of every engine feature on the bundled samples.

Each step is a small function that takes the open sample project and returns a JSON-ready
summary; :func:`run_demo` runs them in order and writes ``summary.json`` beside the project.
Later features add their step to ``STEPS``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from nanomorph.jobs import CancelToken, Job, Progress, check_cancel
from nanomorph.project import Project
from nanomorph.sample_project import prepare_sample_project


def step_read(project: Project) -> dict:
    """Read every image back from disk with its calibration, and make its thumbnail."""
    from nanomorph.io import read_image
    from nanomorph.project.thumbnails import thumbnail

    sizes, formats = [], set()
    for record in project.images():
        image = read_image(record.path)
        formats.add(image.format)
        sizes.append(image.calibration.pixel_size_nm()[1])
        thumbnail(project, record)
    return {"images": len(sizes), "formats": sorted(formats),
            "pixel_size_nm": {"min": round(min(sizes), 4), "max": round(max(sizes), 4)}}


def step_labels_and_masks(project: Project) -> dict:
    """Classes, labels per class and the masks' wire fraction."""
    labels = project.labels()
    per_class = {c: sum(v == c for v in labels.values()) for c in project.classes()}
    fractions = [float(np.mean(project.mask(r.id) > 0)) for r in project.images()
                 if project.mask_versions(r.id)]
    return {"classes": project.classes(), "labelled_per_class": per_class,
            "unlabelled": len(project.images()) - len(labels), "masks": len(fractions),
            "wire_fraction": {"min": round(min(fractions), 4), "max": round(max(fractions), 4)}}


STEPS = {
    "read": step_read,
    "labels_and_masks": step_labels_and_masks,
}


def run_demo(out_dir: str | os.PathLike, *, cancel: CancelToken | None = None) -> Job[dict]:
    """Prepare the sample project in ``out_dir/sample-project`` and run every step on it.

    Returns the summary (also written to ``out_dir/summary.json``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    folder = yield from prepare_sample_project(out / "sample-project", cancel=cancel)
    summary = {"project": str(folder), "steps": {}}
    with Project.open(folder) as project:
        for i, (name, step) in enumerate(STEPS.items()):
            check_cancel(cancel)
            started = time.perf_counter()
            result = step(project)
            result["seconds"] = round(time.perf_counter() - started, 3)
            summary["steps"][name] = result
            yield Progress(i + 1, len(STEPS), f"demo step {name} done")
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
