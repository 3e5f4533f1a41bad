"""Scale bars drawn into synthetic micrographs, with their exact truth: the bar's length in
pixels, its label, and the pixel size they state. The styles of the microscopes in the shared
data: a solid bar with the label above (TEM frames), a bracket with end ticks (Zeiss), a line
split by its label (FEI), a row of ticks (Hitachi). Fonts are the DejaVu faces matplotlib
ships (PIL draws them); nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STYLES = ("solid", "bracket", "split", "ruler")
CORNERS = ("bottom-left", "bottom-right", "top-left", "top-right")
# lengths a microscope writes on its bars (in the bar's unit)
ROUND_VALUES = (1, 2, 5, 10, 20, 50, 100, 200, 500)


@dataclass(frozen=True)
class DrawnBar:
    """The truth of a drawn scale bar.

    Attributes
    ----------
    text : str
        The label, e.g. ``"200 nm"``.
    value : float
        Its number.
    unit : str
        ``nm`` or ``µm``.
    bar_px : float
        The bar's length in pixels, as the reader should measure it (outer ends of a solid
        bar; tick centres of a bracket or ruler).
    pixel_size_nm : float
        The pixel size the bar states (nm).
    bbox : tuple of int
        ``(x0, y0, x1, y1)`` of the bar.
    """

    text: str
    value: float
    unit: str
    bar_px: float
    pixel_size_nm: float
    bbox: tuple[int, int, int, int]


def _font(size_px: int):
    from matplotlib import font_manager
    from PIL import ImageFont

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size_px)


def bar_length_for(pixel_size_nm: float, target_px: float) -> tuple[float, str, float]:
    """A round length near ``target_px`` pixels, as a microscope picks it.

    Parameters
    ----------
    pixel_size_nm : float
        The image's pixel size.
    target_px : float
        About how long the bar should be.

    Returns
    -------
    (float, str, float)
        The value, its unit (``nm`` below 1 µm, else ``µm``) and the bar's length in pixels.
    """
    target_nm = pixel_size_nm * target_px
    unit, scale = ("nm", 1.0) if target_nm < 1000 else ("µm", 1000.0)
    candidates = [v * 10.0 ** e for e in range(-1, 4) for v in ROUND_VALUES]
    value = min(candidates, key=lambda v: abs(np.log(v * scale / target_nm)))
    return float(value), unit, value * scale / pixel_size_nm


def draw_scale_bar(image: np.ndarray, pixel_size_nm: float, *, style: str = "solid",
                   corner: str = "bottom-left", target_px: float = 100.0, font_px: int = 20,
                   thickness_px: int = 4, polarity: str = "bright",
                   boxed: bool = False) -> tuple[np.ndarray, DrawnBar]:
    """Draw a scale bar and its label into a copy of an image.

    Parameters
    ----------
    image : ndarray
        Grey levels (rows, cols), uint8 or uint16.
    pixel_size_nm : float
        The pixel size the bar is to state.
    style : str
        One of :data:`STYLES`.
    corner : str
        One of :data:`CORNERS`.
    target_px : float
        About how long the bar is (it takes a round value near it).
    font_px : int
        The label's text height.
    thickness_px : int
        The bar's stroke (ticks of brackets and rulers are 2 px wide).
    polarity : str
        ``bright`` (the image's maximum level) or ``dark`` (its minimum).
    boxed : bool
        Draw the bar and its label on a box of the opposite level.

    Returns
    -------
    (ndarray, DrawnBar)
        The image with the bar, and the truth.

    Raises
    ------
    ValueError
        For an unknown style or corner.
    """
    from PIL import Image, ImageDraw

    if style not in STYLES or corner not in CORNERS:
        raise ValueError(f"style must be one of {STYLES} and corner one of {CORNERS}")
    value, unit, length = bar_length_for(pixel_size_nm, target_px)
    text = f"{value:g} {unit}"
    dtype = image.dtype
    top = float(np.iinfo(dtype).max) if np.issubdtype(dtype, np.integer) else 1.0
    ink, paper = (top, 0.0) if polarity == "bright" else (0.0, top)
    canvas = Image.fromarray(image.astype(np.float32), mode="F")
    draw = ImageDraw.Draw(canvas)
    font = _font(font_px)
    text_w = draw.textlength(text, font=font)
    margin = max(12, font_px)
    block_w = max(length, text_w) + 2 * margin
    block_h = font_px * 2 + thickness_px + 3 * margin // 2
    if style == "ruler":  # the label goes below the ticks
        block_h += 4 * thickness_px + font_px // 2
    rows, cols = image.shape
    left = margin if "left" in corner else cols - block_w + margin
    top_y = margin if corner.startswith("top") else rows - block_h
    x0 = left
    bar_y = top_y + font_px + margin // 2 + (0 if style != "split" else font_px // 2)
    if style == "split":
        text_x, text_y = x0 + (length - text_w) / 2, bar_y - font_px * 0.6
    elif style == "ruler":
        text_x, text_y = x0 + length - text_w, bar_y + 3 * thickness_px + font_px // 2
    else:
        text_x, text_y = x0 + (length - text_w) / 2, bar_y - font_px - margin // 3
    if boxed:  # around the bar, its ticks and its label
        pad = margin // 2
        draw.rectangle([min(x0, text_x) - pad, min(bar_y - 3 * thickness_px, text_y) - pad,
                        max(x0 + length, text_x + text_w) + pad,
                        max(bar_y + 4 * thickness_px, text_y + 1.3 * font_px) + pad],
                       fill=paper)
    measured = _draw_bar(draw, style, x0, bar_y, length, thickness_px, ink, text_w, margin)
    draw.text((text_x, text_y), text, fill=ink, font=font)
    out = np.clip(np.asarray(canvas), 0, top).astype(dtype)
    bbox = (int(x0), int(bar_y), int(np.ceil(x0 + length)), int(bar_y + thickness_px))
    return out, DrawnBar(text, value, unit, measured, pixel_size_nm * length / measured, bbox)


def _draw_bar(draw, style: str, x0: float, y: float, length: float, thickness: int,
              ink: float, text_w: float, margin: int) -> float:
    """Draw the bar; the length the reader should measure (px). Drawn on whole pixels: the
    bar's true length is rounded to them, and the stated pixel size follows that rounding."""
    x0 = int(round(x0))
    n = int(round(length))
    y = int(round(y))
    if style == "solid":
        draw.rectangle([x0, y, x0 + n - 1, y + thickness - 1], fill=ink)
        return float(n)
    if style == "bracket":  # 2-px ticks whose centres are n px apart
        draw.rectangle([x0 - 1, y, x0 + n, y + thickness - 1], fill=ink)
        for x in (x0 - 1, x0 + n - 1):
            draw.rectangle([x, y - 3 * thickness, x + 1, y + 3 * thickness], fill=ink)
        return float(n)
    if style == "split":  # the label sits in a gap in the middle
        gap = int(text_w + margin)
        half = (n - gap) // 2
        if half < 4 * thickness:
            raise ValueError(f"a split bar of {n} px cannot hold its {text_w:.0f}-px label")
        draw.rectangle([x0, y, x0 + half - 1, y + thickness - 1], fill=ink)
        draw.rectangle([x0 + n - half, y, x0 + n - 1, y + thickness - 1], fill=ink)
        return float(n)
    ticks = 11  # a ruler: 10 divisions, ends longer, centres n px apart end to end
    step = n / (ticks - 1)
    for i in range(ticks):
        x = int(round(x0 + i * step))
        tall = 4 * thickness if i in (0, ticks - 1) else 3 * thickness
        draw.rectangle([x - 1, y, x, y + tall], fill=ink)
    return float(int(round(x0 + n)) - x0)
