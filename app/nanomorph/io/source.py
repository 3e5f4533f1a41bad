"""What a format module hands to ``readers``: the header facts of a file and how to read its pixels."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nanomorph.errors import ImageReadError
from nanomorph.io.calibration import UNCALIBRATED, Calibration

# page (None: every page; a slice: those pages of a stack, stacked) -> (gray pixels, notes on
# what was converted)
Loader = Callable[[int | slice | None], tuple[np.ndarray, list[str]]]


@dataclass
class Source:
    """An opened image file whose pixels are not read yet.

    Attributes
    ----------
    format : str
        What the file is, e.g. ``"Gatan DM3"``, ``"TIFF (FEI)"``.
    shape : tuple of int
        Shape of the gray image ``load`` returns for ``page=None``: (y, x) or (n, y, x).
    dtype : numpy.dtype
        dtype of the gray image.
    load : callable
        ``load(page)`` reads the gray pixels (one page of a stack, a slice of its pages, or all
        when None) and returns them with notes on conversions (colour to gray …).
    calibration : Calibration
    metadata : dict
        Instrument facts, ``notes`` and ``databar_rows`` (see ``MicroscopeImage``).
    """

    format: str
    shape: tuple[int, ...]
    dtype: np.dtype
    load: Loader
    calibration: Calibration = UNCALIBRATED
    metadata: dict = field(default_factory=dict)

    def add_note(self, note: str) -> None:
        """Add a line for the user about how the file was read.

        Parameters
        ----------
        note : str
            E.g. which of several images was taken.
        """
        self.metadata.setdefault("notes", []).append(note)


def load_frames(read, frames: int, page: int | slice | None) -> tuple[np.ndarray, list[str]]:
    """A loader's answer for a stack read frame by frame: all frames, one, or a slice.

    Parameters
    ----------
    read : callable
        ``read(start, stop)`` → ndarray (stop − start, rows, cols) of those frames.
    frames : int
        Frames in the file.
    page : int, slice or None
        What the caller asks for (:data:`Loader`).

    Returns
    -------
    (ndarray, list of str)
        (rows, cols) for one frame or a one-frame file, else (n, rows, cols); no notes.
    """
    start, stop = (0, frames) if page is None else \
        (page, page + 1) if isinstance(page, int) else page.indices(frames)[:2]
    data = read(start, stop)
    return (data[0] if isinstance(page, int) or frames == 1 else data), []


def check_pixels(shape: tuple[int, ...], max_pixels: int, path: str) -> None:
    """Refuse an image whose declared shape holds too many pixels.

    Called on header shapes, before any pixel is read, so a corrupt or hostile header cannot make
    nanomorph allocate gigabytes.

    Parameters
    ----------
    shape : tuple of int
        The declared shape.
    max_pixels : int
        The most pixels allowed.
    path : str
        The file (named in the error).

    Raises
    ------
    ImageReadError
        When the shape holds more than ``max_pixels`` pixels.
    """
    n_pixels = math.prod(int(n) for n in shape)
    if n_pixels > max_pixels:
        size = " × ".join(f"{int(n):,}" for n in shape)
        raise ImageReadError(
            f"the image is {size} pixels ({n_pixels / 1e9:.3g} gigapixels), more than the "
            f"{max_pixels / 1e9:.3g} gigapixels nanomorph reads at once",
            path,
        )
