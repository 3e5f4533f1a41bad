"""Morphology presets: random images of the four default classes of Lu et al. (2022).

- ``bundle``: several bundles of 3-7 aligned, touching or closely spaced wires.
- ``dispersed``: 4-12 short separated wires that do not touch.
- ``network``: a dense isotropic random network of long wires that spans the frame.
- ``singular``: one long wire (two in a quarter of the images).

Sizes are drawn relative to the frame (in pixels), so a class looks alike at every pixel size.
Imaging (TEM or SEM contrast, background level, wire contrast, blur, noise) is drawn from the
same distributions for every class, so the classes differ by morphology, not by a global
intensity.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from nanomorph.errors import InvalidParameterError
from nanomorph.synthetic.geometry import WireParams
from nanomorph.synthetic.render import (
    CONTRASTS,
    ImagingParams,
    SyntheticImage,
    synthesize,
)

MORPHOLOGIES = ("bundle", "dispersed", "network", "singular")
# Fraction of wire pixels each preset gives at 384 × 384 (checked by the tests over many seeds).
FOREGROUND_RANGES = {
    "bundle": (0.03, 0.25),
    "dispersed": (0.005, 0.10),
    "network": (0.08, 0.20),
    "singular": (0.005, 0.08),
}
PIXEL_SIZE_RANGE_NM = (2.0, 8.0)
# Stream of the preset's own draws, separate from those of synthesize(seed).
_PRESET_STREAM = 1


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _curvature_per_um(rng: np.random.Generator, frame_um: float, max_turn_rad: float) -> float:
    """A curvature whose tangent turns by up to ``max_turn_rad`` (sd) along one frame width."""
    return float(rng.uniform(0.0, max_turn_rad**2) / frame_um)


def random_imaging(rng: np.random.Generator, contrast: str | None = None) -> ImagingParams:
    """Imaging conditions drawn from one distribution shared by all classes.

    Parameters
    ----------
    rng : numpy.random.Generator
    contrast : str, optional
        ``"tem"`` or ``"sem"``; None draws one with equal odds.

    Returns
    -------
    ImagingParams
    """
    contrast = str(rng.choice(CONTRASTS)) if contrast is None else contrast
    if contrast == "tem":
        background, wire_contrast = rng.uniform(0.55, 0.85), rng.uniform(0.35, 0.75)
    else:
        background, wire_contrast = rng.uniform(0.08, 0.30), rng.uniform(0.45, 0.85)
    return ImagingParams(
        contrast=contrast,
        background_level=float(background),
        wire_contrast=float(wire_contrast),
        texture_amplitude=float(rng.uniform(0.02, 0.06)),
        texture_scale_px=float(rng.uniform(10.0, 40.0)),
        blur_px=float(rng.uniform(0.6, 1.6)),
        counts_per_px=_log_uniform(rng, 50.0, 1000.0),
        noise_sd=float(rng.uniform(0.005, 0.03)),
        scan_line_noise=float(rng.uniform(0.0, 0.03)),
        sem_edge_gain=float(rng.uniform(1.8, 3.0)),
    )


def _wire_sizes(rng: np.random.Generator, pixel_size_nm: float, length_px: float,
                width_range_px: tuple[float, float]) -> dict:
    """Length and width parameters (nm) of a preset, from a mean length and a width range in px."""
    width_px = rng.uniform(*width_range_px)
    return {"length_nm_mean": float(length_px * pixel_size_nm),
            "length_nm_sd": float(0.15 * length_px * pixel_size_nm),
            "width_nm_mean": float(width_px * pixel_size_nm),
            "width_nm_sd": float(0.06 * width_px * pixel_size_nm)}


def _in_frame_fraction(length_px: float, frame_px: float) -> float:
    """Mean fraction of an isotropic stick with a uniform centre that lies inside a square frame."""
    ratio = length_px / frame_px
    return 1.0 - ratio / math.pi + ratio**2 / (12.0 * math.pi)


def _bundle(rng, shape, pixel_size_nm) -> WireParams:
    frame = min(shape)
    sizes = _wire_sizes(rng, pixel_size_nm, rng.uniform(0.45, 0.85) * frame, (3.0, 6.0))
    return WireParams(
        shape, pixel_size_nm, n_wires=int(rng.integers(10, 26)), **sizes,
        curvature_per_um=_curvature_per_um(rng, frame * pixel_size_nm * 1e-3, 0.3),
        orientation_deg=float(rng.uniform(0.0, 180.0)),
        orientation_spread_deg=float(rng.uniform(60.0, 180.0)),
        bundling=1.0, bundle_size_min=3, bundle_size_max=7,
        bundle_gap_nm=float(rng.uniform(0.0, 0.5) * sizes["width_nm_mean"]),
        bundle_jitter_deg=float(rng.uniform(0.5, 2.0)),
        min_separation_nm=4.0 * pixel_size_nm, centre_margin_frac=0.1)


def _dispersed(rng, shape, pixel_size_nm) -> WireParams:
    frame = min(shape)
    return WireParams(
        shape, pixel_size_nm, n_wires=int(rng.integers(4, 13)),
        **_wire_sizes(rng, pixel_size_nm, rng.uniform(0.18, 0.35) * frame, (4.0, 9.0)),
        curvature_per_um=_curvature_per_um(rng, frame * pixel_size_nm * 1e-3, 0.3),
        orientation_spread_deg=180.0, min_separation_nm=8.0 * pixel_size_nm, centre_margin_frac=0.05)


def _network(rng, shape, pixel_size_nm) -> WireParams:
    frame = min(shape)
    length_px = rng.uniform(0.6, 1.0) * frame
    sizes = _wire_sizes(rng, pixel_size_nm, length_px, (3.0, 5.0))
    width_px = sizes["width_nm_mean"] / pixel_size_nm
    # Coverage of randomly placed wires: fraction = 1 - exp(-n * area_per_wire / frame_area).
    target_fraction = rng.uniform(0.11, 0.17)
    area_per_wire = length_px * _in_frame_fraction(length_px, frame) * width_px
    n_wires = round(-math.log1p(-target_fraction) * shape[0] * shape[1] / area_per_wire)
    return WireParams(
        shape, pixel_size_nm, n_wires=int(n_wires), **sizes,
        curvature_per_um=_curvature_per_um(rng, frame * pixel_size_nm * 1e-3, 0.6),
        orientation_spread_deg=180.0)


def _singular(rng, shape, pixel_size_nm) -> WireParams:
    frame = min(shape)
    return WireParams(
        shape, pixel_size_nm, n_wires=2 if rng.random() < 0.25 else 1,
        **_wire_sizes(rng, pixel_size_nm, rng.uniform(0.8, 1.3) * frame, (6.0, 14.0)),
        curvature_per_um=_curvature_per_um(rng, frame * pixel_size_nm * 1e-3, 0.4),
        orientation_deg=float(rng.uniform(0.0, 180.0)), orientation_spread_deg=180.0,
        centre_margin_frac=0.3)


_GEOMETRIES = {"bundle": _bundle, "dispersed": _dispersed, "network": _network,
               "singular": _singular}


def generate_morphology(name: str, *, shape: tuple[int, int] = (384, 384),
                        pixel_size_nm: float | None = None, contrast: str | None = None,
                        seed: int = 0) -> SyntheticImage:
    """A random image of one morphology class, with exact ground truth.

    Parameters
    ----------
    name : str
        ``"bundle"``, ``"dispersed"``, ``"network"`` or ``"singular"``.
    shape : (int, int)
        Image shape in pixels.
    pixel_size_nm : float, optional
        Pixel size in nm; None draws one log-uniformly from ``PIXEL_SIZE_RANGE_NM``.
    contrast : str, optional
        ``"tem"`` or ``"sem"``; None draws one.
    seed : int
        Seed of everything random: the same seed gives the same image.

    Returns
    -------
    SyntheticImage
        ``params["morphology"]`` holds ``name``; ``params["geometry"]``, ``["imaging"]`` and
        ``["seed"]`` rebuild the image through :func:`synthesize`.

    Raises
    ------
    InvalidParameterError
        For an unknown morphology name.
    """
    if name not in _GEOMETRIES:
        raise InvalidParameterError(f"unknown morphology {name!r}: choose one of {MORPHOLOGIES}")
    rng = np.random.default_rng([seed, _PRESET_STREAM])
    if pixel_size_nm is None:
        pixel_size_nm = _log_uniform(rng, *PIXEL_SIZE_RANGE_NM)
    imaging = random_imaging(rng, contrast)
    geometry = _GEOMETRIES[name](rng, tuple(int(n) for n in shape), float(pixel_size_nm))
    result = synthesize(geometry, imaging, seed=seed)
    return dataclasses.replace(result, params={"morphology": name, **result.params})
