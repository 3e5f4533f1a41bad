"""Colour to gray: the one rule every reader applies to RGB, RGBA and palette images.

- Alpha is dropped.
- When R, G and B are identical (a gray image saved as colour), one channel is taken as it is:
  exact values, dtype kept.
- Otherwise the gray level is the ITU-R BT.709 luma ``0.2125 R + 0.7154 G + 0.0721 B`` (the
  weights of ``skimage.color.rgb2gray``), computed in float64 and rounded to the nearest integer
  of the input dtype (float input stays float).
- A 1-bit (bilevel) image becomes uint8 0 and 255.
- A palette image takes the gray levels of its colour table: the table is converted by the rule
  above and looked up with the pixel indices. TIFF tables hold 16-bit entries; for 8-bit images
  their upper byte is used, which maps both writer conventions (``i·256`` and ``i·257``) back to
  ``i``.
"""

from __future__ import annotations

import numpy as np

LUMA_BT709 = np.array([0.2125, 0.7154, 0.0721])

NOTE_ALPHA = "alpha channel dropped"
NOTE_IDENTICAL = "RGB with identical channels: gray taken from one channel"
NOTE_LUMA = "RGB converted to gray (BT.709)"
NOTE_BILEVEL = "1-bit image read as 0 and 255"


def rgb_to_gray(rgb: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Gray levels of an RGB or RGBA array.

    Parameters
    ----------
    rgb : ndarray, shape (..., 3) or (..., 4)
        Colour channels last; integer or float.

    Returns
    -------
    gray : ndarray, shape (...)
        Same dtype as ``rgb``.
    notes : list of str
        What was done, for ``MicroscopeImage.metadata["notes"]``.
    """
    notes = [NOTE_ALPHA] if rgb.shape[-1] == 4 else []
    red, green, blue = (rgb[..., i] for i in range(3))
    if np.array_equal(red, green) and np.array_equal(green, blue):
        return red.copy(), [*notes, NOTE_IDENTICAL]
    luma = rgb[..., :3] @ LUMA_BT709
    return _to_dtype(luma, rgb.dtype), [*notes, NOTE_LUMA]


def palette_to_gray(indices: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Gray levels of a palette image.

    Parameters
    ----------
    indices : ndarray of unsigned int
        Pixel values: indices into ``table``.
    table : ndarray, shape (n, 3)
        The colour table (RGB), in the dtype the gray image should have.

    Returns
    -------
    gray : ndarray
        ``indices.shape``, dtype of ``table``.
    notes : list of str
    """
    gray_table, table_notes = rgb_to_gray(table)
    how = "colours by BT.709 luma" if NOTE_LUMA in table_notes else "a gray table"
    return gray_table[indices], [f"palette image: gray levels taken from its colour table ({how})"]


def tiff_palette_table(colormap: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A TIFF ColorMap as a lookup table.

    Parameters
    ----------
    colormap : ndarray, shape (3, n)
        The TIFF tag's 16-bit entries.
    dtype : numpy.dtype
        uint8 or uint16: the table's type.

    Returns
    -------
    ndarray, shape (n, 3)
        RGB per palette index, in ``dtype``.
    """
    table = colormap.T.astype(np.uint16)
    return (table >> 8).astype(np.uint8) if np.dtype(dtype).itemsize == 1 else table


def structured_to_channels(data: np.ndarray) -> np.ndarray:
    """A structured RGB(A) array (rosettasciio's colour images) as a plain array.

    Parameters
    ----------
    data : ndarray
        Structured dtype with fields ``R``, ``G``, ``B`` (and ``A``).

    Returns
    -------
    ndarray
        Channels last.
    """
    from numpy.lib.recfunctions import structured_to_unstructured

    return structured_to_unstructured(data)


def _to_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``values`` (float) rounded and clipped into integer ``dtype``; float dtypes just cast."""
    if not np.issubdtype(dtype, np.integer):
        return values.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.rint(values), info.min, info.max).astype(dtype)
