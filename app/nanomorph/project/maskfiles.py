"""Mask files: lossless zlib-compressed TIFF, one per image and version, written atomically."""

from __future__ import annotations

import io
import os

import numpy as np

from nanomorph.errors import ProjectError
from nanomorph.project.atomic import atomic_write_bytes
from nanomorph.project.hashing import sha256_bytes


def write_mask(path: str | os.PathLike, mask: np.ndarray) -> str:
    """Write a 2-D label mask (uint8, or uint16 when values exceed 255); returns its SHA-256."""
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
    data = buffer.getvalue()
    atomic_write_bytes(path, data)
    return sha256_bytes(data)


def read_mask(path: str | os.PathLike) -> np.ndarray:
    import tifffile

    try:
        return tifffile.imread(path)
    except (OSError, ValueError) as e:
        raise ProjectError(f"the mask file cannot be read ({e})", path) from e
