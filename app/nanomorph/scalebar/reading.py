"""Reading the physical scale of a micrograph from its picture: the scale bar and its label,
cross-checked against the SEM info bar's field width where there is one."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from nanomorph.errors import NanomorphError
from nanomorph.io.calibration import display_length_unit, nm_per_unit
from nanomorph.scalebar.bar import Bar, find_bars, to_gray
from nanomorph.scalebar.infobar import read_info_bar
from nanomorph.scalebar.parse import parse_length
from nanomorph.scalebar.text import text_lines

MAX_CANDIDATES = 8  # bars whose neighbourhood is read, best placed first
# the bar and the info bar disagree when their pixel sizes differ by more than this
DISAGREEMENT = 0.05
# a label lies within this many text heights above or below its bar
LABEL_REACH_HEIGHTS = 4.0
# pixel sizes a micrograph can have (nm/px): from atomic-resolution TEM to low-magnification
# SEM and light microscopy; a reading outside is a misread label
PLAUSIBLE_PIXEL_NM = (1e-3, 5e4)
# readings at least this confident give an image its pixel size without the user's review
# (a bar that disagrees with the info bar has its confidence halved, to about 0.5)
TRUSTED_CONFIDENCE = 0.6


class NoScaleBarError(NanomorphError):
    """No scale bar with a readable length label was found."""


@dataclass(frozen=True)
class ScaleBarReading:
    """The physical scale read from a picture.

    Attributes
    ----------
    text : str
        The label as read (or the info-bar field's value when there is no bar).
    value : float
        The length the label states, in ``unit``.
    unit : str
        Its unit (``nm``, ``µm``, ``mm``, ``Å``).
    bar_px : float or None
        The bar's length in pixels (sub-pixel); None for a reading from the info bar alone.
    pixel_size : float
        The pixel size, in ``pixel_unit``.
    pixel_unit : str
        ``nm``, ``µm`` or ``mm`` (as nanomorph's layers use them).
    bbox : list of int
        ``[x0, y0, x1, y1]`` of the bar (of the info bar when there is no bar).
    confidence : float
        0–1: the recogniser's confidence, lowered for a bar cut by the image edge or one that
        disagrees with the info bar, raised when the two agree.
    source : str
        ``bar``, or ``info bar`` when only the info bar could be read.
    style : str
        The bar's drawing (``solid``, ``bracket``, ``ruler``, ``split``), or ``""``.
    notes : list of str
        What the reader noticed (disagreements, a cut bar).
    """

    text: str
    value: float
    unit: str
    bar_px: float | None
    pixel_size: float
    pixel_unit: str
    bbox: list[int]
    confidence: float
    source: str = "bar"
    style: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def pixel_size_nm(self) -> float:
        """The pixel size in nanometres."""
        return self.pixel_size * nm_per_unit(self.pixel_unit)

    def as_json(self) -> dict:
        """The contract's keys (``nanomorph scalebar --json``) with the source, style, notes.

        Returns
        -------
        dict
            ``text, value, unit, bar_px, pixel_size, pixel_unit, bbox, confidence, source,
            style, notes``.
        """
        return {"text": self.text, "value": self.value, "unit": self.unit,
                "bar_px": None if self.bar_px is None else round(self.bar_px, 2),
                "pixel_size": _round(self.pixel_size), "pixel_unit": self.pixel_unit,
                "bbox": list(self.bbox), "confidence": round(self.confidence, 3),
                "source": self.source, "style": self.style, "notes": list(self.notes)}


def _round(value: float) -> float:
    return float(f"{value:.5g}")


def read_scale_bar(image: np.ndarray, *, databar_rows: int | None = None) -> ScaleBarReading:
    """Find the scale bar of a micrograph, read its label and give the pixel size.

    Parameters
    ----------
    image : ndarray
        Grey levels (rows, cols) of any real dtype, or an RGB(A) picture.
    databar_rows : int, optional
        Rows of an SEM info bar at the bottom; found from the pixels when not given.

    Returns
    -------
    ScaleBarReading
        The reading; ``notes`` says when the bar and the info bar disagree (never resolved
        silently).

    Raises
    ------
    NoScaleBarError
        When no bar with a length label (and no info-bar field width) is found.
    """
    from nanomorph.masks.databar import find_databar_rows
    from nanomorph.scalebar.ocr import read_line

    gray = to_gray(image)
    if min(gray.shape) < 16:
        raise NoScaleBarError("the image is too small to hold a scale bar")
    if databar_rows is None:
        databar_rows = find_databar_rows(gray)
    bars = find_bars(gray)
    reading = _from_bars(gray, bars, databar_rows, read_line) or _detected(gray, bars,
                                                                           databar_rows)
    info = read_info_bar(gray, databar_rows, read_line) if databar_rows else None
    if reading is None:
        if info is None:
            raise NoScaleBarError("no scale bar found")
        unit = display_length_unit(info.pixel_size_nm)
        return ScaleBarReading(info.length.text, info.length.value, info.length.unit, None,
                               info.pixel_size_nm / nm_per_unit(unit), unit,
                               [0, gray.shape[0] - databar_rows, gray.shape[1], gray.shape[0]],
                               0.8, source="info bar",
                               notes=[f"no scale bar read; the info bar's {info.field} gives "
                                      "the pixel size"])
    if info is None:
        return reading
    difference = abs(reading.pixel_size_nm - info.pixel_size_nm) / info.pixel_size_nm
    if difference > DISAGREEMENT:
        note = (f"the bar gives {reading.pixel_size_nm:.4g} nm/px but the info bar's "
                f"{info.field} ({info.length.text}) gives {info.pixel_size_nm:.4g} nm/px: "
                f"{100 * difference:.1f} % apart")
        return _with(reading, confidence=reading.confidence * 0.5,
                     notes=[*reading.notes, note])
    note = (f"agrees with the info bar's {info.field} ({info.length.text}) within "
            f"{100 * difference:.1f} %")
    return _with(reading, confidence=min(1.0, reading.confidence + 0.5 * (1 - reading.confidence)),
                 notes=[*reading.notes, note])


def read_micrograph_scale_bar(image) -> ScaleBarReading:
    """:func:`read_scale_bar` on a micrograph as read: its first plane, its info bar's rows.

    Parameters
    ----------
    image : nanomorph.io.MicroscopeImage

    Returns
    -------
    ScaleBarReading

    Raises
    ------
    NoScaleBarError
        When there is no bar to read.
    """
    databar = image.metadata.get("databar_rows")
    return read_scale_bar(image.plane(0), databar_rows=databar if isinstance(databar, int)
                          else None)


def image_pixel_size_nm(image) -> float | None:
    """The pixel size of a micrograph in nm: its file's, else its scale bar's.

    Parameters
    ----------
    image : nanomorph.io.MicroscopeImage
        As read. When the file records no length calibration its first plane's scale bar is
        read (about 0.5 s).

    Returns
    -------
    float or None
        The geometric mean of the file's (y, x) pixel size, or the bar's reading when its
        confidence is at least :data:`TRUSTED_CONFIDENCE`; None otherwise.
    """
    from_file = image.calibration.mean_pixel_size_nm()
    if from_file is not None:
        return from_file
    try:
        reading = read_micrograph_scale_bar(image)
    except NoScaleBarError:
        return None
    return reading.pixel_size_nm if reading.confidence >= TRUSTED_CONFIDENCE else None


def _with(reading: ScaleBarReading, **changes) -> ScaleBarReading:
    return replace(reading, **changes)


def _ranked(bars: list[Bar], rows: int, databar_rows: int) -> list[Bar]:
    """Bars in the margins (info bar, top or bottom quarter) first, whole ones before cut
    ones, long before short."""
    def placed(bar: Bar) -> tuple:
        in_margin = bar.y0 >= rows - max(databar_rows, rows // 4) or bar.y1 <= rows // 4
        return (not in_margin, bar.touches_edge, -bar.length_px)

    return sorted(bars, key=placed)[:MAX_CANDIDATES]


def _label_region(bar: Bar, text_height: float) -> tuple[int, int, int, int]:
    """Where a bar's label may lie: a few text heights above and below it, half its length
    to either side."""
    reach = LABEL_REACH_HEIGHTS * text_height
    return (int(bar.x0 - 0.5 * bar.length_px - reach), int(bar.y0 - reach),
            int(bar.x1 + 0.5 * bar.length_px + reach), int(bar.y1 + reach))


def _reading(bar: Bar, text: str, score: float) -> ScaleBarReading | None:
    """The reading a bar and its label give: None when the text states no length, or one
    that no micrograph has (outside :data:`PLAUSIBLE_PIXEL_NM`) — except ``mm`` that would
    be plausible as ``nm`` (the recogniser's commonest confusion), kept at half the
    confidence with a note."""
    length = parse_length(text)
    if length is None:
        return None
    notes = ["the bar reaches the image's edge: it may be cut"] if bar.touches_edge else []
    confidence = score * bar.uniformity * (0.5 if bar.touches_edge else 1.0)
    low, high = PLAUSIBLE_PIXEL_NM
    if not low <= length.nm / bar.length_px <= high:
        as_nm = length.value / bar.length_px
        if length.unit != "mm" or not low <= as_nm <= high:
            return None
        length = replace(length, unit="nm")
        confidence *= 0.5
        notes.append(f"read '{text}', which would give an impossible pixel size: taken as nm")
    pixel_nm = length.nm / bar.length_px
    unit = display_length_unit(pixel_nm)
    return ScaleBarReading(text, length.value, length.unit, bar.length_px,
                           pixel_nm / nm_per_unit(unit), unit, list(bar.bbox), confidence,
                           style=bar.style, notes=notes)


def _detected(gray: np.ndarray, bars: list[Bar], databar_rows: int) -> ScaleBarReading | None:
    """Where no label could be told from the specimen by its grey level (white text over
    bright fibres), the text detector reads the neighbourhood of the best-placed bars once."""
    from nanomorph.scalebar.ocr import find_and_read

    ranked = _ranked(bars, gray.shape[0], databar_rows)[:3]
    if not ranked:
        return None
    text_height = _text_height(gray)
    boxes = [_label_region(bar, text_height) for bar in ranked]
    union = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
             max(b[3] for b in boxes))
    found = [(text, score, box) for text, score, box in find_and_read(gray, union)]
    return _best_pair(ranked, found, text_height)


def _text_height(gray: np.ndarray) -> float:
    """The annotation text height to expect (px): 2.5 % of the image height, 8–48 px."""
    return float(np.clip(0.025 * gray.shape[0], 8, 48))


def _best_pair(bars: list[Bar], labels: list[tuple[str, float, tuple]],
               text_height: float) -> ScaleBarReading | None:
    """Each length label belongs to its nearest bar (never to strokes within the label's own
    box: glyphs such as ``m`` and ``µ`` make tick rows); of those pairs, the closest one (in
    bar lengths) wins."""
    best = None
    for text, score, box in labels:
        if parse_length(text) is None:
            continue
        x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        outside = [bar for bar in bars if not _inside(bar.bbox, box)]
        if not outside:
            continue

        def distance(bar: Bar) -> float:
            dx = max(bar.x0 - x, 0.0, x - bar.x1)  # 0 when above or below the bar
            dy = abs(y - (bar.y0 + bar.y1) / 2)
            return np.hypot(dx, dy) / max(bar.length_px, text_height)

        bar = min(outside, key=distance)
        if distance(bar) * max(bar.length_px, text_height) > LABEL_REACH_HEIGHTS * text_height \
                + 0.5 * bar.length_px:
            continue
        reading = _reading(bar, text, score)
        if reading is not None and (best is None or distance(bar) < best[0]):
            best = (distance(bar), reading)
    return None if best is None else best[1]


def _inside(inner, outer) -> bool:
    """Whether the box ``inner`` lies within ``outer`` (``x0, y0, x1, y1``)."""
    return (inner[0] >= outer[0] and inner[1] >= outer[1] and inner[2] <= outer[2]
            and inner[3] <= outer[3])


def _from_bars(gray: np.ndarray, bars: list[Bar], databar_rows: int,
               read_line) -> ScaleBarReading | None:
    """The bar with the nearest length label among the best-placed candidates."""
    rows, cols = gray.shape
    low, high = float(gray.min()), float(gray.max())
    span = high - low
    text_height = _text_height(gray)
    ranked = _ranked(bars, rows, databar_rows)
    read: dict[tuple, tuple[str, float]] = {}  # line box → (text, score)
    labels = []
    for tolerance in (0.12, 0.3):  # tight first: glyphs over bright specimen detail
        for bar in ranked:
            level = high if bar.polarity == "bright" else low
            bx0, by0, bx1, by1 = bar.bbox
            lines = text_lines(gray, _label_region(bar, text_height), level, span,
                               exclude=(bx0 - 1, by0 - 1, bx1 + 1, by1 + 1),
                               tolerance=tolerance)
            centre = ((bar.x0 + bar.x1) / 2, (bar.y0 + bar.y1) / 2)
            for line in sorted(lines, key=lambda line: np.hypot(
                    line.centre[0] - centre[0], line.centre[1] - centre[1]))[:3]:
                box = line.padded(gray.shape)
                if box not in read:
                    read[box] = read_line(gray, box)
                    labels.append((*read[box], box))
        found = _best_pair(ranked, labels, text_height)
        if found is not None:
            return found
    return None
