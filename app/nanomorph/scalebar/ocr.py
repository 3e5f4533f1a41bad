"""Optical character recognition of annotation text, offline.

RapidOCR (PaddleOCR's PP-OCRv4 detection and recognition networks run by ONNX Runtime; the
models ship inside the ``rapidocr-onnxruntime`` wheel, nothing is downloaded) was chosen over
Tesseract by measuring both on label crops of the shared micrographs: RapidOCR read "10.0um",
"200 nm" in 17-23 ms each; Tesseract 5.3 (``--psm 7``, 3× upsampled) read "1W.Q0uUM" and
"200 nm" in 158-168 ms. Only the recogniser runs, on text lines that :mod:`.text` finds: the
detection network needed 1.4-3 s for an info bar on two CPU cores.
"""

from __future__ import annotations

import threading

import numpy as np

# text smaller than this (px tall) is upsampled before reading
MIN_TEXT_HEIGHT_PX = 24
_ENGINE = None
_LOCK = threading.Lock()  # one inference at a time per process (the engine is not re-entrant)


def _engine():
    global _ENGINE
    if _ENGINE is None:
        from rapidocr_onnxruntime import RapidOCR

        _ENGINE = RapidOCR(print_verbose=False)
    return _ENGINE


def read_line(image: np.ndarray, box: tuple[int, int, int, int]) -> tuple[str, float]:
    """Read one line of text (recognition only: the caller found the line).

    Parameters
    ----------
    image : ndarray
        Grey levels (rows, cols), any real dtype.
    box : (int, int, int, int)
        ``(x0, y0, x1, y1)`` of the line, clipped to the image.

    Returns
    -------
    (str, float)
        The text and the recogniser's confidence (0–1); ``("", 0.0)`` for an empty box.
    """
    rows, cols = image.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(cols, int(np.ceil(box[2]))), min(rows, int(np.ceil(box[3])))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return "", 0.0
    crop = _as_uint8(image[y0:y1, x0:x1])
    height = y1 - y0
    if height < MIN_TEXT_HEIGHT_PX:
        zoom = int(np.ceil(MIN_TEXT_HEIGHT_PX / height))
        crop = np.kron(crop, np.ones((zoom, zoom), np.uint8))
    crop = np.pad(crop, max(4, crop.shape[0] // 4), mode="edge")
    with _LOCK:
        found, _ = _engine()(np.repeat(crop[..., None], 3, axis=2), use_det=False,
                             use_cls=False, use_rec=True)
    if not found:
        return "", 0.0
    text, score = found[0]
    return str(text), float(score)


def find_and_read(image: np.ndarray,
                  box: tuple[int, int, int, int]) -> list[tuple[str, float, tuple]]:
    """Detect and read the text lines of a region (the detection network: slower, used only
    where the glyphs cannot be told from the specimen by their grey level).

    Parameters
    ----------
    image : ndarray
        Grey levels (rows, cols), any real dtype.
    box : (int, int, int, int)
        ``(x0, y0, x1, y1)`` of the region, clipped to the image.

    Returns
    -------
    list of (str, float, (float, float, float, float))
        Text, confidence and box ``(x0, y0, x1, y1)`` in image coordinates.
    """
    rows, cols = image.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(cols, int(box[2])), min(rows, int(box[3]))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return []
    pad = 8
    crop = np.pad(_as_uint8(image[y0:y1, x0:x1]), pad, mode="edge")
    with _LOCK:
        found, _ = _engine()(np.repeat(crop[..., None], 3, axis=2), use_cls=False)
    lines = []
    for corners, text, score in found or []:
        xs, ys = [p[0] for p in corners], [p[1] for p in corners]
        lines.append((str(text), float(score), (x0 + min(xs) - pad, y0 + min(ys) - pad,
                                                x0 + max(xs) - pad, y0 + max(ys) - pad)))
    return lines


def _as_uint8(data: np.ndarray) -> np.ndarray:
    """Grey levels stretched to 0–255 (annotations are the extremes, so min–max)."""
    data = np.asarray(data, dtype=np.float64)
    low, high = float(np.nanmin(data)), float(np.nanmax(data))
    if high <= low:
        return np.zeros(data.shape, np.uint8)
    return np.clip((data - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)
