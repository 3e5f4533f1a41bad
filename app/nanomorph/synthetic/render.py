"""Turning wires into a TEM- or SEM-like micrograph with its exact ground-truth mask.

TEM (bright field): a bright, slowly varying amorphous-carbon background; each wire is a cylinder
whose darkness follows its projected thickness ``2 * sqrt(r**2 - d**2)`` (Beer–Lambert), so
overlapping wires add up and look darker. SEM (secondary electrons): a dark substrate; wires are
bright with brighter edges (the secant law of SE yield, capped), the top wire hides the ones below,
and every scan line has its own offset. Both are blurred by a Gaussian PSF, then get shot
(Poisson) and Gaussian noise, and are quantised to uint8 or uint16.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from nanomorph.errors import InvalidParameterError
from nanomorph.synthetic.geometry import WireParams, generate_wires
from nanomorph.synthetic.raster import WireRaster, rasterize_wires

CONTRASTS = ("tem", "sem")
_DEFAULT_BACKGROUND = {"tem": 0.75, "sem": 0.18}
_MAX_VALUE = {"uint8": 255, "uint16": 65535}
# Scale (px) of the fine grain added to the slowly varying background texture.
_GRAIN_PX = 1.0


@dataclass(frozen=True)
class ImagingParams:
    """How the wires are imaged. Intensities are fractions of the full scale (0 black, 1 white).

    Attributes
    ----------
    contrast : str
        ``"tem"`` (bright background, dark wires) or ``"sem"`` (dark background, bright wires).
    background_level : float or None
        Mean background intensity; None: 0.75 for TEM, 0.18 for SEM.
    wire_contrast : float
        In (0, 1). TEM: fractional darkening on the axis of a wire of the median width.
        SEM: fraction of the headroom above the background reached at the brightest wire edge.
    texture_amplitude : float
        Relative standard deviation of the background texture (amorphous carbon, substrate).
    texture_scale_px : float
        Correlation length of the slowly varying part of the texture, in pixels.
    blur_px : float
        Standard deviation of the Gaussian PSF in pixels (0 = none).
    counts_per_px : float or None
        Shot noise: detected electrons per pixel at full scale (Poisson); None = no shot noise.
    noise_sd : float
        Standard deviation of additive Gaussian (read-out) noise.
    scan_line_noise : float
        SEM only: standard deviation of a per-scan-line (row) intensity offset.
    sem_edge_gain : float
        SEM only: cap (>= 1) of the secant-law edge brightening; edge over axis brightness.
    dtype : str
        ``"uint8"`` or ``"uint16"``.
    """

    contrast: str = "tem"
    background_level: float | None = None
    wire_contrast: float = 0.6
    texture_amplitude: float = 0.05
    texture_scale_px: float = 20.0
    blur_px: float = 1.0
    counts_per_px: float | None = 300.0
    noise_sd: float = 0.01
    scan_line_noise: float = 0.02
    sem_edge_gain: float = 2.5
    dtype: str = "uint8"

    def __post_init__(self) -> None:
        checks = [
            (self.contrast in CONTRASTS, f"contrast must be one of {CONTRASTS}, got {self.contrast!r}"),
            (self.background_level is None or 0 <= self.background_level <= 1,
             "background_level must be in [0, 1]"),
            (0 < self.wire_contrast < 1, "wire_contrast must be in (0, 1)"),
            (self.texture_amplitude >= 0 and self.texture_scale_px > 0,
             "texture_amplitude must not be negative and texture_scale_px must be positive"),
            (self.blur_px >= 0 and self.noise_sd >= 0 and self.scan_line_noise >= 0,
             "blur and noise levels must not be negative"),
            (self.counts_per_px is None or self.counts_per_px > 0, "counts_per_px must be positive"),
            (self.sem_edge_gain >= 1, "sem_edge_gain must be at least 1"),
            (self.dtype in _MAX_VALUE, f"dtype must be one of {tuple(_MAX_VALUE)}"),
        ]
        for ok, reason in checks:
            if not ok:
                raise InvalidParameterError(reason)
        if self.background_level is None:
            object.__setattr__(self, "background_level", _DEFAULT_BACKGROUND[self.contrast])


@dataclass(frozen=True)
class SyntheticImage:
    """A synthetic micrograph with its exact ground truth.

    Attributes
    ----------
    image : ndarray of uint8 or uint16, shape (rows, cols)
        The micrograph.
    mask : ndarray of uint8, shape (rows, cols)
        1 where a pixel centre lies within a wire, else 0.
    wires : list of ndarray, shape (n, 2)
        Wire axes, (row, col) in pixels; they may reach beyond the frame.
    widths_px : ndarray of float
        Wire widths in pixels.
    bundle_ids : ndarray of int
        Bundle of each wire, -1 for a free wire.
    pixel_size_nm : float
        Pixel size in nanometres.
    params : dict
        Every parameter used, JSON-serialisable, including ``seed``; ``geometry`` and
        ``imaging`` rebuild the image through :func:`synthesize`.
    """

    image: np.ndarray
    mask: np.ndarray
    wires: list[np.ndarray]
    widths_px: np.ndarray
    bundle_ids: np.ndarray
    pixel_size_nm: float
    params: dict

    @property
    def density_per_um2(self) -> float:
        """Wires per µm² of the frame."""
        return len(self.wires) / (self.mask.size * (self.pixel_size_nm * 1e-3) ** 2)

    @property
    def foreground_fraction(self) -> float:
        """Fraction of pixels inside wires."""
        return float(self.mask.mean())


def _texture(rng: np.random.Generator, shape: tuple[int, int], amplitude: float,
             scale_px: float) -> np.ndarray:
    """Zero-mean background texture (relative sd ``amplitude``): slow variations plus fine grain."""
    spectrum = np.fft.rfft2(rng.standard_normal(shape))
    fields = []
    for sigma in (scale_px, _GRAIN_PX):
        field = np.fft.irfft2(ndimage.fourier_gaussian(spectrum, sigma, n=shape[1]), s=shape)
        fields.append(field / max(field.std(), 1e-12))
    return amplitude * (fields[0] + 0.5 * fields[1]) / math.sqrt(1.25)


def _tem_signal(background: np.ndarray, raster: WireRaster, widths_px: np.ndarray,
                wire_contrast: float) -> np.ndarray:
    """Bright-field transmission exp(-k * thickness); the median wire's axis is darkened by
    ``wire_contrast``."""
    if len(widths_px) == 0:
        return background
    attenuation_per_px = -math.log1p(-wire_contrast) / float(np.median(widths_px))
    return background * np.exp(-attenuation_per_px * raster.thickness_px)


def _sem_signal(background: np.ndarray, raster: WireRaster, imaging: ImagingParams) -> np.ndarray:
    """SE signal: the substrate off the wires; on them, brightness grows with the secant of the
    surface tilt (capped at ``sem_edge_gain``)."""
    secant = 1.0 / np.maximum(raster.top_cos, 1.0 / imaging.sem_edge_gain)
    level = imaging.background_level
    wire = level + imaging.wire_contrast * (1.0 - level) * secant / imaging.sem_edge_gain
    return np.where(raster.mask, wire, background)


def _add_noise(rng: np.random.Generator, signal: np.ndarray, imaging: ImagingParams) -> np.ndarray:
    """Shot noise, Gaussian noise and (SEM) scan-line offsets."""
    if imaging.counts_per_px is not None:
        counts = imaging.counts_per_px
        signal = rng.poisson(np.clip(signal, 0.0, None) * counts) / counts
    signal = signal + rng.normal(0.0, imaging.noise_sd, signal.shape)
    if imaging.contrast == "sem":
        signal = signal + rng.normal(0.0, imaging.scan_line_noise, (signal.shape[0], 1))
    return signal


def render(polylines: Sequence[np.ndarray], widths_px: Sequence[float], shape_px: tuple[int, int],
           imaging: ImagingParams, rng: np.random.Generator | int, *,
           periodic: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Image and exact mask of wires.

    Parameters
    ----------
    polylines : sequence of ndarray, shape (n, 2)
        Wire axes, (row, col) in pixels; later wires lie on top.
    widths_px : sequence of float
        Wire widths (diameters) in pixels.
    shape_px : (int, int)
        Image shape in pixels.
    imaging : ImagingParams
        Contrast, background, blur, noise and output dtype.
    rng : numpy.random.Generator or int
        Random source (or seed) of texture and noise.
    periodic : bool
        Wrap wires around the frame instead of clipping them.

    Returns
    -------
    image : ndarray of ``imaging.dtype``
    mask : ndarray of uint8 (0/1)
    """
    rng = np.random.default_rng(rng)
    shape = tuple(int(n) for n in shape_px)
    widths = np.asarray(widths_px, dtype=float)
    raster = rasterize_wires(polylines, widths, shape, periodic=periodic)
    texture = _texture(rng, shape, imaging.texture_amplitude, imaging.texture_scale_px)
    background = imaging.background_level * (1.0 + texture)
    if imaging.contrast == "tem":
        signal = _tem_signal(background, raster, widths, imaging.wire_contrast)
    else:
        signal = _sem_signal(background, raster, imaging)
    if imaging.blur_px > 0:
        signal = ndimage.gaussian_filter(signal, imaging.blur_px)
    signal = _add_noise(rng, signal, imaging)
    top = _MAX_VALUE[imaging.dtype]
    image = np.round(np.clip(signal, 0.0, 1.0) * top).astype(imaging.dtype)
    return image, raster.mask.astype(np.uint8)


