"""Few-shot segmentation inside a project (the Segment dock's engine).

- :func:`train_project_segmenter` trains on chosen images and their stored masks (label 1 =
  nanowire, 2… = further classes such as a droplet), saves the best model to
  ``models/segmenter-<time>.pt``, registers it and records the run.
- :func:`predict_project` segments images and keeps each prediction as a lossless label file
  in ``cache/segmentation/<model>/`` (recomputable, so the cache is the right place); *Accept as
  mask* stores one as a new mask version (``predicted:<model>``).
- :func:`compare_with_truth` scores predictions against stored masks beside the best classical
  auto-mask (the method with the best mean Dice over the same images), so a user sees what the
  learning buys.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nanomorph.errors import JobCancelled, NanomorphError
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel

if TYPE_CHECKING:
    from nanomorph.project import ImageRecord, Project
    from nanomorph.segment import Segmenter, TrainConfig

WIRE_LABEL = 1
# the difference between a prediction and a mask: colours no mask label, cluster or verdict uses
# (labels 1/2/3 are orange-red, cyan and light green; spanning clusters yellow, noise magenta)
FALSE_POSITIVE, FALSE_NEGATIVE = 1, 2
DIFFERENCE_RGB = {FALSE_POSITIVE: "#a855f7", FALSE_NEGATIVE: "#14b8a6"}  # violet, teal
DIFFERENCE_NAMES = {FALSE_POSITIVE: "predicted wire the mask does not have (false positive)",
                    FALSE_NEGATIVE: "mask wire the prediction misses (false negative)"}


def difference_labels(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Where a prediction departs from a mask.

    Parameters
    ----------
    predicted, truth : ndarray of bool
        Wire pixels of the prediction and of the mask, same shape.

    Returns
    -------
    ndarray of uint8
        ``FALSE_POSITIVE`` where the prediction adds wire, ``FALSE_NEGATIVE`` where it misses
        wire, 0 elsewhere.
    """
    out = np.zeros(predicted.shape, np.uint8)
    out[predicted & ~truth] = FALSE_POSITIVE
    out[truth & ~predicted] = FALSE_NEGATIVE
    return out


def _read(record: "ImageRecord"):
    """The image (its first page for a stack) as a MicroscopeImage."""
    from nanomorph.io import read_image

    return read_image(record.path, page=record.page)


def train_file_segmenter(images: list, masks: list, names: list[str], config: "TrainConfig",
                         path, *, cancel: CancelToken | None = None) -> Job["Segmenter"]:
    """Train a segmenter on images and masks that belong to no project and save it (a job).

    Parameters
    ----------
    images : list of ndarray
        Gray-level planes.
    masks : list of ndarray
        Their labels (0 background, 1 wire, 2… other classes), same shapes.
    names : list of str
        For messages.
    config : TrainConfig
        Training settings.
    path : str or os.PathLike
        The model file to write (``.pt``).
    cancel : CancelToken, optional
        A cancel keeps the best epoch so far.

    Yields
    ------
    Progress
        As :func:`nanomorph.segment.train_segmenter`.

    Returns
    -------
    Segmenter
        The best model (also saved to ``path``).

    Raises
    ------
    NanomorphError
        When a mask does not fit its image, or training fails.
    """
    from nanomorph.segment import prepare_pairs, save_segmenter, train_segmenter

    pairs, classes = prepare_pairs(images, masks, names=names, nanowire_value=WIRE_LABEL)
    segmenter = yield from train_segmenter(pairs, classes, config, cancel=cancel)
    save_segmenter(segmenter, path)
    return segmenter


