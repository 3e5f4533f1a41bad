"""Guessing whether the wires of a micrograph are darker or brighter than its background.

The rule compares how far the gray levels reach below and above the background level, which is
taken as the median of the image's border (objects rarely fill the frame's edge). It does so at
two scales of a ≤512-px working copy, and adds the two log ratios:

- region scale (Gaussian σ = 4 px, 97th/3rd percentile of the deviation): large objects, e.g. a
  thick wire with its catalyst droplet in HRTEM, which may cover more than half the frame;
- fine scale (σ = 1 px, 99.5th/0.5th percentile): thin wires covering 1 % of the image, which
  the region scale misses next to larger distractors (electrodes on a chip).

The info bar of SEM images is left out first (:func:`find_databar_rows`).

Measured (``tests/engine/test_masks_polarity.py``): synthetic TEM and SEM images of the four
morphologies 160/160 right; nanowire_tem_seg (HRTEM, dark) 23/24 (frame 65, a large droplet,
reads bright); sem_nanowires (bright) 5/6 (22.tif: its dark electrodes outweigh the thin wires);
tio2_sem_seg (bright) 12/12; agnw_network_sem (bright) 5/5. Embossed images (edge contrast,
each wire with a bright and a dark side, e.g. cnt_composite_sem) have no polarity to find.

Cues that failed on the real data: skewness and small-scale top-hats (the bright Fresnel fringe
around HRTEM wires and the positively skewed shot noise make dark wires look bright), and the
spreads of the two Otsu classes (the info bar becomes one class).
"""

from __future__ import annotations

import math

import numpy as np
from skimage import filters, transform

from nanomorph.io.intensity import normalise_percentiles
from nanomorph.masks.databar import find_databar_rows

WORKING_SIDE_PX = 512
# (Gaussian sigma in working px, upper percentile of the deviation from the background level)
_SCALES = ((4.0, 97.0), (1.0, 99.5))
_TINY = 1e-6


def suggest_polarity(image2d: np.ndarray, databar_rows: int | None = None) -> str:
    """``"dark"`` when the wires of ``image2d`` are likely darker than its background, else
    ``"bright"`` (rule and measured accuracy in the module docstring).

    Parameters
    ----------
    image2d : ndarray, shape (rows, cols)
        Gray levels of any real dtype.
    databar_rows : int, optional
        Rows of an info bar at the bottom, left out; None finds them
        (:func:`find_databar_rows`).

    Returns
    -------
    str
        ``"dark"`` (e.g. TEM bright field) or ``"bright"`` (e.g. SEM).
    """
    return "bright" if polarity_evidence(image2d, databar_rows) > 0 else "dark"


def polarity_evidence(image2d: np.ndarray, databar_rows: int | None = None) -> float:
    """The sum of the two log ratios of :func:`suggest_polarity`: > 0 for bright wires.

    Its magnitude says how clear the case is: synthetic images 0.7-6.5 (median 3.2), TiO2 about
    5, the HRTEM frames 0.01-1.8.

    Parameters
    ----------
    image2d : ndarray, shape (rows, cols)
    databar_rows : int, optional
        As for :func:`suggest_polarity`.

    Returns
    -------
    float
    """
    image2d = np.asarray(image2d)
    bar = find_databar_rows(image2d) if databar_rows is None else int(databar_rows)
    working = _working_copy(image2d[:image2d.shape[0] - bar])
    return sum(_log_tail_ratio(working, sigma, q) for sigma, q in _SCALES)


def _working_copy(image2d: np.ndarray) -> np.ndarray:
    """Normalised gray levels, block-averaged so that the longer side is at most 512 px."""
    scaled = normalise_percentiles(image2d)
    factor = max(1, max(scaled.shape) // WORKING_SIDE_PX)
    return transform.downscale_local_mean(scaled, (factor, factor)) if factor > 1 else scaled


def _log_tail_ratio(working: np.ndarray, sigma: float, upper_percentile: float) -> float:
    """log of how far the smoothed image reaches above vs below its border's median."""
    smooth = filters.gaussian(working, sigma=sigma, preserve_range=True)
    border = np.concatenate([smooth[0], smooth[-1], smooth[:, 0], smooth[:, -1]])
    deviation = smooth - np.median(border)
    above, below = np.percentile(deviation, [upper_percentile, 100.0 - upper_percentile])
    return math.log(max(above, _TINY) / max(-below, _TINY))
