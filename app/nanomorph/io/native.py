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
reads only eagerly.
"""

from __future__ import annotations

import importlib
import math

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

    Parameters
    ----------
    kind : str
        The rosettasciio reader (``digitalmicrograph``, ``emd``, ``mrc``, ``tia``, ``phenom``).
    path : str
        The file.

    Returns
    -------
    Source
        Format, shape, dtype, calibration and a loader of the pixels.

    Raises
    ------
    ImageReadError
        When the file holds no image (only spectra …).
    """
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
    calibration = signal_calibration(signal)
    if kind == "mrc" and _mrc_sampling_missing(signal):
        calibration = UNCALIBRATED
    source = Source(
        format=fmt,
        shape=tuple(int(n) for n in signal["data"].shape),
        dtype=_gray_dtype(signal["data"].dtype),
        load=lambda page: _load(signal["data"], page),
        calibration=calibration,
        metadata=instrument_facts(signal),
    )
    if note:
        source.add_note(note)
    return source


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
    """Beam energy (kV), magnification and instrument name, where rosettasciio maps them.

    rosettasciio's ``mapping`` tells which original-metadata entry becomes which hyperspy
    metadata item (``Acquisition_instrument.SEM.beam_energy`` …) and how to convert it; facts
    that are missing or do not convert (e.g. FEI "bad floats") are left out.

    Parameters
    ----------
    signal : dict
        A rosettasciio signal dict.

    Returns
    -------
    dict
        Fact name → value.
    """
    facts = {}
    for key, (target, convert) in (signal.get("mapping") or {}).items():
        name = _FACTS.get(target.rsplit(".", 1)[-1])
        if name is None or name in facts or not target.startswith("Acquisition_instrument."):
            continue
        value = _lookup(signal["original_metadata"], key)
        try:
            value = convert(value) if convert is not None and value is not None else value
        except Exception:  # noqa: BLE001 - a fact that does not convert is simply absent
            continue
        value = _fact(name, value)
        if value is not None:
            facts[name] = value
    return facts


def _gray_dtype(dtype: np.dtype) -> np.dtype:
    """dtype of the gray image for a signal dtype (structured RGB: the channel dtype)."""
    return dtype[0] if dtype.names else dtype


def _load(data, page: int | None) -> tuple[np.ndarray, list[str]]:
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
