"""Finding the scale bar drawn into a micrograph: the longest clean horizontal bar.

A burned-in scale bar is an annotation, not part of the specimen: a run of pixels of one exact
grey level (pure white or pure black, give or take compression), one to a dozen pixels thick, in
front of a background of another level. Wires are straight and thin too, but their pixels carry
noise and texture; that uniformity is what tells them apart. Found here, for either polarity:

- solid bars (TEM frames: a thick white bar with its label above),
- brackets (``|——|`` of Zeiss info bars): the stroke between two end ticks, measured
  between the ticks' centres,
- rulers (Hitachi's row of ticks, no line): three or more evenly spaced ticks of one level
  whose tops line up, measured from the first tick's centre to the last's,
- split bars (FEI: ``—— 10 µm ——``, the label in a gap of the line): two collinear strokes
  of one thickness joined across the label.

Solid bars are measured between their outer ends along their rows, to a fraction of a pixel
from the grey level of the partly covered end pixels; bars with end ticks between the ticks'
centres (the convention of the microscopes that draw them: it gives the Zeiss bracket of the
TiO2 set 27.0 px for 200 nm, 0.9 % from the 7.344 nm/px of its metadata; its outer ends would
give 6 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# a bar is at least this long (px), and this many times longer than it is thick
MIN_LENGTH_PX = 12
MIN_ASPECT = 4.0
MAX_THICKNESS_PX = 24
# share of a bar's pixels within UNIFORM_TOLERANCE of its grey level (annotations are flat)
MIN_UNIFORM_FRACTION = 0.9
UNIFORM_TOLERANCE = 0.04  # of the image's grey-level range (at least 3/4 of the pass's)
# pixels within these shares of the range from the extreme level belong to a bar candidate:
# tight first (burned-in annotations are the exact extreme; a noisy bright background then
# stays apart from a white bar), wider for compressed pictures
EXTREME_TOLERANCES = (0.03, 0.12)
# a bar stands out from the rows beside it by at least this share of the range
MIN_CONTRAST = 0.2
# ticks: vertical strokes at least this tall, at most this wide
MIN_TICK_PX = 4
MAX_TICK_WIDTH_PX = 6
# a ruler's tick spacings agree within this share of their mean
RULER_SPACING_TOLERANCE = 0.12


@dataclass(frozen=True)
class Bar:
    """A scale-bar candidate.

    Attributes
    ----------
    x0, x1 : float
        Its left and right ends along its rows (px, sub-pixel; column coordinates).
    y0, y1 : int
        First and last row + 1 of its stroke.
    polarity : str
        ``bright`` (light bar on a darker background) or ``dark``.
    style : str
        ``solid``, ``bracket`` (end ticks), ``ruler`` (ticks only) or ``split`` (two strokes
        joined across a label in the gap).
    touches_edge : bool
        It reaches the left or right edge of the image (perhaps cut).
    uniformity : float
        Share of its pixels at its grey level (0–1).
    """

    x0: float
    x1: float
    y0: int
    y1: int
    polarity: str
    style: str
    touches_edge: bool
    uniformity: float

    @property
    def length_px(self) -> float:
        """Length between its ends (px)."""
        return self.x1 - self.x0

    @property
    def thickness_px(self) -> int:
        """Rows of its stroke."""
        return self.y1 - self.y0

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)``, whole pixels enclosing it."""
        return int(np.floor(self.x0)), self.y0, int(np.ceil(self.x1)), self.y1


def to_gray(image: np.ndarray) -> np.ndarray:
    """A 2-D float array of an image's grey levels (RGB(A) averaged).

    Parameters
    ----------
    image : ndarray
        (rows, cols) or (rows, cols, 3|4), any real dtype.

    Returns
    -------
    ndarray of float64
        (rows, cols).

    Raises
    ------
    ValueError
        For any other shape.
    """
    data = np.asarray(image)
    if data.ndim == 3 and data.shape[-1] in (3, 4):
        data = data[..., :3].mean(axis=-1)
    if data.ndim != 2:
        raise ValueError(f"expected a 2-D image or an RGB picture, got shape {data.shape}")
    return data.astype(np.float64)


