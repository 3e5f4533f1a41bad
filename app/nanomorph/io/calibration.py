"""Pixel size and unit of an image: the one calibration type every part of nanomorph uses.

Rules
-----
- A calibration is per axis, ``pixel_size = (y, x)``, in one ``unit`` for both axes. Readers
  convert per-axis units to one (e.g. a DM4 with x in nm and y in Å becomes nm for both).
- Length units are normalised for display: values below 1 µm are given in ``nm``, below 1 mm in
  ``µm``, else ``mm`` (judged on the x pixel size). Reciprocal units (``1/nm``, diffraction) are
  kept as they come and cannot be used for lengths in real space.
- "Uncalibrated" is explicit: ``pixel_size is None`` and ``unit is None``. nanomorph never
  invents 1 nm per pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nanomorph.errors import CalibrationError
from nanomorph.io.records import JsonRecord

# nanometres per unit; keys are every spelling readers produce.
_NM_PER_UNIT = {
    "pm": 1e-3,
    "a": 0.1, "å": 0.1, "angstrom": 0.1, "ångström": 0.1,
    "nm": 1.0,
    "um": 1e3, "µm": 1e3, "μm": 1e3, "micron": 1e3, "microns": 1e3, "micrometer": 1e3,
    "mm": 1e6,
    "cm": 1e7,
    "m": 1e9,
    "inch": 2.54e7, "in": 2.54e7,
}
# pint-compatible spellings for napari's Layer.units
_PINT_UNIT = {"pm": "pm", "nm": "nm", "µm": "µm", "mm": "mm"}


def nm_per_unit(unit: str) -> float | None:
    """Nanometres in one length unit.

    Parameters
    ----------
    unit : str
        ``pm``, ``Å``, ``nm``, ``µm`` (``um``), ``mm`` …

    Returns
    -------
    float or None
        None when ``unit`` is not a length (e.g. ``1/nm``).
    """
    return _NM_PER_UNIT.get(unit.strip().lower().replace("μ", "µ")) if unit else None


_SECONDS_PER_UNIT = {"s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3,
                     "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "min": 60.0, "h": 3600.0}


def seconds(value, unit: str | None) -> float | None:
    """A time in seconds (for frame intervals of movies and time series).

    Parameters
    ----------
    value : float
        The time in ``unit``.
    unit : str or None
        ``s``, ``ms``, ``µs`` (``us``), ``ns``, ``min``, ``h`` (also ``sec``).

    Returns
    -------
    float or None
        None when the unit is not a time or the value is not a positive finite number.
    """
    factor = _SECONDS_PER_UNIT.get(str(unit or "").strip().lower().replace("μ", "µ"))
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    if factor is None or not (math.isfinite(value) and value > 0):
        return None
    return value * factor


def is_length_unit(unit: str | None) -> bool:
    """Whether a unit is a length nanomorph converts.

    Parameters
    ----------
    unit : str or None
        A unit name.

    Returns
    -------
    bool
        True for pm, Å, nm, µm, mm …
    """
    return unit is not None and nm_per_unit(unit) is not None


def display_length_unit(size_nm: float) -> str:
    """The unit in which a pixel size reads naturally.

    Parameters
    ----------
    size_nm : float
        Pixel size in nanometres.

    Returns
    -------
    str
        ``nm``, ``µm`` or ``mm``.
    """
    if size_nm < 1e3:
        return "nm"
    return "µm" if size_nm < 1e6 else "mm"


@dataclass(frozen=True)
class Calibration(JsonRecord):
    """Physical size of one pixel.

    Attributes
    ----------
    pixel_size : (float, float) or None
        Pixel size along (y, x) in ``unit``; None when uncalibrated.
    unit : str or None
        ``nm``, ``µm``, ``mm`` for real-space images, a reciprocal unit such as ``1/nm`` for
        diffraction patterns, None when uncalibrated.
    source : str
        Where it came from: ``file`` (read from the file's metadata), ``user`` (set by the user for
        this image), ``project`` (the project's default), or ``none``.
    """

    pixel_size: tuple[float, float] | None = None
    unit: str | None = None
    source: str = "none"

    def __post_init__(self) -> None:
        if self.pixel_size is None:
            return
        py, px = self.pixel_size
        if not (math.isfinite(py) and math.isfinite(px) and py > 0 and px > 0):
            raise CalibrationError(f"pixel size must be positive and finite, got {py} × {px}")
        if not self.unit:
            raise CalibrationError("a pixel size needs a unit")

    @property
    def calibrated(self) -> bool:
        """Whether the image has a pixel size (in any unit)."""
        return self.pixel_size is not None

    @property
    def is_length(self) -> bool:
        """True for real-space lengths (nm, µm, …); False for reciprocal or uncalibrated."""
        return self.calibrated and is_length_unit(self.unit)

    def pixel_size_nm(self) -> tuple[float, float]:
        """Pixel size along (y, x) in nanometres.

        Returns
        -------
        (float, float)
            (y, x) in nm.

        Raises
        ------
        CalibrationError
            When the image is uncalibrated or calibrated in a non-length unit.
        """
        if not self.calibrated:
            raise CalibrationError(
                "the image is uncalibrated: set its pixel size, or give lengths in pixels"
            )
        factor = nm_per_unit(self.unit)
        if factor is None:
            raise CalibrationError(
                f"the image is calibrated in {self.unit}, not in a length unit: give lengths in pixels"
            )
        return (self.pixel_size[0] * factor, self.pixel_size[1] * factor)

    def mean_pixel_size_nm(self) -> float | None:
        """One pixel size in nanometres: the geometric mean of (y, x).

        Returns
        -------
        float or None
            In nm; None when the image is uncalibrated or not calibrated in a length.
        """
        if not self.is_length:
            return None
        return math.sqrt(math.prod(self.pixel_size_nm()))

    def normalised(self) -> "Calibration":
        """The same calibration in its display unit.

        Returns
        -------
        Calibration
            In nm, µm or mm; reciprocal and missing calibrations unchanged.
        """
        if not self.is_length:
            return self
        py, px = self.pixel_size_nm()
        unit = display_length_unit(px)
        f = _NM_PER_UNIT[unit]
        return Calibration((_clean(py / f), _clean(px / f)), unit, self.source)

    def napari_units(self) -> tuple[str, str] | None:
        """Units for napari's ``Layer.units``.

        Returns
        -------
        (str, str) or None
            pint spellings for (y, x), e.g. ``("nanometer", "nanometer")``; None when not a length.
        """
        if not self.is_length:
            return None
        unit = _PINT_UNIT.get(self.unit, "nm")
        return (unit, unit)

    def describe(self) -> str:
        """Short text for a status line.

        Returns
        -------
        str
            E.g. ``2.61 µm/px`` or ``uncalibrated``.
        """
        if not self.calibrated:
            return "uncalibrated"
        py, px = self.pixel_size
        if math.isclose(py, px, rel_tol=1e-6):
            return f"{px:.4g} {self.unit}/px"
        return f"{py:.4g} × {px:.4g} {self.unit}/px (y × x)"


UNCALIBRATED = Calibration()


def _clean(value: float) -> float:
    """Drop unit-conversion float noise (3.3724000000000003 → 3.3724): 12 significant digits."""
    return float(f"{value:.12g}")


def calibration_from_axes(sizes: list[tuple[float, str | None]], source: str = "file") -> Calibration:
    """Build a calibration from per-axis sizes.

    Per-axis length units are converted to one and normalised for display. Axes with no unit, a
    non-positive or non-finite size, or mixed length/non-length units give UNCALIBRATED.

    Parameters
    ----------
    sizes : list of (float, str or None)
        ``(size, unit)`` per axis, ordered (y, x).
    source : str
        Recorded as the calibration's source.

    Returns
    -------
    Calibration
        The pixel size, or UNCALIBRATED.
    """
    (sy, uy), (sx, ux) = sizes
    if not all(isinstance(s, (int, float)) and math.isfinite(s) and s > 0 for s in (sy, sx)):
        return UNCALIBRATED
    uy, ux = (u.strip() if isinstance(u, str) else u for u in (uy, ux))
    if not ux or not uy or ux.lower() in ("<undefined>", "px", "pixel", "pixels"):
        return UNCALIBRATED
    fy, fx = nm_per_unit(uy), nm_per_unit(ux)
    if fx is not None and fy is not None:
        return Calibration((sy * fy, sx * fx), "nm", source).normalised()
    if fx is None and fy is None and uy == ux:
        return Calibration((float(sy), float(sx)), ux, source)
    return UNCALIBRATED
