"""The fields of an SEM info bar that give the pixel size: the horizontal field width (FEI
``HFW 41.4 µm``, Zeiss ``Width = 7.520 µm``) over the image width, or a stated pixel size
(``Pixel Size = 7.344 nm``). A field's value may stand after its name on the same line or, in
FEI's table, on the line below it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from nanomorph.scalebar.parse import Length, parse_length
from nanomorph.scalebar.text import TextLine, text_lines

_FIELD_WIDTH = re.compile(r"\b(hfw|width|fov|field of view)\b", re.IGNORECASE)
_PIXEL_SIZE = re.compile(r"\bpixel\s*size\b", re.IGNORECASE)
MAX_LINES = 30  # lines of an info bar read at most (each is one OCR call, ~25 ms)


@dataclass(frozen=True)
class InfoBarReading:
    """What the info bar says about the pixel size.

    Attributes
    ----------
    field : str
        ``field width`` or ``pixel size``.
    length : Length
        The value read.
    pixel_size_nm : float
        The pixel size it gives (nm).
    """

    field: str
    length: Length
    pixel_size_nm: float


def read_info_bar(gray: np.ndarray, databar_rows: int, read_line) -> InfoBarReading | None:
    """The pixel size an info bar states, if it states one.

    Parameters
    ----------
    gray : ndarray
        Grey levels (rows, cols) of the whole image, info bar included.
    databar_rows : int
        Rows at the bottom that hold the info bar.
    read_line : callable
        ``read_line(image, box) -> (text, score)``.

    Returns
    -------
    InfoBarReading or None
        None when the bar holds no field width and no pixel size.
    """
    rows, cols = gray.shape
    if databar_rows <= 0:
        return None
    strip = gray[rows - databar_rows:]
    low, high = float(strip.min()), float(strip.max())
    if high <= low:
        return None
    background = float(np.median(strip))
    level = high if abs(high - background) >= abs(background - low) else low  # the text
    lines = text_lines(gray, (0, rows - databar_rows, cols, rows), level, high - low)
    read = [(line, read_line(gray, line.padded(gray.shape))[0])
            for line in sorted(lines, key=lambda l: (l.y0, l.x0))[:MAX_LINES]]
    for line, text in read:
        if _PIXEL_SIZE.search(text):
            length = _value_of(line, text, read)
            if length is not None:
                return InfoBarReading("pixel size", length, length.nm)
    for line, text in read:
        if _FIELD_WIDTH.search(text):
            length = _value_of(line, text, read)
            if length is not None:
                return InfoBarReading("field width", length, length.nm / cols)
    return None


def _value_of(key: TextLine, text: str, read: list[tuple[TextLine, str]]) -> Length | None:
    """The length after a field's name on its line (or the next line to its right on the
    same baseline: ``Width = 7.520 µm`` reads as two), else on the nearest line below it that
    shares its columns (FEI's table)."""
    same_line = parse_length(re.split(r"[=:]", text, maxsplit=1)[-1])
    if same_line is not None:
        return same_line
    right = [(line, t) for line, t in read if line.x0 >= key.x1 - 2
             and abs(line.centre[1] - key.centre[1]) <= key.height / 2
             and line.x0 - key.x1 <= 8 * key.height]
    below = [(line, t) for line, t in read if line.y0 >= key.y1 - 2
             and line.x0 < key.x1 + key.height and key.x0 < line.x1 + key.height]
    for line, t in sorted(right, key=lambda item: item[0].x0) + sorted(
            below, key=lambda item: item[0].y0 - key.y1):
        length = parse_length(t)
        if length is not None:
            return length
    return None
