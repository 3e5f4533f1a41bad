"""Physical scale: training and predicting at one pixel size (nm/px) when images are calibrated.

A network learns what wires look like at the pixel size of its training masks. An image taken at
3 × the magnification shows the same wire 3 × wider, with fringes 3 × coarser, and the network
fails on it (Dice 0.54 instead of 0.92 on the HRTEM dev frames zoomed 3 ×,
``tests/benchmarks/test_bench_segment.py``). So when every training image has a pixel size
(from its file, or its scale bar), the pairs are resampled to their median pixel size — the
*working pixel size*, stored in the model — and an image of known pixel size is resampled to it
before prediction, its result resampled back to the image's own pixels.

Only images finer than the working pixel size are resampled (shrunk, at most 8 ×: the bounds
are :data:`SCALE_LIMITS`); coarser ones are segmented at their own pixels — enlarging adds no
detail, costs the factor squared in time, and lowered the Dice of the HRTEM dev set's
thin-wire frame (7.2 × coarser than the working size) from 0.355 to 0.146 / 0.125 / 0.107 when
enlarged 1.5 / 2 / 4 ×. Training pairs and predicted images follow the same rule, so a model sees
both at the same size.
Downsampling smooths first (Gaussian, σ = (1/f − 1)/2 output pixels, as scikit-image does);
images are resampled linearly, class labels by nearest neighbour, probabilities linearly.
Resampling works on a float32 copy of the image (4 bytes per pixel at the working size).
"""

from __future__ import annotations

import numpy as np

# Least and greatest resampling factor (output pixels per input pixel along each axis): images
# are shrunk to the working pixel size, never enlarged (module docstring).
SCALE_LIMITS = (1 / 8, 1.0)
# Pixel sizes within this relative difference count as equal: the image is not resampled.
SAME_SCALE = 0.05


def working_pixel_size(pixel_sizes: list[float | None]) -> float | None:
    """The pixel size a network trains at: the median of its training images'.

    Parameters
    ----------
    pixel_sizes : list of float or None
        Pixel size (nm) of each training image, None where unknown.

    Returns
    -------
    float or None
        The median in nm, or None when any image's is unknown (then nothing is resampled).
    """
    if not pixel_sizes or any(p is None for p in pixel_sizes):
        return None
    return float(np.median(np.asarray(pixel_sizes, float)))


def resample_factor(pixel_size_nm: float | None, working_nm: float | None) -> float:
    """How much an image is resampled to reach the working pixel size.

    Parameters
    ----------
    pixel_size_nm : float or None
        The image's pixel size (nm).
    working_nm : float or None
        The model's working pixel size (nm).

    Returns
    -------
    float
        Output pixels per input pixel, within :data:`SCALE_LIMITS`; 1.0 when either size is
        unknown or they differ by less than :data:`SAME_SCALE`.
    """
    if not pixel_size_nm or not working_nm:
        return 1.0
    factor = float(pixel_size_nm) / float(working_nm)
    if abs(factor - 1.0) < SAME_SCALE:
        return 1.0
    return float(np.clip(factor, *SCALE_LIMITS))


def scaled_shape(shape: tuple[int, int], factor: float) -> tuple[int, int]:
    """The shape of an image resampled by ``factor`` (at least 1 × 1).

    Parameters
    ----------
    shape : (int, int)
        Rows, columns.
    factor : float
        Output pixels per input pixel.

    Returns
    -------
    (int, int)
    """
    return tuple(max(1, int(round(n * factor))) for n in shape)


def resample_image(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Gray levels resampled to ``shape``: linear, smoothed first when shrinking.

    Parameters
    ----------
    image : ndarray, 2-D
        Gray levels, any real dtype.
    shape : (int, int)
        The output's rows and columns.

    Returns
    -------
    ndarray of float32, ``shape``
    """
    from scipy import ndimage

    data = np.asarray(image, np.float32)
    sigma = [max(0.0, (n / m - 1.0) / 2.0) for n, m in zip(data.shape, shape)]
    if any(s > 0 for s in sigma):
        data = ndimage.gaussian_filter(data, sigma, mode="mirror")
    return _zoom(data, shape, order=1)


def resample_labels(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Class labels resampled to ``shape`` by nearest neighbour (no new values).

    Parameters
    ----------
    labels : ndarray, 2-D
        Class indices or mask values.
    shape : (int, int)

    Returns
    -------
    ndarray, ``shape``, the input's dtype
    """
    rows = _nearest(labels.shape[0], shape[0])
    cols = _nearest(labels.shape[1], shape[1])
    return labels[rows[:, None], cols[None, :]]


def resample_probabilities(maps: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    """Foreground probabilities (uint8 × 255) resampled to ``shape``, and their class labels.

    Parameters
    ----------
    maps : ndarray of uint8, shape (K - 1, rows, cols)
        Probability × 255 of each foreground class (:class:`SegmentPrediction`).
    shape : (int, int)

    Returns
    -------
    labels : ndarray of uint8, ``shape``
        The most probable class of each output pixel (0 = background, whose probability is
        255 minus the others').
    maps : ndarray of uint8, shape (K - 1, *shape)
        The resampled probabilities × 255.
    """
    out = np.empty((len(maps), *shape), np.uint8)
    best = np.full(shape, 0.0, np.float32)
    labels = np.zeros(shape, np.uint8)
    foreground = np.zeros(shape, np.float32)
    for k, plane in enumerate(maps):
        p = np.clip(_zoom(plane.astype(np.float32), shape, order=1), 0.0, 255.0)
        out[k] = np.rint(p)
        foreground += p
        better = p > best
        labels[better] = k + 1
        best[better] = p[better]
    labels[255.0 - foreground >= best] = 0
    return labels, out


def _zoom(data: np.ndarray, shape: tuple[int, int], order: int) -> np.ndarray:
    """``data`` resampled to ``shape`` with pixel areas aligned (scipy's grid mode)."""
    from scipy import ndimage

    zoom = [m / n for n, m in zip(data.shape, shape)]
    out = ndimage.zoom(data, zoom, output=np.float32, order=order, mode="nearest",
                       grid_mode=True)
    if out.shape != tuple(shape):  # zoom rounds the shape itself; pad or cut the odd pixel
        out = np.pad(out, [(0, max(0, m - n)) for n, m in zip(out.shape, shape)],
                     mode="edge")[:shape[0], :shape[1]]
    return out


def _nearest(n: int, m: int) -> np.ndarray:
    """Source index of each of ``m`` output pixels spread over ``n`` input pixels."""
    return np.minimum(((np.arange(m) + 0.5) * n / m).astype(np.intp), n - 1)
