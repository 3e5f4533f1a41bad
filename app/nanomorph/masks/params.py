"""The parameters of classical auto-masking, with per-method defaults chosen by measurement.

How the defaults were chosen (Dice against exact or manual masks; the full table is in the
``nanomorph.masks`` docstring and the README's "Auto-masking" section):

- Global thresholds (otsu, li, triangle): light smoothing (σ = 2 px) and removal of specks below
  64 px suit wires a few pixels wide. Otsu is the default method: the best global method on
  synthetic TEM and SEM images of all four morphologies.
- local: a 51-px block (a few wire widths) and offset 0 (no shift from the local mean).
- ridge: Sato's filter at σ = 1, 2, 3 px (wires 2-6 px wide) with hysteresis at 3 and 8 robust
  standard deviations of the response above its median. Meijering and Frangi responses are
  distributed differently, so each filter has its own hysteresis defaults
  (:data:`RIDGE_HYSTERESIS`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nanomorph.errors import InvalidParameterError

METHODS = ("otsu", "li", "triangle", "local", "ridge")
POLARITIES = ("dark", "bright")
RIDGE_FILTERS = ("sato", "meijering", "frangi")
# (low, high) hysteresis thresholds per ridge filter, in robust standard deviations of the ridge
# response above its median (see MaskParams.hysteresis_low).
RIDGE_HYSTERESIS = {"sato": (3.0, 8.0), "meijering": (1.5, 5.0), "frangi": (10.0, 40.0)}


@dataclass(frozen=True)
class MaskParams:
    """How :func:`nanomorph.masks.auto_mask` turns a micrograph into a wire mask.

    Every field is a plain number, string, bool or tuple: :meth:`as_json` / :meth:`from_json`
    store them in a project or a results file.

    Attributes
    ----------
    method : str
        ``"otsu"``, ``"li"``, ``"triangle"`` (one global threshold), ``"local"`` (threshold from
        the Gaussian-weighted mean of a block around each pixel) or ``"ridge"`` (a ridge filter
        for thin curvilinear wires, then hysteresis).
    polarity : str
        ``"dark"``: wires darker than the background (TEM bright field); ``"bright"``: wires
        brighter (SEM secondary electrons, STEM HAADF). See :func:`suggest_polarity`.
    smooth_sigma_px : float
        Standard deviation (px) of a Gaussian applied before thresholding; 0 = none.
    min_size_px : int
        Objects smaller than this many pixels are removed (0 = keep all).
    fill_holes_px : int
        Holes smaller than this many pixels are filled (0 = none).
    block_size_px : int
        ``local`` only: side of the block (px, odd, >= 3).
    offset : float
        ``local`` only: subtracted from the local mean, in units of the normalised intensity
        (0..1 between the 0.5th and 99.5th percentiles), with the wires' side up. Positive values
        take in more pixels, negative ones fewer.
    ridge_filter : str
        ``ridge`` only: ``"sato"``, ``"meijering"`` or ``"frangi"`` (scikit-image).
    ridge_sigmas_px : tuple of float
        ``ridge`` only: scales of the filter in px, about the half-widths of the wires sought.
    hysteresis_low, hysteresis_high : float or None
        ``ridge`` only: pixels whose response exceeds ``high`` seed the wires, which grow through
        pixels above ``low``. Both are in robust standard deviations of the response above its
        median (``median + k · 1.4826 · MAD``), so they do not depend on the image's contrast or
        on how much of it is wire (quantiles would). None takes the filter's default from
        :data:`RIDGE_HYSTERESIS`.
    crop_databar : bool
        Treat the info bar of SEM images (rows at the bottom) as background and leave it out of
        the threshold computation.
    """

    method: str = "otsu"
    polarity: str = "dark"
    smooth_sigma_px: float = 2.0
    min_size_px: int = 64
    fill_holes_px: int = 0
    block_size_px: int = 51
    offset: float = 0.0
    ridge_filter: str = "sato"
    ridge_sigmas_px: tuple[float, ...] = (1.0, 2.0, 3.0)
    hysteresis_low: float | None = None
    hysteresis_high: float | None = None
    crop_databar: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "ridge_sigmas_px",
                           tuple(float(s) for s in self.ridge_sigmas_px))
        for ok, reason in self._checks():
            if not ok:
                raise InvalidParameterError(reason)

    def _checks(self) -> list[tuple[bool, str]]:
        low, high = self.hysteresis
        return [
            (self.method in METHODS, f"method must be one of {', '.join(METHODS)}, "
                                     f"not {self.method!r}"),
            (self.polarity in POLARITIES, f"polarity must be dark or bright, "
                                          f"not {self.polarity!r}"),
            (self.ridge_filter in RIDGE_FILTERS, f"ridge filter must be one of "
                                                 f"{', '.join(RIDGE_FILTERS)}, "
                                                 f"not {self.ridge_filter!r}"),
            (self.smooth_sigma_px >= 0, f"smoothing sigma must not be negative, "
                                        f"not {self.smooth_sigma_px}"),
            (self.min_size_px >= 0 and self.fill_holes_px >= 0,
             "minimum object size and hole size must not be negative"),
            (self.block_size_px >= 3 and self.block_size_px % 2 == 1,
             f"block size must be an odd number of pixels >= 3, not {self.block_size_px}"),
            (len(self.ridge_sigmas_px) > 0 and all(s > 0 for s in self.ridge_sigmas_px),
             f"ridge sigmas must be positive, not {self.ridge_sigmas_px}"),
            (0 <= low <= high, f"hysteresis thresholds need 0 <= low <= high, "
                               f"not low={low}, high={high}"),
        ]

    @property
    def hysteresis(self) -> tuple[float, float]:
        """(low, high) ridge hysteresis thresholds, the filter's defaults filled in."""
        default_low, default_high = RIDGE_HYSTERESIS.get(self.ridge_filter, (0.0, 0.0))
        low = default_low if self.hysteresis_low is None else float(self.hysteresis_low)
        high = default_high if self.hysteresis_high is None else float(self.hysteresis_high)
        return low, high

    def as_json(self) -> dict:
        """The parameters as a JSON-ready dict (tuples as lists)."""
        record = dataclasses.asdict(self)
        record["ridge_sigmas_px"] = list(self.ridge_sigmas_px)
        return record

    @classmethod
    def from_json(cls, record: dict) -> MaskParams:
        """Parameters from :meth:`as_json` output (unknown keys are refused)."""
        unknown = set(record) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise InvalidParameterError(f"unknown mask parameters: {', '.join(sorted(unknown))}")
        return cls(**record)


# Per-method defaults (see the module docstring for how they were measured).
METHOD_DEFAULTS: dict[str, MaskParams] = {
    "otsu": MaskParams(method="otsu"),
    "li": MaskParams(method="li"),
    "triangle": MaskParams(method="triangle"),
    "local": MaskParams(method="local"),
    "ridge": MaskParams(method="ridge", smooth_sigma_px=1.0),
}


def params_for(method: str, **changes) -> MaskParams:
    """The defaults of ``method`` with some fields changed.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    **changes
        Fields of :class:`MaskParams` to override, e.g. ``polarity="bright"``.

    Returns
    -------
    MaskParams
    """
    if method not in METHOD_DEFAULTS:
        raise InvalidParameterError(f"method must be one of {', '.join(METHODS)}, "
                                    f"not {method!r}")
    return dataclasses.replace(METHOD_DEFAULTS[method], **changes)
