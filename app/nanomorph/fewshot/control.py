"""The pixel-density control classifier (asked for by the reviewers of Lu et al. 2022).

If a classifier on two or three numbers per image (how much of it is wire, how bright it is)
sorts the images as well as the embeddings do, the embeddings add nothing. The control features
go through the same protocol, with the same splits, as the embeddings
(:func:`nanomorph.fewshot.evaluate.evaluate_label_efficiency`):

- ``density``: the fraction of wire pixels of the image's auto-mask
  (:func:`nanomorph.masks.auto_mask_image`: Otsu, polarity guessed per image), or of a
  mask the project already has;
- ``intensity``: gray-level statistics (mean, standard deviation, 5/25/50/75/95th percentiles;
  integer images scaled by their dtype's maximum, float images as they are).

Both leave out the info bar of SEM images.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nanomorph.errors import InvalidParameterError, NanomorphError
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel, run_job

DENSITY_FEATURES = ("wire_fraction",)
INTENSITY_FEATURES = ("mean", "std", "p05", "p25", "p50", "p75", "p95")
_PERCENTILES = (5, 25, 50, 75, 95)


@dataclass(frozen=True)
class ControlFeatures:
    """Control features of the images that worked.

    Attributes
    ----------
    density : ndarray, shape (M, 1)
        Wire fraction (columns :data:`DENSITY_FEATURES`).
    intensity : ndarray, shape (M, 7)
        Gray-level statistics (columns :data:`INTENSITY_FEATURES`).
    indices : ndarray of int, shape (M,)
        Position of each row in the input.
    failed : list of (int, str)
        Input position and reason of each image that could not be read or masked.
    """

    density: np.ndarray
    intensity: np.ndarray
    indices: np.ndarray
    failed: list[tuple[int, str]]


def control_features(items: Sequence, *, masks: Sequence | None = None, params=None,
                     cancel: CancelToken | None = None) -> Job[ControlFeatures]:
    """Compute the control features of images (a job: one Progress event per image).

    Parameters
    ----------
    items : sequence of str, os.PathLike or 2-D ndarray
        Image files or gray-level arrays.
    masks : sequence of ndarray or None, optional
        A mask per image (non-zero = wire) where the project has one; None entries (or no
        sequence) are auto-masked.
    params : MaskParams, optional
        Auto-mask parameters; default Otsu's (polarity is guessed per image).
    cancel : CancelToken, optional

    Returns
    -------
    ControlFeatures
        Rows for the images that worked; unreadable images are listed in ``failed``.

    Raises
    ------
    InvalidParameterError
        When ``masks`` and ``items`` differ in length.
    """
    from nanomorph.masks import params_for

    params = params or params_for("otsu")
    masks = [None] * len(items) if masks is None else list(masks)
    if len(masks) != len(items):
        raise InvalidParameterError(f"{len(masks)} masks for {len(items)} images")
    density, intensity, indices, failed = [], [], [], []
    for i, item in enumerate(items):
        check_cancel(cancel)
        try:
            plane, bar_rows = _read(item)
            fraction = _wire_fraction(item, plane, bar_rows, masks[i], params)
        except NanomorphError as exc:
            failed.append((i, exc.reason))
        else:
            density.append([fraction])
            intensity.append(_intensity_stats(plane, bar_rows))
            indices.append(i)
        yield Progress(i + 1, len(items), "pixel-density control")
    return ControlFeatures(np.asarray(density, dtype=float).reshape(-1, len(DENSITY_FEATURES)),
                           np.asarray(intensity, dtype=float).reshape(-1,
                                                                      len(INTENSITY_FEATURES)),
                           np.asarray(indices, dtype=int), failed)


def density_features(items: Sequence, *, masks: Sequence | None = None,
                     params=None) -> np.ndarray:
    """Wire fraction of each image's mask (auto-mask unless a mask is given).

    Parameters
    ----------
    items : sequence of str, os.PathLike or 2-D ndarray
    masks : sequence of ndarray or None, optional
    params : MaskParams, optional

    Returns
    -------
    ndarray, shape (N, 1)

    Raises
    ------
    NanomorphError
        For the first image that cannot be read or masked.
    """
    features = run_job(control_features(items, masks=masks, params=params))
    if features.failed:
        index, reason = features.failed[0]
        item = items[index]
        raise NanomorphError(reason, None if isinstance(item, np.ndarray) else item)
    return features.density


def intensity_features(items: Sequence) -> np.ndarray:
    """Gray-level statistics of each image (mean, std, 5/25/50/75/95th percentiles).

    Parameters
    ----------
    items : sequence of str, os.PathLike or 2-D ndarray

    Returns
    -------
    ndarray, shape (N, 7)

    Raises
    ------
    NanomorphError
        For the first image that cannot be read.
    """
    rows = []
    for item in items:
        plane, bar_rows = _read(item)
        rows.append(_intensity_stats(plane, bar_rows))
    return np.asarray(rows, dtype=float).reshape(-1, len(INTENSITY_FEATURES))


def control_classifier():
    """The classifier of the control features: :class:`FewShotClassifier` on standardised
    features (an L2 normalisation would turn one number into a sign), C = 1 (measured on the
    real multi-source set: macro-F1 of the density control 0.32-0.37 vs 0.28-0.29 at C = 0.1;
    intensity statistics 0.69-0.73, like C = 0.1 and 10), uncalibrated (only the predicted
    class counts in the protocol).

    Returns
    -------
    FewShotClassifier
        Unfitted.
    """
    from nanomorph.fewshot.head import FewShotClassifier

    return FewShotClassifier(scaling="standard", C=1.0, calibrate=False)


def _read(item) -> tuple[np.ndarray, int]:
    """The 2-D gray levels of a file (its first image) or array, and its info-bar rows."""
    from nanomorph.masks import databar_rows_of, find_databar_rows

    if isinstance(item, np.ndarray):
        if item.ndim != 2:
            raise InvalidParameterError(f"expected a 2-D gray image, got shape {item.shape}")
        return item, find_databar_rows(item)
    from nanomorph.io import read_image

    image = read_image(item)
    return image.plane(0), databar_rows_of(image)


def _wire_fraction(item, plane: np.ndarray, bar_rows: int, mask, params) -> float:
    """Fraction of wire pixels in the scanned rows (the info bar left out)."""
    if mask is None:
        mask = _auto_mask(item, plane, bar_rows, params)
    mask = np.asarray(mask)
    if mask.shape != plane.shape:
        raise InvalidParameterError(f"the mask's shape {mask.shape} differs from the image's "
                                    f"{plane.shape}")
    scanned = mask[: plane.shape[0] - bar_rows]
    return float(np.count_nonzero(scanned)) / scanned.size


def _auto_mask(item, plane: np.ndarray, bar_rows: int, params) -> np.ndarray:
    """The project's auto-mask: of the file (``auto_mask_image``), or of an array with the same
    polarity guess."""
    if not isinstance(item, np.ndarray):
        from nanomorph.masks import auto_mask_image

        return auto_mask_image(item, params)
    from nanomorph.masks import auto_mask, suggest_polarity

    polarity = suggest_polarity(plane, databar_rows=bar_rows)
    return auto_mask(plane, dataclasses.replace(params, polarity=polarity), databar_rows=bar_rows)


def _intensity_stats(plane: np.ndarray, bar_rows: int) -> list[float]:
    values = plane[: plane.shape[0] - bar_rows].astype(np.float64)
    if np.issubdtype(plane.dtype, np.integer):
        values /= np.iinfo(plane.dtype).max
    return [float(values.mean()), float(values.std()),
            *(float(p) for p in np.percentile(values, _PERCENTILES))]
