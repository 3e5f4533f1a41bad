"""Wire geometry: random nanowires as polylines with widths, and how they are placed in a frame.

Conventions
-----------
- Points are ``(row, col)`` in pixels; pixel ``(i, j)`` has its centre at ``(i, j)``.
- An orientation is the angle of a wire's axis in degrees, counter-clockwise from the +col axis as
  the image is displayed (rows grow downwards), modulo 180 (a wire has no head or tail). For a
  curved wire it is the angle of its chord (end to end).
- A wire's length is the arc length of its axis; its ends are rounded caps of radius width / 2.
- Wire centres (chord midpoints) are uniform in the frame, so a wire may reach beyond it: the
  micrograph shows the part inside (``periodic=False``) or wraps it around (``periodic=True``).
  The returned polylines are never cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nanomorph.errors import InvalidParameterError
from nanomorph.synthetic.raster import render_mask

# Largest tangent turn (rad, one standard deviation) between two vertices of a curved wire; sets
# the vertex spacing, between _MIN_STEP_PX and the wire length.
_MAX_TURN_RAD = 0.12
_MIN_STEP_PX = 2.0
# Tries to place a wire or bundle min_separation_nm away from the others before accepting overlap.
_PLACEMENT_TRIES = 50


@dataclass(frozen=True)
class WireParams:
    """Everything that decides where the wires of a synthetic image are.

    Attributes
    ----------
    shape_px : (int, int)
        Image shape (rows, cols) in pixels.
    pixel_size_nm : float
        Size of one (square) pixel in nanometres.
    n_wires : int or None
        Number of wires. Give this or ``density_per_um2``, not both.
    density_per_um2 : float or None
        Wire centres per µm² of the frame; the count is ``round(density * frame area)``.
    length_nm_mean, length_nm_sd : float
        Mean and standard deviation of the (log-normal) wire length in nm; sd 0 = all equal.
    width_nm_mean, width_nm_sd : float
        Mean and standard deviation of the (log-normal) wire width (diameter) in nm.
    curvature_per_um : float
        Inverse persistence length in µm⁻¹: the tangent angle of a wire performs a random walk whose
        variance grows by ``curvature_per_um`` rad² per µm of arc length. 0 = straight rods.
    orientation_deg : float
        Mean orientation in degrees (see the module conventions).
    orientation_spread_deg : float
        In [0, 180]: width (± one standard deviation) of a wrapped normal distribution of wire
        angles around ``orientation_deg``; 0 = all aligned, 180 = isotropic (drawn exactly uniform).
        For bundles it spreads the bundle directions.
    bundling : float
        In [0, 1]: fraction of the wires placed into bundles of near-parallel, closely spaced wires.
    bundle_size_min, bundle_size_max : int
        Range of wires per bundle; the last bundle may be smaller (or one larger) so that the
        bundled wires make up ``round(bundling * count)`` (a lone bundled wire stays free).
    bundle_gap_nm : float
        Gaps between neighbouring wires of a bundle are uniform in [0, bundle_gap_nm].
    bundle_jitter_deg : float
        Standard deviation of each bundled wire's tilt against its bundle, in degrees.
    min_separation_nm : float or None
        When given, each wire or bundle is placed at least this far (surface to surface, inside
        the frame) from those placed before; after a number of failed tries it is placed anyway.
        None lets wires cross freely.
    centre_margin_frac : float
        In [0, 0.5): wire and bundle centres keep this fraction of the frame from every border.
    periodic : bool
        Wrap wires around the frame (a torus) instead of clipping them at its border.
    """

    shape_px: tuple[int, int] = (384, 384)
    pixel_size_nm: float = 5.0
    n_wires: int | None = None
    density_per_um2: float | None = None
    length_nm_mean: float = 1000.0
    length_nm_sd: float = 200.0
    width_nm_mean: float = 30.0
    width_nm_sd: float = 3.0
    curvature_per_um: float = 0.0
    orientation_deg: float = 0.0
    orientation_spread_deg: float = 180.0
    bundling: float = 0.0
    bundle_size_min: int = 3
    bundle_size_max: int = 6
    bundle_gap_nm: float = 5.0
    bundle_jitter_deg: float = 1.5
    min_separation_nm: float | None = None
    centre_margin_frac: float = 0.0
    periodic: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape_px", tuple(int(n) for n in self.shape_px))
        _check(len(self.shape_px) == 2 and min(self.shape_px) > 0,
               "shape_px must be two positive sizes")
        _check(self.pixel_size_nm > 0, "pixel_size_nm must be positive")
        _check((self.n_wires is None) != (self.density_per_um2 is None),
               "give the number of wires (n_wires) or their density (density_per_um2), not both")
        _check(self.n_wires is None or self.n_wires >= 0, "n_wires must not be negative")
        _check(self.density_per_um2 is None or self.density_per_um2 >= 0,
               "density_per_um2 must not be negative")
        _check(self.length_nm_mean > 0 and self.width_nm_mean > 0,
               "wire length and width must be positive")
        _check(self.length_nm_sd >= 0 and self.width_nm_sd >= 0,
               "standard deviations must not be negative")
        _check(self.curvature_per_um >= 0, "curvature_per_um must not be negative")
        _check(0 <= self.orientation_spread_deg <= 180, "orientation_spread_deg must be in [0, 180]")
        _check(0 <= self.bundling <= 1, "bundling must be in [0, 1]")
        _check(1 <= self.bundle_size_min <= self.bundle_size_max,
               "bundle sizes need 1 <= bundle_size_min <= bundle_size_max")
        _check(self.bundle_gap_nm >= 0 and self.bundle_jitter_deg >= 0,
               "bundle_gap_nm and bundle_jitter_deg must not be negative")
        _check(self.min_separation_nm is None or self.min_separation_nm >= 0,
               "min_separation_nm must not be negative")
        _check(0 <= self.centre_margin_frac < 0.5, "centre_margin_frac must be in [0, 0.5)")

    @property
    def frame_area_um2(self) -> float:
        """Area of the frame in µm²."""
        return self.shape_px[0] * self.shape_px[1] * (self.pixel_size_nm * 1e-3) ** 2

    def wire_count(self) -> int:
        """Number of wires to draw.

        Returns
        -------
        int
            ``n_wires``, or the density times the frame area, rounded.
        """
        if self.n_wires is not None:
            return int(self.n_wires)
        return int(round(self.density_per_um2 * self.frame_area_um2))


@dataclass(frozen=True)
class WireSet:
    """The wires of one image.

    Attributes
    ----------
    polylines : list of ndarray, shape (n, 2)
        Wire axes, (row, col) in pixels, in placement order (later wires lie on top).
    widths_px : ndarray of float, shape (n_wires,)
        Wire widths (diameters) in pixels.
    bundle_ids : ndarray of int, shape (n_wires,)
        Index of each wire's bundle, -1 for a free wire.
    """

    polylines: list[np.ndarray]
    widths_px: np.ndarray
    bundle_ids: np.ndarray


def _check(condition: bool, reason: str) -> None:
    if not condition:
        raise InvalidParameterError(reason)


def _lognormal(rng: np.random.Generator, mean: float, sd: float, size: int) -> np.ndarray:
    """Log-normal samples with the given mean and standard deviation (sd 0: all equal the mean)."""
    if sd == 0:
        return np.full(size, float(mean))
    sigma_sq = math.log1p((sd / mean) ** 2)
    return rng.lognormal(math.log(mean) - 0.5 * sigma_sq, math.sqrt(sigma_sq), size)


def sample_orientations_deg(rng: np.random.Generator, mean_deg: float, spread_deg: float,
                            size: int) -> np.ndarray:
    """Random wire axis angles.

    Parameters
    ----------
    rng : numpy.random.Generator
        The random source.
    mean_deg : float
        Mean direction in degrees, counter-clockwise from +x.
    spread_deg : float
        Spread in degrees: a wrapped normal with sd ``spread/2``; 180 or more is uniform.
    size : int
        How many angles.

    Returns
    -------
    ndarray of float, shape (size,)
        Angles in [0, 180) degrees.
    """
    if spread_deg >= 180:
        return rng.uniform(0.0, 180.0, size)
    return np.mod(mean_deg + rng.normal(0.0, 0.5 * spread_deg, size), 180.0)


def _bundle_sizes(rng: np.random.Generator, n_bundled: int, size_min: int,
                  size_max: int) -> list[int]:
    """Split ``n_bundled`` wires into bundles of random size in [size_min, size_max].

    The last bundle takes what is left; a single wire left over joins the bundle before it.
    """
    sizes: list[int] = []
    while sum(sizes) < n_bundled:
        sizes.append(min(int(rng.integers(size_min, size_max + 1)), n_bundled - sum(sizes)))
    if len(sizes) > 1 and sizes[-1] == 1:
        sizes = sizes[:-2] + [sizes[-2] + 1]
    return sizes


def _path(rng: np.random.Generator, length_px: float, curvature_per_px: float) -> np.ndarray:
    """A wire axis in local (x, y) coordinates: chord along +x, chord midpoint at the origin.

    The tangent angle performs a Gaussian random walk with variance ``curvature_per_px`` per px.
    """
    if curvature_per_px == 0:
        return np.array([[-0.5 * length_px, 0.0], [0.5 * length_px, 0.0]])
    step = min(max(_MAX_TURN_RAD**2 / curvature_per_px, _MIN_STEP_PX), length_px)
    n = math.ceil(length_px / step)
    ds = length_px / n
    angles = np.cumsum(rng.normal(0.0, math.sqrt(ds * curvature_per_px), n))
    steps = ds * np.column_stack([np.cos(angles), np.sin(angles)])
    points = np.vstack([[0.0, 0.0], np.cumsum(steps, axis=0)])
    chord = points[-1] - points[0]
    return _rotate(points - 0.5 * (points[0] + points[-1]), -math.atan2(chord[1], chord[0]))


def _rotate(points: np.ndarray, angle_rad: float) -> np.ndarray:
    """Rotate local (x, y) points counter-clockwise about the origin."""
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return points @ np.array([[c, s], [-s, c]])


def _subpath(points: np.ndarray, start: float, stop: float) -> np.ndarray:
    """The part of a polyline between arc lengths ``start`` and ``stop``."""
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    tolerance = 1e-9 * arc[-1]
    inner = (arc > start + tolerance) & (arc < stop - tolerance)
    ends = np.column_stack([np.interp([start, stop], arc, points[:, k]) for k in (0, 1)])
    return np.vstack([ends[0], points[inner], ends[1]])


def _offset(points: np.ndarray, distance: float) -> np.ndarray:
    """A polyline shifted sideways (to its left) by ``distance`` along its vertex normals."""
    tangents = np.gradient(points, axis=0)
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
    return points + distance * np.column_stack([-tangents[:, 1], tangents[:, 0]])


def _bundle(rng: np.random.Generator, lengths_px: np.ndarray, widths_px: np.ndarray, gap_px: float,
            jitter_rad: float, curvature_per_px: float) -> list[np.ndarray]:
    """Wires side by side along one backbone, staggered lengthwise, in local (x, y) coordinates."""
    backbone = _path(rng, float(lengths_px.max()), curvature_per_px)
    gaps = rng.uniform(0.0, gap_px, len(widths_px) - 1)
    lateral = np.concatenate([[0.0], np.cumsum(0.5 * (widths_px[:-1] + widths_px[1:]) + gaps)])
    lateral -= 0.5 * lateral[-1]
    wires = []
    for length, offset in zip(lengths_px, lateral):
        start = rng.uniform(0.0, lengths_px.max() - length)
        wire = _offset(_subpath(backbone, start, start + length), offset)
        centre = 0.5 * (wire[0] + wire[-1])
        wires.append(_rotate(wire - centre, rng.normal(0.0, jitter_rad)) + centre)
    return wires


def _place(local_wires: list[np.ndarray], angle_deg: float, centre: np.ndarray) -> list[np.ndarray]:
    """Local (x, y) polylines rotated by ``angle_deg`` and moved to ``centre`` = (row, col)."""
    placed = []
    for wire in local_wires:
        xy = _rotate(wire, math.radians(angle_deg))
        placed.append(np.column_stack([centre[0] - xy[:, 1], centre[1] + xy[:, 0]]))
    return placed


def _unit_sizes(rng: np.random.Generator, params: WireParams) -> list[int]:
    """Sizes of the placement units: bundles first, then single wires."""
    n = params.wire_count()
    n_bundled = int(round(params.bundling * n))
    bundles = _bundle_sizes(rng, n_bundled, params.bundle_size_min, params.bundle_size_max)
    return bundles + [1] * (n - n_bundled)


def _draw_unit(rng: np.random.Generator, params: WireParams, lengths_px: np.ndarray,
               widths_px: np.ndarray) -> list[np.ndarray]:
    """One free wire (one length) or bundle at a random centre and orientation, in (row, col) px."""
    px = params.pixel_size_nm
    curvature_per_px = params.curvature_per_um * px * 1e-3
    angle = sample_orientations_deg(rng, params.orientation_deg, params.orientation_spread_deg, 1)[0]
    margin = params.centre_margin_frac
    centre = np.array(params.shape_px) * rng.uniform(margin, 1.0 - margin, 2) - 0.5
    if len(lengths_px) == 1:
        local = [_path(rng, lengths_px[0], curvature_per_px)]
    else:
        local = _bundle(rng, lengths_px, widths_px, params.bundle_gap_nm / px,
                        math.radians(params.bundle_jitter_deg), curvature_per_px)
    return _place(local, angle, centre)


def generate_wires(params: WireParams, rng: np.random.Generator | int) -> WireSet:
    """Random wires following ``params``.

    Parameters
    ----------
    params : WireParams
        The geometry to draw from.
    rng : numpy.random.Generator or int
        The random source, or a seed for ``numpy.random.default_rng``.

    Returns
    -------
    WireSet
        Polylines in pixels (see the module conventions), widths in pixels and bundle ids.
    """
    rng = np.random.default_rng(rng)
    px = params.pixel_size_nm
    separated = params.min_separation_nm is not None
    occupied = np.zeros(params.shape_px, dtype=bool)
    polylines: list[np.ndarray] = []
    widths: list[float] = []
    bundle_ids: list[int] = []
    for unit, size in enumerate(_unit_sizes(rng, params)):
        lengths = _lognormal(rng, params.length_nm_mean, params.length_nm_sd, size) / px
        unit_widths = _lognormal(rng, params.width_nm_mean, params.width_nm_sd, size) / px
        for _ in range(_PLACEMENT_TRIES if separated else 1):
            placed = _draw_unit(rng, params, lengths, unit_widths)
            if not separated or not (occupied & render_mask(
                    placed, unit_widths + 2 * params.min_separation_nm / px, params.shape_px,
                    periodic=params.periodic)).any():
                break
        if separated:
            occupied |= render_mask(placed, unit_widths, params.shape_px, periodic=params.periodic)
        polylines += placed
        widths += unit_widths.tolist()
        bundle_ids += [unit if size > 1 else -1] * size
    return WireSet(polylines, np.array(widths, dtype=float), np.array(bundle_ids, dtype=int))
