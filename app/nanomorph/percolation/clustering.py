"""DBSCAN of the foreground pixels of a mask: the paper's scikit-learn call or the exact grid
method, behind one function, :func:`cluster_mask`."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from nanomorph.errors import InvalidParameterError
from nanomorph.percolation.dbscan_grid import cluster_pixels

METHODS = ("exact", "dbscan")


@dataclass(frozen=True)
class Clusters:
    """DBSCAN clusters of the foreground pixels of a mask.

    Attributes
    ----------
    labels : ndarray of int32, shape of the mask
        0 background, -1 noise, 1..n_clusters clusters numbered in raster (row-major) order of
        their first core pixel. The exact method returns a view of a padded work array.
    core : ndarray of bool, shape of the mask
        Core pixels (at least ``min_samples`` foreground pixels within eps, itself included).
    n_clusters : int
    method : str
        ``"exact"`` or ``"dbscan"``.
    eps : float
        Neighbourhood radius, in the unit of the spacing used.
    min_samples : int
    """

    labels: np.ndarray
    core: np.ndarray
    n_clusters: int
    method: str
    eps: float
    min_samples: int


def require(condition: bool, reason: str) -> None:
    """Refuse a parameter unless a condition holds.

    Parameters
    ----------
    condition : bool
        What must hold.
    reason : str
        The message otherwise.

    Raises
    ------
    InvalidParameterError
        With ``reason`` when ``condition`` is false.
    """
    if not condition:
        raise InvalidParameterError(reason)


def check_mask(mask) -> np.ndarray:
    """A mask as a 2-D bool array.

    Parameters
    ----------
    mask : array-like, 2-D
        Nonzero = foreground.

    Returns
    -------
    ndarray of bool
        The foreground.

    Raises
    ------
    InvalidParameterError
        For an array that is not 2-D.
    """
    mask = np.asarray(mask)
    require(mask.ndim == 2, f"the mask must be a 2-D image, got {mask.ndim} dimensions")
    return mask if mask.dtype == bool else mask != 0


def check_spacing(spacing) -> tuple[float, float]:
    """A pixel size as two positive finite floats.

    Parameters
    ----------
    spacing : float or (float, float)
        Pixel size along (y, x), or one for both.

    Returns
    -------
    (float, float)
        (y, x).

    Raises
    ------
    InvalidParameterError
        For sizes that are not positive and finite.
    """
    values = tuple(float(v) for v in np.ravel(spacing))
    require(len(values) == 2 and all(math.isfinite(v) and v > 0 for v in values),
            f"the pixel size must be two positive numbers (y, x), got {spacing!r}")
    return values


def check_parameters(eps: float, min_samples: int, method: str) -> None:
    """Validate the DBSCAN parameters and the method name.

    Parameters
    ----------
    eps : float
        Radius, positive.
    min_samples : int
        At least 1.
    method : str
        One of ``METHODS``.

    Raises
    ------
    InvalidParameterError
        For anything else.
    """
    require(isinstance(eps, numbers.Real) and math.isfinite(eps) and eps > 0,
            f"eps must be a positive distance, got {eps!r}")
    require(isinstance(min_samples, numbers.Integral) and not isinstance(min_samples, bool)
            and min_samples >= 1, f"min_samples must be a whole number >= 1, got {min_samples!r}")
    require(method in METHODS, f"unknown method {method!r}: choose one of {', '.join(METHODS)}")


def cluster_mask(mask, eps: float = 2.0, min_samples: int = 2, *, method: str = "exact",
                 spacing=(1.0, 1.0)) -> Clusters:
    """Cluster the foreground pixels of a mask with DBSCAN (Lu et al. 2022).

    Parameters
    ----------
    mask : array_like, 2-D
        Binary mask, foreground = True (nonzero).
    eps : float
        Neighbourhood radius in the unit of ``spacing`` (pixels for the default spacing).
    min_samples : int
        Foreground pixels within eps, the pixel itself included, that make a pixel core.
    method : {"exact", "dbscan"}
        ``"dbscan"``: ``sklearn.cluster.DBSCAN`` on the pixel coordinates times ``spacing``, as
        in the paper. ``"exact"``: the same partition computed on the pixel grid (see
        :mod:`nanomorph.percolation.dbscan_grid`), much faster and with bounded memory.
    spacing : (float, float)
        Pixel size along (y, x), in the unit of ``eps``.

    Returns
    -------
    Clusters
        Both methods agree on core pixels, on clusters of core pixels and on noise. A border
        pixel within eps of two clusters joins the cluster of its nearest core pixel (ties: the
        core pixel with the smaller row, then column) in ``"exact"``; scikit-learn gives it to
        the cluster that reaches it first.

    Raises
    ------
    InvalidParameterError
        When eps <= 0, min_samples < 1, the spacing is not positive, the method is unknown or
        the mask is not 2-D.
    """
    mask = check_mask(mask)
    check_parameters(eps, min_samples, method)
    spacing = check_spacing(spacing)
    run = _cluster_sklearn if method == "dbscan" else cluster_pixels
    labels, core, n_clusters = run(mask, float(eps), int(min_samples), spacing)
    return Clusters(labels, core, n_clusters, method, float(eps), int(min_samples))


def _cluster_sklearn(mask: np.ndarray, eps: float, min_samples: int,
                     spacing: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, int]:
    """``sklearn.cluster.DBSCAN`` on ``np.argwhere(mask) * spacing``, as images.

    scikit-learn opens clusters at core points in input order, so its cluster k is the one
    whose first core pixel comes k-th in raster order: label k + 1 here, as in the exact method.
    """
    from sklearn.cluster import DBSCAN

    labels = np.zeros(mask.shape, np.int32)
    core = np.zeros(mask.shape, bool)
    points = np.argwhere(mask)
    if not len(points):
        return labels, core, 0
    model = DBSCAN(eps=eps, min_samples=min_samples).fit(points * np.asarray(spacing))
    rows, cols = points.T
    labels[rows, cols] = np.where(model.labels_ >= 0, model.labels_ + 1, -1)
    core[rows[model.core_sample_indices_], cols[model.core_sample_indices_]] = True
    return labels, core, int(model.labels_.max()) + 1
