"""Mask files: reading them, saying which values are nanowire, mapping values, writing PNGs.

Masks come from many tools and follow no single convention: 0/1, 0/255, labels 0/127/255
(``nanowire_tem_seg``: 127 = wire, 255 = catalyst droplet), RGB(A) PNGs whose channels are
identical. The rules here are those of the ``--foreground nonzero|V[,V...]`` option of
DESIGN.md:

- ``auto`` (the default): a mask with at most two distinct values, one of them 0, is read as
  foreground = non-zero. Any other mask is refused with the values it holds, so that the user
  says which are nanowire instead of nanowire and droplet being mixed silently.
- ``nonzero``: every non-zero pixel is foreground.
- ``127`` or ``127,255``: pixels holding one of these values. A list that matches no pixel of a
  mask that holds labels is refused (the values were probably mistyped); a mask holding only 0
  is an empty mask, not an error, and a list that matches some of its values is fine (a droplet
  may be absent from some frames).
"""

from __future__ import annotations

import io
import os

import numpy as np

from nanomorph.errors import ImageReadError, InvalidParameterError
from nanomorph.io import Calibration, read_image
from nanomorph.io.gray import NOTE_LUMA

FOREGROUND_KEYWORDS = ("auto", "nonzero")
_FOREGROUND_HELP = "--foreground takes nonzero, or values like 127 or 127,255"
# How many distinct values an error message lists before abbreviating.
_LISTED_VALUES = 8


def read_mask(path) -> tuple[np.ndarray, Calibration]:
    """Read a mask file (PNG, TIFF or any format ``nanomorph.io.read_image`` reads).

    RGB(A) masks whose colour channels are identical become one channel (alpha dropped); colour
    masks whose channels differ are refused, as their gray levels would not be labels.

    Parameters
    ----------
    path : str or os.PathLike
        The mask file.

    Returns
    -------
    array : ndarray, shape (rows, cols)
        The mask values, in the file's integer dtype (a float file holding whole numbers only
        keeps its float dtype).
    calibration : Calibration
        Pixel size of the mask file, or UNCALIBRATED.

    Raises
    ------
    ImageReadError
        When the file cannot be read, holds a stack, colour, or fractional values.
    """
    image = read_image(path)
    data = image.data
    if image.is_stack:
        raise ImageReadError(f"the file holds {data.shape[0]} images: a mask is one 2-D image",
                             path)
    if NOTE_LUMA in image.metadata.get("notes", []):
        raise ImageReadError("the mask is in colour (its red, green and blue differ): save it "
                             "with gray levels or labels", path)
    if data.dtype.kind == "f" and not np.array_equal(data, np.round(data)):
        raise ImageReadError("the mask holds fractional values (a probability map?): threshold "
                             "it first, or save whole-number labels", path)
    return data, image.calibration


def parse_foreground(spec: str | tuple[int, ...]) -> str | tuple[int, ...]:
    """Parse the text of ``--foreground``.

    Parameters
    ----------
    spec : str
        ``"auto"``, ``"nonzero"``, or comma-separated whole numbers such as ``"127"`` or
        ``"127,255"``. An already parsed tuple is returned as it is.

    Returns
    -------
    str or tuple of int
        The keyword, or the sorted distinct values.

    Raises
    ------
    InvalidParameterError
        For anything else (names the accepted forms).
    """
    if isinstance(spec, tuple):
        return spec
    text = str(spec).strip().lower()
    if text in FOREGROUND_KEYWORDS:
        return text
    try:
        values = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise InvalidParameterError(f"{_FOREGROUND_HELP}, not {spec!r}") from None
    if any(v < 0 for v in values):
        raise InvalidParameterError(f"{_FOREGROUND_HELP} (mask values are never negative), "
                                    f"not {spec!r}")
    return tuple(values)


