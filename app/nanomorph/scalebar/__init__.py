"""Physical scale from the picture: the scale bar drawn into a micrograph, its label read by
OCR, and the SEM info bar's field width as a cross-check (numpy, scipy and an ONNX OCR model;
no torch, no Qt).

- :mod:`.bar`: :func:`find_bars`, solid bars, brackets, rulers and split bars, to a fraction
  of a pixel.
- :mod:`.text`: lines of annotation glyphs near a bar or in an info bar.
- :mod:`.ocr`: RapidOCR's recogniser on those lines (its detector as a fallback).
- :mod:`.parse`: :func:`parse_length`, a length from OCR text (OCR confusions included).
- :mod:`.infobar`: HFW / Width / Pixel Size fields of SEM info bars.
- :mod:`.reading`: :func:`read_scale_bar`, the pixel size with a confidence;
  :func:`image_pixel_size_nm`, a micrograph's pixel size from its file or its bar.
"""

from nanomorph.scalebar.parse import Length, parse_length
from nanomorph.scalebar.reading import (
    NoScaleBarError,
    ScaleBarReading,
    image_pixel_size_nm,
    read_micrograph_scale_bar,
    read_scale_bar,
)

__all__ = ["Length", "NoScaleBarError", "ScaleBarReading", "image_pixel_size_nm", "parse_length",
           "read_micrograph_scale_bar", "read_scale_bar"]
