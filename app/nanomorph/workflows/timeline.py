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

from nanomorph.io.atomic import atomic_write_csv

if TYPE_CHECKING:
    from nanomorph.project import Project
    from nanomorph.project.image_records import ImageRecord

# the columns of an exported timeline, in order (the morphometry columns follow when measured)
CSV_COLUMNS = ("frame", "time_s", "image", "status", "stale", "foreground_fraction",
               "percolates", "n_clusters", "largest_cluster_fraction", "label", "predicted",
               "confidence")
# what a movie's row keeps (movie_rows): the image, to open it, and the CSV's columns
_ROW_KEYS = ("image_id", *CSV_COLUMNS)


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


def movie_rows(project: "Project", frames: list["ImageRecord"],
               predictions: Mapping[int, dict] | None = None) -> list[dict]:
    """Per-frame rows of one movie: stored analyses, label and live prediction.

    Parameters
    ----------
    project : Project
        The open project.
    frames : list of ImageRecord
        The movie's frames (:func:`project_movies`).
    predictions : Mapping, optional
        Image id → live prediction when the caller holds them (the app's: reading 100,000
        stored ones again took a second); None reads the stored ones.

    Returns
    -------
    list of dict
        Per frame, ``image_id`` and the columns of :data:`CSV_COLUMNS` (those of
        :func:`analysis_row` with ``label``, ``predicted`` and ``confidence``), with the
        morphometry columns when the frame was measured: what the plots and the CSV show,
        not the whole analysis (100,000 full rows took 0.46 GB).
    """
    from nanomorph.workflows.classify import live_predictions
    from nanomorph.workflows.morphometry import KIND as MORPHOMETRY
    from nanomorph.workflows.morphometry import summary_columns

    morphometry_keys = tuple(summary_columns(None))
    analyses = project.results.of_kind("percolation")
    measured = project.results.of_kind(MORPHOMETRY)
    labels = project.labels.all()
    predictions = live_predictions(project) if predictions is None else predictions
    rows = []
    for record in frames:
        row = analysis_row(record, analyses.get(record.id), measured.get(record.id),
                           labels.get(record.id))
        prediction = predictions.get(record.id) or {}
        row.update(label=labels.get(record.id), predicted=prediction.get("label"),
                   confidence=prediction.get("confidence"))
        lean = {key: row.get(key) for key in _ROW_KEYS}
        if record.id in measured:
            lean.update({key: row[key] for key in morphometry_keys})
        rows.append(lean)
    return rows


def write_timeline_csv(path, rows: list[dict]) -> int:
    """Write a movie's rows as CSV (atomically): ``CSV_COLUMNS``, then the morphometry columns
    where any frame was measured.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    rows : list of dict
        :func:`movie_rows`.

    Returns
    -------
    int
        Rows written.
    """
    from nanomorph.workflows.morphometry import summary_columns

    columns = list(CSV_COLUMNS)
    columns += [c for c in summary_columns(None) if any(r.get(c) is not None for r in rows)]
    return atomic_write_csv(path, rows, columns)