def foreground_mask(mask_array: np.ndarray, spec: str | tuple[int, ...] = "auto",
                    path=None) -> np.ndarray:
    """Which pixels of a mask are nanowire, by the ``--foreground`` rules (module docstring).

    Parameters
    ----------
    mask_array : ndarray, 2-D
        Mask values (integer, bool, or whole-number float).
    spec : str or tuple of int
        ``"auto"``, ``"nonzero"``, values such as ``"127,255"``, or a tuple from
        :func:`parse_foreground`.
    path : str or os.PathLike, optional
        The mask file, named by the errors.

    Returns
    -------
    ndarray of bool
        Same shape as ``mask_array``.

    Raises
    ------
    InvalidParameterError
        ``auto`` on a mask with other than 0 and one value, or values that match no pixel; the
        message lists the values the mask holds and how to choose.
    """
    spec = parse_foreground(spec)
    mask_array = np.asarray(mask_array)
    if spec == "nonzero":
        return mask_array != 0
    found = _distinct_values(mask_array)
    if spec == "auto":
        if len(found) <= 2 and (not found or found[0] == 0):
            return mask_array != 0
        example = next((v for v in found if v != 0), 1)
        raise InvalidParameterError(
            f"the mask holds {_values_phrase(found)}: say which are nanowire with "
            f"--foreground (e.g. --foreground {example}, or --foreground nonzero)", path)
    if found not in ([], [0]) and not set(spec) & set(found):
        raise InvalidParameterError(
            f"no pixel of the mask holds {_describe_values(list(spec))} (it holds "
            f"{_values_phrase(found)}): choose --foreground among those values", path)
    return np.isin(mask_array, spec)


def map_mask_values(array: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    """Relabel a mask, e.g. ``{127: 1, 255: 2}`` to import it into a project.

    Parameters
    ----------
    array : ndarray
        Mask values.
    mapping : dict of int to int
        Source value to label (0..255). Values not in ``mapping`` become 0.

    Returns
    -------
    ndarray of uint8
        Same shape as ``array``.

    Raises
    ------
    InvalidParameterError
        When a label lies outside 0..255.
    """
    bad = [label for label in mapping.values() if not 0 <= int(label) <= 255]
    if bad:
        raise InvalidParameterError(f"mask labels must lie in 0..255, not {bad}")
    array = np.asarray(array)
    out = np.zeros(array.shape, np.uint8)
    for value, label in mapping.items():
        out[array == value] = label
    return out


def write_mask_png(path, mask: np.ndarray) -> None:
    """Write a mask as a lossless gray PNG, atomically (temporary file, then rename).

    Parameters
    ----------
    path : str or os.PathLike
        The PNG file; its folder must exist.
    mask : ndarray, 2-D
        bool (written 0/255 so that it shows in any viewer; read back with
        ``--foreground nonzero`` or ``auto``) or integer labels in 0..65535 (written as they
        are: 8-bit when all fit in 0..255, else 16-bit).

    Raises
    ------
    InvalidParameterError
        For a mask that is not 2-D, not bool/integer, or has labels outside 0..65535.
    OSError
        When the file cannot be written.
    """
    from PIL import Image

    from nanomorph.io.atomic import atomic_write_bytes

    mask = np.asarray(mask)
    if mask.ndim != 2 or not (mask.dtype == bool or mask.dtype.kind in "ui"):
        raise InvalidParameterError(f"a mask must be a 2-D bool or integer array, got "
                                    f"{mask.dtype} {mask.shape}", path)
    if mask.dtype == bool:
        pixels = mask.astype(np.uint8) * np.uint8(255)
    else:
        if mask.size and (mask.min() < 0 or mask.max() > 65535):
            raise InvalidParameterError("mask labels must lie in 0..65535", path)
        pixels = mask.astype(np.uint8 if not mask.size or mask.max() <= 255 else np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    atomic_write_bytes(os.fspath(path), buffer.getvalue())


def _distinct_values(array: np.ndarray) -> list:
    """Sorted distinct values as Python numbers (bincount for small unsigned integers)."""
    if array.dtype == bool:
        array = array.view(np.uint8)
    if array.dtype in (np.uint8, np.uint16) and array.size:
        return np.flatnonzero(np.bincount(array.ravel())).tolist()
    values = np.unique(array).tolist()
    return [int(v) if float(v).is_integer() else v for v in values]


def _values_phrase(values: list) -> str:
    """``values 0, 127, 255`` or ``only the value 255``."""
    if len(values) == 1:
        return f"only the value {values[0]}"
    return f"values {_describe_values(values)}"


def _describe_values(values: list) -> str:
    """``0, 127, 255``; long lists abbreviated, e.g. ``0, 1, 2, … 255 (256 values)``."""
    text = [str(v) for v in values]
    if len(text) > _LISTED_VALUES:
        return f"{', '.join(text[:3])}, … {text[-1]} ({len(text)} values)"
    return ", ".join(text) or "nothing (an empty array)"
