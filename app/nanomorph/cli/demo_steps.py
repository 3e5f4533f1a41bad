"""The steps of ``nanomorph demo``: a headless run of every engine feature on the bundled samples
(it sits in the CLI layer because its last step writes the HTML report).

Each step is a small function that takes the open sample project and returns a JSON-ready
summary (``_step_*``); :func:`run_demo` runs them in order and writes ``summary.json`` beside
the project.
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
from nanomorph.workflows.sample_project import prepare_sample_project


def _step_read(project: Project) -> dict:
    """Read every image back from disk with its calibration, and make its thumbnail."""
    from nanomorph.io import read_image
    from nanomorph.project.thumbnails import thumbnail

    sizes, formats = [], set()
    for record in project.images.all():
        image = read_image(record.path)
        formats.add(image.format)
        sizes.append(image.calibration.pixel_size_nm()[1])
        thumbnail(project, record)
    return {"images": len(sizes), "formats": sorted(formats),
            "pixel_size_nm": {"min": round(min(sizes), 4), "max": round(max(sizes), 4)}}


def _step_labels_and_masks(project: Project) -> dict:
    """Classes, labels per class and the masks' wire fraction."""
    labels = project.labels.all()
    per_class = {c: sum(v == c for v in labels.values()) for c in project.labels.classes()}
    fractions = [float(np.mean(project.masks.read(r.id) > 0)) for r in project.images.all()
                 if project.masks.versions(r.id)]
    return {"classes": project.labels.classes(), "labelled_per_class": per_class,
            "unlabelled": len(project.images.all()) - len(labels), "masks": len(fractions),
            "wire_fraction": {"min": round(min(fractions), 4), "max": round(max(fractions), 4)}}


def _class_of(project: Project) -> dict[int, str]:
    """Image id → morphology class, from the sample file names (``network_03.tif``)."""
    return {r.id: r.name.split("_")[0] for r in project.images.all()}


def _step_auto_mask(project: Project) -> dict:
    """Classical auto-mask (Otsu, polarity found per image) against the exact masks: Dice."""
    from nanomorph.masks import METHOD_DEFAULTS, auto_mask_image
    from nanomorph.masks.overlap import dice

    classes = _class_of(project)
    scores: dict[str, list[float]] = {}
    for record in project.images.all():
        predicted = auto_mask_image(record.path, METHOD_DEFAULTS["otsu"]) > 0
        truth = project.masks.read(record.id) > 0
        scores.setdefault(classes[record.id], []).append(dice(predicted, truth))
    return {"method": "otsu", "dice_by_class": {c: round(float(np.mean(v)), 3)
                                               for c, v in sorted(scores.items())}}


def _step_percolation(project: Project) -> dict:
    """DBSCAN percolation (eps 2 px, min_samples 2, margin 2 px) of every true mask."""
    from nanomorph.jobs import run_job
    from nanomorph.workflows.percolation import PercolationSettings, analyse_project

    classes = _class_of(project)
    results = run_job(analyse_project(project, [r.id for r in project.images.all()],
                                      PercolationSettings()))
    per_class: dict[str, list[bool]] = {}
    for image_id, summary in results.items():
        per_class.setdefault(classes[image_id], []).append(summary["percolates"])
    return {"percolating_by_class": {c: f"{sum(v)}/{len(v)}" for c, v in sorted(per_class.items())},
            "mean_ms": round(1e3 * float(np.mean([s["seconds"] for s in results.values()])), 2)}


def _step_classify(project: Project) -> dict:
    """Embed every image (EfficientNet-Lite0, cached), train on the labelled ones (two per class)
    and score the predictions for the others against their true class."""
    import sklearn.linear_model  # noqa: F401 - imported first so the timing is the fit's own

    from nanomorph.jobs import run_job
    from nanomorph.workflows.classify import project_embeddings, train_and_predict

    embeddings = run_job(project_embeddings(project))
    live = train_and_predict(embeddings, project.labels.all())
    classes = _class_of(project)
    correct = [p["label"] == classes[i] for i, p in live.results.items()]
    return {"encoder": embeddings.encoder, "labelled": live.n_labels,
            "predicted": len(correct), "accuracy": round(float(np.mean(correct)), 3),
            "train_and_predict_ms": round(live.seconds * 1e3, 1)}


def _step_segment(project: Project) -> dict:
    """Train the few-shot segmenter on two masked images per class for a short CPU-sized run,
    segment every other image and score it against the exact masks beside the best classical
    auto-mask."""
    from nanomorph.jobs import run_job
    from nanomorph.segment import TrainConfig
    from nanomorph.workflows.segment import (
        compare_with_truth,
        predict_project,
        train_project_segmenter,
    )

    records, per_class = [], {}
    for record in project.images.all():
        morphology = record.name.split("_")[0]
        per_class[morphology] = per_class.get(morphology, 0) + 1
        if per_class[morphology] <= 2:
            records.append(record.id)
    config = TrainConfig(epochs=8, steps_per_epoch=10, seed=0)
    segmenter, model_file = run_job(train_project_segmenter(project, records, config))
    others = [r.id for r in project.images.all() if r.id not in records]
    predictions = run_job(predict_project(project, others, segmenter, model_file))
    scores = run_job(compare_with_truth(project, predictions))
    return {"model": model_file, "trained_on": len(records), "predicted": len(predictions),
            "dice": round(scores["means"]["dice"], 3),
            "classical_method": scores["classical_method"],
            "classical_dice": round(scores["means"]["classical_dice"], 3)}


def _step_report(project: Project) -> dict:
    """The project's self-contained HTML report (percolation, classes, evaluation, segmentation)."""
    from nanomorph.report.html import write_report

    path = write_report(project.folder, project.folder.parent / "report.html", repeats=5)
    return {"report": str(path), "bytes": path.stat().st_size}


STEPS = {
    "read": _step_read,
    "labels_and_masks": _step_labels_and_masks,
    "auto_mask": _step_auto_mask,
    "percolation": _step_percolation,
    "classify": _step_classify,
    "segment": _step_segment,
    "report": _step_report,
}


def run_demo(out_dir: str | os.PathLike, *, cancel: CancelToken | None = None) -> Job[dict]:
    """Prepare the sample project in ``out_dir/sample-project`` and run every step on it (a job).

    Parameters
    ----------
    out_dir : str or os.PathLike
        Created when missing; ``summary.json`` is written there.
    cancel : CancelToken, optional
        Checked between steps.

    Yields
    ------
    Progress
        One per step.

    Returns
    -------
    dict
        The summary: ``project`` and one entry per step.
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
