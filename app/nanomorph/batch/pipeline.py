"""The steps a batch run applies to its images: plain functions of (items, configuration) that
run the same on a Dask worker and in the calling process.

Per image (:func:`analyse_item`):

1. read the image (the first page of a stack) and hash its file;
2. mask it: classical auto-mask (polarity guessed per image unless given), a segmenter, an
   existing mask file (``--foreground`` rules of ``nanomorph percolate``) or the project's
   stored mask (label 1 = wire);
3. percolation (:func:`nanomorph.workflows.percolation.percolate_foreground`) of the frame
   without the SEM info bar, as the GUI analyses it; skeleton metrics and wire morphometry
   (:func:`nanomorph.workflows.morphometry.summary_columns`) on request; Dice and IoU against a
   project's stored mask when the mask was computed;
4. write the mask and the overlay when asked.

Per chunk of images (:func:`process_chunk`, one Dask task): the images that worked are embedded
in one batch and classified (the models are loaded once per process, :mod:`.models`). An image
that fails gets an error row (``status="error"`` and a one-line reason) and the others go on;
an image of a project that has no mask yet gets ``status="no mask"`` (and its class, when a
classifier is given: that needs no mask); only a failure to write outputs
(:class:`~.results.OutputError`) stops the run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nanomorph.batch.config import BatchConfig
from nanomorph.batch.inputs import BatchItem
from nanomorph.batch.results import MASKS_FOLDER, OVERLAYS_FOLDER, writing
from nanomorph.errors import CalibrationError, NanomorphError, display_path
from nanomorph.io.hashing import FileMemo

if TYPE_CHECKING:
    from nanomorph.percolation import PercolationResult

# (path, size, modification time in ns, sha256) of a file a result depends on
FileState = tuple[str, int, int, str]
NO_MASK = "no mask"
# the SHA-256 of files hashed in this process
_HASHED = FileMemo(kept=64)


class NoMaskError(NanomorphError):
    """The image has no mask to analyse (a project image nobody masked yet).

    Parameters
    ----------
    reason : str
        What to do about it.
    files : list of FileState
        The image file's state (its hash lets the image still be classified).
    """

    def __init__(self, reason: str, files: list):
        super().__init__(reason)
        self.files = files


@dataclass
class ImageAnalysis:
    """What :func:`analyse_item` found for one image.

    Attributes
    ----------
    row : dict
        The image's row of the results table (``status="ok"``).
    frame : ndarray
        Gray levels of the analysed frame (the info bar cut off).
    mask : ndarray
        The whole image's mask as written by ``--write-masks`` (bool, or a segmenter's label
        values).
    result : PercolationResult
        With the cluster labels of the frame.
    files : list of FileState
        The image's file, then its mask and ground-truth files.
    """

    row: dict
    frame: np.ndarray
    mask: np.ndarray
    result: PercolationResult
    files: list[FileState]


def process_chunk(items: list[BatchItem], config: BatchConfig,
                  out_dir: str | None = None) -> list[tuple[dict, list[FileState]]]:
    """Analyse a chunk of images (one Dask task): (row, files) per item, in order.

    Parameters
    ----------
    items : list of BatchItem
    config : BatchConfig
    out_dir : str, optional
        The results folder, where ``masks/`` and ``overlays/`` are written when asked.

    Raises
    ------
    nanomorph.batch.results.OutputError
        When a mask or overlay cannot be written (the run stops).

    Returns
    -------
    list of (dict, list of FileState)
        The row and the state of the files it depends on, per item in order.
    """
    results = []
    for item in items:
        try:
            analysis = analyse_item(item, config)
        except NoMaskError as exc:
            row = error_row(item, config, exc)
            row.update(status=NO_MASK, sha256=exc.files[0][3])
            results.append((row, exc.files))
            continue
        except Exception as exc:  # noqa: BLE001 - one image's failure must not stop the batch
            results.append((error_row(item, config, exc), []))
            continue
        if out_dir is not None:
            analysis.row.update(_write_outputs(item, analysis, config, out_dir))
        results.append((analysis.row, analysis.files))
    if config.classifier:
        _classify([(item, row) for item, (row, _) in zip(items, results)
                   if row["status"] in ("ok", NO_MASK)], config)
    return results


def analyse_item(item: BatchItem, config: BatchConfig) -> ImageAnalysis:
    """Read, mask and analyse one image (module docstring, steps 1-3).

    Parameters
    ----------
    item : BatchItem
        The image and its mask.
    config : BatchConfig
        The run's steps.

    Returns
    -------
    ImageAnalysis
        Row values, masks and results.

    Raises
    ------
    NoMaskError
        For a project image without a mask.
    NanomorphError
        For an unreadable image or mask, a mask of another size, physical units without a
        calibration, or a failing model.
    """
    from nanomorph.io import read_image
    from nanomorph.masks import databar_rows_of
    from nanomorph.workflows.percolation import percolate_foreground

    image = read_image(item.path, page=item.page)
    files = [_file_state(item.path)]
    plane = image.plane(0)
    bar = databar_rows_of(image, 0)
    if item.mask_error:
        raise (NoMaskError(item.mask_error, files) if item.mask_missing
               else NanomorphError(item.mask_error))
    calibration = item.calibration or image.calibration
    mask, foreground, extra = _mask(item, config, image, calibration, bar)
    if item.mask_path:
        files.append(_file_state(item.mask_path))
    rows = plane.shape[0] - bar
    pixel_size_nm = calibration.pixel_size_nm() if calibration.is_length else None
    if config.percolation.units != "px" and pixel_size_nm is None:
        raise CalibrationError(f"the image is uncalibrated: give the percolation eps in px, "
                               f"not {config.percolation.units}")
    result = percolate_foreground(foreground[:rows], config.percolation, pixel_size_nm)
    record = result.as_record()
    record["shape"] = "x".join(map(str, record["shape"]))
    row = {"path": item.path, "sha256": files[0][3], "status": "ok", "error": None,
           **_plain(record), "databar_rows": int(bar), "mask_source": config.mask_label,
           **extra, **_frame_columns(item)}
    if item.mask_path:
        row.update(mask_path=item.mask_path, mask_sha256=files[1][3])
    if config.skeleton:
        row.update(_plain(_network(foreground[:rows], pixel_size_nm).as_record()))
    if config.morphometry:
        row.update(_morphometry(foreground[:rows], pixel_size_nm, item.path))
    if item.truth_path:
        truth_state = _file_state(item.truth_path)
        files.append(truth_state)
        row.update(_truth_scores(item.truth_path, foreground, rows), truth_sha256=truth_state[3])
    return ImageAnalysis(row, plane[:rows], mask, result, files)


def error_row(item: BatchItem, config: BatchConfig, exc: BaseException) -> dict:
    """The row of an image that failed.

    Parameters
    ----------
    item : BatchItem
        The image.
    config : BatchConfig
        The run's steps (for the columns).
    exc : BaseException
        What went wrong.

    Returns
    -------
    dict
        Its path, ``status="error"`` and a one-line reason.
    """
    return {"path": item.path, "sha256": None, "status": "error", "error": one_line(exc, item),
            "mask_source": config.mask_label, "mask_path": item.mask_path,
            **_frame_columns(item)}


def _frame_columns(item: BatchItem) -> dict:
    """``frame`` and ``time_s`` of a movie's frame (nothing for a still image)."""
    return {} if item.frame is None else {"frame": item.frame, "time_s": item.time_s}


