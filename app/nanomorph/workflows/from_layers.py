"""A project made from images a user already has open (napari layers), with their masks.

An image that came from a file is added by reference (the file stays where it is); an image that
lives only in memory (a sample, a computed or pasted image) is written into the project folder as
a lossless TIFF carrying its pixel size. A mask painted for an image is stored as the image's
first mask version. The pixel size the viewer shows wins over a file that has none.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nanomorph.errors import InvalidParameterError
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel

IMAGES_FOLDER = "images"  # inside the project: the images that had no file


@dataclass(frozen=True)
class LayerImage:
    """One open image and what belongs to it.

    Attributes
    ----------
    name : str
        The layer's name.
    pixels : ndarray
        The image plane (2-D).
    path : str or None
        The file it was read from, when the pixels are that file's (added by reference).
    pixel_size_nm : (float, float) or None
        Pixel size (y, x) in nm as the viewer shows it; None when in pixels.
    mask : ndarray or None
        Labels painted for it (0 background, 1 wire, 2… other classes), same shape.
    """

    name: str
    pixels: np.ndarray
    path: str | None = None
    pixel_size_nm: tuple[float, float] | None = None
    mask: np.ndarray | None = None


def _file_name(name: str, taken: set[str]) -> str:
    """A safe, unused TIFF file name for a layer name."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "image"
    candidate, n = f"{stem}.tif", 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem}-{n}.tif"
    taken.add(candidate.lower())
    return candidate


def _write_tiff(path: Path, pixels: np.ndarray, pixel_size_nm) -> None:
    """The image as a lossless ImageJ TIFF with its pixel size (atomic)."""
    import io

    import tifffile

    from nanomorph.io.atomic import atomic_write_bytes

    buffer = io.BytesIO()
    options = {}
    if pixel_size_nm is not None:
        py, px = (v / 1e3 for v in pixel_size_nm)  # µm
        options = {"resolution": (1 / px, 1 / py), "metadata": {"unit": "um"}}
    data = pixels if pixels.dtype != np.float64 else pixels.astype(np.float32)
    tifffile.imwrite(buffer, data, imagej=True, **options)
    atomic_write_bytes(path, buffer.getvalue())


def _classes(mask: np.ndarray) -> np.ndarray:
    """Mask values as project classes: kept when they fit (0–255), else every object is wire."""
    if mask.min() < 0 or mask.max() > 255:
        return (mask != 0).astype(np.uint8)
    return mask.astype(np.uint8)


def project_from_layers(folder, images: list[LayerImage], *,
                        cancel: CancelToken | None = None) -> Job[dict]:
    """Create a project in ``folder`` from open images and their masks (a job).

    Parameters
    ----------
    folder : str or os.PathLike
        A new (or empty) folder for the project.
    images : list of LayerImage
        The images, each with its mask if one was painted.
    cancel : CancelToken, optional
        Checked before each image.

    Yields
    ------
    Progress
        One per image.

    Returns
    -------
    dict
        ``folder``, ``added`` (image names), ``referenced`` (how many stay in their files),
        ``written`` (how many were saved into the project), ``masks`` (masks stored).

    Raises
    ------
    InvalidParameterError
        When there is no image, an image is not 2-D, a mask's shape differs from its image's,
        or the folder holds files already.
    """
    from nanomorph.io.calibration import Calibration
    from nanomorph.project import Project

    if not images:
        raise InvalidParameterError("there is no image layer to make a project from")
    for image in images:
        if np.asarray(image.pixels).ndim != 2:
            raise InvalidParameterError(f"{image.name}: a project image is 2-D, this layer has "
                                        f"{np.asarray(image.pixels).ndim} dimensions")
        if image.mask is not None and image.mask.shape != image.pixels.shape:
            raise InvalidParameterError(f"{image.name}: its mask is {image.mask.shape}, the "
                                        f"image {image.pixels.shape}")
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise InvalidParameterError(f"{folder} is not empty: choose a new folder for the project")
    taken: set[str] = set()
    summary = {"folder": str(folder), "added": [], "referenced": 0, "written": 0, "masks": 0}
    with Project.create(folder) as project:
        for i, image in enumerate(images):
            check_cancel(cancel)
            path = image.path
            if path is None or not os.path.isfile(path):
                path = folder / IMAGES_FOLDER / _file_name(image.name, taken)
                path.parent.mkdir(exist_ok=True)
                _write_tiff(path, np.asarray(image.pixels), image.pixel_size_nm)
                summary["written"] += 1
            else:
                summary["referenced"] += 1
            record = project.images.add_one(path)
            if image.pixel_size_nm is not None and not record.calibration.is_length:
                project.images.set_calibration(record.id, Calibration(
                    tuple(float(v) for v in image.pixel_size_nm), "nm", "user"))
            if image.mask is not None and np.any(image.mask):
                project.masks.save(record.id, _classes(np.asarray(image.mask)), source="layer")
                summary["masks"] += 1
            summary["added"].append(image.name)
            yield Progress(i + 1, len(images), f"added {image.name}")
    return summary
