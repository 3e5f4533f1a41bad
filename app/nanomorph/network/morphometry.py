"""Wire morphometry of a mask: diameter, length, orientation and crossings of every wire.

One call, :func:`measure_wires`, reads a binary mask (and its pixel size) and returns what
DiameterJ (diameters), OrientationJ (orientation) and CT-FIRE (individual fibres through crossings)
each give, plus densities tied to stick percolation:

- The mask is thinned (``skimage.morphology.skeletonize``) and read as a graph (:mod:`.graph`);
  every mask pixel is owned by its nearest skeleton pixel (Euclidean feature transform).
- *Diameter*: the local width along the centre lines (:mod:`.paths`: owned area / smoothed arc
  length over 9 skeleton pixels), sampled once per skeleton pixel away from free ends (two local
  radii), junctions (junction radius + local radius + 4 px) and the frame's border (two local
  radii + 4 px), where widths are biased.
  Per image: mean, median, sd, p10, p90 of the samples (length-weighted); per wire: their mean, sd.
- *Wires*: branches chained through crossings (:mod:`.wires`). Length = arc length of the smoothed
  axis plus the straight runs across junctions; orientation = angle of the chord (end to end,
  taken from points two local radii inside the ends, where thinning bends a square-cut end
  towards a corner); straightness = chord / length; a wire whose mask comes within one pixel of
  the frame's border ``touches_border`` (its length is a lower bound and stays out of the length
  statistics). Pieces shorter than their own diameter are particles, not wires, and are left out.
- *Orientation of the image*: the wires' orientations weighted by their lengths
  (:func:`.orientation.order_parameter`).
- *Densities* (calibrated masks): wires, junctions per µm² of the frame; ``n·L²`` from all wires
  per µm² (``n``) and the mean length of complete wires in µm (``L``), divided by the
  stick-percolation threshold 5.637 (Li & Zhang 2009): above 1, a film of such sticks percolates.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from nanomorph.errors import CalibrationError, InvalidParameterError
from nanomorph.network.graph import JUNCTION, TIP, skeleton_graph
from nanomorph.network.orientation import order_parameter
from nanomorph.network.paths import WIDTH_HALF_WINDOW, BranchPaths, branch_paths, owned_reach
from nanomorph.network.wires import Chains, trace_chains
from nanomorph.synthetic.sticks import CRITICAL_DENSITY_NL2


@dataclass(frozen=True)
class Wire:
    """One traced wire.

    Attributes
    ----------
    id : int
        1-based; the value of the wire in :attr:`Morphometry.labels`.
    length : float
        Arc length of the axis in the result's unit.
    diameter_mean, diameter_sd : float
        Mean and standard deviation of the local diameters along the wire, in the unit.
    orientation_deg : float
        Chord angle, degrees counter-clockwise from +x as displayed, in [0, 180).
    straightness : float
        Chord / length, in (0, 1].
    touches_border : bool
        The wire leaves the frame; its length is a lower bound.
    centroid : (float, float)
        Mean (row, col) of its axis, in pixels.
    """

    id: int
    length: float
    diameter_mean: float
    diameter_sd: float
    orientation_deg: float
    straightness: float
    touches_border: bool
    centroid: tuple[float, float]

    def as_record(self) -> dict:
        """The wire as printed by ``nanomorph measure`` (JSON-ready).

        Returns
        -------
        dict
            Keys ``id, length, diameter_mean, diameter_sd, orientation_deg, straightness,
            touches_border, centroid``.
        """
        return {"id": self.id, "length": _finite(self.length),
                "diameter_mean": _finite(self.diameter_mean),
                "diameter_sd": _finite(self.diameter_sd),
                "orientation_deg": _finite(self.orientation_deg),
                "straightness": _finite(self.straightness),
                "touches_border": bool(self.touches_border),
                "centroid": [round(float(v), 2) for v in self.centroid]}


@dataclass(frozen=True)
class Morphometry:
    """Every wire of a mask and the image's distributions.

    Attributes
    ----------
    shape : (int, int)
        Mask shape in pixels.
    pixel_size : float or None
        Pixel size in nm (geometric mean of y and x), None when uncalibrated.
    wires : tuple of Wire
        The traced wires.
    diameters : ndarray of float
        Local diameter samples (one per skeleton pixel away from ends and junctions), in the unit.
    junctions : int
        Crossings and branch points (three or more arms).
    dominant_deg, order_parameter : float
        Orientation of the wires weighted by their lengths (NaN without wires).
    labels : ndarray of int32, shape ``shape``
        Wire id of every mask pixel (0 = background or a particle).
    seconds : float
        Analysis time.
    """

    shape: tuple[int, int]
    pixel_size: float | None
    wires: tuple
    diameters: np.ndarray = field(repr=False)
    junctions: int
    dominant_deg: float
    order_parameter: float
    labels: np.ndarray = field(repr=False)
    seconds: float

    @property
    def unit(self) -> str:
        """``nm`` when calibrated, else ``px``."""
        return "px" if self.pixel_size is None else "nm"

    @property
    def area_um2(self) -> float | None:
        """Area of the frame in µm² (None when uncalibrated)."""
        if self.pixel_size is None:
            return None
        return self.shape[0] * self.shape[1] * (self.pixel_size * 1e-3) ** 2

    def complete_lengths(self) -> np.ndarray:
        """Lengths of the wires that do not touch the border, in the unit.

        Returns
        -------
        ndarray of float
        """
        return np.array([w.length for w in self.wires if not w.touches_border], dtype=float)

    def nl2_over_threshold(self) -> float | None:
        """n·L² of the film divided by the stick-percolation threshold 5.637.

        Returns
        -------
        float or None
            None when uncalibrated or no wire is complete.
        """
        lengths = self.complete_lengths()
        if self.area_um2 is None or not len(lengths):
            return None
        density = len(self.wires) / self.area_um2
        return density * (lengths.mean() * 1e-3) ** 2 / CRITICAL_DENSITY_NL2

    def as_record(self, path: str) -> dict:
        """The result as printed by ``nanomorph measure --json`` (DESIGN.md's CLI contract).

        Parameters
        ----------
        path : str
            The mask's path.

        Returns
        -------
        dict
            JSON-ready; NaN values become None.
        """
        d = self.diameters
        lengths = self.complete_lengths()
        area = self.area_um2
        stats = (lambda f: _finite(f(d)) if len(d) else None)
        return {
            "path": path, "shape": list(self.shape),
            "pixel_size": self.pixel_size, "unit": self.unit,
            "n_wires": len(self.wires), "wires": [w.as_record() for w in self.wires],
            "diameter": {"mean": stats(np.mean), "median": stats(np.median), "sd": stats(np.std),
                         "p10": stats(lambda v: np.percentile(v, 10)),
                         "p90": stats(lambda v: np.percentile(v, 90)),
                         "n_samples": int(len(d))},
            "length": {"mean": _finite(lengths.mean()) if len(lengths) else None,
                       "median": _finite(np.median(lengths)) if len(lengths) else None,
                       "n_complete": int(len(lengths))},
            "orientation": {"dominant_deg": _finite(self.dominant_deg),
                            "order_parameter": _finite(self.order_parameter)},
            "junctions_per_um2": None if area is None else self.junctions / area,
            "wires_per_um2": None if area is None else len(self.wires) / area,
            "nL2_over_threshold": self.nl2_over_threshold(),
            "seconds": round(self.seconds, 4),
        }


def _finite(value) -> float | None:
    """A float rounded to 4 decimals, or None when it is not finite."""
    value = float(value)
    return round(value, 4) if math.isfinite(value) else None


def _spacing(pixel_size_nm) -> tuple[tuple[float, float], float | None]:
    """(sy, sx) in nm (or 1, 1 px) and the reported pixel size (geometric mean, None in px)."""
    if pixel_size_nm is None:
        return (1.0, 1.0), None
    values = np.broadcast_to(np.asarray(pixel_size_nm, dtype=float).ravel(), (2,))
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise CalibrationError(f"pixel size must be positive and finite, got {pixel_size_nm!r}")
    sy, sx = (float(v) for v in values)
    return (sy, sx), math.sqrt(sy * sx)


def _to_border(paths: BranchPaths, shape: tuple) -> np.ndarray:
    """Distance (pixels) of every smoothed branch point to the nearest edge of the frame."""
    rows, cols = shape
    return np.minimum.reduce([paths.points[:, 0], paths.points[:, 1],
                              rows - 1 - paths.points[:, 0], cols - 1 - paths.points[:, 1]])


def _valid_samples(graph, paths: BranchPaths, group_radius_px: np.ndarray,
                   scale: float) -> np.ndarray:
    """Branch pixels far enough from free ends, junctions and the frame for an unbiased width."""
    counts = np.diff(graph.starts)
    local = paths.radius_px * scale
    margins = []
    for end in (0, 1):
        kind, group = graph.end_kind[:, end], graph.end_group[:, end]
        node = np.append(group_radius_px, 0.0)[group] * scale  # -1 (no group) reads 0
        margin_at_junction = node + (WIDTH_HALF_WINDOW * scale)
        margins.append(np.repeat(np.select([kind == TIP, kind == JUNCTION],
                                           [0.0, margin_at_junction], 0.0), counts))
    length = np.repeat(paths.lengths, counts)
    tip = [np.repeat(graph.end_kind[:, end] == TIP, counts) for end in (0, 1)]
    from_start, from_end = paths.arc, length - paths.arc
    inside = _to_border(paths, graph.shape) > 2 * paths.radius_px + WIDTH_HALF_WINDOW
    return ((from_start >= margins[0] + local * (1 + tip[0])) &
            (from_end >= margins[1] + local * (1 + tip[1])) & inside & np.isfinite(paths.width))


def _wires(graph, paths: BranchPaths, chains: Chains, valid: np.ndarray, shape: tuple,
           spacing: tuple[float, float]) -> tuple[list, np.ndarray, np.ndarray]:
    """Per-wire numbers: the wires, each branch's wire id, and the diameter samples."""
    sy, sx = spacing
    wires, samples = [], []
    wire_of_branch = np.zeros(graph.n_branches, dtype=np.int32)
    near_border = _to_border(paths, shape) <= paths.radius_px + 1.0
    for chain, bridges, ends in zip(chains.branches, chains.bridges, chains.ends):
        index = np.concatenate([np.arange(graph.starts[b], graph.starts[b + 1]) for b, _ in chain])
        bridge_steps = [np.diff(piece, axis=0)[0] for piece in bridges]
        bridge_length = sum(math.hypot(dy * sy, dx * sx) for dy, dx in bridge_steps)
        length = float(paths.lengths[[b for b, _ in chain]].sum() + bridge_length)
        widths = sampled = paths.width[index[valid[index]]]
        if not len(widths):  # a short wire: every width it has, kept out of the image's samples
            widths = paths.width[index][np.isfinite(paths.width[index])]
        diameter = float(widths.mean()) if len(widths) else math.nan
        if not length > 0 or not length >= diameter:
            continue  # a particle or a blob, not a wire
        chord = np.diff(ends, axis=0)[0]
        chord_length = math.hypot(chord[0] * sy, chord[1] * sx)
        # Direction from points a little inside the ends: thinning bends the last pixels of a
        # square-cut end towards a corner.
        trim = int(min(2 * np.median(paths.radius_px[index]), (len(index) - 1) // 4))
        axis = paths.points[index[-1 - trim]] - paths.points[index[trim]]
        if not axis.any():
            axis = chord
        weights = paths.weight[index]
        wire_id = len(wires) + 1
        wire_of_branch[[b for b, _ in chain]] = wire_id
        samples.append(sampled)
        wires.append(Wire(
            id=wire_id, length=length, diameter_mean=diameter,
            diameter_sd=float(widths.std()) if len(widths) else math.nan,
            orientation_deg=math.degrees(math.atan2(-axis[0] * sy, axis[1] * sx)) % 180.0,
            straightness=min(chord_length / length, 1.0),
            touches_border=bool(near_border[index].any()),
            centroid=tuple(np.average(paths.points[index], axis=0,
                                      weights=weights if weights.sum() > 0 else None))))
    diameters = np.concatenate(samples) if samples else np.zeros(0)
    return wires, wire_of_branch, diameters


def _pixel_wires(graph, wire_of_branch: np.ndarray, size: int) -> np.ndarray:
    """Wire id of every skeleton pixel (flat): a branch's own wire; a junction's pixels and the
    dropped pieces inside a crossing (spurs, the link between two halves of a crossing) take the
    wire of an arm that reaches the junction."""
    group_wire = np.zeros(len(graph.group_pixels) + 1, dtype=np.int32)  # last: no group
    for end in (0, 1):
        attached = (graph.end_group[:, end] >= 0) & (wire_of_branch > 0)
        group_wire[graph.end_group[attached, end]] = wire_of_branch[attached]
    dropped = wire_of_branch == 0
    wires = wire_of_branch.copy()
    wires[dropped] = np.maximum(group_wire[graph.end_group[dropped, 0]],
                                group_wire[graph.end_group[dropped, 1]])
    pixel_wire = np.zeros(size, dtype=np.int32)
    pixel_wire[graph.pixels] = np.repeat(wires, np.diff(graph.starts))
    for group, pixels in enumerate(graph.group_pixels):
        pixel_wire[pixels] = group_wire[group]
    return pixel_wire


def measure_wires(mask: np.ndarray, pixel_size_nm: float | tuple[float, float] | None = None
                  ) -> Morphometry:
    """Diameter, length, orientation and crossings of every wire of a 2-D mask.

    Parameters
    ----------
    mask : ndarray, shape (rows, cols)
        Wire mask; nonzero is wire.
    pixel_size_nm : float or (float, float), optional
        Pixel size in nm, one value or (y, x). None: lengths and diameters in pixels, no densities.

    Returns
    -------
    Morphometry
        The wires, the diameter samples, junctions, orientation and a wire-label image.

    Raises
    ------
    InvalidParameterError
        When the mask is not 2-D.
    CalibrationError
        When the pixel size is not positive and finite.
    """
    from scipy import ndimage
    from skimage.morphology import skeletonize

    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise InvalidParameterError(f"morphometry needs a 2-D mask, got shape {mask.shape}")
    spacing, pixel_size = _spacing(pixel_size_nm)
    started = time.perf_counter()
    mask = mask.astype(bool)
    skeleton = skeletonize(mask)
    labels = np.zeros(mask.shape, dtype=np.int32)
    if not skeleton.any():
        return Morphometry(mask.shape, pixel_size, (), np.zeros(0), 0, math.nan, math.nan, labels,
                           time.perf_counter() - started)
    distance, nearest = ndimage.distance_transform_edt(~skeleton, return_indices=True)
    owner = np.ravel_multi_index(tuple(nearest), mask.shape)[mask]
    del nearest
    reach = owned_reach(owner, distance[mask], mask.shape)
    area = np.bincount(owner, minlength=mask.size)
    graph = skeleton_graph(skeleton)
    paths = branch_paths(graph, area, reach, spacing)
    group_radius = np.array([reach[pixels].max() for pixels in graph.group_pixels])
    chains = trace_chains(graph, paths, group_radius, spacing)
    scale = math.sqrt(spacing[0] * spacing[1])
    valid = _valid_samples(graph, paths, group_radius, scale)
    wires, wire_of_branch, diameters = _wires(graph, paths, chains, valid, mask.shape, spacing)
    labels[mask] = _pixel_wires(graph, wire_of_branch, mask.size)[owner]
    dominant, order = order_parameter(np.radians([w.orientation_deg for w in wires]),
                                      np.array([w.length for w in wires]))
    return Morphometry(mask.shape, pixel_size, tuple(wires), diameters, chains.junctions, dominant,
                       order, labels, time.perf_counter() - started)
