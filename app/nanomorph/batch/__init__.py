"""Batch analysis of many images on Dask, resumable (the HTML report is :mod:`nanomorph.report`).

- :mod:`.config`: :class:`BatchConfig`, the per-image steps and their hash.
- :mod:`.inputs`: which images a run analyses (files, folders, a project) and their masks.
- :mod:`.pipeline`: the per-image steps (read, mask, percolation, classification).
- :mod:`.models`: model files loaded once per worker process.
- :mod:`.runner`: :func:`run_batch`, a job: chunks of images as Dask tasks, resumable.
- :mod:`.cluster`: :func:`batch_client`, a LocalCluster or an existing Dask scheduler.
- :mod:`.results`: the record log that makes runs resumable, and the CSV / Parquet tables.
- :mod:`.overlay`: percolation overlays.

Importing this package loads none of them (nor Dask); the names below load their module on
first use.
"""

import lazy_loader

__getattr__, __dir__, _lazy_names = lazy_loader.attach(
    __name__,
    submod_attrs={
        "config": ["BatchConfig"],
        "runner": ["BatchSummary", "run_batch"],
        "cluster": ["batch_client"],
    },
)


__all__ = sorted(_lazy_names)
