"""TIFF files: tifffile reads the pixels, rosettasciio the calibration of microscope TIFFs.

Flavours, tested in rosettasciio's order, and where the pixel size comes from:

- FEI/ThermoFisher (FEI_HELIOS/FEI_SFEG tag): ``Scan/PixelWidth``/``PixelHeight`` via
  rosettasciio. The rows below ``Image/ResolutionY`` are the burned-in databar:
  ``metadata["databar_rows"]``. Files whose metadata floats are broken open uncalibrated.
- Zeiss (CZ_SEM tag): rosettasciio's pixel size × 1024 / image width, which is right also for
  images saved at another store resolution (``AP_PIXEL_SIZE`` is 2× off for a 512-px image).
- TVIPS, Olympus SIS (the calibrated image, not the RGB preview on page 0), JEOL SightX
  (``Make = "JEOL Ltd."``) and Gatan DigitalMicrograph TIFF exports (tags 65003…): rosettasciio.
- ImageJ: the ``unit`` of the ImageJ description with the X/YResolution tags, read here
  (rosettasciio 0.15 understands only ``unit=micron``). ``unit=inch`` is ImageJ's way of keeping
  a print resolution (DPI), not a pixel size: uncalibrated.
- Any other TIFF: uncalibrated. Its X/YResolution tags (dots per inch or cm) are a print
  resolution, never turned into a pixel size.

A truncated TIFF is refused, except a movie or stack whose frames lie one after another
uncompressed (ImageJ stacks, tifffile's own): it opens as the frames that are whole, with
``metadata["truncated"]`` saying how many of the declared frames survive — a cut recording
keeps what was recorded.

rosettasciio is called eagerly (it reads the pixels too, which are then dropped): its lazy TIFF
mode keeps the file open with no way to close it.
"""

from __future__ import annotations

import os
from functools import partial

import numpy as np

from nanomorph.errors import ImageReadError
from nanomorph.io.calibration import UNCALIBRATED, Calibration, calibration_from_axes
from nanomorph.io.gray import (
    NOTE_BILEVEL,
    palette_to_gray,
    rgb_to_gray,
    tiff_palette_table,
)
from nanomorph.io.hashing import FileMemo
from nanomorph.io.native import instrument_facts, pick_image, signal_calibration
from nanomorph.io.source import Source, check_pixels, load_frames

_RSCIIO_FLAVOURS = ("FEI", "Zeiss", "TVIPS", "Olympus SIS", "JEOL", "Gatan")
# files that passed the truncation checks
_CHECKED = FileMemo(kept=512)
_GATAN_TAGS = (65003, 65004, 65009, 65010)  # DigitalMicrograph's unit and scale tags
_IMAGEJ_UNITS = {"micron": "µm", "\\u00B5m": "µm", "\\u00b5m": "µm", "\\u00C5": "Å"}


def open_tiff(path: str, max_pixels: int) -> Source:
    """Open a TIFF: flavour, calibration, gray shape and dtype; pixels are read by ``load``.

    Parameters
    ----------
    path : str
        The file.
    max_pixels : int
        The most pixels one image may declare.

    Returns
    -------
    Source
        Header facts and a loader of the pixels.

    Raises
    ------
    ImageReadError
        When the file is truncated, or (microscope TIFFs, whose pixels rosettasciio reads now)
        declares more than ``max_pixels`` pixels in one image.
    """
    import tifffile

    from nanomorph.io.acquired import tiff_acquired

    with tifffile.TiffFile(path) as tif:
        try:
            _check_whole(tif, path)
        except ImageReadError:
            source = _whole_frames(tif, path)
            if source is None:
                raise
            return source
        flavour = _flavour(tif)
        if flavour in _RSCIIO_FLAVOURS:
            for series in tif.series:
                check_pixels(_gray_shape(series), max_pixels, path)
            index, calibration, metadata = _rsciio_calibration(path)
        else:
            calibration = _imagej_calibration(tif) if flavour == "ImageJ" else UNCALIBRATED
            acquired = tiff_acquired(tif.pages[0])
            index, metadata = 0, {} if acquired is None else {"acquired": acquired}
        series = tif.series[index]
        source = Source(
            format=f"TIFF ({flavour})" if flavour else "TIFF",
            shape=_gray_shape(series),
            dtype=np.dtype(np.uint8) if series.dtype == bool else series.dtype,
            load=_series_loader(tif, series, path, index),
            calibration=calibration,
            metadata=metadata,
        )
        if flavour == "FEI":
            _add_databar(source, tif.fei_metadata)
        interval = _imagej_interval(tif) if flavour == "ImageJ" else None
        if interval is not None and len(source.shape) == 3:
            source.metadata["frame_interval_s"] = interval
    if flavour in _RSCIIO_FLAVOURS and not calibration.calibrated:
        source.add_note(f"no usable pixel size in the {flavour} metadata")
    return source


