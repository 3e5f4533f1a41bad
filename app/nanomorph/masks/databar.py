"""Finding the info bar of an SEM image from its pixels (when the file's metadata does not say).

SEM software burns a bar with the acquisition data (voltage, magnification, scale bar) into the
bottom of the image: flat black (Zeiss, Hitachi, FEI) or white, with text. Its rows are mostly
one exact gray level, the image's darkest or brightest; rows of a micrograph are not (noise
spreads their values), even in a dark region. An image whose rows are mostly flat (a binary
mask, a blank test image) has no bar. Some Zeiss files have a few image rows below the bar:
everything from the top of the bar down is counted.
"""

from __future__ import annotations

import numpy as np

# A row belongs to a bar when at least this fraction of it holds the image's min or max exactly.
FLAT_FRACTION = 0.5
# A bar is at least this many rows high and at most this fraction of the image.
MIN_BAR_ROWS = 8
MAX_BAR_FRACTION = 0.25


def find_databar_rows(image2d: np.ndarray) -> int:
    """Number of rows at the bottom of ``image2d`` taken by an info bar (0 when there is none).

    Parameters
    ----------
    image2d : ndarray, shape (rows, cols)
        Gray levels, as read.

    Returns
    -------
    int
        Rows from the top of the bar to the bottom of the image.
    """
    height = image2d.shape[0]
    if image2d.size == 0:
        return 0
    flat = ((image2d == image2d.min()).mean(axis=1) >= FLAT_FRACTION) | (
        (image2d == image2d.max()).mean(axis=1) >= FLAT_FRACTION)
    first = height - int(height * MAX_BAR_FRACTION)
    top = _top_of_last_run(flat[first:], MIN_BAR_ROWS)
    if top is None or flat[:first + top].mean() >= 0.5:
        return 0
    return height - first - top


def _top_of_last_run(flags: np.ndarray, min_length: int) -> int | None:
    """Start of the last run of at least ``min_length`` True values when it ends less than
    ``min_length`` values before the end of ``flags``; else None."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    runs = [(start, end) for start, end in zip(starts, ends) if end - start >= min_length]
    if not runs or len(flags) - runs[-1][1] >= min_length:
        return None
    return int(runs[-1][0])
