"""Native microscope files read with rosettasciio: Gatan DM3/DM4, EMD (Velox), MRC, FEI TIA
(.emi/.ser) and Phenom ELID; also the signal picking and instrument facts the TIFF reader uses.

rosettasciio returns a list of signals per file (``{"data", "axes", "metadata",
"original_metadata", "mapping"}``). nanomorph takes one image from it:

- image signals are those with at least two axes whose last two axes are spatial (a length or
  reciprocal-length unit, or no unit); spectra, spectrum images and line scans are skipped;
- the first calibrated image signal is taken, else the first image signal (an Olympus SIS TIFF
  holds an uncalibrated RGB preview before its calibrated image; a Phenom ELID holds images,
  spectra and maps);
- a stack stays a stack: a Velox time series (time × y × x) is returned 3-D.

Files are opened lazily (pixels are read only by ``Source.load``) except ELID, which rosettasciio
reads only eagerly. rosettasciio runs in a helper process with a time budget
(:mod:`nanomorph.io.sandbox`); truncated ELID (a bzip2 stream without its end) and MRC files
(fewer bytes than the header declares) are refused before it reads them.
"""

from __future__ import annotations

import importlib
import math
import os

import numpy as np

from nanomorph.errors import ImageReadError
from nanomorph.io.calibration import (
    UNCALIBRATED,
    Calibration,
    calibration_from_axes,
    is_length_unit,
)
from nanomorph.io.gray import rgb_to_gray, structured_to_channels
from nanomorph.io.source import Source

# kind -> (rosettasciio module, format name, reader options)
_READERS = {
    "dm3": ("rsciio.digitalmicrograph", "Gatan DM3", {}),
    "dm4": ("rsciio.digitalmicrograph", "Gatan DM4", {}),
    # Velox files may also hold spectra and spectrum images; "images" skips reading them
    # (rosettasciio's docstring spells the value "image", its code accepts "images").
    "emd": ("rsciio.emd", "EMD", {"select_type": "images"}),
    "mrc": ("rsciio.mrc", "MRC", {}),
    "tia": ("rsciio.tia", "FEI TIA", {}),
    "elid": ("rsciio.phenom", "Phenom ELID", {}),
}
_EAGER_ONLY = {"elid"}  # rosettasciio 0.15: "Lazy loading is not supported" for ELID

_UNCALIBRATED_UNITS = {None, "", "<undefined>", "px", "pixel", "pixels"}

# last key of a hyperspy metadata path -> nanomorph metadata key
_FACTS = {"beam_energy": "beam_energy_kV", "magnification": "magnification",
          "microscope": "instrument"}


def open_native(kind: str, path: str) -> Source:
    """Open a DM3/DM4/EMD/MRC/TIA/ELID file: header facts and a loader for its image.

    rosettasciio runs in a helper process with a time budget (:mod:`nanomorph.io.sandbox`):
    a damaged file on which a library never returns becomes an error, not a hang.

    Parameters
    ----------
    kind : str
        The format key (``dm3``, ``dm4``, ``emd``, ``mrc``, ``tia``, ``elid``).
    path : str
        The file.

    Returns
    -------
    Source
        Format, shape, dtype, calibration and a loader of the pixels.

    Raises
    ------
    ImageReadError
        When the file holds no image (only spectra …), is truncated, or reading it does not
        end within the time budget.
    """
    from nanomorph.io.sandbox import run_contained

    _check_complete(kind, path)
    header = run_contained(__name__, "native_header", kind, path, path=path)
    source = Source(
        format=header["format"], shape=header["shape"], dtype=np.dtype(header["dtype"]),
        load=lambda page: run_contained(__name__, "native_page", kind, path, page, path=path),
        calibration=header["calibration"] if header["calibration"].calibrated else UNCALIBRATED,
        metadata=header["metadata"])
    if header["note"]:
        source.add_note(header["note"])
    return source


def native_header(kind: str, path: str) -> dict:
    """The header facts of a native file (run in the helper process).

    Parameters
    ----------
    kind : str
        The format key.
    path : str
        The file.

    Returns
    -------
    dict
        ``format``, ``shape``, ``dtype`` (str), ``calibration``, ``metadata``, ``note``.

    Raises
    ------
    ImageReadError
        When the file holds no image.
    """
    signal, fmt, note = _image_signal(kind, path)
    calibration = signal_calibration(signal)
    if kind == "mrc" and _mrc_sampling_missing(signal):
        calibration = UNCALIBRATED
    metadata = instrument_facts(signal)
    interval = frame_interval(signal)
    if interval is not None:
        metadata["frame_interval_s"] = interval
    return {"format": fmt, "shape": tuple(int(n) for n in signal["data"].shape),
            "dtype": _gray_dtype(signal["data"].dtype).str, "calibration": calibration,
            "metadata": metadata, "note": note}


