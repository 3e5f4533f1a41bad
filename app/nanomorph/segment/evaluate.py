"""Scoring a segmenter against masks: Dice and IoU of the nanowire class, per image and mean.

The truth is the ``--foreground`` pixels of each mask (:func:`nanomorph.io.mask_files.foreground_mask`;
``nonzero`` by default); the prediction is the segmenter's class(es) for those values
(:meth:`SegmentClasses.foreground_classes`: the nanowire class of a two-class model, the classes
holding the values otherwise). Dice and IoU come from :mod:`nanomorph.masks.overlap`; both are 1 for
an image where neither has foreground.
"""

from __future__ import annotations

import os

import numpy as np

from nanomorph.errors import JobCancelled, NanomorphError
from nanomorph.io.mask_files import foreground_mask, parse_foreground
from nanomorph.jobs import Job, Progress, check_cancel
from nanomorph.masks.overlap import dice, iou
from nanomorph.segment.infer import predict_image
from nanomorph.segment.pairs import read_pair


def score_labels(segmenter, labels: np.ndarray, mask: np.ndarray,
                 foreground: str | tuple[int, ...] = "nonzero", path=None) -> dict:
    """Dice and IoU of predicted class labels against a mask.

    Parameters
    ----------
    segmenter : Segmenter
        Gives the classes that count as foreground.
    labels : ndarray of uint8
        Predicted class indices (:attr:`SegmentPrediction.labels`).
    mask : ndarray
        The reference mask's values (same shape).
    foreground : str or tuple of int
        Which mask values are nanowire.
    path : optional
        The mask file, named by errors.

    Returns
    -------
    dict
        ``{"dice": float, "iou": float}``.
    """
    spec = parse_foreground(foreground)
    predicted = np.isin(labels, segmenter.classes.foreground_classes(spec))
    truth = foreground_mask(mask, spec, path)
    return {"dice": dice(predicted, truth), "iou": iou(predicted, truth)}


def evaluate_segmenter(segmenter, pairs: list[tuple[str, str]],
                       foreground: str | tuple[int, ...] = "nonzero", *, batch_size: int = 4,
                       tta: bool = False, scale: bool = True, cancel=None) -> Job[dict]:
    """Segment the images of ``pairs`` and score them against their masks (a job).

    Parameters
    ----------
    segmenter : Segmenter
    pairs : list of (image path, mask path)
    foreground : str or tuple of int
        ``--foreground``: which mask values are nanowire (default every non-zero value).
    batch_size : int
        Tiles per forward pass.
    tta : bool
        Average each tile's 8 flips and quarter turns (:func:`predict_job`).
    scale : bool
        Resample each image to the segmenter's working pixel size when both are known (the
        image's from its file, else its scale bar).
    cancel : CancelToken, optional

    Yields
    ------
    Progress
        One per image.

    Returns
    -------
    dict
        ``n_images``, ``dice_mean``, ``iou_mean`` (over the images scored; None when none was),
        ``per_image`` [{image, dice, iou}] in input order, and ``failed`` [(path, reason)] for
        pairs that could not be read or scored.
    """
    spec = parse_foreground(foreground)
    segmenter.classes.foreground_classes(spec)  # a value the model has no class for: fail now
    per_image, failed = [], []
    for done, (image_path, mask_path) in enumerate(pairs, start=1):
        check_cancel(cancel)
        try:
            image, mask, bar, pixel_size = read_pair(
                image_path, mask_path, pixel_size=scale and bool(segmenter.pixel_size_nm))
            prediction = predict_image(segmenter, image, batch_size=batch_size,
                                       probabilities=False, databar_rows=bar, tta=tta,
                                       pixel_size_nm=pixel_size, cancel=cancel)
            scores = score_labels(segmenter, prediction.labels, mask, spec, mask_path)
        except JobCancelled:
            raise
        except NanomorphError as exc:
            failed.append((exc.path or image_path, exc.reason))
        else:
            per_image.append({"image": os.fsdecode(image_path), **scores})
        yield Progress(done, len(pairs), f"scored {done} of {len(pairs)} images")
    return {"n_images": len(per_image),
            "dice_mean": _mean([r["dice"] for r in per_image]),
            "iou_mean": _mean([r["iou"] for r in per_image]),
            "per_image": per_image, "failed": failed}


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def per_group_scores(per_image: list[dict], group_of: dict[str, str]) -> list[dict]:
    """Mean scores per group (acquisition run, video, sample) of scored images.

    Parameters
    ----------
    per_image : list of dict
        ``{image, dice, iou}`` per scored image (:func:`evaluate_segmenter`).
    group_of : dict
        Image path → its group.

    Returns
    -------
    list of dict
        ``{group, n_images, dice_mean, iou_mean}`` per group, in the order groups first
        appear.
    """
    grouped: dict[str, list[dict]] = {}
    for record in per_image:
        grouped.setdefault(group_of[record["image"]], []).append(record)
    return [{"group": group, "n_images": len(records),
             "dice_mean": _mean([r["dice"] for r in records]),
             "iou_mean": _mean([r["iou"] for r in records])}
            for group, records in grouped.items()]
