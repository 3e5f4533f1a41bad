"""Batch analysis of many images on Dask, resumable, with a self-contained HTML report.

- :mod:`.config`: :class:`BatchConfig`, the per-image steps and their hash.
- :mod:`.inputs`: which images a run analyses (files, folders, a project) and their masks.
- :mod:`.pipeline`: the per-image steps (read, mask, percolation, classification).
- :mod:`.models`: model files loaded once per worker process.
- :mod:`.runner`: :func:`run_batch`, a job: chunks of images as Dask tasks, resumable.
- :mod:`.cluster`: :func:`batch_client`, a LocalCluster or an existing Dask scheduler.
- :mod:`.results`: the record log that makes runs resumable, and the CSV / Parquet tables.
- :mod:`.overlay`: percolation overlays.
- :mod:`.report`: :func:`write_report`, one HTML file for a results folder or a project
  (content gathered by :mod:`.report_data`, plots by :mod:`.plots`).

Importing this package loads none of them (nor Dask); the names below load their module on
first use.
"""

from nanomorph.lazy import lazy_exports

_LAZY = {
    "BatchConfig": "config",
    "BatchSummary": "runner",
    "batch_client": "cluster",
    "run_batch": "runner",
    "report_job": "report",
    "write_report": "report",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = sorted(_LAZY)