def find_bars(image: np.ndarray) -> list[Bar]:
    """Every horizontal scale-bar candidate, longest first.

    Parameters
    ----------
    image : ndarray
        Grey levels (rows, cols) or an RGB picture.

    Returns
    -------
    list of Bar
        Candidates of both polarities; empty for an image with none (or a flat image).
    """
    gray = to_gray(image)
    finite = gray[np.isfinite(gray)]
    if finite.size == 0 or gray.shape[0] < 8 or gray.shape[1] < MIN_LENGTH_PX * 2:
        return []
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        return []
    gray = np.where(np.isfinite(gray), gray, low)
    span = high - low
    bars: list[Bar] = []
    for tolerance in EXTREME_TOLERANCES:
        for polarity, mask in (("bright", gray >= high - tolerance * span),
                               ("dark", gray <= low + tolerance * span)):
            uniform = max(UNIFORM_TOLERANCE, 0.75 * tolerance) * span  # JPEG's ringing
            ticks = _ticks(mask, gray, uniform)
            strokes = [_measure(gray, stroke, polarity, span, uniform)
                       for stroke in _strokes(mask)]
            strokes = [_bracket(bar, mask) for bar in strokes if bar is not None]
            found = _join_split(strokes, gray, span) + _rulers(ticks, polarity, gray, span)
            bars += [b for b in found if not any(_same(b, other) for other in bars)]
    return sorted(_without_pieces(_without_outlines(bars)), key=lambda b: -b.length_px)


def _without_pieces(bars: list[Bar]) -> list[Bar]:
    """Drop the pieces of a bar (a compressed bar's stretches found at the tight tolerance,
    inside the whole bar found at the wide one)."""
    def piece_of(piece: Bar, bar: Bar) -> bool:
        return (piece is not bar and piece.polarity == bar.polarity
                and piece.length_px < bar.length_px and piece.y0 < bar.y1 and bar.y0 < piece.y1
                and piece.x0 >= bar.x0 - 1 and piece.x1 <= bar.x1 + 1)

    return [b for b in bars if not any(piece_of(b, other) for other in bars)]


def _same(a: Bar, b: Bar) -> bool:
    """Two candidates of one bar (found at two tolerances)."""
    return (a.polarity == b.polarity and abs(a.y0 - b.y0) <= 2 and abs(a.x0 - b.x0) <= 2
            and abs(a.x1 - b.x1) <= 2)


def _without_outlines(bars: list[Bar]) -> list[Bar]:
    """Drop the outline of a bar: a stroke of the other polarity right along its top or
    bottom edge over the same columns (a white bar drawn with a black border)."""
    def outlines(thin: Bar, bar: Bar) -> bool:
        return (thin.polarity != bar.polarity and thin.thickness_px < bar.thickness_px
                and (thin.y1 == bar.y0 or thin.y0 == bar.y1)
                and abs(thin.x0 - bar.x0) <= 2 and abs(thin.x1 - bar.x1) <= 2)

    return [b for b in bars if not any(outlines(b, other) for other in bars)]


def _ticks(mask: np.ndarray, gray: np.ndarray,
           uniform: float) -> list[tuple[int, int, float, int]]:
    """Vertical ticks of ``mask`` drawn in one flat grey level (pixels within ``uniform``
    grey levels of their median): (row0, row1, centre column as an edge coordinate, width)."""
    from scipy import ndimage

    opened = ndimage.binary_opening(mask, structure=np.ones((MIN_TICK_PX, 1), bool))
    labels, _ = ndimage.label(opened)
    ticks = []
    for box in ndimage.find_objects(labels):
        if box is None:
            continue
        rows, cols = box
        height, width = rows.stop - rows.start, cols.stop - cols.start
        if width > MAX_TICK_WIDTH_PX or height < 2 * width:
            continue
        core = gray[box]
        if np.mean(np.abs(core - np.median(core)) <= uniform) \
                >= MIN_UNIFORM_FRACTION:
            ticks.append((rows.start, rows.stop, (cols.start + cols.stop) / 2, width))
    return ticks


def _even_heights(row) -> bool:
    """The inner ticks of a ruler are one height (±1 px); the end ticks may be longer."""
    heights = [t[1] - t[0] for t in row]
    inner = heights[1:-1]
    return max(inner) - min(inner) <= 1 and min(heights[0], heights[-1]) >= min(inner) - 1


