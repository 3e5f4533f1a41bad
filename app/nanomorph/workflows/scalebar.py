"""Reading the scale bars of a project's images and applying accepted readings as their
calibration.

A reading is a proposal: it is kept with the image (the project's results, kind
``scalebar``) and becomes the image's pixel size only when the user accepts it (the Project
step's review, or ``nanomorph scalebar --apply``). A reading that disagrees with the pixel size
the file itself records by more than 5 % is reported and never applied without the user's say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nanomorph.errors import NanomorphError
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel

if TYPE_CHECKING:
    from nanomorph.project import ImageRecord, Project
    from nanomorph.scalebar import ScaleBarReading

KIND = "scalebar"  # the project results kind of a reading
FILE_DISAGREEMENT = 0.05


def read_image_scale_bar(path: str, page: int | None = None) -> ScaleBarReading:
    """Read the scale bar of an image file (its first plane, or one page of a stack).

    Parameters
    ----------
    path : str
        An image file nanomorph reads.
    page : int, optional
        Read only this page of a stack (a project's frame).

    Returns
    -------
    ScaleBarReading
        The reading.

    Raises
    ------
    NanomorphError
        For an unreadable file or no scale bar (``no scale bar found``).
    """
    from nanomorph.io import read_image
    from nanomorph.scalebar import read_micrograph_scale_bar

    return read_micrograph_scale_bar(read_image(path, page=page))


def file_disagreement(record: ImageRecord, reading: ScaleBarReading) -> float | None:
    """How far a reading lies from the pixel size the image's file records.

    Parameters
    ----------
    record : ImageRecord
        The image.
    reading : ScaleBarReading
        Its reading.

    Returns
    -------
    float or None
        The relative difference of the x pixel sizes; None when the file records none.
    """
    calibration = record.file_calibration
    if not calibration.is_length:
        return None
    file_nm = calibration.pixel_size_nm()[1]
    return abs(reading.pixel_size_nm - file_nm) / file_nm


def reading_result(record: "ImageRecord", reading: "ScaleBarReading") -> dict:
    """A reading as the project keeps it: its JSON and how far it lies from the file's own
    pixel size (:func:`file_disagreement`).

    Parameters
    ----------
    record : ImageRecord
        The image.
    reading : ScaleBarReading
        Its reading.

    Returns
    -------
    dict
        :meth:`ScaleBarReading.as_json` with ``file_disagreement``.
    """
    return {**reading.as_json(), "file_disagreement": file_disagreement(record, reading)}


def read_project_scale_bars(project: Project, image_ids: list[int], *,
                            cancel: CancelToken | None = None) -> Job[dict]:
    """Read the scale bar of each image and keep the readings with the images (a job).

    Parameters
    ----------
    project : Project
        The open project.
    image_ids : list of int
        The images to read (typically the uncalibrated ones).
    cancel : CancelToken, optional
        Checked before each image.

    Yields
    ------
    Progress
        One per image, payload ``(image_id, reading as JSON or None, error or None)``.

    Returns
    -------
    dict
        Image id → the reading's JSON (with ``file_disagreement``); images without a readable
        bar are left out.
    """
    readings = {}
    for n, image_id in enumerate(image_ids):
        check_cancel(cancel)
        record = project.images.get(image_id)
        try:
            reading = read_image_scale_bar(record.path, record.page)
        except NanomorphError as exc:
            yield Progress(n + 1, len(image_ids), f"{record.name}: {exc.reason}",
                           payload=(image_id, None, exc.reason))
            continue
        result = reading_result(record, reading)
        project.results.save(image_id, KIND, {}, result, None)
        readings[image_id] = result
        yield Progress(n + 1, len(image_ids), f"read the bar of {record.name}",
                       payload=(image_id, result, None))
    return readings


def apply_reading(project: Project, image_id: int, reading: dict, *,
                  force: bool = False) -> None:
    """Make a reading the image's calibration (a per-image override).

    Parameters
    ----------
    project : Project
        The open project.
    image_id : int
        The image.
    reading : dict
        A reading's JSON (from :func:`read_project_scale_bars` or the project's results).
    force : bool
        Apply it even when it disagrees with the file's own pixel size by more than 5 %.

    Raises
    ------
    NanomorphError
        When it disagrees with the file and ``force`` is not given.
    """
    from nanomorph.io.calibration import Calibration

    disagreement = reading.get("file_disagreement")
    record = project.images.get(image_id)
    if disagreement is not None and disagreement > FILE_DISAGREEMENT and not force:
        raise NanomorphError(
            f"{record.name}: the scale bar says {reading['pixel_size']:.4g} "
            f"{reading['pixel_unit']}/px but the file records "
            f"{record.file_calibration.describe()} ({100 * disagreement:.1f} % apart); "
            "not applied")
    size = float(reading["pixel_size"])
    project.images.set_calibration(image_id, Calibration((size, size), reading["pixel_unit"],
                                                         "user"))


def reading_crop(path: str, bbox: list[int], size_px: int = 220,
                 page: int | None = None) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The neighbourhood of a read bar, with room for its label, as an 8-bit thumbnail for a
    review of the readings, and where the bar lies in it.

    Parameters
    ----------
    path : str
        The image file.
    bbox : list of int
        The bar's ``[x0, y0, x1, y1]`` (px).
    size_px : int
        The thumbnail's longer side (px).
    page : int, optional
        Which page of a stack (a project's frame).

    Returns
    -------
    (ndarray of uint8, tuple of float)
        The thumbnail (2-D), and the bar's ``x0, y0, x1, y1`` in its pixels.
    """
    from nanomorph.io import read_image
    from nanomorph.project.thumbnails import make_thumbnail

    plane = read_image(path, page=page).plane(0)
    x0, y0, x1, y1 = bbox
    width = max(1, x1 - x0)
    margin_x, margin_y = 10 + width // 6, 12 + int(0.4 * width)
    rows, cols = plane.shape
    top, left = max(0, y0 - margin_y), max(0, x0 - margin_x)
    crop = plane[top:min(rows, y1 + margin_y + 1), left:min(cols, x1 + margin_x + 1)]
    thumb = make_thumbnail(crop, size_px)
    zoom = thumb.shape[1] / crop.shape[1]
    return thumb, ((x0 - left) * zoom, (y0 - top) * zoom, (x1 + 1 - left) * zoom,
                   (y1 + 1 - top) * zoom)
