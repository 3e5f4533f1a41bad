"""The percolation test of Lu et al. (2022): does one DBSCAN cluster span the image both ways?

A cluster spans x when ``max(col) - min(col) >= width - margin`` (width in pixels, the margin
converted to pixels along x), y likewise with rows; the mask percolates when one cluster spans
both. Noise pixels belong to no cluster.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from nanomorph.errors import CalibrationError
from nanomorph.io.calibration import nm_per_unit
from nanomorph.percolation.clustering import (
    check_mask,
    check_spacing,
    cluster_mask,
    require,
)

UNITS = ("px", "nm", "µm")
# The keys of one `nanomorph percolate` record, in order (the CLI puts "path" first).
RECORD_KEYS = ("shape", "method", "eps", "min_samples", "margin", "percolates", "spans_x",
               "spans_y", "n_clusters", "noise_pixels", "foreground_pixels",
               "foreground_fraction", "largest_cluster_fraction", "seconds")


@dataclass(frozen=True)
class ClusterStats:
    """One cluster of a percolation analysis.

    Attributes
    ----------
    label : int
        The cluster's value in the labels image.
    pixels : int
        Pixels in the cluster (core and border).
    area : float
        ``pixels * sy * sx`` in units² (px² when the analysis is in px).
    bbox : (int, int, int, int)
        ``(min_row, min_col, max_row, max_col)``, inclusive, in pixels.
    extent_x_px, extent_y_px : int
        ``max(col) - min(col)`` and ``max(row) - min(row)`` in pixels.
    extent_x, extent_y : float
        The same extents in the analysis units (equal to the px values for px).
    spans_x, spans_y : bool
        Whether the cluster spans the image along x (columns) and y (rows).
    """

    label: int
    pixels: int
    area: float
    bbox: tuple[int, int, int, int]
    extent_x_px: int
    extent_y_px: int
    extent_x: float
    extent_y: float
    spans_x: bool
    spans_y: bool


@dataclass
class PercolationResult:
    """Result of :func:`analyse_percolation` (mutable: a caller that adds a resize step may
    update ``seconds``).

    Attributes
    ----------
    shape : (int, int)
        Mask shape (rows, columns).
    method, eps, min_samples, margin, units
        The analysis parameters; eps and margin are in ``units``.
    percolates : bool
        One cluster spans both x and y.
    spans_x, spans_y : bool
        Some cluster spans x (y).
    n_clusters, noise_pixels, foreground_pixels : int
    foreground_fraction : float
        Foreground pixels / all pixels.
    largest_cluster_fraction : float
        Pixels of the largest cluster / foreground pixels (0 without foreground).
    seconds : float
        Analysis time (clustering, spanning test and table).
    clusters : list of ClusterStats
        One row per cluster, by label.
    labels : ndarray of int32
        0 background, -1 noise, 1..n clusters (see :class:`~.clustering.Clusters`).
    """

    shape: tuple[int, int]
    method: str
    eps: float
    min_samples: int
    margin: float
    units: str
    percolates: bool
    spans_x: bool
    spans_y: bool
    n_clusters: int
    noise_pixels: int
    foreground_pixels: int
    foreground_fraction: float
    largest_cluster_fraction: float
    seconds: float
    clusters: list[ClusterStats] = field(repr=False)
    labels: np.ndarray = field(repr=False, compare=False)

    def as_record(self, path: str | None = None) -> dict:
        """The ``nanomorph percolate`` record.

        Parameters
        ----------
        path : str, optional
            Put first as ``path`` when given.

        Returns
        -------
        dict
            Plain JSON-ready values under :data:`RECORD_KEYS`.
        """
        record = {} if path is None else {"path": str(path)}
        for key in RECORD_KEYS:
            value = getattr(self, key)
            record[key] = list(value) if key == "shape" else value
        return record


def normalise_units(units: str) -> str:
    """The canonical spelling of an analysis unit.

    Parameters
    ----------
    units : str
        ``px``, ``nm``, ``µm`` (``um`` and ``μm`` accepted).

    Returns
    -------
    str
        ``"px"``, ``"nm"`` or ``"µm"``.

    Raises
    ------
    InvalidParameterError
        For any other unit.
    """
    unit = str(units).strip().lower().replace("μ", "µ")
    unit = "µm" if unit == "um" else unit
    require(unit in UNITS, f"unknown unit {units!r}: choose px, nm or µm")
    return unit


def analysis_pixel_size(units: str, spacing) -> tuple[float, float]:
    """The pixel size in the analysis units.

    Parameters
    ----------
    units : str
        ``px``, ``nm`` or ``µm``.
    spacing : (float, float) or None
        Pixel size (y, x) in nm.

    Returns
    -------
    (float, float)
        (y, x) in ``units``; (1, 1) for px.

    Raises
    ------
    CalibrationError
        When ``units`` is a length and ``spacing`` is None.
    """
    unit = normalise_units(units)
    if unit == "px":
        return (1.0, 1.0)
    if spacing is None:
        raise CalibrationError("the image is uncalibrated: give eps in px or set its pixel size")
    sy, sx = check_spacing(spacing)
    per_unit = nm_per_unit(unit)
    return (sy / per_unit, sx / per_unit)


def analyse_percolation(mask, eps: float = 2.0, min_samples: int = 2, margin: float = 2.0, *,
                        method: str = "exact", spacing=None, units: str = "px"
                        ) -> PercolationResult:
    """Cluster a mask's foreground with DBSCAN and test whether one cluster spans it both ways.

    Parameters
    ----------
    mask : array_like, 2-D
        Binary mask, foreground (nanowire) = True / nonzero.
    eps : float
        DBSCAN radius, in ``units``.
    min_samples : int
        Foreground pixels within eps (itself included) that make a pixel core.
    margin : float
        Spanning margin, in ``units``: a cluster spans x when ``max(col) - min(col) >=
        width - margin / sx`` (pixels), y likewise.
    method : {"exact", "dbscan"}
        See :func:`~.clustering.cluster_mask`.
    spacing : (float, float), optional
        Pixel size (y, x) in nm; required when ``units`` is ``"nm"`` or ``"µm"``, ignored for
        ``"px"`` (then everything is in pixels).
    units : {"px", "nm", "µm"}
        Unit of ``eps``, ``margin`` and of the table's areas and extents (``"um"`` accepted).

    Returns
    -------
    PercolationResult

    Raises
    ------
    InvalidParameterError
        For a mask that is not 2-D, eps <= 0, min_samples < 1, margin < 0 or an unknown
        method or unit.
    CalibrationError
        For ``units`` nm/µm without ``spacing``.
    """
    start = time.perf_counter()
    mask = check_mask(mask)
    require(isinstance(margin, numbers.Real) and math.isfinite(margin) and margin >= 0,
            f"margin must be a distance >= 0, got {margin!r}")
    unit = normalise_units(units)
    pixel_size = analysis_pixel_size(unit, spacing)
    clusters = cluster_mask(mask, eps, min_samples, method=method, spacing=pixel_size)
    labels = clusters.labels
    in_foreground = labels[mask]
    pixels = np.bincount(in_foreground[in_foreground > 0], minlength=clusters.n_clusters + 1)[1:]
    table = cluster_table(labels, pixels, pixel_size, margin)
    foreground = len(in_foreground)
    largest = int(pixels.max()) if len(pixels) else 0
    return PercolationResult(
        shape=(int(mask.shape[0]), int(mask.shape[1])), method=clusters.method,
        eps=float(eps), min_samples=int(min_samples), margin=float(margin), units=unit,
        percolates=any(c.spans_x and c.spans_y for c in table),
        spans_x=any(c.spans_x for c in table), spans_y=any(c.spans_y for c in table),
        n_clusters=clusters.n_clusters, noise_pixels=foreground - int(pixels.sum()),
        foreground_pixels=foreground,
        foreground_fraction=foreground / mask.size if mask.size else 0.0,
        largest_cluster_fraction=largest / foreground if foreground else 0.0,
        seconds=time.perf_counter() - start, clusters=table, labels=labels)


def cluster_table(labels: np.ndarray, pixels: np.ndarray, pixel_size: tuple[float, float],
                  margin: float) -> list[ClusterStats]:
    """Per-cluster size, bounding box, extents and spanning flags.

    Parameters
    ----------
    labels : ndarray of int32
        Cluster labels 1..n (0 background, -1 noise).
    pixels : ndarray of int, shape (n,)
        Pixels per cluster, label 1 first.
    pixel_size : (float, float)
        Pixel size (y, x) in the analysis units ((1, 1) for px).
    margin : float
        Spanning margin in the analysis units.

    Returns
    -------
    list of ClusterStats, by label
    """
    sy, sx = pixel_size
    height, width = labels.shape
    need_y, need_x = height - margin / sy, width - margin / sx
    table = []
    for label, (rows, cols) in enumerate(ndimage.find_objects(labels, len(pixels)), start=1):
        extent_y, extent_x = rows.stop - 1 - rows.start, cols.stop - 1 - cols.start
        table.append(ClusterStats(
            label=label, pixels=int(pixels[label - 1]), area=float(pixels[label - 1] * sy * sx),
            bbox=(rows.start, cols.start, rows.stop - 1, cols.stop - 1),
            extent_x_px=extent_x, extent_y_px=extent_y,
            extent_x=float(extent_x * sx), extent_y=float(extent_y * sy),
            spans_x=bool(extent_x >= need_x), spans_y=bool(extent_y >= need_y)))
    return table

