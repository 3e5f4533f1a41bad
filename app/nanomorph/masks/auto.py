"""Classical auto-masking: normalise, orient, smooth, threshold (global, local or ridge), clean.

Every method works on a *wire score*: gray levels scaled so that the 0.5th/99.5th percentiles map
to 0/1 (hot pixels and dead columns do not set the scale), turned upside down for dark wires, so
that wires are always the high side. The info bar of SEM images is left out before anything is
computed and is background in the result.
"""

from __future__ import annotations

import dataclasses
import os
from functools import partial

import numpy as np
from skimage import filters, morphology

from nanomorph.errors import InvalidParameterError
from nanomorph.io.intensity import normalise_percentiles
from nanomorph.masks.databar import find_databar_rows
from nanomorph.masks.params import AUTO_POLARITY, MaskParams

# Li's iteration stops when the threshold moves less than ``tolerance``; its default (half the
# smallest gray-level step) lies below float32 resolution for smoothed images, where the
# iteration can cycle for ever. 1e-4 of the normalised range is far below any visible change.
_LI_TOLERANCE = 1e-4
_GLOBAL_THRESHOLDS = {
    "otsu": filters.threshold_otsu,
    "li": partial(filters.threshold_li, tolerance=_LI_TOLERANCE),
    "triangle": filters.threshold_triangle,
}
_RIDGE_FILTERS = {"sato": filters.sato, "meijering": filters.meijering, "frangi": filters.frangi}


def auto_mask(image2d: np.ndarray, params: MaskParams | None = None, *,
              databar_rows: int = 0) -> np.ndarray:
    """Mask the wires of a micrograph.

    Parameters
    ----------
    image2d : ndarray, shape (rows, cols)
        Gray levels of any real dtype (uint8/16, int32, float without NaN).
    params : MaskParams, optional
        Method, polarity, smoothing and cleanup; default ``MaskParams()`` (Otsu, dark wires).
    databar_rows : int
        Rows at the bottom that hold an SEM info bar (``metadata["databar_rows"]`` of the image,
        or :func:`find_databar_rows`). With ``params.crop_databar`` they are left out of the
        computation and are background in the result.

    Returns
    -------
    ndarray of bool, shape (rows, cols)
        True on wires.

    Raises
    ------
    InvalidParameterError
        For an image that is not 2-D, not real-valued or not finite, and an info bar that does
        not fit in it.
    """
    params = MaskParams() if params is None else params
    image2d = _check_image(image2d)
    rows = _scanned_rows(image2d.shape[0], databar_rows if params.crop_databar else 0)
    mask = np.zeros(image2d.shape, dtype=bool)
    mask[:rows] = _mask_scanned(image2d[:rows], params)
    return mask


def auto_mask_plane(plane: np.ndarray, params: MaskParams | None = None,
                    polarity: str = AUTO_POLARITY, databar_rows: int = 0) -> tuple[np.ndarray, str]:
    """:func:`auto_mask` with the polarity decided for this image when asked.

    Parameters
    ----------
    plane : ndarray, shape (rows, cols)
        Gray levels (as :func:`auto_mask`).
    params : MaskParams, optional
        Method, smoothing and cleanup; its ``polarity`` is replaced by ``polarity``.
    polarity : str
        ``"dark"``, ``"bright"``, or ``"auto"``: :func:`~nanomorph.masks.suggest_polarity`
        decides from the scanned area.
    databar_rows : int
        Rows of an SEM info bar at the bottom; they stay background.

    Returns
    -------
    mask : ndarray of bool, shape (rows, cols)
        True on wires.
    polarity : str
        The polarity used (``"dark"`` or ``"bright"``).
    """
    from nanomorph.masks.polarity import suggest_polarity

    params = MaskParams() if params is None else params
    if polarity == AUTO_POLARITY:
        polarity = suggest_polarity(plane, databar_rows=databar_rows)
    mask = auto_mask(plane, dataclasses.replace(params, polarity=polarity),
                     databar_rows=databar_rows)
    return mask, polarity


def mask_micrograph(image, params: MaskParams | None = None, polarity: str = AUTO_POLARITY, *,
                    page: int = 0) -> np.ndarray:
    """:func:`auto_mask_plane` of a ``MicroscopeImage``, its info bar from
    :func:`databar_rows_of`.

    Parameters
    ----------
    image : nanomorph.io.MicroscopeImage
        The micrograph.
    params : MaskParams, optional
        Method, smoothing and cleanup.
    polarity : str
        ``"dark"``, ``"bright"`` or ``"auto"`` (decided for this image).
    page : int
        Which image of a stack.

    Returns
    -------
    ndarray of uint8, shape (rows, cols)
        1 on wires, 0 elsewhere (the info bar included).
    """
    mask, _ = auto_mask_plane(image.plane(page), params, polarity, databar_rows_of(image, page))
    return mask.astype(np.uint8)


