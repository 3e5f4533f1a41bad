"""Exploring a set of images before labelling it: clusters of similar embeddings and the
images most like a query (plain functions over embedding arrays; no project, no torch).

- :mod:`.clusters`: :func:`cluster_embeddings` (k-means with the number chosen by silhouette,
  or HDBSCAN with a noise group).
- :mod:`.similar`: :func:`most_similar` (exact cosine search).
- :mod:`.consistency`: :func:`consistency` of a class and a percolation verdict.
"""

from nanomorph.explore.clusters import Clustering, cluster_embeddings
from nanomorph.explore.consistency import consistency, expected_connectivity
from nanomorph.explore.similar import most_similar

__all__ = ["Clustering", "cluster_embeddings", "consistency", "expected_connectivity",
           "most_similar"]
