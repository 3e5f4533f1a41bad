"""Reading micrographs: every supported file becomes a gray ``MicroscopeImage`` with its calibration.

Formats and the library that reads each
---------------------------------------
=====================  ==========================  =====================================
suffix                 format                      read by
=====================  ==========================  =====================================
.tif .tiff             TIFF, TIFF (FEI), (Zeiss),  tifffile; calibration by rosettasciio
                       (JEOL), (Olympus SIS),      (``nanomorph.io.tiff``)
                       (TVIPS), (Gatan), (ImageJ)
.dm3 .dm4              Gatan DM3 / DM4             rosettasciio (``nanomorph.io.native``)
.emd                   Velox EMD / EMD             rosettasciio
.mrc                   MRC                         rosettasciio
.emi .ser              FEI TIA                     rosettasciio (an .emi with its .ser files)
.elid                  Phenom ELID                 rosettasciio (the first calibrated image)
.png .jpg .jpeg .bmp   PNG, JPEG, BMP, GIF         Pillow (``nanomorph.io.pillow``)
.gif
.mp4 .avi .mov .mkv    video (MP4, AVI, QuickTime,  PyAV / FFmpeg (``nanomorph.io.video``)
                       Matroska)
=====================  ==========================  =====================================

The suffix says what a file should be; its first bytes say what it is. A file whose content is
another known format (a PNG renamed ``.tif``) is read as what it is, with a note; a file whose
content does not match its suffix's signature is refused.

Gray levels
-----------
``data`` is gray, (y, x) or (n, y, x), in the file's dtype. Colour becomes gray by one rule
(``nanomorph.io.gray``): alpha is dropped; when R, G and B are identical one channel is taken
exactly (dtype kept); otherwise the ITU-R BT.709 luma 0.2125 R + 0.7154 G + 0.0721 B (the weights
of ``skimage.color.rgb2gray``) is computed in float and rounded back to the input integer dtype.
Palette images take the gray levels of their colour table. NaN/inf pixels of float images are
replaced by the smallest finite value (with a note).

Calibration
-----------
Every image carries a ``Calibration`` from the file's metadata (per-axis sizes and units,
normalised by ``calibration_from_axes``) or UNCALIBRATED. A print resolution (TIFF/PNG dots per
inch) is never taken for a pixel size.

Metadata
--------
``metadata`` holds what is easily known: ``beam_energy_kV``, ``magnification``, ``instrument``
(where rosettasciio maps them), ``databar_rows`` (FEI TIFFs: rows below the scanned area) and
``notes`` (list of str: conversions, which image of a multi-image file was taken …).

Errors
------
Every problem raises ``ImageReadError(reason, path)`` with a one-line reason: missing, empty,
folder, unsupported suffix, mislabelled or truncated file, no image inside (spectra only), 1-D or
more than 3-D data, complex data, no finite pixel, or a declared size above ``max_pixels``
(checked on the header, before pixels are read).
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field

import numpy as np

from nanomorph.errors import ImageReadError, NanomorphError
from nanomorph.io.calibration import Calibration
from nanomorph.io.image import MicroscopeImage
from nanomorph.io.native import open_native
from nanomorph.io.pillow import open_pillow
from nanomorph.io.source import Source, check_pixels
from nanomorph.io.tiff import open_tiff

DEFAULT_MAX_PIXELS = 1_000_000_000

_SUFFIX_KINDS = {
    ".tif": "tiff", ".tiff": "tiff",
    ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".bmp": "bmp", ".gif": "gif",
    ".dm3": "dm3", ".dm4": "dm4", ".emd": "emd", ".mrc": "mrc",
    ".emi": "tia", ".ser": "tia", ".elid": "elid",
    ".mp4": "mp4", ".mov": "mp4", ".avi": "avi", ".mkv": "mkv",
}
SUPPORTED_SUFFIXES = frozenset(_SUFFIX_KINDS)

# kind -> (name in messages, signatures as (offset, bytes)). The content decides when it matches
# another kind than the suffix; a file that matches no signature is refused, except for kinds
# whose files need not carry one (MRC before MRC2014, TIA .emi, ELID).
_KINDS = {
    "tiff": ("TIFF", [(0, b"II*\0"), (0, b"MM\0*"), (0, b"II+\0"), (0, b"MM\0+")]),
    "png": ("PNG", [(0, b"\x89PNG\r\n\x1a\n")]),
    "jpeg": ("JPEG", [(0, b"\xff\xd8\xff")]),
    "gif": ("GIF", [(0, b"GIF87a"), (0, b"GIF89a")]),
    "bmp": ("BMP", [(0, b"BM")]),
    "dm3": ("Gatan DM3", [(0, b"\0\0\0\3")]),
    "dm4": ("Gatan DM4", [(0, b"\0\0\0\4")]),
    "emd": ("EMD (HDF5)", [(0, b"\x89HDF\r\n\x1a\n")]),
    "mrc": ("MRC", [(208, b"MAP ")]),
    "tia": ("FEI TIA", [(0, b"II\x97\x01")]),  # the .ser series header
    "elid": ("Phenom ELID", []),
    "mp4": ("MP4/QuickTime video", [(4, b"ftyp"), (4, b"moov"), (4, b"mdat"), (4, b"wide")]),
    "avi": ("AVI video", [(8, b"AVI ")]),
    "mkv": ("Matroska video", [(0, b"\x1a\x45\xdf\xa3")]),
}
_SIGNATURE_OPTIONAL = {"mrc", "tia", "elid"}
_HEAD_BYTES = 212


@dataclass(frozen=True)
class ImageInfo:
    """What ``nanomorph info`` shows: read from the header where the format allows.

    Attributes
    ----------
    path : str
    format : str
    shape : tuple of int
        Shape of the gray image ``read_image`` returns: (y, x) or (n, y, x).
    dtype : str
        Its dtype, e.g. ``"uint16"``.
    calibration : Calibration
    metadata : dict
        Instrument facts, ``notes`` and ``databar_rows`` (see ``MicroscopeImage``).
    """

    path: str
    format: str
    shape: tuple[int, ...]
    dtype: str
    calibration: Calibration
    metadata: dict = field(default_factory=dict)

    @property
    def frames(self) -> int:
        """Frames of a movie or stack (1 for a still image)."""
        return self.shape[0] if len(self.shape) == 3 else 1

    @property
    def frame_interval_s(self) -> float | None:
        """Seconds between frames, when the file records them."""
        return self.metadata.get("frame_interval_s")


def read_image(path, *, page: int | None = None,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> MicroscopeImage:
    """Read a micrograph as gray levels with its calibration.

    Parameters
    ----------
    path : str, bytes or os.PathLike
        The file; names that are not valid UTF-8 work (bytes, or str with surrogate escapes).
    page : int, optional
        Read only this page of a stack (0-based) and return it 2-D. Page 0 of a single image is
        the image.
    max_pixels : int
        Refuse files whose header declares more pixels than this (the page's, when ``page`` is
        given), before reading them.

    Returns
    -------
    MicroscopeImage

    Raises
    ------
    ImageReadError
        For every file that cannot be read, with a reason a microscopist understands.
    """
    text, source = _open(path, max_pixels)
    n_pages = source.shape[0] if len(source.shape) == 3 else 1
    if page is not None and not 0 <= page < n_pages:
        raise ImageReadError(f"there is no page {page}: the file holds {n_pages} image(s)", text)
    check_pixels(source.shape[-2:] if page is not None else source.shape, max_pixels, text)
    with _read_errors(text, source.format):
        data, notes = source.load(page)
    data, finite_notes = _finite(data, text)
    metadata = dict(source.metadata)
    metadata["notes"] = [*metadata.get("notes", []), *notes, *finite_notes]
    return MicroscopeImage(path=text, data=data, calibration=source.calibration,
                           format=source.format, metadata=metadata)


def read_frames(path, start: int, stop: int) -> np.ndarray:
    """Frames ``start`` to ``stop - 1`` of a movie or stack, read together (a TIFF reads only
    their pages): what hashing and analysing a long movie block by block needs.

    Parameters
    ----------
    path : str or os.PathLike
        The movie.
    start, stop : int
        The frames, 0-based, ``stop`` excluded; ``0 <= start < stop <= frames``.

    Returns
    -------
    ndarray, shape (stop - start, rows, cols)
        Gray levels in the file's dtype, as ``read_image(path, page=i).data`` for each frame.

    Raises
    ------
    ImageReadError
        For a file that cannot be read, or frames it does not hold.
    """
    text, source = _open(path, DEFAULT_MAX_PIXELS)
    n_frames = source.shape[0] if len(source.shape) == 3 else 1
    if not 0 <= start < stop <= n_frames:
        raise ImageReadError(f"there are no frames {start}–{stop - 1}: the file holds "
                             f"{n_frames}", text)
    check_pixels((stop - start, *source.shape[-2:]), DEFAULT_MAX_PIXELS, text)
    with _read_errors(text, source.format):
        data, _notes = source.load(slice(start, stop)) if n_frames > 1 else source.load(None)
    data = data.reshape(stop - start, *source.shape[-2:])
    if data.dtype.kind == "f":  # NaN/inf replaced frame by frame, as read_image does
        data = np.stack([_finite(frame, text)[0] for frame in data])
    return data


def read_info(path) -> ImageInfo:
    """Format, gray shape, dtype and calibration of an image file, without reading its pixels where
    the format allows (rosettasciio reads the pixels of microscope TIFFs and ELID files together
    with their calibration).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    ImageInfo
        The header facts.

    Raises
    ------
    ImageReadError
        As ``read_image``, for problems visible in the header, including a declared size beyond
        ``DEFAULT_MAX_PIXELS`` (what nanomorph could not read, it does not list as readable).
    """
    text, source = _open(path, DEFAULT_MAX_PIXELS)
    check_pixels(source.shape, DEFAULT_MAX_PIXELS, text)
    return ImageInfo(path=text, format=source.format, shape=source.shape,
                     dtype=str(source.dtype), calibration=source.calibration,
                     metadata=source.metadata)


def _open(path, max_pixels: int) -> tuple[str, Source]:
    """(path as text, opened Source) after checking the file, its suffix and its content."""
    text = os.fsdecode(os.fspath(path))
    head = _head(text)
    kind = _SUFFIX_KINDS.get(os.path.splitext(text)[1].lower())
    if kind is None:
        raise ImageReadError(_unsupported_reason(text), text)
    content = _sniff(head)
    note = None
    if content is not None and content != kind:
        note = (f"read as {_KINDS[content][0]}: that is what the file holds, although its "
                f"name ends in {os.path.splitext(text)[1]}")
        kind = content
    elif content is None and kind not in _SIGNATURE_OPTIONAL:
        raise ImageReadError(
            f"the content is not {_KINDS[kind][0]}: its first bytes do not match (a damaged "
            f"file, or another kind of file renamed {os.path.splitext(text)[1]})", text)
    with _read_errors(text, _KINDS[kind][0]):
        source = _open_kind(kind, text, max_pixels)
    if note:
        source.add_note(note)
    _check_image(source, text)
    return text, source


def _open_kind(kind: str, path: str, max_pixels: int) -> Source:
    if kind == "tiff":
        return open_tiff(path, max_pixels)
    if kind in ("png", "jpeg", "bmp", "gif"):
        return open_pillow(path)
    if kind in ("mp4", "avi", "mkv"):
        from nanomorph.io.video import open_video

        return open_video(path, max_pixels)
    return open_native(kind, path)


def _head(path: str) -> bytes:
    """The first bytes of ``path``, after the checks a file manager would make."""
    if os.path.isdir(path):
        raise ImageReadError("this is a folder, not an image file", path)
    if os.path.exists(path) and not os.path.isfile(path):
        raise ImageReadError("this is not a regular file (a pipe, socket or device)", path)
    try:
        with open(path, "rb") as file:
            head = file.read(_HEAD_BYTES)
    except FileNotFoundError:
        raise ImageReadError("no such file", path) from None
    except PermissionError:
        raise ImageReadError("permission denied: the file cannot be read", path) from None
    except OSError as exc:
        raise ImageReadError(f"the file cannot be opened ({exc.strerror or exc})", path) from None
    if not head:
        raise ImageReadError("the file is empty (0 bytes)", path)
    return head


def _sniff(head: bytes) -> str | None:
    """The kind of file ``head`` starts like, or None."""
    for kind, (_, signatures) in _KINDS.items():
        if any(head[offset:offset + len(magic)] == magic for offset, magic in signatures):
            return kind
    return None


def _unsupported_reason(path: str) -> str:
    suffix = os.path.splitext(path)[1]
    what = f"'{suffix}' files are" if suffix else "files without a suffix are"
    return f"{what} not supported (nanomorph reads {', '.join(sorted(SUPPORTED_SUFFIXES))})"


def _check_image(source: Source, path: str) -> None:
    """Refuse what is not a gray 2-D image or stack: 1-D, more than 3-D, complex data."""
    ndim = len(source.shape)
    if ndim < 2:
        raise ImageReadError("the file holds 1-D data (a spectrum or line profile), not an image",
                             path)
    if ndim > 3:
        raise ImageReadError(
            f"the file holds {ndim}-D data ({' × '.join(map(str, source.shape))}, e.g. 4D-STEM "
            "or a hyperstack): nanomorph reads 2-D images and stacks of them", path)
    if source.dtype.kind not in "uif":
        raise ImageReadError(f"pixels of type {source.dtype} (e.g. complex FFT data) are not "
                             "gray levels", path)


def _finite(data: np.ndarray, path: str) -> tuple[np.ndarray, list[str]]:
    """Replace NaN/inf of a float image by its smallest finite value."""
    if data.dtype.kind != "f":
        return data, []
    finite = np.isfinite(data)
    if finite.all():
        return data, []
    if not finite.any():
        raise ImageReadError("no finite pixel values: every pixel is NaN or infinite", path)
    minimum = data[finite].min()
    count = data.size - int(np.count_nonzero(finite))
    note = f"{count} NaN/inf pixel{'s' if count > 1 else ''} replaced by the image minimum ({minimum:g})"
    return np.where(finite, data, minimum), [note]


# the reading libraries log what they find odd; nanomorph reports it as one error or note
_LIBRARY_LOGGERS = ("tifffile", "rsciio")


@contextlib.contextmanager
def _read_errors(path: str, fmt: str):
    """Turn what a reading library raises into ImageReadError naming the format, and keep the
    libraries' own log lines off the terminal."""
    loggers = [logging.getLogger(name) for name in _LIBRARY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    except NanomorphError:
        raise
    except MemoryError:
        raise ImageReadError("not enough memory to read this image", path) from None
    except Exception as exc:  # noqa: BLE001 - any library failure means the file is unreadable
        detail = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise ImageReadError(
            f"cannot read this file as {fmt}: it is damaged, incomplete or in another format "
            f"({detail})", path) from exc
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
