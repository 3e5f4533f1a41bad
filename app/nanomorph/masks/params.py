"""The parameters of classical auto-masking, with per-method defaults chosen by measurement.

Defaults (``METHOD_DEFAULTS``) were chosen on a grid of smoothing σ (0-16 px), minimum object
size (0-5000 px), hole filling, block size and offset (local), filter scales, filters and
hysteresis (ridge), scored by the mean Dice coefficient against exact or manual masks:

- synthetic: 20 images of each morphology (bundle, dispersed, network, singular) in TEM and in SEM
  contrast, 384 px, wires 3-14 px wide, right polarity (mean of the 8 groups);
- HRTEM: nanowire_tem_seg, 24 frames of 1024 px, one thick dark wire with a dark catalyst
  droplet, against the wire class (127) and wire + droplet (127 ∪ 255);
- TiO2: tio2_sem_seg, 12 SEM images of bright particles, Zeiss info bar left out.

==========================================  =========  =============  ==========  =====
method and setting                          synthetic  HRTEM 127      127 ∪ 255   TiO2
==========================================  =========  =============  ==========  =====
otsu, default (σ 1.5, min 64 px)            0.861      0.526          0.735       0.893
otsu, σ 1                                   **0.883**  0.511          0.716       0.890
otsu, σ 2, min 500, holes < 5000 px         0.742      0.547          0.759       0.889
otsu, σ 4, min 500 (data README baseline)   —          0.534          0.749       —
li, default (σ 1.5)                         0.759      0.524          0.731       0.921
li, σ 1, min 256                            0.784      0.514          0.718       **0.928**
li, σ 8, holes < 5000 px                    0.410      0.546          0.753       0.805
triangle, default (σ 1)                     0.827      0.352          0.594       0.874
triangle, σ 8, min 500, holes < 5000 px     0.415      **0.570**      **0.773**   0.690
local, default (block 51, offset -0.05)     0.888      0.227          0.184       0.714
local, block 75, offset -0.08               **0.898**  0.112          0.097       0.761
local, block 301, offset -0.05, min 500     0.776      0.253          0.351       0.914
local, block 501, offset -0.02, σ 8         0.429      0.390          0.635       0.747
ridge, default (sato 1-3 px, 0.5/1 Otsu)    0.852      0.381          0.495       0.634
ridge, meijering                            0.844      0.426          0.395       0.535
ridge, frangi                               0.788      0.362          0.252       0.335
==========================================  =========  =============  ==========  =====

No threshold separates the HRTEM wire from its droplet (both dark): the best classical Dice
against the wire class is 0.57. Choices:

- Global thresholds: σ = 1.5 px for Otsu and Li (σ = 1 is best on thin synthetic wires, 2-4 on
  the 1024-px HRTEM frames; 1.5 loses about 0.02 on either), σ = 1 px for the triangle method;
  objects below 64 px removed. Otsu is the default method: at default settings the best global
  method on the synthetic images and the HRTEM frames, 0.03 below Li on TiO2. Otsu and Li fail on
  sparse low-contrast images (about 1 % wire), where the threshold splits the background;
  triangle and ridge do not.
- local: a 51-px block and offset -0.05 (a pixel must exceed its local mean by 5 % of the
  intensity range). The block must span several wire widths: wider objects need larger blocks
  (301 px for the TiO2 particles).
- ridge: Sato's filter at scales 1, 2, 3 px (wires 2-6 px wide) after σ = 1 px smoothing, with
  hysteresis between 0.5 and 1 times the Otsu threshold of the response. Thresholds in robust
  standard deviations above the median response did as well on the synthetic images (0.84) but
  found nothing in dense real networks (AgNW, aramid, cellulose), where wires cover half the
  image and set the median; quantiles fail on sparse images. Meijering and Frangi responses are
  distributed differently, so each filter has its own hysteresis defaults
  (:data:`RIDGE_HYSTERESIS`). Ridge filters find thin wires, not the thick HRTEM wire or the
  particles.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nanomorph.errors import InvalidParameterError
from nanomorph.io.records import JsonRecord

METHODS = ("otsu", "li", "triangle", "local", "ridge")
POLARITIES = ("dark", "bright")
# widest Gaussian (sd, px) a mask may be smoothed with: far beyond any wire, and a kernel
# (8 sd + 1 taps) that stays small; inf or 1e9 would allocate gigabytes
MAX_SIGMA_PX = 1000.0
AUTO_POLARITY = "auto"  # decided per image by nanomorph.masks.suggest_polarity
RIDGE_FILTERS = ("sato", "meijering", "frangi")
# (low, high) hysteresis thresholds per ridge filter, in multiples of the Otsu threshold of the
# filter's response (see MaskParams.hysteresis_low).
RIDGE_HYSTERESIS = {"sato": (0.5, 1.0), "meijering": (1.0, 1.5), "frangi": (0.4, 1.0)}


@dataclass(frozen=True)
class MaskParams(JsonRecord):
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
        ``local`` only: subtracted from the Gaussian-weighted local mean to give the threshold,
        in units of the normalised intensity (0..1 between the 0.5th and 99.5th percentiles)
        with the wires' side up. Negative values ask wires to stand out from their
        surroundings; positive ones take in more pixels.
    ridge_filter : str
        ``ridge`` only: ``"sato"``, ``"meijering"`` or ``"frangi"`` (scikit-image).
    ridge_sigmas_px : tuple of float
        ``ridge`` only: scales of the filter in px, about the half-widths of the wires sought.
    hysteresis_low, hysteresis_high : float or None
        ``ridge`` only: pixels whose response exceeds ``high`` seed the wires, which grow through
        pixels above ``low``. Both are multiples of the Otsu threshold of the response, so they
        follow the image's contrast and suit sparse wires as well as dense networks (quantiles
        assume a wire fraction; thresholds in noise units fail when wires cover half the image).
        None takes the filter's default from :data:`RIDGE_HYSTERESIS`.
    crop_databar : bool
        Treat the info bar of SEM images (rows at the bottom) as background and leave it out of
        the threshold computation.
    """

    method: str = "otsu"
    polarity: str = "dark"
    smooth_sigma_px: float = 1.5
    min_size_px: int = 64
    fill_holes_px: int = 0
    block_size_px: int = 51
    offset: float = -0.05
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
            (0 <= self.smooth_sigma_px <= MAX_SIGMA_PX,
             f"the smoothing sigma must lie in 0..{MAX_SIGMA_PX:g} px, not "
             f"{self.smooth_sigma_px}"),
            (self.min_size_px >= 0 and self.fill_holes_px >= 0,
             "minimum object size and hole size must not be negative"),
            (self.block_size_px >= 3 and self.block_size_px % 2 == 1,
             f"block size must be an odd number of pixels >= 3, not {self.block_size_px}"),
            (len(self.ridge_sigmas_px) > 0
             and all(0 < s <= MAX_SIGMA_PX for s in self.ridge_sigmas_px),
             f"ridge sigmas must lie in 0..{MAX_SIGMA_PX:g} px, not {self.ridge_sigmas_px}"),
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


    @classmethod
    def from_json(cls, record: dict) -> MaskParams:
        """Parameters from :meth:`as_json` output.

        Parameters
        ----------
        record : dict
            Field name → value (lists for tuples).

        Returns
        -------
        MaskParams
            The parameters.

        Raises
        ------
        InvalidParameterError
            For unknown keys or values out of range.
        """
        unknown = set(record) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise InvalidParameterError(f"unknown mask parameters: {', '.join(sorted(unknown))}")
        return cls(**record)


# Per-method defaults (see the module docstring for how they were measured).
METHOD_DEFAULTS: dict[str, MaskParams] = {
    "otsu": MaskParams(method="otsu"),
    "li": MaskParams(method="li"),
    "triangle": MaskParams(method="triangle", smooth_sigma_px=1.0),
    "local": MaskParams(method="local", smooth_sigma_px=1.0),
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

    Raises
    ------
    InvalidParameterError
        For an unknown method or field.
    """
    if method not in METHOD_DEFAULTS:
        raise InvalidParameterError(f"method must be one of {', '.join(METHODS)}, "
                                    f"not {method!r}")
    return dataclasses.replace(METHOD_DEFAULTS[method], **changes)
