"""Auto-masking the images of a project in the background (the Mask dock's "apply to all")."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from nanomorph.errors import NanomorphError
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel

if TYPE_CHECKING:
    from nanomorph.masks import MaskParams
    from nanomorph.project import Project

AUTO_POLARITY = "auto"


def auto_mask_plane(plane: np.ndarray, params: "MaskParams", polarity: str = AUTO_POLARITY,
                    databar_rows: int = 0) -> tuple[np.ndarray, str]:
    """The auto-mask (bool) of a 2-D image and the polarity used; ``polarity="auto"`` lets
    :func:`nanomorph.masks.suggest_polarity` decide for this image. ``databar_rows`` at the
    bottom (an SEM info bar) stay background."""
    from nanomorph.masks import auto_mask, suggest_polarity

    if polarity == AUTO_POLARITY:
        polarity = suggest_polarity(plane, databar_rows=databar_rows)
    mask = auto_mask(plane, dataclasses.replace(params, polarity=polarity),
                     databar_rows=databar_rows)
    return mask, polarity


def auto_mask_image(path: str, params: "MaskParams", polarity: str = AUTO_POLARITY,
                    page: int = 0) -> np.ndarray:
    """The auto-mask (uint8, 1 = nanowire) of an image file (:func:`auto_mask_plane`, info
    bar from the file's metadata or its pixels)."""
    from nanomorph.io import read_image
    from nanomorph.masks import databar_rows_of

    image = read_image(path)
    mask, _ = auto_mask_plane(image.plane(page), params, polarity,
                              databar_rows_of(image, page))
    return mask.astype(np.uint8)


def auto_mask_project(project: "Project", image_ids: list[int], params: "MaskParams",
                      polarity: str = AUTO_POLARITY, *, replace: bool = False,
                      cancel: CancelToken | None = None) -> Job[int]:
    """Store an auto-mask for each image (a job; returns how many were stored).

    Images that already have a mask keep it unless ``replace``; unreadable images are reported
    in the Progress payload ``(image_id, error or None)`` and skipped.
    """
    stored = 0
    for i, image_id in enumerate(image_ids):
        check_cancel(cancel)
        record = project.image(image_id)
        error = None
        if replace or project.latest_mask_version(image_id) is None:
            try:
                mask = auto_mask_image(record.path, params, polarity)
            except NanomorphError as e:
                error = e.reason
            else:
                project.save_mask(image_id, mask, source=f"auto:{params.method}")
                stored += 1
        yield Progress(i + 1, len(image_ids), f"auto-mask of {record.name}",
                       payload=(image_id, error))
    return stored
