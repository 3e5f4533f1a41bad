"""Image / mask pairs: ``PAIRS.csv``, reading the files, and checking that they belong together.

``PAIRS.csv`` (DESIGN.md) has the columns ``image,mask``; relative paths are relative to the
CSV's folder. A pair is refused when its mask is not the image's size (both shapes named), or
holds unusable values (:mod:`nanomorph.segment.classes`); a mask without foreground is a fine
negative example as long as another mask has foreground.

The rows of an SEM info bar (from the file's metadata, else found from the pixels, see
:func:`nanomorph.masks.databar_rows_of`) are cut off image and mask before training, and are
background in predictions.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from nanomorph.errors import InvalidParameterError, NanomorphError
from nanomorph.segment.classes import SegmentClasses, classes_from_masks

PAIRS_COLUMNS = ("image", "mask")


@dataclass(frozen=True)
class TrainingPair:
    """One image and its class labels, info bar already cut off.

    Attributes
    ----------
    name : str
        The image's path or another name for messages and the training history.
    image : ndarray, shape (rows, cols)
        Gray levels, any real dtype.
    labels : ndarray of uint8, shape (rows, cols)
        Class index of every pixel (0 = background).
    pixel_size_nm : float or None
        The image's pixel size (nm), None when unknown.
    """

    name: str
    image: np.ndarray
    labels: np.ndarray
    pixel_size_nm: float | None = None


def at_pixel_size(pair: TrainingPair, pixel_size_nm: float | None) -> TrainingPair:
    """A pair resampled to a working pixel size (:mod:`nanomorph.segment.scale`).

    Parameters
    ----------
    pair : TrainingPair
    pixel_size_nm : float or None
        The working pixel size (nm); None leaves the pair as it is.

    Returns
    -------
    TrainingPair
        The image resampled linearly (float32), the labels by nearest neighbour, and the pixel
        size it now has; the pair itself when the factor is 1.
    """
    from nanomorph.segment.scale import (
        resample_factor,
        resample_image,
        resample_labels,
        scaled_shape,
    )

    factor = resample_factor(pair.pixel_size_nm, pixel_size_nm)
    if factor == 1.0:
        return pair
    shape = scaled_shape(pair.image.shape, factor)
    return TrainingPair(pair.name, resample_image(pair.image, shape),
                        resample_labels(pair.labels, shape), pair.pixel_size_nm / factor)


def read_pairs_csv(path: str | os.PathLike, *, with_groups: bool = False):
    """The (image, mask) paths listed in a ``PAIRS.csv``, resolved against its folder.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file (columns ``image``, ``mask``, optionally ``group``: the acquisition run,
        video or sample an image belongs to).
    with_groups : bool
        Also return each pair's group.

    Returns
    -------
    list of (str, str)
        (image path, mask path) per row; with ``with_groups``, a tuple of that list and the
        groups (one str per pair, or None when the file has no ``group`` column).

    Raises
    ------
    NanomorphError
        The file cannot be read, lacks an ``image`` or ``mask`` column, has a row with an empty
        cell (a ``group`` column must be filled on every row), or lists no pair. Missing image
        files are not checked here (reading them says so).
    """
    folder = os.path.dirname(os.path.abspath(path))
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            columns = [c.strip() for c in reader.fieldnames or []]
            if any(c not in columns for c in PAIRS_COLUMNS):
                raise NanomorphError(f"the header must name the columns image,mask; found "
                                     f"{','.join(columns) or 'nothing'}", path)
            reader.fieldnames = columns
            grouped = "group" in columns
            pairs, groups = [], []
            for row in reader:
                cells = [(row.get(c) or "").strip() for c in PAIRS_COLUMNS]
                if not any(cells):
                    continue
                if not all(cells):
                    raise NanomorphError(f"line {reader.line_num} needs both an image and a "
                                         "mask", path)
                group = (row.get("group") or "").strip()
                if grouped and not group:
                    raise NanomorphError(f"line {reader.line_num} has no group (the group "
                                         "column must be filled on every line)", path)
                pairs.append(tuple(os.path.normpath(os.path.join(folder, c)) for c in cells))
                groups.append(group)
    except OSError as exc:
        raise NanomorphError(f"cannot read the pairs file ({exc.strerror or exc})", path) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise NanomorphError(f"not a UTF-8 CSV file ({exc})", path) from None
    if not pairs:
        raise NanomorphError("the pairs file lists no image", path)
    if with_groups:
        return pairs, groups if grouped else None
    return pairs


class PairData(NamedTuple):
    """One image and its mask as read (:func:`read_pair`).

    Attributes
    ----------
    image : ndarray, 2-D
        Gray levels.
    mask : ndarray, 2-D
        Mask values.
    databar_rows : int
        Info-bar rows of the image.
    pixel_size_nm : float or None
        The image's pixel size (nm) when asked for and known.
    """

    image: np.ndarray
    mask: np.ndarray
    databar_rows: int
    pixel_size_nm: float | None


def read_pair(image_path, mask_path, *, pixel_size: bool = False) -> PairData:
    """Read one image and its mask.

    Parameters
    ----------
    image_path, mask_path : str or os.PathLike
        The two files.
    pixel_size : bool
        Also find the image's pixel size: its file's calibration, else its scale bar
        (:func:`nanomorph.scalebar.image_pixel_size_nm`).

    Returns
    -------
    PairData

    Raises
    ------
    NanomorphError
        Unreadable files (the error names the file), a stack, or a mask whose shape differs
        from the image's.
    """
    from nanomorph.io import read_image
    from nanomorph.io.mask_files import read_mask
    from nanomorph.masks import databar_rows_of
    from nanomorph.scalebar import image_pixel_size_nm

    image = read_image(image_path)
    if image.is_stack:
        raise NanomorphError(f"the file holds {image.shape[0]} images: give one 2-D image per "
                             "mask", image_path)
    mask, _ = read_mask(mask_path)
    check_same_shape(image.data, mask, mask_path)
    return PairData(image.data, mask, databar_rows_of(image),
                    image_pixel_size_nm(image) if pixel_size else None)


def check_same_shape(image: np.ndarray, mask: np.ndarray, path=None) -> None:
    """Refuse a mask that does not cover its image pixel for pixel.

    Parameters
    ----------
    image, mask : ndarray
        The two arrays.
    path : str, optional
        The mask's file, named in the error.

    Raises
    ------
    InvalidParameterError
        When the shapes differ (the message names both).
    """
    if np.shape(image) != np.shape(mask):
        raise InvalidParameterError(
            f"the mask is {_shape(mask)} pixels but its image is {_shape(image)}: a mask must "
            "have the image's size", path)


def prepare_pairs(images: list[np.ndarray], masks: list[np.ndarray], *,
                  foreground: str | tuple[int, ...] = "auto", names: list[str] | None = None,
                  databar_rows: list[int] | None = None, nanowire_value: int | None = None,
                  pixel_sizes: list[float | None] | None = None
                  ) -> tuple[list[TrainingPair], SegmentClasses]:
    """Check training pairs, find their classes, and turn masks into class labels.

    Parameters
    ----------
    images, masks : list of ndarray
        2-D gray images and their masks (same shapes).
    foreground : str or tuple of int
        ``"auto"``, ``"nonzero"`` or mask values (:func:`classes_from_masks`).
    names : list of str, optional
        For messages (default ``"pair 1"`` …); masks' paths when they come from files.
    databar_rows : list of int, optional
        Info-bar rows of each image, cut off image and mask (0 or None: none).
    nanowire_value : int, optional
        Multi-class masks: the value of the nanowire class.
    pixel_sizes : list of float or None, optional
        Pixel size (nm) of each image, None where unknown.

    Returns
    -------
    pairs : list of TrainingPair
    classes : SegmentClasses

    Raises
    ------
    InvalidParameterError
        No pair, shapes that differ, images that are not 2-D, unusable mask values, or no
        foreground in any mask ("the mask has no foreground").
    """
    if not images or len(images) != len(masks):
        raise InvalidParameterError("training needs at least one image with its mask")
    names = list(names) if names is not None else [f"pair {i + 1}" for i in range(len(images))]
    bars = list(databar_rows) if databar_rows is not None else [0] * len(images)
    cut_images, cut_masks = [], []
    for image, mask, name, bar in zip(images, masks, names, bars):
        image, mask = np.asarray(image), np.asarray(mask)
        if image.ndim != 2:
            raise InvalidParameterError(f"expected a 2-D gray image, got shape {image.shape}",
                                        name)
        check_same_shape(image, mask, name)
        rows = image.shape[0] - int(bar or 0)
        cut_images.append(image[:rows])
        cut_masks.append(mask[:rows])
    classes = classes_from_masks(cut_masks, foreground, paths=names,
                                 nanowire_value=nanowire_value)
    sizes = list(pixel_sizes) if pixel_sizes is not None else [None] * len(images)
    pairs = [TrainingPair(name, image, classes.labels_of(mask), size)
             for name, image, mask, size in zip(names, cut_images, cut_masks, sizes)]
    if not any(pair.labels.any() for pair in pairs):
        which = names[0] if len(pairs) == 1 else None
        raise InvalidParameterError(
            "the mask has no foreground: every pixel is background"
            + ("" if which else f" in all {len(pairs)} masks")
            + (f" (foreground values {','.join(map(str, classes.values[1]))})"
               if classes.is_binary else ""), which)
    return pairs, classes


def _shape(array) -> str:
    return " × ".join(map(str, np.shape(array)))

