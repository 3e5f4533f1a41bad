"""Percolation and skeleton metrics of masks, with the settings a user chooses, for one mask or
every image of a project (a job that stores each result with the mask version it analysed).

Project masks hold labels: 1 = nanowire, 2… = other classes (e.g. a catalyst droplet); only
label 1 is wire for these analyses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nanomorph import defaults
from nanomorph.errors import InvalidParameterError, NanomorphError
from nanomorph.io.atomic import atomic_write_csv
from nanomorph.io.records import JsonRecord
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel

if TYPE_CHECKING:
    from nanomorph.percolation import PercolationResult
    from nanomorph.project import ImageRecord, Project

WIRE_LABEL = 1
UNITS = ("px", "nm", "µm")


@dataclass(frozen=True)
class PercolationSettings(JsonRecord):
    """How to analyse a mask.

    Attributes
    ----------
    eps, margin : float
        DBSCAN radius and spanning margin, in ``units``.
    min_samples : int
        DBSCAN min_samples (the pixel itself counts).
    units : str
        ``px``, ``nm`` or ``µm``; physical units need a calibrated image.
    method : str
        ``exact`` (fast, identical partition) or ``dbscan`` (scikit-learn, as the paper).
    resize : int or None
        Analyse at resize × resize pixels (224 reproduces the paper), None for native size.
    """

    eps: float = defaults.PERCOLATION_EPS
    min_samples: int = defaults.PERCOLATION_MIN_SAMPLES
    margin: float = defaults.PERCOLATION_MARGIN
    units: str = defaults.PERCOLATION_UNITS
    method: str = defaults.PERCOLATION_METHOD
    resize: int | None = None

    def __post_init__(self) -> None:
        if self.units not in UNITS:
            raise InvalidParameterError(f"units must be one of {', '.join(UNITS)}, "
                                        f"not {self.units!r}")
        if self.resize is not None and self.resize < 8:
            raise InvalidParameterError(f"resize must be at least 8 px, not {self.resize}")


def percolate_foreground(foreground: np.ndarray, settings: PercolationSettings,
                         pixel_size_nm: tuple[float, float] | None = None) -> "PercolationResult":
    """Percolation of a boolean wire mask.

    Parameters
    ----------
    foreground : ndarray of bool, 2-D
        Wire pixels.
    settings : PercolationSettings
        eps, margin, units, method and resize.
    pixel_size_nm : (float, float), optional
        Pixel size along (y, x) in nm; needed when ``settings.units`` is physical.

    Returns
    -------
    PercolationResult
        Its ``seconds`` covers the resize (if any) and the analysis.
    """
    from nanomorph.percolation import (
        analyse_percolation,
        resize_for_analysis,
        resized_pixel_size,
    )

    started = time.perf_counter()
    spacing = pixel_size_nm if settings.units != "px" else None
    if settings.resize:
        if spacing is not None:
            spacing = resized_pixel_size(spacing, foreground.shape, settings.resize)
        foreground = resize_for_analysis(foreground, settings.resize)
    result = analyse_percolation(foreground, settings.eps, settings.min_samples, settings.margin,
                                 method=settings.method, spacing=spacing, units=settings.units)
    result.seconds = time.perf_counter() - started
    return result


def image_databar_rows(record: "ImageRecord") -> int:
    """Rows of the SEM info bar at the bottom of a project image.

    Parameters
    ----------
    record : ImageRecord
        The image (read from its file).

    Returns
    -------
    int
        0 when it has none.
    """
    from nanomorph.io import read_image
    from nanomorph.masks import databar_rows_of

    return databar_rows_of(read_image(record.path, page=record.page))


def analyse_image_mask(mask: np.ndarray, record: "ImageRecord", settings: PercolationSettings,
                       databar_rows: int = 0) -> tuple[dict, "PercolationResult"]:
    """Percolation and skeleton metrics of one project image's mask.

    The bottom ``databar_rows`` rows (an SEM info bar) are left out: the analysed frame is the
    scanned area, so a network can span it in y.

    Parameters
    ----------
    mask : ndarray, 2-D
        The image's labels (1 = wire).
    record : ImageRecord
        The image, for its calibration.
    settings : PercolationSettings
        How to analyse.
    databar_rows : int
        Rows of the SEM info bar.

    Returns
    -------
    summary : dict
        The JSON-ready summary stored in the project (percolation record, ``network`` metrics at
        native resolution, the image's calibration).
    result : PercolationResult
        The full result (labels for overlays).

    Raises
    ------
    NanomorphError
        When ``settings`` are in physical units and the image is uncalibrated.
    """
    calibration = record.calibration
    if settings.units != "px" and not calibration.is_length:
        raise NanomorphError(f"{record.name} is uncalibrated: give eps in px or set its pixel "
                             "size in the Project dock")
    pixel_size_nm = calibration.pixel_size_nm() if calibration.is_length else None
    foreground = mask[: mask.shape[0] - databar_rows] == WIRE_LABEL
    summary, result = analyse_foreground(foreground, settings, pixel_size_nm)
    summary.update(calibration=calibration.as_json(), databar_rows=databar_rows)
    return summary, result


def analyse_foreground(foreground: np.ndarray, settings: PercolationSettings,
                       pixel_size_nm: tuple[float, float] | None
                       ) -> tuple[dict, "PercolationResult"]:
    """Percolation and skeleton metrics of a wire mask.

    Parameters
    ----------
    foreground : ndarray of bool, 2-D
        Wire pixels.
    settings : PercolationSettings
        How to analyse.
    pixel_size_nm : (float, float) or None
        Pixel size (y, x) in nm; None when uncalibrated.

    Returns
    -------
    summary : dict
        The percolation record with the skeleton metrics under ``network`` (lengths in nm when
        calibrated).
    result : PercolationResult
        With the cluster labels.

    Raises
    ------
    NanomorphError
        When ``settings`` are in physical units and there is no pixel size.
    """
    from nanomorph.network import network_metrics

    if settings.units != "px" and pixel_size_nm is None:
        raise NanomorphError("the mask has no pixel size: give eps in px")
    result = percolate_foreground(foreground, settings, pixel_size_nm)
    network = (network_metrics(foreground, spacing=pixel_size_nm, unit="nm") if pixel_size_nm
               else network_metrics(foreground))
    return {**result.as_record(), "network": network.as_record()}, result


def analyse_project(project: "Project", image_ids: list[int], settings: PercolationSettings, *,
                    cancel: CancelToken | None = None) -> Job[dict[int, dict]]:
    """Analyse the stored masks of some images and store each result (a job).

    Parameters
    ----------
    project : Project
        The open project (results are stored in it).
    image_ids : list of int
        The images; those without a mask are skipped.
    settings : PercolationSettings
        How to analyse.
    cancel : CancelToken, optional
        Checked before each image.

    Yields
    ------
    Progress
        One per image, payload ``(image_id, summary or None, error message or None)``: an image
        whose analysis fails is reported there and the others go on.

    Returns
    -------
    dict
        Image id → summary, for the images analysed.
    """
    def analyse(mask: np.ndarray, record: "ImageRecord") -> dict:
        return analyse_image_mask(mask, record, settings, image_databar_rows(record))[0]

    return (yield from analyse_stored_masks(project, image_ids, "percolation", settings.as_json(),
                                            analyse, cancel=cancel))


def analyse_stored_masks(project: "Project", image_ids: list[int], kind: str, params: dict,
                         analyse, *, cancel: CancelToken | None = None) -> Job[dict[int, dict]]:
    """Run one analysis over the latest stored mask of some images, storing each result (a job).

    Parameters
    ----------
    project : Project
        The open project (results are stored in it under ``kind`` with the mask version).
    image_ids : list of int
        The images; those without a mask are reported as such.
    kind : str
        The result kind (``percolation``, ``morphometry``).
    params : dict
        The settings stored beside each result.
    analyse : callable
        ``analyse(mask, image_record) -> summary dict``; may raise NanomorphError.
    cancel : CancelToken, optional
        Checked before each image.

    Yields
    ------
    Progress
        One per image, payload ``(image_id, summary or None, error message or None)``: an image
        whose analysis fails is reported there and the others go on.

    Returns
    -------
    dict
        Image id → summary, for the images analysed.
    """
    done: dict[int, dict] = {}
    for i, image_id in enumerate(image_ids):
        check_cancel(cancel)
        record = project.images.get(image_id)
        version = project.masks.latest_version(image_id)
        summary, error = None, None
        if version is None:
            error = "no mask yet"
        else:
            try:
                summary = analyse(project.masks.read(image_id, version), record)
            except NanomorphError as e:
                error = e.reason
            else:
                project.results.save(image_id, kind, params, summary, version)
                done[image_id] = summary
        yield Progress(i + 1, len(image_ids), f"{kind} of {record.name}",
                       payload=(image_id, summary, error))
    return done


def export_analyses_csv(project: "Project", path) -> int:
    """Write every stored percolation result as one CSV row per image (atomic).

    Columns: image, path, sha256, frame and time_s (a movie's frames; s), mask_version, stale,
    the percolation record (as ``nanomorph percolate``), the settings used (``setting_*``), the
    skeleton metrics, the calibration and the info-bar rows left out.

    Parameters
    ----------
    project : Project
        The open project.
    path : str or os.PathLike
        The CSV file to write.

    Returns
    -------
    int
        Rows written.
    """
    records = {r.id: r for r in project.images.all()}
    rows = []
    for image_id, entry in sorted(project.results.of_kind("percolation").items()):
        record = records[image_id]
        rows.append({"image": record.name, "path": record.path, "sha256": record.sha256,
                     "frame": record.frame, "time_s": record.time_s,
                     "mask_version": entry["mask_version"], "stale": entry["stale"],
                     **_flat(entry["result"], entry["params"])})
    return atomic_write_csv(path, rows)


def export_summaries_csv(path, summaries: dict[str, dict], settings: PercolationSettings) -> int:
    """Write percolation summaries of masks outside a project (e.g. napari layers) as CSV.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file to write (atomically).
    summaries : dict
        Mask name → summary (:func:`analyse_foreground`).
    settings : PercolationSettings
        The settings they were analysed with.

    Returns
    -------
    int
        Rows written.
    """
    rows = [{"image": name, **_flat(summary, settings.as_json())}
            for name, summary in summaries.items()]
    return atomic_write_csv(path, rows)


def _flat(summary: dict, params: dict) -> dict:
    """A summary as one row: the percolation record, ``setting_*``, the skeleton metrics."""
    result = dict(summary)
    network = result.pop("network", {})
    calibration = result.pop("calibration", {})
    result["shape"] = "x".join(map(str, result["shape"]))
    pixel = calibration.get("pixel_size")
    return {**result, **{f"setting_{k}": v for k, v in params.items()}, **network,
            "pixel_size_x": pixel[1] if pixel else None, "pixel_unit": calibration.get("unit")}
