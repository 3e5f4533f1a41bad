"""PNG, JPEG, BMP and GIF read with Pillow. These formats carry no pixel size: uncalibrated.
When the picture was taken comes from its EXIF block (:func:`nanomorph.io.acquired.exif_acquired`).

Pillow modes map to gray as follows: ``L``/``I;16``/``I``/``F`` are kept as they are (uint8,
uint16, int32, float32); ``RGB``/``RGBA`` and ``LA`` follow ``nanomorph.io.gray``; ``P`` takes
the gray levels of its palette; ``1`` (bilevel) becomes 0/255; other modes (CMYK, YCbCr …) go
through RGB. Only the first frame of an animated GIF/PNG is read.
"""

from __future__ import annotations

import os
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
        When the header declares more pixels than Pillow opens safely, or the file is
        truncated (PNG chunks, JPEG end marker, GIF trailer, BMP size).
    """
    from PIL import Image, ImageMode

    from nanomorph.io.acquired import exif_acquired

    try:
        with Image.open(path) as image:
            fmt, mode, (width, height) = image.format, image.mode, image.size
            frames = getattr(image, "n_frames", 1)
            # a PNG's EXIF is known here when it comes before the pixels
            acquired = exif_acquired(image.info.get("exif"))
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"the image is too large to open ({str(exc).split(',')[0]})",
                             path) from exc
    _COMPLETENESS.get(fmt, lambda _path: None)(path)
    dtype = np.dtype(ImageMode.getmode(mode).typestr if mode in _KEPT_MODES else np.uint8)
    source = Source(format=fmt, shape=(height, width), dtype=dtype, load=partial(_load, path))
    if acquired is not None:
        source.metadata["acquired"] = acquired
    if frames > 1:
        source.add_note(f"first of {frames} frames read")
    return source


def _truncated(path: str, what: str) -> ImageReadError:
    return ImageReadError(f"the file is truncated: {what}", path)


def _check_png(path: str) -> None:
    """Every chunk must be whole, up to the IEND chunk."""
    import struct

    size = os.path.getsize(path)
    with open(path, "rb") as f:
        f.seek(8)  # the signature
        while True:
            header = f.read(8)
            if len(header) < 8:
                raise _truncated(path, "it ends before the PNG end chunk (IEND)")
            length, kind = struct.unpack(">I4s", header)
            end = f.tell() + length + 4  # data and CRC
            if end > size:
                raise _truncated(path, f"its {kind.decode('latin-1')} chunk reaches byte "
                                       f"{end:,} of {size:,}")
            if kind == b"IEND":
                return
            f.seek(end)


def _check_jpeg(path: str) -> None:
    """A JPEG ends with an end-of-image marker (FF D9), maybe followed by padding."""
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 65536))
        tail = f.read()
    if b"\xff\xd9" not in tail:
        raise _truncated(path, "it has no JPEG end-of-image marker")


def _check_gif(path: str) -> None:
    """A GIF ends with its trailer byte (0x3B)."""
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) != b"\x3b":
            raise _truncated(path, "it has no GIF trailer")


def _check_bmp(path: str) -> None:
    """The file must hold the size its header declares."""
    import struct

    size = os.path.getsize(path)
    with open(path, "rb") as f:
        declared = struct.unpack("<I", f.read(6)[2:6])[0]
    if declared > size:
        raise _truncated(path, f"its header declares {declared:,} bytes, it holds {size:,}")


_COMPLETENESS = {"PNG": _check_png, "JPEG": _check_jpeg, "GIF": _check_gif, "BMP": _check_bmp}


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
