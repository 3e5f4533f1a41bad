"""Auto-masking the images of a project in the background (the Mask dock's "apply to all")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nanomorph.errors import NanomorphError
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel
from nanomorph.masks.params import AUTO_POLARITY

if TYPE_CHECKING:
    from nanomorph.masks import MaskParams
    from nanomorph.project import Project

__all__ = ["AUTO_POLARITY", "auto_mask_project"]


def auto_mask_project(project: "Project", image_ids: list[int], params: "MaskParams",
                      polarity: str = AUTO_POLARITY, *, replace: bool = False,
                      cancel: CancelToken | None = None) -> Job[int]:
    """Store an auto-mask for each image (a job).

    Parameters
    ----------
    project : Project
        The open project (written to).
    image_ids : list of int
        The images to mask.
    params : MaskParams
        Method, smoothing and cleanup.
    polarity : str
        ``"dark"``, ``"bright"`` or ``"auto"`` (decided per image).
    replace : bool
        Also mask images that already have a mask (a new version); by default they keep theirs.
    cancel : CancelToken, optional
        Checked before each image.

    Yields
    ------
    Progress
        One per image, payload ``(image_id, error message or None)``; an unreadable image is
        reported there and skipped.

    Returns
    -------
    int
        How many masks were stored.
    """
    from nanomorph.masks.auto import auto_mask_image  # scikit-image: loaded in the worker

    stored = 0
    for i, image_id in enumerate(image_ids):
        check_cancel(cancel)
        record = project.images.get(image_id)
        error = None
        if replace or project.masks.latest_version(image_id) is None:
            try:
                mask = auto_mask_image(record.path, params, polarity, record.page)
            except NanomorphError as e:
                error = e.reason
            else:
                project.masks.save(image_id, mask, source=f"auto:{params.method}")
                stored += 1
        yield Progress(i + 1, len(image_ids), f"auto-mask of {record.name}",
                       payload=(image_id, error))
    return stored