def _bracket(bar: Bar, mask: np.ndarray) -> Bar:
    """A stroke with a tick at each end (marks of its level reaching above or below it at
    its ends) is a bracket, measured between the ticks' centres."""
    reach = max(2, bar.thickness_px)
    left = _end_tick(mask, bar, int(np.floor(bar.x0)), reach)
    right = _end_tick(mask, bar, int(np.ceil(bar.x1)) - 1, reach)
    if left is None or right is None:
        return bar
    return Bar(left, right, bar.y0, bar.y1, bar.polarity, "bracket", bar.touches_edge,
               bar.uniformity)


def _end_tick(mask: np.ndarray, bar: Bar, end: int, reach: int) -> float | None:
    """The centre (edge coordinate) of the tick at one end of a stroke: the columns near the
    end whose marks extend at least ``reach`` rows beyond the stroke, above or below."""
    rows = mask.shape[0]
    columns = []
    for x in range(max(0, end - MAX_TICK_WIDTH_PX), min(mask.shape[1], end + MAX_TICK_WIDTH_PX
                                                        + 1)):
        above = mask[max(0, bar.y0 - reach):bar.y0, x]
        below = mask[bar.y1:min(rows, bar.y1 + reach), x]
        if (above.size == reach and above.all()) or (below.size == reach and below.all()):
            columns.append(x)
    if not columns or columns[-1] - columns[0] + 1 > MAX_TICK_WIDTH_PX \
            or len(columns) != columns[-1] - columns[0] + 1:
        return None
    return (columns[0] + columns[-1] + 1) / 2


def _rulers(ticks, polarity: str, gray: np.ndarray, span: float) -> list[Bar]:
    """Rows of three or more ticks whose tops line up, evenly spaced (the end ticks may be
    longer), standing out from the gaps between them: the ruler from the first tick's centre
    to the last's. (Saturated noise on a bright background makes tick-like specks; the gaps
    between them are nearly as bright.)"""
    width = gray.shape[1]
    rulers = []
    for top in sorted({t[0] for t in ticks}):
        row = sorted((t for t in ticks if abs(t[0] - top) <= 2), key=lambda t: t[2])
        if len(row) < 3 or row[0][0] != top:
            continue
        spacings = np.diff([t[2] for t in row])
        if spacings.min() <= 0 or spacings.std() > RULER_SPACING_TOLERANCE * spacings.mean():
            continue
        if len({t[3] for t in row}) > 1 or not _even_heights(row):
            continue  # drawn ticks are alike; gaps between letters are not
        x0, x1 = row[0][2], row[-1][2]
        y1 = max(t[1] for t in row)
        if not _stands_out(gray, row, span):
            continue
        rulers.append(Bar(x0, x1, top, y1, polarity, "ruler",
                          row[0][2] - row[0][3] / 2 <= 0 or row[-1][2] + row[-1][3] / 2 >= width,
                          1.0))
    return rulers


def _stands_out(gray: np.ndarray, row, span: float) -> bool:
    """Whether a row of ticks differs from the gaps between them by MIN_CONTRAST."""
    top, bottom = row[0][0], min(t[1] for t in row)
    ticks, gaps = [], []
    for left, right in zip(row, row[1:]):
        a, b = int(left[2] + left[3] / 2) + 1, int(right[2] - right[3] / 2) - 1
        if b > a:
            gaps.append(gray[top:bottom, a:b].ravel())
        ticks.append(gray[top:bottom, int(left[2])])
    if not gaps:
        return False
    return abs(float(np.median(np.concatenate(ticks))) - float(np.median(np.concatenate(
        gaps)))) >= MIN_CONTRAST * span


