"""PNG, JPEG, BMP and GIF read with Pillow. These formats carry no pixel size: uncalibrated.

Pillow modes map to gray as follows: ``L``/``I;16``/``I``/``F`` are kept as they are (uint8,
uint16, int32, float32); ``RGB``/``RGBA`` and ``LA`` follow ``nanomorph.io.gray``; ``P`` takes
the gray levels of its palette; ``1`` (bilevel) becomes 0/255; other modes (CMYK, YCbCr …) go
through RGB. Only the first frame of an animated GIF/PNG is read.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from nanomorph.errors import ImageReadError
from nanomorph.io.gray import NOTE_ALPHA, NOTE_BILEVEL, palette_to_gray, rgb_to_gray
from nanomorph.io.source import Source

_KEPT_MODES = ("L", "I", "I;16", "I;16L", "I;16B", "F")  # gray already; every other mode gives uint8


def open_pillow(path: str) -> Source:
    """Open a PNG/JPEG/BMP/GIF: format, gray shape and dtype from its header.

    Parameters
    ----------
    path : str
        The file.

    Returns
    -------
    Source
        Header facts and a loader of the pixels.

    Raises
    ------
    ImageReadError
        When the header declares more pixels than Pillow opens safely.
    """
    from PIL import Image, ImageMode

    try:
        with Image.open(path) as image:
            fmt, mode, (width, height) = image.format, image.mode, image.size
            frames = getattr(image, "n_frames", 1)
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"the image is too large to open ({str(exc).split(',')[0]})", path) from exc
    dtype = np.dtype(ImageMode.getmode(mode).typestr if mode in _KEPT_MODES else np.uint8)
    source = Source(format=fmt, shape=(height, width), dtype=dtype, load=partial(_load, path))
    if frames > 1:
        source.add_note(f"first of {frames} frames read")
    return source


def _load(path: str, page: int | None) -> tuple[np.ndarray, list[str]]:
    """Gray pixels of the first frame (``page`` is 0 or None: these formats hold one image)."""
    from PIL import Image

    with Image.open(path) as image:
        mode = image.mode
        if mode in _KEPT_MODES:
            return np.asarray(image), []
        if mode == "1":
            return np.asarray(image.convert("L")), [NOTE_BILEVEL]
        if mode in ("P", "PA"):
            indices = np.asarray(image)[..., 0] if mode == "PA" else np.asarray(image)
            table = np.asarray(image.getpalette("RGB"), dtype=np.uint8).reshape(-1, 3)
            gray, notes = palette_to_gray(indices, table)
            return gray, ([NOTE_ALPHA] if mode == "PA" else []) + notes
        if mode == "LA":
            return np.asarray(image)[..., 0].copy(), [NOTE_ALPHA]
        rgb = image if mode in ("RGB", "RGBA") else image.convert("RGB")
        return rgb_to_gray(np.asarray(rgb))
