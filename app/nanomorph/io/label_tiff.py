"""Mask files: lossless zlib-compressed TIFF, one per image and version, written atomically."""

from __future__ import annotations

import io
import os

import numpy as np

from nanomorph.errors import ProjectError
from nanomorph.io.atomic import atomic_write_bytes
from nanomorph.io.hashing import sha256_bytes


def encode_label_tiff(mask: np.ndarray, path: str | os.PathLike | None = None) -> bytes:
    """A 2-D label mask as the bytes of a lossless zlib TIFF.

    Parameters
    ----------
    mask : ndarray, 2-D, integers or bool
        Labels in 0..65535 (stored as uint8, or uint16 when values exceed 255).
    path : str or os.PathLike, optional
        The file it is for, named in errors.

    Returns
    -------
    bytes
        The TIFF file's content.

    Raises
    ------
    ProjectError
        For an array that is not 2-D integers, or values outside 0..65535.
    """
    import tifffile

    mask = np.asarray(mask)
    if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer) and mask.dtype != bool:
        raise ProjectError(f"a mask must be a 2-D integer array, got {mask.dtype} {mask.shape}",
                           path)
    if mask.size and (mask.min() < 0 or mask.max() > np.iinfo(np.uint16).max):
        raise ProjectError("mask values must lie in 0..65535", path)
    dtype = np.uint8 if not mask.size or mask.max() <= 255 else np.uint16
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, mask.astype(dtype, copy=False), compression="zlib")
    return buffer.getvalue()


def write_label_tiff(path: str | os.PathLike, mask: np.ndarray) -> str:
    """Write a 2-D label mask as a lossless zlib TIFF, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    mask : ndarray, 2-D, integers or bool
        Labels in 0..65535 (stored as uint8, or uint16 when values exceed 255).

    Returns
    -------
    str
        Hex SHA-256 of the written file.
    """
    data = encode_label_tiff(mask, path)
    atomic_write_bytes(path, data)
    return sha256_bytes(data)


def read_label_tiff(path: str | os.PathLike) -> np.ndarray:
    """Read a label mask written by :func:`write_label_tiff`.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    ndarray, 2-D
        The labels.

    Raises
    ------
    ProjectError
        When the file cannot be read.
    """
    import tifffile

    try:
        return tifffile.imread(path)
    except (OSError, ValueError) as e:
        raise ProjectError(f"the mask file cannot be read ({e})", path) from e