def one_line(exc: BaseException, item: BatchItem) -> str:
    """A failure as one line.

    Parameters
    ----------
    exc : BaseException
        What went wrong.
    item : BatchItem
        The image.

    Returns
    -------
    str
        The reason, prefixed by the file it concerns when that is not the image itself (a mask, a
        model).
    """
    if isinstance(exc, NanomorphError):
        about = exc.path not in (None, item.path)
        text = f"{display_path(exc.path)}: {exc.reason}" if about else exc.reason
    elif isinstance(exc, MemoryError):
        text = "not enough memory to analyse this image"
    elif isinstance(exc, OSError):
        text = f"{display_path(exc.filename or item.path)}: {exc.strerror or exc}"
    else:
        text = f"internal error ({type(exc).__name__}: {exc})"
    return " ".join(text.split()) or type(exc).__name__


# -- masks ---------------------------------------------------------------------------------------
def _mask(item: BatchItem, config: BatchConfig, image, calibration,
          bar: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """(mask to write, wire pixels of the whole image, extra row fields) by the mask source."""
    plane = image.plane(0)
    if config.mask_source == "auto":
        return _auto_mask(plane, bar, config)
    if config.mask_source == "segmenter":
        return _segment(image, calibration, bar, config)
    if config.mask_source == "masks":
        from nanomorph.io.mask_files import foreground_mask, read_mask

        values, _ = read_mask(item.mask_path)
        _check_shape(values, plane, item.mask_path)
        foreground = foreground_mask(values, config.foreground, path=item.mask_path)
        return foreground, foreground, {}
    foreground = _stored_wire(item.mask_path, plane.shape)
    return foreground, foreground, {}


def _auto_mask(plane: np.ndarray, bar: int, config: BatchConfig):
    from nanomorph.masks import auto_mask_plane

    mask, polarity = auto_mask_plane(plane, config.mask_params, config.polarity, bar)
    return mask, mask, {"polarity": polarity}


def _segment(image, calibration, bar: int, config: BatchConfig):
    """The segmenter's mask; a calibrated image (its project's or file's pixel size, else its
    scale bar's) is segmented at the model's working pixel size."""
    from nanomorph.batch.models import cached_segmenter
    from nanomorph.scalebar import image_pixel_size_nm

    segmenter = cached_segmenter(config.segmenter, config.device)
    pixel_size = None
    if segmenter.pixel_size_nm:
        pixel_size = calibration.mean_pixel_size_nm() or image_pixel_size_nm(image)
    labels = segmenter.predict(image.plane(0), probabilities=False, databar_rows=bar,
                               pixel_size_nm=pixel_size).labels
    return (segmenter.classes.mask_values(labels), labels == segmenter.classes.nanowire, {})


def _stored_wire(path: str, shape: tuple[int, ...]) -> np.ndarray:
    """Wire pixels (label 1) of a mask stored in a project."""
    from nanomorph.io.label_tiff import read_label_tiff
    from nanomorph.workflows.percolation import WIRE_LABEL

    labels = read_label_tiff(path)
    if labels.shape != tuple(shape):
        raise NanomorphError(f"the project's mask is {_size(labels.shape)} but the image is "
                             f"{_size(shape)}: the image file changed after the mask was "
                             "made", path)
    return labels == WIRE_LABEL


def _check_shape(mask: np.ndarray, plane: np.ndarray, path: str) -> None:
    if mask.shape != plane.shape:
        raise NanomorphError(f"the mask is {_size(mask.shape)} but the image is "
                             f"{_size(plane.shape)}", path)


def _size(shape) -> str:
    return f"{shape[1]} × {shape[0]} px"


# -- analysis ------------------------------------------------------------------------------------
def _network(foreground: np.ndarray, pixel_size_nm):
    from nanomorph.network import network_metrics

    if pixel_size_nm:
        return network_metrics(foreground, spacing=pixel_size_nm, unit="nm")
    return network_metrics(foreground)


def _morphometry(foreground: np.ndarray, pixel_size_nm, path: str) -> dict:
    from nanomorph.network import measure_wires
    from nanomorph.workflows.morphometry import summary_columns

    return summary_columns(measure_wires(foreground, pixel_size_nm).as_record(path))


def _truth_scores(path: str, foreground: np.ndarray, rows: int) -> dict:
    """Dice and IoU of the computed wire pixels against a project's stored mask, on the
    analysed frame."""
    from nanomorph.masks.overlap import dice, iou

    truth = _stored_wire(path, foreground.shape)[:rows]
    return {"dice": dice(foreground[:rows], truth), "iou": iou(foreground[:rows], truth)}


def _classify(done: list[tuple[BatchItem, dict]], config: BatchConfig) -> None:
    """Embed the chunk's analysed images in one batch and add label, confidence, class margin,
    probabilities and the class ↔ connectivity consistency (the default expectations:
    :mod:`nanomorph.explore.consistency`) to their rows (an image that cannot be embedded
    becomes an error)."""
    from nanomorph.batch.models import cached_classifier
    from nanomorph.embedding import embed_images
    from nanomorph.explore.consistency import consistency, expected_connectivity
    from nanomorph.fewshot.head import recorded_preprocess
    from nanomorph.jobs import run_job
    from nanomorph.workflows.classify import prediction_records

    if not done:
        return
    try:
        model = cached_classifier(config.classifier)
        embedded = run_job(embed_images(
            [_embedding_item(item, row) for item, row in done], device=config.device,
            encoder=model.encoder.get("source") or model.encoder["name"],
            preprocess=recorded_preprocess(model.encoder), batch_size=len(done)))
    except NanomorphError as exc:
        for item, row in done:
            _fail(row, f"classification: {one_line(exc, item)}")
        return
    reasons = dict(embedded.failed)
    records = prediction_records(model, list(range(len(embedded.paths))), embedded.embeddings)
    position = 0
    for item, row in done:
        if position < len(embedded.paths) and embedded.paths[position] == item.path:
            record = records[position]
            position += 1
            row.update(label=record["label"], confidence=record["confidence"],
                       class_margin=record["margin"],
                       probabilities=json.dumps(record["probabilities"]),
                       consistency=consistency(record["label"], row.get("percolates"),
                                               expected_connectivity(model.classes_)))
        else:
            _fail(row, f"classification: {reasons.get(item.path, 'could not be embedded')}")


def _fail(row: dict, reason: str) -> None:
    row.update(status="error", error=reason)


# -- outputs -------------------------------------------------------------------------------------
def _write_outputs(item: BatchItem, analysis: ImageAnalysis, config: BatchConfig,
                   out_dir: str) -> dict:
    """Write the mask and overlay PNGs asked for; their paths relative to ``out_dir``."""
    from nanomorph.batch.overlay import overlay_rgb, png_bytes
    from nanomorph.io.atomic import atomic_write_bytes
    from nanomorph.io.mask_files import write_mask_png

    written = {}
    if config.write_masks:
        name = f"{MASKS_FOLDER}/{item.name}.png"
        with writing(os.path.join(out_dir, name)):
            write_mask_png(os.path.join(out_dir, name), analysis.mask)
        written["mask_file"] = name
    if config.write_overlays:
        name = f"{OVERLAYS_FOLDER}/{item.name}.png"
        with writing(os.path.join(out_dir, name)):
            atomic_write_bytes(os.path.join(out_dir, name),
                               png_bytes(overlay_rgb(analysis.frame, analysis.result)))
        written["overlay_file"] = name
    return written


# -- helpers -------------------------------------------------------------------------------------
def _embedding_item(item: BatchItem, row: dict) -> tuple[str, str, int | None]:
    """What ``embed_images`` embeds for a row: a movie file's frames share the file's hash, so
    a frame's key adds its page (else every frame would get frame 0's embedding)."""
    key = row["sha256"] if item.page is None else f"{row['sha256']}#{item.page}"
    return item.path, key, item.page


def _file_state(path: str) -> FileState:
    """(path, size, mtime_ns, sha256) of a file (stat'ed before it is hashed). A file hashed
    already in this process is not read again while its size, modification time and inode
    stay the same: each frame of a movie is an item, and hashing the whole movie for each
    frame made a batch over N frames cost N² (10,000 frames of 64²: 347 s)."""
    from nanomorph.io.hashing import sha256_file

    try:
        stat = os.stat(path)
        digest = _HASHED.get(path, stat, lambda: sha256_file(path))
        return path, stat.st_size, stat.st_mtime_ns, digest
    except OSError as exc:
        raise NanomorphError(f"the file cannot be read ({exc.strerror or exc})", path) from None


def _plain(record: dict) -> dict:
    """numpy scalars as Python numbers (JSON and Parquet ready)."""
    return {key: value.item() if isinstance(value, np.generic) else value
            for key, value in record.items()}
