"""Percolation of nanowire masks after Lu et al. 2022 (Digital Discovery): DBSCAN clusters of
the foreground pixels, and the test whether one cluster spans the image both ways.

- :func:`cluster_mask`: DBSCAN of the foreground pixels, either scikit-learn's (``"dbscan"``, as
  in the paper) or the exact grid method (``"exact"``, the default: the same partition, fast and
  with bounded memory, see :mod:`.dbscan_grid`).
- :func:`analyse_percolation`: clusters + spanning test + per-cluster table, in pixels or in
  physical units; :meth:`PercolationResult.as_record` is the `nanomorph percolate` record.
- :func:`resize_for_analysis`: the paper's 224 × 224 analysis resolution.

Labels: 0 background, -1 noise, 1..n clusters numbered in raster (row-major) order of their
first core pixel, in both methods.

Tie rule: a border pixel (foreground, not core) within eps of core pixels of two clusters joins
the cluster of its nearest core pixel (physical distance); at equal distances the core pixel in
the upper row wins, then the one in the left column. scikit-learn gives such a pixel to the
cluster that reaches it first, so the two methods may differ on these pixels only; core pixels,
their clusters and noise are the same.
"""

from nanomorph.percolation.clustering import METHODS, Clusters, cluster_mask
from nanomorph.percolation.resize import (
    ANALYSIS_SIZE,
    resize_for_analysis,
    resized_pixel_size,
)
from nanomorph.percolation.spanning import (
    RECORD_KEYS,
    UNITS,
    ClusterStats,
    PercolationResult,
    analyse_percolation,
    cluster_table,
)

__all__ = [
    "ANALYSIS_SIZE",
    "METHODS",
    "RECORD_KEYS",
    "UNITS",
    "ClusterStats",
    "Clusters",
    "PercolationResult",
    "analyse_percolation",
    "cluster_mask",
    "cluster_table",
    "resize_for_analysis",
    "resized_pixel_size",
]