def auto_mask_image(path: str | os.PathLike, params: MaskParams | None = None,
                    polarity: str = AUTO_POLARITY, page: int | None = None) -> np.ndarray:
    """:func:`mask_micrograph` of an image file.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`nanomorph.io.read_image` reads.
    params : MaskParams, optional
        Method, smoothing and cleanup.
    polarity : str
        ``"dark"``, ``"bright"`` or ``"auto"`` (decided for this image).
    page : int, optional
        Which image of a stack (only that one is read); None: the first.

    Returns
    -------
    ndarray of uint8, shape (rows, cols)
        1 on wires, 0 elsewhere.

    Raises
    ------
    nanomorph.errors.ImageReadError
        When the file cannot be read as an image.
    """
    from nanomorph.io import read_image

    return mask_micrograph(read_image(path, page=page), params, polarity)


def databar_rows_of(image, page: int = 0) -> int:
    """Rows of the info bar of a ``MicroscopeImage``: ``metadata["databar_rows"]`` where the
    reader knows it (FEI TIFFs), else :func:`find_databar_rows` of its pixels (Zeiss, Hitachi).

    Parameters
    ----------
    image : nanomorph.io.MicroscopeImage
    page : int
        Which image of a stack.

    Returns
    -------
    int
    """
    return int(image.metadata.get("databar_rows") or find_databar_rows(image.plane(page)))


def wire_score(image2d: np.ndarray, polarity: str, smooth_sigma_px: float = 0.0) -> np.ndarray:
    """Percentile-normalised gray levels with the wires' side up, optionally smoothed.

    Parameters
    ----------
    image2d : ndarray, 2-D
    polarity : str
        ``"dark"`` inverts the scale (dark wires score high), ``"bright"`` keeps it.
    smooth_sigma_px : float
        Gaussian standard deviation in px (0 = none).

    Returns
    -------
    ndarray of float32
        Values in [0, 1] before smoothing.
    """
    score = normalise_percentiles(image2d)
    if polarity == "dark":
        np.subtract(1.0, score, out=score)
    if smooth_sigma_px > 0:
        score = filters.gaussian(score, sigma=smooth_sigma_px, preserve_range=True)
    return score


def _mask_scanned(image2d: np.ndarray, params: MaskParams) -> np.ndarray:
    """The mask of the image area (info bar already cut off)."""
    if image2d.size == 0 or image2d.min() == image2d.max():
        return np.zeros(image2d.shape, dtype=bool)
    score = wire_score(image2d, params.polarity, params.smooth_sigma_px)
    if params.method in _GLOBAL_THRESHOLDS:
        mask = score > _GLOBAL_THRESHOLDS[params.method](score)
    elif params.method == "local":
        mask = score > filters.threshold_local(score, params.block_size_px, offset=params.offset)
    else:
        mask = _ridge_mask(score, params)
    return _clean(mask, params.min_size_px, params.fill_holes_px)


def _ridge_mask(score: np.ndarray, params: MaskParams) -> np.ndarray:
    """Hysteresis on a ridge filter's response, thresholds in multiples of its Otsu threshold."""
    response = _RIDGE_FILTERS[params.ridge_filter](score, sigmas=params.ridge_sigmas_px,
                                                    black_ridges=False)
    if not response.max() > response.min():
        return np.zeros(score.shape, dtype=bool)
    otsu = float(filters.threshold_otsu(response))
    low, high = params.hysteresis
    return filters.apply_hysteresis_threshold(response, low * otsu, high * otsu)


def _clean(mask: np.ndarray, min_size_px: int, fill_holes_px: int) -> np.ndarray:
    """Remove objects below ``min_size_px`` and fill holes below ``fill_holes_px`` pixels."""
    if min_size_px > 1:
        mask = morphology.remove_small_objects(mask, max_size=min_size_px - 1)
    if fill_holes_px > 1:
        mask = morphology.remove_small_holes(mask, max_size=fill_holes_px - 1)
    return mask


def _check_image(image2d) -> np.ndarray:
    image2d = np.asarray(image2d)
    if image2d.ndim != 2:
        raise InvalidParameterError(f"auto-masking needs one 2-D image, not an array of shape "
                                    f"{image2d.shape}")
    if image2d.dtype == bool:
        return image2d.astype(np.uint8)
    if image2d.dtype.kind not in "uif":
        raise InvalidParameterError(f"auto-masking needs gray levels, not {image2d.dtype} data")
    if image2d.dtype.kind == "f" and not np.isfinite(image2d).all():
        raise InvalidParameterError("the image holds NaN or infinite values: replace them first "
                                    "(nanomorph.io.read_image does)")
    return image2d


def _scanned_rows(height: int, databar_rows: int) -> int:
    """Rows above the info bar."""
    if not 0 <= databar_rows < height:
        raise InvalidParameterError(f"the info bar must have 0 to {height - 1} rows in an image "
                                    f"of {height} rows, not {databar_rows}")
    return height - int(databar_rows)