def train_project_segmenter(project: "Project", image_ids: list[int], config: "TrainConfig",
                            *, cancel: CancelToken | None = None) -> Job[tuple]:
    """Train a segmenter on some images' latest masks and keep it in the project (a job).

    Parameters
    ----------
    project : Project
        The open project: the model is saved to ``models/`` and registered, the run recorded.
    image_ids : list of int
        The training images; each must have a mask.
    config : TrainConfig
        Training settings.
    cancel : CancelToken, optional
        A cancel keeps the best epoch so far.

    Yields
    ------
    Progress
        As :func:`nanomorph.segment.train_segmenter` (epoch payloads for live plots).

    Returns
    -------
    (Segmenter, str)
        The best model and its file name in ``models/``.

    Raises
    ------
    NanomorphError
        When an image has no mask, or training fails.
    """
    from nanomorph.masks import databar_rows_of
    from nanomorph.segment import prepare_pairs, save_segmenter, train_segmenter

    records = [project.images.get(i) for i in image_ids]
    masks = [project.masks.read(r.id) for r in records]
    missing = [r.name for r, m in zip(records, masks) if m is None]
    if missing:
        raise NanomorphError(f"these images have no mask to learn from: {', '.join(missing)}")
    images = [_read(r) for r in records]
    pairs, classes = prepare_pairs([i.data for i in images], masks,
                                   names=[r.name for r in records],
                                   databar_rows=[databar_rows_of(i) for i in images],
                                   nanowire_value=WIRE_LABEL,
                                   pixel_sizes=[r.calibration.mean_pixel_size_nm()
                                                for r in records])
    run = project.runs.start("segment-train", {"images": image_ids, "config": repr(config)})
    try:
        segmenter = yield from train_segmenter(pairs, classes, config, cancel=cancel)
    except JobCancelled:
        project.runs.finish(run, "cancelled", None)
        raise
    except NanomorphError as exc:
        project.runs.finish(run, "failed", {"error": exc.reason})
        raise
    name = f"segmenter-{time.strftime('%Y%m%d-%H%M%S')}"
    save_segmenter(segmenter, project.models_dir / f"{name}.pt")
    project.models.register("segmenter", name, f"{name}.pt",
                           {"images": image_ids, "classes": list(classes.names),
                            "encoder": segmenter.encoder_name,
                            "best_epoch": segmenter.best_epoch,
                            "stop_reason": segmenter.stop_reason})
    project.runs.finish(run, "done", {"model": f"{name}.pt", "history": segmenter.history,
                                     "stop_reason": segmenter.stop_reason})
    return segmenter, f"{name}.pt"


def prediction_path(project: "Project", model_file: str, record: "ImageRecord",
                    tta: bool = False) -> Path:
    """Where the project keeps a model's prediction for an image.

    Parameters
    ----------
    project : Project
        The open project.
    model_file : str
        The model's file name in ``models/``.
    record : ImageRecord
        The image.
    tta : bool
        The prediction averaged over the 8 flips and quarter turns (kept apart).

    Returns
    -------
    Path
        ``cache/segmentation/<model>/<sha256>.tif`` (``<sha256>-8views.tif`` with ``tta``), a
        label TIFF.
    """
    from nanomorph.project.paths import checked_sha256, inside

    sha = checked_sha256(record.sha256, f"image {record.id}")
    folder = project.cache_dir / "segmentation"
    name = f"{sha}-8views.tif" if tta else f"{sha}.tif"
    return inside(folder, f"{Path(model_file).stem}/{name}", f"model file {model_file!r}")


def predict_project(project: "Project", image_ids: list[int], segmenter: "Segmenter",
                    model_file: str, *, tta: bool = False,
                    cancel: CancelToken | None = None) -> Job[dict]:
    """Segment images and keep each prediction (a job).

    Parameters
    ----------
    project : Project
        The open project.
    image_ids : list of int
        The images.
    segmenter : Segmenter
        The model.
    model_file : str
        Its file name in ``models/`` (names the cache folder).
    tta : bool
        Average the prediction over the 8 flips and quarter turns of each tile (about 8× the
        time; +0.006 mean Dice on the HRTEM frames, +0.017 on the diagonal run).
    cancel : CancelToken, optional
        Checked between tiles.

    Yields
    ------
    Progress
        One per image, payload ``(image_id, labels, nanowire probability or None, error or
        None)``.

    Returns
    -------
    dict
        Image id → labels, for the images done.
    """
    from nanomorph.io.label_tiff import write_label_tiff
    from nanomorph.masks import databar_rows_of
    from nanomorph.segment import predict_job

    done = {}
    for i, image_id in enumerate(image_ids):
        check_cancel(cancel)
        record = project.images.get(image_id)
        labels = probability = error = None
        try:
            image = _read(record)
            prediction = yield from predict_job(
                segmenter, image.data, databar_rows=databar_rows_of(image), tta=tta,
                pixel_size_nm=record.calibration.mean_pixel_size_nm(), cancel=cancel)
        except NanomorphError as e:
            error = e.reason
        else:
            labels = prediction.labels
            if prediction.probabilities is not None:
                probability = prediction.probabilities[segmenter.classes.nanowire - 1]
            path = prediction_path(project, model_file, record, tta)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_label_tiff(path, labels)
            done[image_id] = labels
        yield Progress(i + 1, len(image_ids), f"segmented {record.name}",
                       payload=(image_id, labels, probability, error))
    return done


