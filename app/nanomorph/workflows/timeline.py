"""A project's movies over time: per-frame rows of the stored analyses, labels and predictions.

A movie is the frames that share a ``group`` (see :mod:`nanomorph.project.frames`). Each frame's
row carries what ``nanomorph batch`` writes for a frame — ``frame``, ``time_s``, ``status`` and
the percolation columns (``foreground_fraction``, ``percolates``, ``n_clusters`` …) — plus the
morphometry columns when measured, the label and the live classifier's prediction, so the plots
and the onset of :mod:`nanomorph.report.timeline` serve the project as they serve a batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from nanomorph.io.atomic import atomic_write_csv

if TYPE_CHECKING:
    from nanomorph.project import Project
    from nanomorph.project.image_records import ImageRecord

# the columns of an exported timeline, in order (the morphometry columns follow when measured)
CSV_COLUMNS = ("frame", "time_s", "image", "status", "stale", "foreground_fraction",
               "percolates", "n_clusters", "largest_cluster_fraction", "label", "predicted",
               "confidence")
# the percolation verdict's columns of a frame (analysis_row)
PERCOLATION_COLUMNS = ("foreground_fraction", "percolates", "n_clusters",
                       "largest_cluster_fraction")


def project_movies(project: "Project",
                   records: list["ImageRecord"] | None = None) -> dict[str, list["ImageRecord"]]:
    """The project's movies and their frames.

    Parameters
    ----------
    project : Project
        The open project.
    records : list of ImageRecord, optional
        Its images when the caller holds them (the app's shared list: reading 100,000 again
        took 0.3 GB and a second); None reads them.

    Returns
    -------
    dict
        Movie (group) name → its frame records in frame order, movies in the order they were
        added.
    """
    from nanomorph.project.frames import group_movies

    return group_movies(project.images.all() if records is None else records)


def analysis_row(record: "ImageRecord", percolation: dict | None,
                 morphometry: dict | None = None, label: str | None = None) -> dict:
    """One image's stored results as a flat row (``nanomorph batch``'s column names).

    Parameters
    ----------
    record : ImageRecord
        The image.
    percolation : dict or None
        Its stored percolation entry (``project.results``), None when not analysed.
    morphometry : dict or None
        Its stored morphometry entry, None when not measured.
    label : str or None
        Its class label.

    Returns
    -------
    dict
        ``image_id, image, path, sha256, frame, time_s, true_label, status`` (``ok`` or
        ``not analysed``), ``error``, ``stale`` and the percolation record's fields; the
        morphometry columns when measured.
    """
    from nanomorph.workflows.morphometry import summary_columns

    row = {"image_id": record.id, "image": record.name, "path": record.path,
           "sha256": record.sha256, "frame": record.frame, "time_s": record.time_s,
           "true_label": label}
    if percolation is None:
        row.update(status="not analysed", error=None, stale=None)
    else:
        result = {k: v for k, v in percolation["result"].items()
                  if k not in ("network", "calibration")}
        row.update(result, status="ok", error=None, stale=percolation["stale"])
    if morphometry is not None:
        row.update(summary_columns(morphometry["result"]))
    return row


def movie_table(project: "Project", frames: list["ImageRecord"],
                predictions: Mapping[int, dict] | None = None) -> dict[str, np.ndarray]:
    """One movie's frames as a column table: stored analyses, label and live prediction.

    Parameters
    ----------
    project : Project
        The open project.
    frames : list of ImageRecord
        The movie's frames in frame order (:func:`project_movies`).
    predictions : Mapping, optional
        Image id → live prediction when the caller holds them (the app's: reading 100,000
        stored ones again took a second); None reads the stored ones.

    Returns
    -------
    dict
        Column → one value per frame: ``image_id``, ``frame``, ``time_s`` and
        ``confidence`` as numbers (NaN when unknown); the other columns of
        :data:`CSV_COLUMNS` as objects (None where a frame has none, as in
        :func:`analysis_row`), and the morphometry columns when a frame was measured.
        Columns, not a dictionary per frame: as rows, 100,000 frames took 0.8 s and 50–85 MB
        at every label (0.1 s and 17–49 MB as columns).
    """
    from nanomorph.workflows.classify import live_predictions, predicted_classes
    from nanomorph.workflows.morphometry import KIND as MORPHOMETRY
    from nanomorph.workflows.morphometry import summary_columns

    n = len(frames)
    ids = np.fromiter((r.id for r in frames), np.int64, n)
    table = {"image_id": ids,
             "frame": np.fromiter((r.frame for r in frames), np.int64, n),
             "time_s": np.fromiter((np.nan if r.time_s is None else r.time_s for r in frames),
                                   float, n),
             "image": np.fromiter((r.name for r in frames), object, n),
             "status": np.full(n, "not analysed", dtype=object)}
    for column in CSV_COLUMNS:  # the others: None until a frame has a value
        table.setdefault(column, np.full(n, None, dtype=object))
    row_of = dict(zip(ids.tolist(), range(n)))

    analyses = project.results.of_kind("percolation")
    for image_id in analyses.keys() & row_of.keys():
        row = analysis_row(frames[row_of[image_id]], analyses[image_id])
        for column in ("status", "stale", *PERCOLATION_COLUMNS):
            table[column][row_of[image_id]] = row.get(column)
    for image_id, label in project.labels.all().items():
        if image_id in row_of:
            table["label"][row_of[image_id]] = label
    table["predicted"], table["confidence"] = predicted_classes(
        live_predictions(project) if predictions is None else predictions, ids)
    measured = project.results.of_kind(MORPHOMETRY)
    for image_id in measured.keys() & row_of.keys():
        for column, value in summary_columns(measured[image_id]["result"]).items():
            table.setdefault(column, np.full(n, None, dtype=object))[row_of[image_id]] = value
    return table


def table_rows(table: dict[str, np.ndarray]) -> list[dict]:
    """A column table as rows (NaN as None, numpy numbers as Python ones): for a CSV file.

    Parameters
    ----------
    table : dict
        :func:`movie_table`.

    Returns
    -------
    list of dict
        One per frame.
    """
    columns = {name: values.tolist() for name, values in table.items()}
    return [{name: (None if isinstance(value, float) and value != value else value)
             for name, value in zip(columns, cells)} for cells in zip(*columns.values())]


def write_timeline_csv(path, table: dict[str, np.ndarray]) -> int:
    """Write a movie's frames as CSV (atomically): ``CSV_COLUMNS``, then the morphometry
    columns where any frame was measured.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    table : dict
        :func:`movie_table`.

    Returns
    -------
    int
        Rows written.
    """
    from nanomorph.workflows.morphometry import summary_columns

    columns = list(CSV_COLUMNS) + [c for c in summary_columns(None) if c in table]
    return atomic_write_csv(path, table_rows(table), columns)