def _whole_frames(tif, path: str) -> Source | None:
    """The whole frames of a truncated stack stored frame after frame without compression
    (None for any other truncated TIFF)."""
    from tifffile import COMPRESSION, PHOTOMETRIC

    page = tif.pages[0]
    declared = (tif.imagej_metadata or {}).get("images")
    if declared is None and tif.shaped_metadata:
        shape = tuple(tif.shaped_metadata[0].get("shape", ()))
        declared = int(np.prod(shape[:-2])) if shape[-2:] == page.shape else None
    if not (isinstance(declared, int) and declared > 1 and page.is_contiguous
            and page.compression == COMPRESSION.NONE and page.samplesperpixel == 1
            and page.photometric == PHOTOMETRIC.MINISBLACK and page.bitspersample >= 8):
        return None
    offset = page.dataoffsets[0]
    frame_bytes = int(np.prod(page.shape)) * page.dtype.itemsize
    whole = min(declared, (tif.filehandle.size - offset) // frame_bytes)
    if whole < 1:
        return None
    dtype = page.dtype.newbyteorder(tif.byteorder)
    source = Source(format="TIFF (ImageJ)" if tif.imagej_metadata else "TIFF",
                    shape=(whole, *page.shape) if whole > 1 else page.shape,
                    dtype=page.dtype.newbyteorder("="),
                    load=partial(_load_contiguous, path, offset, dtype, page.shape, whole),
                    calibration=_imagej_calibration(tif) if tif.imagej_metadata
                    else UNCALIBRATED)
    interval = _imagej_interval(tif) if tif.imagej_metadata else None
    if interval is not None:
        source.metadata["frame_interval_s"] = interval
    source.metadata["truncated"] = (
        f"the file is truncated: only its first {whole:,} of {declared:,} frames are whole; "
        "the rest are cut off" if whole < declared else
        f"the file is truncated after its pixels: all {declared:,} frames are whole")
    source.add_note(source.metadata["truncated"])
    return source


def _series_loader(tif, series, path: str, index: int):
    """How to read series ``index``: a stack of plain gray frames stored in one uncompressed run
    is read straight from its bytes (0.1 ms a frame, where tifffile takes 10 ms to open a
    100,000-page file); anything else through tifffile."""
    from tifffile import PHOTOMETRIC

    shape = _gray_shape(series)
    if (len(shape) == 3 and series.dataoffset is not None and "S" not in series.axes
            and series.dtype != bool and series.keyframe.photometric != PHOTOMETRIC.PALETTE):
        return partial(_load_contiguous, path, series.dataoffset,
                       series.dtype.newbyteorder(tif.byteorder), shape[1:], shape[0])
    return partial(_load_series, path, index)


def _load_contiguous(path: str, offset: int, dtype: np.dtype, shape: tuple[int, int],
                     frames: int, page: int | slice | None) -> tuple[np.ndarray, list[str]]:
    """Frames stored one after another from byte ``offset``: all, one, or a slice."""
    frame_values = int(np.prod(shape))

    def read(start: int, stop: int) -> np.ndarray:
        data = np.fromfile(path, dtype=dtype, count=(stop - start) * frame_values,
                           offset=offset + start * frame_values * dtype.itemsize)
        return data.reshape(stop - start, *shape).astype(dtype.newbyteorder("="), copy=False)

    return load_frames(read, frames, page)


def _flavour(tif) -> str | None:
    """The microscope software that wrote ``tif`` (None for a plain TIFF)."""
    first = tif.pages[0]
    # each flag of the first page alone: ``tif.flags`` also asks whether every page is
    # alike, which counts the pages (0.1 s for a 100,000-frame movie, on every frame read)
    for flag, name in (("fei", "FEI"), ("sem", "Zeiss"), ("tvips", "TVIPS")):
        if getattr(tif, f"is_{flag}"):
            return name
    if any(series.keyframe.is_sis for series in tif.series):
        return "Olympus SIS"
    if first.tags.valueof("Make") == "JEOL Ltd.":
        return "JEOL"
    if any(code in first.tags for code in _GATAN_TAGS):
        return "Gatan"
    return "ImageJ" if tif.is_imagej else None


def _rsciio_calibration(path: str) -> tuple[int, Calibration, dict]:
    """(series index, calibration, metadata) of the image rosettasciio calibrates in ``path``."""
    import rsciio.tiff

    signals = rsciio.tiff.file_reader(path)
    index, note = pick_image(signals, path)
    metadata = instrument_facts(signals[index])
    if note:
        metadata["notes"] = [note]
    return index, signal_calibration(signals[index]), metadata


def _imagej_calibration(tif) -> Calibration:
    """Pixel size from an ImageJ TIFF: ``unit`` in its description, 1/X,YResolution per axis."""
    unit = (tif.imagej_metadata or {}).get("unit")
    unit = _IMAGEJ_UNITS.get(unit, unit)
    tags = tif.pages[0].tags
    resolutions = [tags.valueof("YResolution"), tags.valueof("XResolution")]
    if unit in (None, "inch") or any(not r or not r[0] for r in resolutions):
        return UNCALIBRATED
    return calibration_from_axes([(den / num, unit) for num, den in resolutions])


def _imagej_interval(tif) -> float | None:
    """Seconds between the frames of an ImageJ stack (``finterval`` in ``tunit``, seconds when
    no unit is given), None when not recorded."""
    from nanomorph.io.calibration import seconds

    metadata = tif.imagej_metadata or {}
    return seconds(metadata.get("finterval"), metadata.get("tunit") or "s")


def _add_databar(source: Source, fei_metadata: dict | None) -> None:
    """FEI TIFFs: the rows below ``Image/ResolutionY`` are the databar."""
    scan_rows = ((fei_metadata or {}).get("Image") or {}).get("ResolutionY")
    height = source.shape[-2]
    if isinstance(scan_rows, int) and 0 < scan_rows < height:
        source.metadata["databar_rows"] = height - scan_rows


def _check_whole(tif, path: str) -> None:
    """Refuse a truncated TIFF (:func:`_check_ifds`, :func:`_check_complete`). The checks visit
    every page — 1.4 s for a 10,000-frame movie — so a file that passed them is not checked
    again while its size and modification time stay the same (a movie's frames are read one
    by one)."""
    def check() -> None:
        _check_ifds(tif, path)
        for series in tif.series:
            _check_complete(series, path)

    _CHECKED.get(path, os.stat(path), check)


def _check_complete(series, path: str) -> None:
    """Refuse a TIFF whose image data or tag values reach past the end of the file (a
    truncated copy). A series stored in one uncompressed run (ImageJ and tifffile movies) whose
    first page holds the bytes its shape declares is checked by its extent alone, without
    visiting each of its pages (the tags of top-level pages are checked by
    :func:`_check_ifds`)."""
    size = series.parent.filehandle.size
    first = series.keyframe
    if series.dataoffset is not None and first.databytecounts[0] == first.nbytes:
        end = series.dataoffset + series.size * series.dtype.itemsize
    else:
        end = max((offset + count for page in series.pages if page is not None
                   for offset, count in zip(page.dataoffsets, page.databytecounts)), default=0)
        for page in series.pages:
            for tag in getattr(page, "tags", {}).values() if page is not None else ():
                if tag.valueoffset and tag.valuebytecount > 4:
                    end = max(end, tag.valueoffset + tag.valuebytecount)
    if end > size:
        raise ImageReadError(
            f"the file is truncated: its image data end at byte {end:,} but the file has "
            f"only {size:,} bytes", path)


# bytes per value of the TIFF data types (index: the type's code; unknown codes count 1)
_TYPE_BYTES = np.array([1, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 1, 1, 8, 8, 8], np.float64)
_READ_BLOCK = 1 << 20  # bytes read at once while walking a TIFF's directories
_DIRECTORIES_CHECKED_AT_ONCE = 4096  # directories whose entries one numpy pass checks


def _check_ifds(tif, path: str) -> None:
    """Refuse a TIFF cut short inside or after its image directories: every directory entry's
    values, and the next directory it points to, must lie within the file (tifffile only warns
    about them and drops what it cannot read). The chain of directories is walked raw, without
    tifffile parsing each page, in reads of 1 MiB (:class:`_BlockReader`) and with the entries of
    thousands of directories checked in one numpy pass."""
    import struct

    fmt = tif.tiff
    size = tif.filehandle.size
    unsigned = {"I": "u4", "Q": "u8"}[fmt.offsetformat[-1]]
    entry = np.dtype([("code", "u2"), ("kind", "u2"), ("count", unsigned),
                      ("value", unsigned)]).newbyteorder(fmt.byteorder)
    tables: list[bytes] = []  # the entries of directories not yet checked

    def check_tables() -> None:
        entries = np.frombuffer(b"".join(tables), entry)
        tables.clear()
        kinds = entries["kind"]
        nbytes = entries["count"] * np.where(kinds < len(_TYPE_BYTES),
                                             _TYPE_BYTES[np.minimum(kinds, 18)], 1.0)
        end = np.where(nbytes > fmt.offsetsize, entries["value"] + nbytes, 0).max(initial=0)
        if end > size:
            raise ImageReadError(f"the file is truncated: a tag's values reach byte "
                                 f"{int(end):,} but the file has {size:,} bytes", path)

    def refuse(message: str) -> ImageReadError:
        check_tables()  # a directory's tag values are named before the directory after it
        return ImageReadError(f"the file is truncated: {message}", path)

    inside = "it ends inside an image directory"
    with open(path, "rb") as file:
        reader = _BlockReader(file)
        offset, seen = tif.pages.first.offset, set()
        while offset and offset not in seen:  # a directory pointing back ends the chain
            seen.add(offset)
            raw = reader.read(offset, fmt.tagnosize)
            if len(raw) < fmt.tagnosize:
                raise refuse(inside)
            (count,) = struct.unpack(fmt.tagnoformat, raw)
            table = reader.read(offset + fmt.tagnosize, count * fmt.tagsize + fmt.offsetsize)
            if len(table) < count * fmt.tagsize + fmt.offsetsize:
                raise refuse(inside)
            tables.append(table[:count * fmt.tagsize])
            if len(tables) == _DIRECTORIES_CHECKED_AT_ONCE:
                check_tables()
            (offset,) = struct.unpack(fmt.offsetformat, table[-fmt.offsetsize:])
            if offset >= size:
                raise refuse(f"an image directory points to byte {offset:,} but the file has "
                             f"only {size:,} bytes")
    check_tables()


class _BlockReader:
    """Bytes of a file at any offset, read a block of 1 MiB at a time.

    Walking 100,000 directories a few KiB apart takes a few hundred reads instead of 200,000.
    Each read lets go of Python's lock, and CPython then hands it straight back to the reading
    thread: a worker making reads that small and that often kept the GUI thread waiting for the
    lock for 200 ms at a time while a 100,000-frame movie opened."""

    def __init__(self, file) -> None:
        self._file, self._start, self._block = file, 0, b""

    def read(self, offset: int, count: int) -> bytes:
        """``count`` bytes from ``offset`` (fewer at the end of the file)."""
        begin = offset - self._start
        if begin < 0 or begin + count > len(self._block):
            self._file.seek(offset)
            self._start, self._block = offset, self._file.read(max(count, _READ_BLOCK))
            begin = 0
        return self._block[begin:begin + count]


def _gray_shape(series) -> tuple[int, ...]:
    """Shape of the gray image of a tifffile series: its shape without the samples axis."""
    return tuple(n for n, axis in zip(series.shape, series.axes) if axis != "S")


def _load_series(path: str, index: int,
                 page: int | slice | None) -> tuple[np.ndarray, list[str]]:
    """Read series ``index`` (or one ``page`` of it, or a slice of its pages) as gray pixels."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[index]
        stack_size = _gray_shape(series)[0] if len(_gray_shape(series)) == 3 else 1
        if page is None or stack_size == 1:
            data, axes = series.asarray(), series.axes
        elif len(series.pages) == stack_size:  # one page per image: read only those
            data = series.asarray(key=page)
            axes = series.keyframe.axes if isinstance(page, int) else "Q" + series.keyframe.axes
        else:
            data, axes = series.asarray()[page], series.axes[isinstance(page, int):]
        return _to_gray(data, axes, series.keyframe)


def _to_gray(data: np.ndarray, axes: str, keyframe) -> tuple[np.ndarray, list[str]]:
    """Gray levels of TIFF pixels: colour and palette by ``nanomorph.io.gray``, 1-bit as 0/255."""
    from tifffile import PHOTOMETRIC

    if "S" in axes:
        samples = np.moveaxis(data, axes.index("S"), -1)
        # tifffile decodes YCbCr (JPEG-compressed colour) to RGB
        if keyframe.photometric in (PHOTOMETRIC.RGB, PHOTOMETRIC.YCBCR) and samples.shape[-1] >= 3:
            return rgb_to_gray(samples[..., :4])
        return samples[..., 0].copy(), [f"only the first of {samples.shape[-1]} channels read"]
    if keyframe.photometric == PHOTOMETRIC.PALETTE and keyframe.colormap is not None:
        return palette_to_gray(data, tiff_palette_table(keyframe.colormap, data.dtype))
    if data.dtype == bool:
        return data.astype(np.uint8) * np.uint8(255), [NOTE_BILEVEL]
    return data, []
