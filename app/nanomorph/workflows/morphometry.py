"""Wire morphometry of project masks and mask files: one image, every image, the per-wire table.

Project masks hold labels (1 = wire); only label 1 is measured, and the rows of an SEM info bar
are left out as for percolation. Lengths and diameters are in nm when the image is calibrated
(any length unit is converted), else in pixels. Results are stored in the project as kind
``morphometry`` (the ``nanomorph measure`` record, with the mask version it measured).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nanomorph.jobs import CancelToken, Job
from nanomorph.workflows.percolation import WIRE_LABEL, analyse_stored_masks, image_databar_rows

if TYPE_CHECKING:
    from nanomorph.network import Morphometry
    from nanomorph.project import ImageRecord, Project

KIND = "morphometry"
WIRE_COLUMNS = ("id", "length", "diameter_mean", "diameter_sd", "orientation_deg", "straightness",
                "touches_border", "centroid_row", "centroid_col")


def measure_image_mask(mask: np.ndarray, record: "ImageRecord",
                       databar_rows: int = 0) -> tuple[dict, "Morphometry"]:
    """Morphometry of one project image's mask, in nm when the image is calibrated.

    Parameters
    ----------
    mask : ndarray, 2-D
        The image's labels (1 = wire).
    record : ImageRecord
        The image, for its name and calibration.
    databar_rows : int
        Rows of an SEM info bar at the bottom, left out.

    Returns
    -------
    summary : dict
        The ``nanomorph measure`` record (``path`` = the image's name) as stored in the project.
    result : Morphometry
        The full result (wire labels for the overlay, diameter samples for the histogram).
    """
    from nanomorph.network import measure_wires

    calibration = record.calibration
    pixel_size = calibration.pixel_size_nm() if calibration.is_length else None
    result = measure_wires(mask[: mask.shape[0] - databar_rows] == WIRE_LABEL, pixel_size)
    return {**result.as_record(record.name), "databar_rows": databar_rows}, result


def measure_project(project: "Project", image_ids: list[int], *,
                    cancel: CancelToken | None = None) -> Job[dict[int, dict]]:
    """Measure the stored masks of some images and store each summary (a job).

    Parameters
    ----------
    project : Project
        The open project.
    image_ids : list of int
        The images; those without a mask are reported as such.
    cancel : CancelToken, optional
        Checked before each image.

    Yields
    ------
    Progress
        One per image, payload ``(image_id, summary or None, error message or None)``.

    Returns
    -------
    dict
        Image id → summary, for the images measured.
    """
    def measure(mask: np.ndarray, record: "ImageRecord") -> dict:
        return measure_image_mask(mask, record, image_databar_rows(record))[0]

    return (yield from analyse_stored_masks(project, image_ids, KIND, {}, measure, cancel=cancel))


def measure_with_labels(project: "Project", image_id: int, *,
                        cancel: CancelToken | None = None) -> Job[tuple]:
    """Measure one image's stored mask, store the summary, and keep its wire labels (a job).

    Parameters
    ----------
    project : Project
        The open project.
    image_id : int
        The image.
    cancel : CancelToken, optional
        Checked before it starts.

    Yields
    ------
    Progress
        One, as :func:`measure_project`.

    Returns
    -------
    (dict or None, ndarray or None, str or None)
        The summary, the wire id of every mask pixel (the frame without an info bar), and the
        reason when there is no result (e.g. ``no mask yet``).
    """
    kept: dict = {}

    def measure(mask: np.ndarray, record: "ImageRecord") -> dict:
        summary, result = measure_image_mask(mask, record, image_databar_rows(record))
        kept.update(summary=summary, labels=result.labels)
        return summary

    error = None
    for event in analyse_stored_masks(project, [image_id], KIND, {}, measure, cancel=cancel):
        error = event.payload[2]
        yield event
    return kept.get("summary"), kept.get("labels"), error


def wire_rows(summary: dict) -> list[dict]:
    """One flat row per wire of a ``measure`` record (for tables and CSV files).

    Parameters
    ----------
    summary : dict
        A ``nanomorph measure`` record.

    Returns
    -------
    list of dict
        Keys ``path, unit`` and :data:`WIRE_COLUMNS`.
    """
    rows = []
    for wire in summary["wires"]:
        row = {key: wire[key] for key in WIRE_COLUMNS[:-2]}
        row["centroid_row"], row["centroid_col"] = wire["centroid"]
        rows.append({"path": summary["path"], "unit": summary["unit"], **row})
    return rows


def write_wires_csv(path, summaries: list[dict]) -> int:
    """Write the wires of some ``measure`` records as one CSV (atomic).

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    summaries : list of dict
        ``nanomorph measure`` records.

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    OSError
        When the file cannot be written.
    """
    from nanomorph.io.atomic import atomic_write_csv

    rows = [row for summary in summaries for row in wire_rows(summary)]
    return atomic_write_csv(path, rows, ("path", "unit") + WIRE_COLUMNS)


def summary_columns(summary: dict | None) -> dict:
    """The per-image numbers of a ``measure`` record as flat columns (batch results, reports).

    Parameters
    ----------
    summary : dict or None
        A ``nanomorph measure`` record; None gives every column as None.

    Returns
    -------
    dict
        ``wires, diameter_mean, diameter_median, diameter_sd, diameter_p10, diameter_p90,
        length_mean, length_median, wires_complete, orientation_deg, order_parameter,
        junctions_per_um2, wires_per_um2, nL2_over_threshold, morphometry_unit``.
    """
    s = summary or {}
    diameter, length = s.get("diameter", {}), s.get("length", {})
    orientation = s.get("orientation", {})
    return {
        "wires": s.get("n_wires"),
        **{f"diameter_{k}": diameter.get(k) for k in ("mean", "median", "sd", "p10", "p90")},
        "length_mean": length.get("mean"), "length_median": length.get("median"),
        "wires_complete": length.get("n_complete"),
        "orientation_deg": orientation.get("dominant_deg"),
        "order_parameter": orientation.get("order_parameter"),
        "junctions_per_um2": s.get("junctions_per_um2"), "wires_per_um2": s.get("wires_per_um2"),
        "nL2_over_threshold": s.get("nL2_over_threshold"), "morphometry_unit": s.get("unit"),
    }