def frame_interval(signal: dict) -> float | None:
    """Seconds between the frames of a time series (a stack whose first axis is time).

    Parameters
    ----------
    signal : dict
        A rosettasciio signal dict.

    Returns
    -------
    float or None
        None for a single image, or a stack whose first axis is not in a time unit.
    """
    from nanomorph.io.calibration import seconds

    axes = signal["axes"]
    if len(axes) != 3:
        return None
    return seconds(_number(axes[0].get("scale")), axes[0].get("units"))


def native_page(kind: str, path: str, page: int | slice | None) -> tuple[np.ndarray, list[str]]:
    """The pixels of a native file (run in the helper process).

    Parameters
    ----------
    kind : str
        The format key.
    path : str
        The file.
    page : int, slice or None
        One page of a stack, a range of its pages, or everything.

    Returns
    -------
    pixels : ndarray
        Gray levels.
    notes : list of str
        How colour became gray, if it did.

    Raises
    ------
    ImageReadError
        When the file holds no image.
    """
    signal, _, _ = _image_signal(kind, path)
    return _load(signal["data"], page)


def _image_signal(kind: str, path: str) -> tuple[dict, str, str | None]:
    """(the signal to show, format name, note on which was taken) of a native file."""
    module, fmt, options = _READERS[kind]
    reader = importlib.import_module(module).file_reader
    signals = reader(path, lazy=kind not in _EAGER_ONLY, **options)
    if not signals:
        hint = " (an .emi file needs its .ser files, NAME_1.ser …, in the same folder)"
        raise ImageReadError(f"the file holds no data{hint if kind == 'tia' else ''}", path)
    index, note = pick_image(signals, path)
    signal = signals[index]
    if kind == "emd" and "Instrument" in signal["original_metadata"]:  # Velox's metadata tree
        fmt = "Velox EMD"
    return signal, fmt, note


def _check_complete(kind: str, path: str) -> None:
    """Refuse truncated files whose size or stream says so, before any library reads them."""
    if kind == "elid":
        _check_bzip2_stream(path)
    elif kind == "mrc":
        _check_mrc_size(path)


# an ELID file is one bzip2 stream; more than this decompressed is refused (a bz2 bomb)
MAX_ELID_BYTES = 8 << 30


def _check_bzip2_stream(path: str) -> None:
    import bz2

    decompressor, total = bz2.BZ2Decompressor(), 0
    try:
        with open(path, "rb") as f:
            while not decompressor.eof:
                chunk = f.read(1 << 20)
                if not chunk:
                    raise ImageReadError("the file is truncated: its compressed stream ends "
                                         "before its end mark", path)
                total += len(decompressor.decompress(chunk))
                while not decompressor.eof and not decompressor.needs_input:
                    total += len(decompressor.decompress(b"", 1 << 24))
                if total > MAX_ELID_BYTES:
                    raise ImageReadError(f"the file unpacks to more than {MAX_ELID_BYTES >> 30} "
                                         "GB: refused", path)
    except (OSError, EOFError, ValueError) as exc:
        raise ImageReadError(f"the file's compressed stream is damaged ({exc})", path) from None


_MRC_MODE_BYTES = {0: 1, 1: 2, 2: 4, 3: 4, 4: 8, 6: 2, 12: 2, 101: 1}


def _check_mrc_size(path: str) -> None:
    """The data an MRC header declares must fit in the file (1024-byte header, the extended
    header of NSYMBT bytes, then NX·NY·NZ values of the mode's size)."""
    with open(path, "rb") as f:
        header = f.read(1024)
    if len(header) < 1024:
        raise ImageReadError("the file is truncated: shorter than an MRC header (1024 bytes)",
                             path)
    nx, ny, nz, mode = np.frombuffer(header[:16], "<i4")
    extended = int(np.frombuffer(header[92:96], "<i4")[0])
    if min(nx, ny, nz) < 1 or extended < 0 or int(mode) not in _MRC_MODE_BYTES:
        return  # the reader gives the precise error
    values = int(nx) * int(ny) * int(nz)
    if mode == 101:  # 4-bit values, two per byte
        needed = 1024 + extended + (values + 1) // 2
    else:
        needed = 1024 + extended + values * _MRC_MODE_BYTES[int(mode)]
    size = os.path.getsize(path)
    if size < needed:
        raise ImageReadError(f"the file is truncated: its header declares {nx} × {ny} × {nz} "
                             f"values ({needed} bytes) but it holds {size} bytes", path)


def pick_image(signals: list[dict], path: str) -> tuple[int, str | None]:
    """Which signal of a file to show: the first calibrated image signal, else the first image.

    Parameters
    ----------
    signals : list of dict
        rosettasciio's signal dicts.
    path : str
        The file (named in errors).

    Returns
    -------
    index : int
        The chosen signal.
    note : str or None
        Which one was taken, when the file holds several images.

    Raises
    ------
    ImageReadError
        When no signal is an image (spectra, line profiles …).
    """
    images = [i for i, s in enumerate(signals) if _is_image(s)]
    if not images:
        dims = max(len(s["axes"]) for s in signals)
        what = "1-D data (a spectrum or line profile)" if dims < 2 else "spectra or other non-image data"
        raise ImageReadError(f"the file holds no image, only {what}", path)
    calibrated = [i for i in images if signal_calibration(signals[i]).calibrated]
    index = (calibrated or images)[0]
    if len(images) == 1:
        return index, None
    title = signals[index]["metadata"].get("General", {}).get("title")
    named = f" ('{title}')" if title else ""
    return index, f"the file holds {len(images)} images; this is image {images.index(index) + 1}{named}"