def synthesize(geometry: WireParams, imaging: ImagingParams | None = None, *,
               seed: int = 0) -> SyntheticImage:
    """A synthetic nanowire micrograph with exact ground truth, reproducible from ``seed``.

    Parameters
    ----------
    geometry : WireParams
        Where the wires are (shape, pixel size, count or density, lengths, widths, …).
    imaging : ImagingParams, optional
        How they are imaged; default ``ImagingParams()`` (TEM).
    seed : int
        Seed of everything random. Geometry and imaging draw from separate streams, so changing
        the imaging keeps the wires where they were.

    Returns
    -------
    SyntheticImage
    """
    imaging = ImagingParams() if imaging is None else imaging
    geometry_seed, imaging_seed = np.random.SeedSequence(seed).spawn(2)
    wires = generate_wires(geometry, np.random.default_rng(geometry_seed))
    image, mask = render(wires.polylines, wires.widths_px, geometry.shape_px, imaging,
                         np.random.default_rng(imaging_seed), periodic=geometry.periodic)
    params = {"seed": int(seed), "geometry": dataclasses.asdict(geometry),
              "imaging": dataclasses.asdict(imaging)}
    return SyntheticImage(image, mask, wires.polylines, wires.widths_px, wires.bundle_ids,
                          float(geometry.pixel_size_nm), params)
