"""What a report shows, gathered from a results folder or from a project.

- A results folder (``nanomorph batch --out DIR``): ``batch.json`` (parameters) and the results
  table; overlays are computed again for the few images shown, with the run's configuration.
- A project: its images, the percolation results stored by the GUI, the labels and a
  classifier fit on them now (predictions for the unlabelled images, the label-efficiency
  evaluation and the embedding map, via :mod:`nanomorph.workflows.classify`), and Dice / IoU of the
  latest ``nanomorph batch`` run on the project that scored computed masks against its stored
  ones.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from nanomorph import defaults
from nanomorph.errors import NanomorphError, display_path
from nanomorph.jobs import CancelToken, Job, Progress
from nanomorph.report.plots import verdict

THUMBNAIL_PX = 300


@dataclass(frozen=True)
class Thumbnail:
    """One overlay shown in the report.

    Attributes
    ----------
    name : str
        The image's name.
    png : bytes
        The overlay.
    caption : str
        The verdict and numbers under it.
    """

    name: str
    png: bytes
    caption: str


@dataclass
class ReportData:
    """Everything a report shows.

    Attributes
    ----------
    kind : str
        ``results`` or ``project``.
    title, source : str
    params : list of (str, str)
        The run's (or project's) settings, in display order.
    rows : list of dict
        One per image with the results table's keys (``status`` ``ok`` when analysed); a
        project adds ``true_label`` (the user's label).
    thumbnails : list of Thumbnail
    classes : dict
        Class name → colour (None: the report picks one), in display order.
    evaluation : dict or None
        A project's classifier evaluation (:func:`nanomorph.workflows.classify.evaluate_project`)
        with ``map_labels`` / ``map_predicted`` for the embedding map.
    segmenter : dict or None
        A project's newest segmentation model: ``name``, ``config``, ``history`` (per epoch),
        ``rows`` (image, Dice, IoU, ``trained`` on it or held out) and ``overlays``
        (Thumbnails of held-out predictions against their masks).
    morphometry : list of dict
        A project's stored ``nanomorph measure`` records (every wire); a results folder has
        the per-image columns in ``rows`` instead.
    notes : list of str
        What could not be shown, and why.
    """

    kind: str
    title: str
    source: str
    params: list[tuple[str, str]]
    rows: list[dict]
    thumbnails: list[Thumbnail] = field(default_factory=list)
    classes: dict = field(default_factory=dict)
    evaluation: dict | None = None
    segmenter: dict | None = None
    morphometry: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_report_data(source, *, thumbnails: int = defaults.REPORT_THUMBNAILS,
                      repeats: int = defaults.EVALUATE_REPEATS,
                     cancel: CancelToken | None = None) -> Job[ReportData]:
    """Gather a report's content from a project or a results folder (a job).

    Parameters
    ----------
    source : str or os.PathLike
        A project folder or the output folder of ``nanomorph batch``.
    thumbnails : int
        Overlays to show.
    repeats : int
        Random splits per K of the classifier evaluation.
    cancel : CancelToken, optional
        Checked between steps.

    Yields
    ------
    Progress
        Per step.

    Returns
    -------
    ReportData
        What the page shows.
    """
    from nanomorph.project import is_project

    source = os.fspath(source)
    if is_project(source):
        return (yield from _project_data(source, thumbnails, repeats, cancel))
    return (yield from _results_data(source, thumbnails))


def spanning_rows(rows: list[dict], n: int) -> list[int]:
    """Which rows to show as overlays: percolating images first, then images spanning one way,
    spread evenly over the table.

    Parameters
    ----------
    rows : list of dict
        Analysed rows.
    n : int
        At most this many.

    Returns
    -------
    list of int
        Row indices.
    """
    chosen: list[int] = []
    for wanted in ("percolates", "spans one way"):
        candidates = [i for i, r in enumerate(rows)
                      if r.get("status") == "ok" and verdict(r) == wanted]
        room = n - len(chosen)
        if room <= 0 or not candidates:
            continue
        step = max(1, len(candidates) / room)
        chosen += [candidates[int(k * step)] for k in range(min(room, len(candidates)))]
    return chosen


# -- a results folder ----------------------------------------------------------------------------
def _results_data(folder: str, thumbnails: int) -> Job[ReportData]:
    from nanomorph.batch.config import BatchConfig
    from nanomorph.batch.results import read_run_file, read_table

    run = read_run_file(folder)
    rows = read_table(folder)
    config = BatchConfig.from_json(run["config"])
    data = ReportData("results", f"Batch results — {display_path(Path(folder).name)}",
                      display_path(folder), _run_params(run, config), rows)
    labels = sorted({r["label"] for r in rows if r.get("label")})
    data.classes = dict.fromkeys(labels)
    chosen = spanning_rows(rows, thumbnails)
    for n, index in enumerate(chosen):
        yield Progress(n, len(chosen), "drawing overlays")
        _add_thumbnail(data, rows[index], lambda row=rows[index]: _batch_overlay(row, config))
    return data


def _batch_overlay(row: dict, config):
    from nanomorph.batch.inputs import BatchItem
    from nanomorph.batch.pipeline import analyse_item

    item = BatchItem(0, row["path"], Path(row["path"]).stem, mask_path=row.get("mask_path"))
    analysis = analyse_item(item, config)
    return analysis.frame, analysis.result


def _run_params(run: dict, config) -> list[tuple[str, str]]:
    """The settings of a batch run worth showing, as (name, value) text."""
    params = [("inputs", ", ".join(run["inputs"])), ("images", str(run["n_images"])),
              ("masks", _mask_description(config))]
    settings = config.percolation
    params.append(("percolation", f"{settings.method}, eps {settings.eps:g} {settings.units}, "
                                  f"min_samples {settings.min_samples}, margin "
                                  f"{settings.margin:g} {settings.units}"
                                  + (f", resized to {settings.resize} px" if settings.resize
                                     else "")))
    for name, model in run.get("models", {}).items():
        params.append((name, f"{model['path']} (sha256 {model['sha256'][:12]}…)"))
    where = ("this process, without Dask" if run["scheduler"] == "in-process" else
             f"Dask at {run['scheduler']}, {_count(run['workers'], 'worker')}")
    params += [("ran on", f"{where} ({_count(run['images_per_task'], 'image')} per task)"),
               ("started", run["started"]), ("finished", run.get("finished") or "not finished"),
               ("configuration sha256", run["config_sha256"][:16] + "…"),
               ("nanomorph", run["nanomorph"])]
    return params


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _mask_description(config) -> str:
    if config.mask_source == "auto":
        p = config.mask_params
        return (f"auto-mask {p.method} (polarity {config.polarity}, smoothing "
                f"{p.smooth_sigma_px:g} px, objects ≥ {p.min_size_px} px)")
    return {"segmenter": "segmenter", "project": "the project's stored masks",
            "masks": f"existing masks in {config.masks_dir} (foreground {config.foreground})"
            }[config.mask_source]


# -- a project -----------------------------------------------------------------------------------
def _project_data(folder: str, thumbnails: int, repeats: int, cancel) -> Job[ReportData]:
    from nanomorph.project import Project
    from nanomorph.workflows.consistency import consistency_flags
    from nanomorph.workflows.morphometry import KIND as MORPHOMETRY
    from nanomorph.workflows.timeline import analysis_row

    with Project.open(folder, read_only=True) as project:
        records = project.images.all()
        analyses = project.results.of_kind("percolation")
        labels = project.labels.all()
        measured = project.results.of_kind(MORPHOMETRY)
        rows = [analysis_row(r, analyses.get(r.id), measured.get(r.id), labels.get(r.id))
                for r in records]
        flags = consistency_flags(project)
        for record, row in zip(records, rows):
            row["consistency"] = flags.get(record.id, {}).get("flag")
        data = ReportData("project", f"Project — {project.name}", display_path(folder),
                          _project_params(project, records, analyses, labels), rows,
                          classes=project.labels.class_colors())
        data.morphometry = [measured[r.id]["result"] for r in records if r.id in measured]
        _add_batch_scores(data, project)
        yield Progress(0, 3, "segmentation model")
        data.segmenter = _segmenter(project, records, thumbnails)
        yield Progress(0, 3, "classifier evaluation")
        data.evaluation = yield from _evaluation(project, records, rows, data, repeats, cancel)
        chosen = spanning_rows(rows, thumbnails)
        for n, index in enumerate(chosen):
            yield Progress(n, len(chosen), "drawing overlays")
            record, entry = records[index], analyses[records[index].id]
            _add_thumbnail(data, rows[index],
                           lambda: _project_overlay(project, record, entry["params"]))
    return data


def _project_params(project, records, analyses, labels) -> list[tuple[str, str]]:
    settings = Counter(_settings_text(a["params"]) for a in analyses.values())
    stale = sum(a["stale"] for a in analyses.values())
    return [("project", str(project.folder)), ("images", str(len(records))),
            ("analysed", f"{len(analyses)} (percolation stored by the GUI"
                         + (f"; {stale} of them older than the image's mask)" if stale
                            else ")")),
            ("percolation", "; ".join(f"{text} ({n} images)" for text, n in
                                      settings.most_common()) or "none stored"),
            ("classes", ", ".join(project.labels.classes())),
            ("labelled", f"{len(labels)} images")]


def _settings_text(params: dict) -> str:
    return (f"{params['method']}, eps {params['eps']:g} {params['units']}, min_samples "
            f"{params['min_samples']}, margin {params['margin']:g} {params['units']}")


def _segmenter(project, records, thumbnails: int) -> dict | None:
    """The newest segmentation model of a project: its training, and its kept predictions
    scored against the stored masks (images it was trained on marked; overlays of held-out
    ones)."""
    import numpy as np

    from nanomorph.batch.overlay import png_bytes
    from nanomorph.masks.overlap import dice, iou
    from nanomorph.workflows.segment import WIRE_LABEL, stored_prediction

    models = project.models.list("segmenter")
    if not models:
        return None
    model = models[-1]
    trained = set(model["config"].get("images", []))
    history = next((run["result"].get("history", []) for run in project.runs.list(
        "segment-train")[::-1] if run["status"] == "done" and run["result"]
        and run["result"].get("model") == model["file"]), [])
    rows, overlays = [], []
    for record in records:
        truth = project.masks.read(record.id)
        predicted = stored_prediction(project, model["file"], record) if truth is not None             else None
        if predicted is None or predicted.shape != truth.shape:
            continue
        wire, true_wire = predicted == WIRE_LABEL, truth == WIRE_LABEL
        rows.append({"image": record.name, "dice": dice(wire, true_wire),
                     "iou": iou(wire, true_wire), "trained": record.id in trained})
        if record.id not in trained and len(overlays) < thumbnails:
            overlays.append(Thumbnail(record.name, png_bytes(
                _difference_rgb(record, wire, true_wire), THUMBNAIL_PX),
                f"Dice {rows[-1]['dice']:.3f} (held out)"))
    held_out = [r["dice"] for r in rows if not r["trained"]]
    return {"name": model["name"], "file": model["file"], "config": model["config"],
            "history": history, "rows": rows, "overlays": overlays,
            "held_out_dice": float(np.mean(held_out)) if held_out else None}


def _difference_rgb(record, predicted, truth):
    """The image in gray with false positives and negatives in the Segment step's colours."""
    import numpy as np

    from nanomorph.io import read_image
    from nanomorph.io.intensity import normalise_percentiles
    from nanomorph.workflows.segment import DIFFERENCE_RGB, difference_labels

    plane = read_image(record.path, page=record.page).data
    rgb = np.repeat((normalise_percentiles(plane) * 255)[..., None], 3, axis=2)
    difference = difference_labels(predicted, truth)
    for value, colour in DIFFERENCE_RGB.items():
        rgb[difference == value] = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return rgb.astype(np.uint8)


def _add_batch_scores(data: ReportData, project) -> None:
    """Dice / IoU of the latest batch run on this project that scored computed masks."""
    from nanomorph.batch.results import read_table

    for run in reversed(project.runs.list("batch")):
        out = (run.get("result") or {}).get("out")
        if run["status"] != "done" or not out:
            continue
        try:
            table = {r["path"]: r for r in read_table(out) if r.get("dice") is not None}
        except NanomorphError:
            continue
        if table:
            for row in data.rows:
                scored = table.get(row["path"], {})
                row.update(dice=scored.get("dice"), iou=scored.get("iou"))
            data.params.append(("segmentation scores", f"the batch run in {out}"))
            return


def _evaluation(project, records, rows, data: ReportData, repeats: int, cancel):
    """The classifier evaluation and predictions of a project with labels (None without)."""
    from nanomorph.workflows.classify import (
        evaluate_project,
        project_embeddings,
        train_and_predict,
    )

    labels = project.labels.all()
    if len(set(labels.values())) < 2:
        data.notes.append("Label images of at least two classes to see the classifier's "
                          "evaluation and predictions.")
        return None
    try:
        embeddings = yield from project_embeddings(project, cancel=cancel)
        predictions = train_and_predict(embeddings, labels).results
        evaluation = yield from evaluate_project(project, embeddings, repeats=repeats,
                                                 cancel=cancel)
    except NanomorphError as exc:
        data.notes.append(f"No classifier evaluation: {exc}")
        return None
    by_id = {r.id: row for r, row in zip(records, rows)}
    for image_id, prediction in predictions.items():
        by_id[image_id].update(label=prediction["label"], confidence=prediction["confidence"])
    evaluation["map_labels"] = [labels.get(i) for i in evaluation["map"]["ids"]]
    evaluation["map_predicted"] = [predictions.get(i, {}).get("label")
                                   for i in evaluation["map"]["ids"]]
    evaluation["encoder_name"] = embeddings.encoder
    data.notes += evaluation["warnings"]
    return evaluation


def _project_overlay(project, record, params: dict):
    from nanomorph.io import read_image
    from nanomorph.workflows.percolation import (
        PercolationSettings,
        analyse_image_mask,
        image_databar_rows,
    )

    bar = image_databar_rows(record)
    _, result = analyse_image_mask(project.masks.read(record.id), record,
                                   PercolationSettings(**params), bar)
    plane = read_image(record.path, page=record.page).plane(0)
    return plane[:plane.shape[0] - bar], result


# -- overlays ------------------------------------------------------------------------------------
def _add_thumbnail(data: ReportData, row: dict, compute) -> None:
    """Append the overlay ``compute()`` gives (frame, result), or a note when it fails."""
    from nanomorph.batch.overlay import overlay_rgb, png_bytes

    name = display_path(os.path.basename(row["path"]))
    try:
        frame, result = compute()
    except NanomorphError as exc:
        data.notes.append(f"No overlay of {name}: {exc.reason}")
        return
    caption = (f"{verdict(row)} · {100 * row['foreground_fraction']:.1f} % wire · "
               f"{row['n_clusters']} clusters · largest {100 * row['largest_cluster_fraction']:.0f} %")
    data.thumbnails.append(Thumbnail(name, png_bytes(overlay_rgb(frame, result), THUMBNAIL_PX),
                                     caption))