def stored_prediction(project: "Project", model_file: str, record: "ImageRecord",
                      tta: bool = False):
    """The kept prediction of a model for an image.

    Parameters
    ----------
    project : Project
        The open project.
    model_file : str
        The model's file name in ``models/``.
    record : ImageRecord
        The image.
    tta : bool
        The 8-view prediction rather than the plain one.

    Returns
    -------
    ndarray or None
        The labels, or None when there is none.
    """
    from nanomorph.io.label_tiff import read_label_tiff

    path = prediction_path(project, model_file, record, tta)
    return read_label_tiff(path) if path.is_file() else None


def accept_prediction(project: "Project", image_id: int, labels: np.ndarray,
                      model_file: str) -> int:
    """Store a prediction as the image's new mask version.

    Parameters
    ----------
    project : Project
        The open project.
    image_id : int
        The image.
    labels : ndarray, 2-D
        The predicted labels.
    model_file : str
        The model's file name (recorded as the mask's source ``predicted:<model>``).

    Returns
    -------
    int
        The new mask version.
    """
    return project.masks.save(image_id, labels.astype(np.uint8),
                             source=f"predicted:{Path(model_file).stem}")


def compare_with_truth(project: "Project", predictions: dict[int, np.ndarray], *,
                       training_ids=(), cancel: CancelToken | None = None) -> Job[dict]:
    """Dice and IoU of the nanowire class for every predicted image that has a stored mask,
    beside the best classical auto-mask on the same images (a job).

    Images the model was trained on are scored too but marked, and the means leave them out:
    a mean over training images measures memory, not accuracy.

    Parameters
    ----------
    project : Project
        The open project.
    predictions : dict
        Image id → predicted labels.
    training_ids : iterable of int
        The images the model learnt from (its registry entry's ``images``).
    cancel : CancelToken, optional
        Checked before each image.

    Yields
    ------
    Progress
        One per scored image.

    Returns
    -------
    dict
        ``rows``: [{image_id, image, group, trained_on, dice, iou, classical_dice,
        classical_iou}], ``classical_method``: the method with the best mean Dice over the
        held-out rows (all rows when every scored image was a training image), ``means`` over
        the same rows, ``held_out``: how many rows the means cover, ``per_group``: [{group,
        n_images, dice_mean, iou_mean}] over the same rows (:func:`image_group`).
    """
    from nanomorph.segment.evaluate import per_group_scores
    from nanomorph.masks import METHOD_DEFAULTS, auto_mask_image
    from nanomorph.masks.overlap import dice, iou

    trained = set(training_ids)
    scored = [(i, labels) for i, labels in predictions.items()
              if project.masks.latest_version(i) is not None]
    classical: dict[str, list[tuple[float, float]]] = {m: [] for m in METHOD_DEFAULTS}
    rows = []
    for n, (image_id, labels) in enumerate(scored):
        check_cancel(cancel)
        record = project.images.get(image_id)
        truth = project.masks.read(image_id) == WIRE_LABEL
        predicted = labels == WIRE_LABEL
        rows.append({"image_id": image_id, "image": record.name, "group": image_group(record),
                     "trained_on": image_id in trained,
                     "dice": dice(predicted, truth), "iou": iou(predicted, truth)})
        for method, params in METHOD_DEFAULTS.items():
            guess = auto_mask_image(record.path, params, page=record.page) > 0
            classical[method].append((dice(guess, truth), iou(guess, truth)))
        yield Progress(n + 1, len(scored), f"scored {record.name}")
    if not rows:
        return {"rows": [], "classical_method": None, "means": {}, "held_out": 0,
                "per_group": []}
    counted = [k for k, row in enumerate(rows) if not row["trained_on"]] or range(len(rows))
    best = max(classical, key=lambda m: np.mean([classical[m][k][0] for k in counted]))
    for row, (d, j) in zip(rows, classical[best]):
        row["classical_dice"], row["classical_iou"] = d, j
    means = {key: float(np.mean([rows[k][key] for k in counted]))
             for key in ("dice", "iou", "classical_dice", "classical_iou")}
    held_out = sum(not row["trained_on"] for row in rows)
    per_group = per_group_scores([{**rows[k], "image": k} for k in counted],
                                 {k: rows[k]["group"] for k in counted})
    return {"rows": rows, "classical_method": best, "means": means, "held_out": held_out,
            "per_group": per_group}


def image_group(record: "ImageRecord") -> str:
    """The acquisition group of a project image, for scores per group.

    Parameters
    ----------
    record : ImageRecord
        The image.

    Returns
    -------
    str
        A frame's movie (file name), else the name of the folder the image lies in (a run is
        usually kept in a folder of its own).
    """
    return record.group or Path(record.path).parent.name
