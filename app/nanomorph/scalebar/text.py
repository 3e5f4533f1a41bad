"""Finding lines of annotation text near a scale bar or in an info bar, without a text
detector: annotation glyphs are drawn in one flat grey level (usually the bar's own), so they
are the connected marks of that level, grouped into lines by height and spacing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# a glyph is at least this tall (px) and at most this many times wider than tall
MIN_GLYPH_PX = 5
MAX_GLYPH_ASPECT = 3.0
# glyphs join a line when the gap between them is below this many glyph heights
MAX_GAP_HEIGHTS = 1.3
# pixels within this share of the grey-level range of the text level are text
LEVEL_TOLERANCE = 0.3
# a glyph is at most this share of the searched region's height (taller marks are frames and
# table rules, such as the cell borders of an FEI info bar)
MAX_GLYPH_SHARE = 0.6


@dataclass(frozen=True)
class TextLine:
    """A line of glyphs.

    Attributes
    ----------
    x0, y0, x1, y1 : int
        Its box (px; x1 and y1 exclusive).
    glyphs : int
        The marks it holds.
    """

    x0: int
    y0: int
    x1: int
    y1: int
    glyphs: int

    @property
    def height(self) -> int:
        """Its height (px)."""
        return self.y1 - self.y0

    @property
    def centre(self) -> tuple[float, float]:
        """``(x, y)`` of its centre."""
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def padded(self, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """Its box with a margin of a quarter of its height, clipped to an image.

        Parameters
        ----------
        shape : tuple of int
            The image's shape (rows, cols, ...).

        Returns
        -------
        (int, int, int, int)
            ``x0, y0, x1, y1`` (px).
        """
        pad = max(2, self.height // 4)
        return (max(0, self.x0 - pad), max(0, self.y0 - pad),
                min(shape[1], self.x1 + pad), min(shape[0], self.y1 + pad))


def text_lines(gray: np.ndarray, region: tuple[int, int, int, int], level: float, span: float,
               exclude: tuple[int, int, int, int] | None = None,
               tolerance: float = LEVEL_TOLERANCE) -> list[TextLine]:
    """The lines of glyphs of one grey level inside a region.

    Parameters
    ----------
    gray : ndarray
        Grey levels (rows, cols).
    region : (int, int, int, int)
        ``(x0, y0, x1, y1)`` to search, clipped to the image.
    level : float
        The text's grey level.
    span : float
        The image's grey-level range.
    exclude : (int, int, int, int), optional
        A box whose marks are not text (the bar itself, with its ticks): marks that lie
        inside it are left out (a label in the gap of a split bar reaches beyond it).
    tolerance : float
        Pixels within this share of ``span`` of ``level`` are text (smaller for text drawn
        over bright specimen detail).

    Returns
    -------
    list of TextLine
        In image coordinates.
    """
    from scipy import ndimage

    rows, cols = gray.shape
    x0, y0 = max(0, int(region[0])), max(0, int(region[1]))
    x1, y1 = min(cols, int(region[2])), min(rows, int(region[3]))
    if x1 - x0 < MIN_GLYPH_PX or y1 - y0 < MIN_GLYPH_PX:
        return []
    mask = np.abs(gray[y0:y1, x0:x1] - level) <= tolerance * span
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3), bool))
    glyphs = []
    for box in ndimage.find_objects(labels):
        if box is None:
            continue
        gy0, gy1 = box[0].start + y0, box[0].stop + y0
        gx0, gx1 = box[1].start + x0, box[1].stop + x0
        height, width = gy1 - gy0, gx1 - gx0
        if exclude is not None and _inside((gx0, gy0, gx1, gy1), exclude):
            continue
        touches = box[0].start == 0 or box[0].stop == y1 - y0
        if height >= MIN_GLYPH_PX and width <= MAX_GLYPH_ASPECT * height and not touches \
                and height <= MAX_GLYPH_SHARE * (y1 - y0):
            glyphs.append((gx0, gy0, gx1, gy1))
    return _group(glyphs)


def _inside(a, b) -> bool:
    return b[0] <= a[0] and a[2] <= b[2] and b[1] <= a[1] and a[3] <= b[3]


def _group(glyphs: list[tuple[int, int, int, int]]) -> list[TextLine]:
    """Glyphs side by side on one baseline form a line (small marks such as a decimal point
    fall inside a line's box anyway). Marks much taller than the typical glyph (logos, frame
    edges) are left out first: they would join the lines above and below them."""
    if not glyphs:
        return []
    typical = float(np.median([g[3] - g[1] for g in glyphs]))
    lines: list[list[int]] = []  # x0, y0, x1, y1, count, band y0, band y1
    for gx0, gy0, gx1, gy1 in sorted(g for g in glyphs if g[3] - g[1] <= 1.8 * typical):
        height, centre = gy1 - gy0, (gy0 + gy1) / 2
        for line in lines:
            band_height = line[6] - line[5]
            on_band = line[5] <= centre <= line[6] and height <= 1.8 * band_height
            near = gx0 - line[2] <= MAX_GAP_HEIGHTS * max(height, band_height)
            if on_band and near:
                line[0], line[1] = min(line[0], gx0), min(line[1], gy0)
                line[2], line[3] = max(line[2], gx1), max(line[3], gy1)
                line[4] += 1
                break
        else:
            lines.append([gx0, gy0, gx1, gy1, 1, gy0, gy1])
    return [TextLine(*line[:5]) for line in lines]
