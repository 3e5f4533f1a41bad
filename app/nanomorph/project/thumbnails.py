"""Image-browser thumbnails, cached as PNG in the project's ``cache/thumbnails`` folder."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nanomorph.errors import NanomorphError
from nanomorph.io.atomic import atomic_write_bytes
from nanomorph.io.intensity import normalise_percentiles
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel
from nanomorph.project.image_records import ImageRecord
from nanomorph.project.paths import checked_sha256
from nanomorph.project.store import Project

THUMBNAIL_PX = 128


def make_thumbnail(plane: np.ndarray, size_px: int = THUMBNAIL_PX) -> np.ndarray:
    """An 8-bit thumbnail (area-averaged, percentile-scaled).

    Parameters
    ----------
    plane : ndarray, 2-D
        Gray levels.
    size_px : int
        Its longer side.

    Returns
    -------
    ndarray of uint8
        The thumbnail.
    """
    from skimage.transform import resize

    scale = size_px / max(plane.shape)
    shape = tuple(max(1, round(s * scale)) for s in plane.shape)
    small = resize(normalise_percentiles(plane), shape, anti_aliasing=scale < 1,
                   preserve_range=True)
    return np.round(small * 255).astype(np.uint8)


def thumbnail_path(project: Project, record: ImageRecord, size_px: int = THUMBNAIL_PX) -> Path:
    """Where the project caches an image's thumbnail.

    Parameters
    ----------
    project : Project
        The open project.
    record : ImageRecord
        The image.
    size_px : int
        Longer side of the thumbnail.

    Returns
    -------
    Path
        ``cache/thumbnails/<sha256>_<size>.png``.
    """
    sha = checked_sha256(record.sha256, f"image {record.id}")
    return project.cache_dir / "thumbnails" / f"{sha}_{int(size_px)}.png"


def thumbnail(project: Project, record: ImageRecord, size_px: int = THUMBNAIL_PX) -> np.ndarray:
    """An image's thumbnail, from the cache or computed and cached (first page of a stack).

    Parameters
    ----------
    project : Project
        The open project (not written when read-only).
    record : ImageRecord
        The image.
    size_px : int
        Longer side of the thumbnail.

    Returns
    -------
    ndarray of uint8
        The thumbnail.
    """
    import imageio.v3 as iio

    from nanomorph.io import read_image

    path = thumbnail_path(project, record, size_px)
    if path.is_file():
        try:
            return iio.imread(path)
        except (OSError, ValueError):
            pass  # a damaged cache entry is rebuilt below
    thumb = make_thumbnail(read_image(record.path, page=record.page).data,
                           size_px)
    if not project.read_only:
        buffer = io.BytesIO()
        iio.imwrite(buffer, thumb, extension=".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
    return thumb


def thumbnails_job(project: Project, records: Sequence[ImageRecord], *,
                   cancel: CancelToken | None = None) -> Job[int]:
    """Make (or load) thumbnails (a job).

    Parameters
    ----------
    project : Project
        The open project.
    records : sequence of ImageRecord
        The images.
    cancel : CancelToken, optional
        Checked before each image.

    Yields
    ------
    Progress
        One per image, payload ``(image id, thumbnail or None)``: a file that cannot be read gives
        None and the job goes on.

    Returns
    -------
    int
        The number of thumbnails delivered.
    """
    delivered = 0
    for i, record in enumerate(records):
        check_cancel(cancel)
        try:
            thumb = thumbnail(project, record)
            delivered += 1
        except (NanomorphError, OSError):
            thumb = None
        yield Progress(i + 1, len(records), record.name, payload=(record.id, thumb))
    return delivered