def signal_calibration(signal: dict) -> Calibration:
    """Calibration of an image signal from its last two axes (y, x), normalised.

    Parameters
    ----------
    signal : dict
        A rosettasciio signal dict.

    Returns
    -------
    Calibration
        The pixel size, or UNCALIBRATED.
    """
    return calibration_from_axes([(_number(a.get("scale")), a.get("units"))
                                  for a in signal["axes"][-2:]])


def instrument_facts(signal: dict) -> dict:
    """Beam energy (kV), magnification and instrument name, where rosettasciio maps them, and
    when the image was acquired (``acquired``, see :mod:`nanomorph.io.acquired`).

    Facts that are missing or do not convert (e.g. FEI "bad floats") are left out.

    Parameters
    ----------
    signal : dict
        A rosettasciio signal dict.

    Returns
    -------
    dict
        Fact name → value.
    """
    from nanomorph.io.acquired import acquired_iso

    facts, mapped = {}, mapped_metadata(signal)
    for target, value in mapped.items():
        name = _FACTS.get(target.rsplit(".", 1)[-1])
        if name is None or name in facts or not target.startswith("Acquisition_instrument."):
            continue
        value = _fact(name, value)
        if value is not None:
            facts[name] = value
    general = {**{target[len("General."):]: value for target, value in mapped.items()
                  if target.startswith("General.")},
               **{key: value for key, value in signal["metadata"].get("General", {}).items()
                  if value}}
    acquired = acquired_iso(general.get("date"), general.get("time"), general.get("time_zone"))
    if acquired is not None:
        facts["acquired"] = acquired
    return facts


def mapped_metadata(signal: dict) -> dict:
    """The hyperspy metadata items rosettasciio's ``mapping`` makes of the original metadata.

    The mapping tells which original-metadata entry becomes which hyperspy metadata item
    (``Acquisition_instrument.SEM.beam_energy`` …) and how to convert it; hyperspy applies it,
    rosettasciio alone does not.

    Parameters
    ----------
    signal : dict
        A rosettasciio signal dict.

    Returns
    -------
    dict
        Metadata path → converted value; entries missing or that do not convert are left out.
    """
    values = {}
    for key, (target, convert) in (signal.get("mapping") or {}).items():
        value = _lookup(signal["original_metadata"], key)
        if value is None:
            continue
        try:
            values.setdefault(target, convert(value) if convert is not None else value)
        except Exception:  # noqa: BLE001 - an entry that does not convert is simply absent
            continue
    return values


def _gray_dtype(dtype: np.dtype) -> np.dtype:
    """dtype of the gray image for a signal dtype (structured RGB: the channel dtype)."""
    return dtype[0] if dtype.names else dtype


def _load(data, page: int | slice | None) -> tuple[np.ndarray, list[str]]:
    """Read the pixels of a (possibly lazy) signal array; colour signals become gray."""
    if page is not None and data.ndim == 3:
        data = data[page]
    pixels = np.asarray(data)
    if pixels.dtype.names:
        return rgb_to_gray(structured_to_channels(pixels))
    return pixels, []


def _mrc_sampling_missing(signal: dict) -> bool:
    """True for an MRC header without sampling (MX or MY = 0), to which rosettasciio 0.15 gives
    1 nm/px: no calibration, not an invented one."""
    metadata = signal["original_metadata"]
    header = metadata.get("std_header", {})
    return "fei_header" not in metadata and not (header.get("MX") and header.get("MY"))


def _is_image(signal: dict) -> bool:
    axes = signal["axes"]
    return len(axes) >= 2 and all(_is_spatial(a.get("units")) for a in axes[-2:])


def _is_spatial(unit) -> bool:
    """True for pixel axes: no unit, a length unit, or a reciprocal length (diffraction)."""
    if unit in _UNCALIBRATED_UNITS:
        return True
    unit = str(unit).strip()
    return is_length_unit(unit) or (unit.startswith("1/") and is_length_unit(unit[2:]))


def _lookup(tree: dict, dotted: str):
    """``tree["a"]["b"]["c"]`` for ``"a.b.c"``; None when a key is missing."""
    for key in dotted.split("."):
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def _fact(name: str, value):
    """A metadata value as a fact: a positive number (kV, ×) or a non-empty name; else None."""
    if name == "instrument":
        text = str(value).strip() if isinstance(value, str) else ""
        return text or None
    number = _number(value)
    return number if number > 0 else None


def _number(value) -> float:
    """``value`` as a finite float, NaN when it is not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan
