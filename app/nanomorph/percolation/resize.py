"""The paper's analysis resolution: masks resized to 224 × 224 before DBSCAN.

Rule: each output pixel is the area-weighted mean of the input pixels it covers (exact area
fractions, ``skimage.transform.resize_local_mean``), and is foreground when at least half of its
area was foreground. The aspect ratio is not kept, as with ``torchvision``'s
``Resize((224, 224))``. A wire narrower than half an output pixel (about 2.3 px at 1024² → 224²)
disappears: the paper's analysis cannot see such wires.
"""

from __future__ import annotations

import numbers

import numpy as np

from nanomorph.percolation.clustering import check_mask, check_spacing, require

ANALYSIS_SIZE = 224


def _check_size(size) -> int:
    require(isinstance(size, numbers.Integral) and not isinstance(size, bool) and size >= 1,
            f"the analysis size must be a whole number of pixels >= 1, got {size!r}")
    return int(size)


def resize_for_analysis(mask, size: int = ANALYSIS_SIZE) -> np.ndarray:
    """Resize a binary mask to ``size`` × ``size`` by area fractions, thresholded at one half.

    Parameters
    ----------
    mask : array_like, 2-D
        Binary mask, foreground = True / nonzero.
    size : int
        Output side in pixels (224 in Lu et al. 2022).

    Returns
    -------
    ndarray of bool, shape (size, size)
        The resized mask.

    Raises
    ------
    NanomorphError
        When the resized mask would not fit in memory.
    """
    from skimage.transform import resize_local_mean

    from nanomorph.memory import require_memory

    mask = check_mask(mask)
    size = _check_size(size)
    require(mask.size > 0, "the mask is empty (0 pixels)")
    # float64: the output, an intermediate of one resized axis, the comparison's bool result
    require_memory(8 * (2 * size * size + mask.shape[0] * size) + size * size,
                   f"resizing the mask to {size} × {size} px")
    covered = resize_local_mean(mask.astype(np.float64), (size, size))
    return covered >= 0.5


def resized_pixel_size(pixel_size, shape: tuple[int, int],
                       size: int = ANALYSIS_SIZE) -> tuple[float, float]:
    """The pixel size (y, x) after :func:`resize_for_analysis` of an image of ``shape``.

    Parameters
    ----------
    pixel_size : (float, float)
        Pixel size along (y, x) of the original image, in any length unit.
    shape : (int, int)
        Original (rows, columns).
    size : int
        The analysis size.

    Returns
    -------
    (float, float)
        ``(sy * rows / size, sx * columns / size)``, in the unit of ``pixel_size``.
    """
    sy, sx = check_spacing(pixel_size)
    size = _check_size(size)
    return (sy * shape[0] / size, sx * shape[1] / size)