def _strokes(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Horizontal strokes of ``mask``: (row0, row1, col0, col1) of the connected runs that
    are at least MIN_LENGTH_PX long, grouped across consecutive rows that overlap."""
    from scipy import ndimage

    # keep horizontal runs of at least MIN_LENGTH_PX: an opening with a horizontal line
    opened = ndimage.binary_opening(mask, structure=np.ones((1, MIN_LENGTH_PX), bool))
    labels, count = ndimage.label(opened, structure=np.array([[0, 1, 0], [1, 1, 1],
                                                               [0, 1, 0]]))
    strokes = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        rows, cols = box
        height, width = rows.stop - rows.start, cols.stop - cols.start
        if height > MAX_THICKNESS_PX or width < MIN_ASPECT * height:
            continue
        region = labels[box] == index
        if region.sum() < 0.8 * height * width:  # not a filled rectangle
            continue
        strokes.append((rows.start, rows.stop, cols.start, cols.stop))
    return strokes


def _measure(gray: np.ndarray, stroke, polarity: str, span: float,
             uniform: float) -> Bar | None:
    """A Bar from a stroke: uniform grey level (within ``uniform`` of its median), contrast
    with the rows around it, ends to a fraction of a pixel."""
    r0, r1, c0, c1 = stroke
    core = gray[r0:r1, c0:c1]
    level = float(np.median(core))
    uniformity = float(np.mean(np.abs(core - level) <= uniform))
    if uniformity < MIN_UNIFORM_FRACTION:
        return None
    above = gray[max(0, r0 - 2):r0, c0:c1]
    below = gray[r1:r1 + 2, c0:c1]
    contrasts = [abs(level - float(np.median(side))) for side in (above, below) if side.size]
    if not contrasts or max(contrasts) < MIN_CONTRAST * span:
        return None
    profile = gray[r0:r1].mean(axis=0)
    x0 = _end(profile, c0, -1, level)
    x1 = _end(profile, c1 - 1, +1, level)
    width = gray.shape[1]
    return Bar(x0, x1, r0, r1, polarity, "solid", c0 <= 0 or c1 >= width, uniformity)


def _end(profile: np.ndarray, inside: int, step: int, level: float) -> float:
    """The outer end of a bar along its mean row profile, as a pixel-edge coordinate (a bar
    covering columns 10..19 exactly ends at 10.0 and 20.0): the pixel just beyond the last bar
    pixel adds the share of it the bar covers, judged from its grey level between the bar's
    and the background's beyond it."""
    edge = float(inside + (1 if step > 0 else 0))
    outside = inside + step
    beyond = outside + step
    if not 0 <= beyond < len(profile):
        return edge
    background = profile[beyond]
    if level == background:
        return edge
    covered = float(np.clip((profile[outside] - background) / (level - background), 0.0, 1.0))
    return edge + step * covered


def _join_split(bars: list[Bar], gray: np.ndarray, span: float) -> list[Bar]:
    """Join collinear strokes of one thickness that a label interrupts (``—— 10 µm ——``)."""
    bars = sorted(bars, key=lambda b: (b.y0, b.x0))
    joined: list[Bar] = []
    used = set()
    for i, left in enumerate(bars):
        if i in used:
            continue
        for j in range(i + 1, len(bars)):
            right = bars[j]
            if j in used or abs(right.y0 - left.y0) > 1 or abs(right.thickness_px
                                                             - left.thickness_px) > 1:
                continue
            gap = right.x0 - left.x1
            total = right.x1 - left.x0
            similar = abs(right.length_px - left.length_px) <= 0.25 * max(right.length_px,
                                                                         left.length_px)
            long_enough = min(left.length_px, right.length_px) >= 5 * left.thickness_px
            if (0 < gap < 0.8 * total and similar and long_enough and left.style == "solid"
                    and right.style == "solid" and _holds_text(gray, left, right, span)):
                left = Bar(left.x0, right.x1, min(left.y0, right.y0), max(left.y1, right.y1),
                           left.polarity, "split", left.touches_edge or right.touches_edge,
                           min(left.uniformity, right.uniformity))
                used.add(j)
                break
        joined.append(left)
    return joined


def _holds_text(gray: np.ndarray, left: Bar, right: Bar, span: float) -> bool:
    """Whether the gap between two strokes holds marks of the bars' level (a label)."""
    x0, x1 = int(np.ceil(left.x1)), int(np.floor(right.x0))
    pad = max(3, 2 * left.thickness_px)
    window = gray[max(0, left.y0 - pad):left.y1 + pad, x0:x1]
    if window.size == 0:
        return False
    level = float(np.median(gray[left.y0:left.y1, int(left.x0):int(left.x1)]))
    return float(np.mean(np.abs(window - level) <= 0.25 * span)) > 0.03
