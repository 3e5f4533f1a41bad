"""A synthetic in-situ deposition movie: wires land one after another on the frame, so the
film goes from dispersed wires to a percolating network, with exact masks for every frame."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nanomorph.synthetic.geometry import WireParams, generate_wires
from nanomorph.synthetic.render import ImagingParams, render


@dataclass
class SyntheticMovie:
    """Frames of a deposition and their exact masks.

    Attributes
    ----------
    frames : ndarray of uint8, shape (n_frames, rows, cols)
        The micrographs, noise drawn anew for each frame.
    masks : ndarray of uint8, shape (n_frames, rows, cols)
        1 on wires.
    n_wires : ndarray of int, shape (n_frames,)
        Wires landed by each frame.
    pixel_size_nm : float
        Pixel size (nm).
    """

    frames: np.ndarray
    masks: np.ndarray
    n_wires: np.ndarray
    pixel_size_nm: float


def deposition_movie(n_frames: int = 24, shape: tuple[int, int] = (256, 256), *,
                     final_nl2: float = 12.0, wire_width_px: float = 3.0,
                     pixel_size_nm: float = 5.0, seed: int = 0) -> SyntheticMovie:
    """Wires of length half the frame landing at a steady rate until the density reaches
    ``final_nl2`` (n·L², the stick-percolation threshold being 5.64), one frame per step.

    Parameters
    ----------
    n_frames : int
        Frames of the movie (>= 2).
    shape : (int, int)
        Frame shape (px).
    final_nl2 : float
        n·L² of the last frame (n wires per px², L the wire length in px).
    wire_width_px : float
        Wire diameter (px).
    pixel_size_nm : float
        Pixel size (nm).
    seed : int
        Seed of everything random.

    Returns
    -------
    SyntheticMovie
        The frames, masks and wire counts.
    """
    length_px = 0.5 * min(shape)
    total = max(1, math.ceil(final_nl2 * shape[0] * shape[1] / length_px ** 2))
    geometry = WireParams(shape, pixel_size_nm, n_wires=total, length_nm_mean=length_px *
                          pixel_size_nm, length_nm_sd=0.0, width_nm_mean=wire_width_px *
                          pixel_size_nm, width_nm_sd=0.0, orientation_spread_deg=180.0)
    geometry_seed, imaging_seed = np.random.SeedSequence(seed).spawn(2)
    wires = generate_wires(geometry, np.random.default_rng(geometry_seed))
    imaging_rng = np.random.default_rng(imaging_seed)
    counts = np.linspace(0, total, n_frames).round().astype(int)
    frames, masks = [], []
    for count in counts:
        image, mask = render(wires.polylines[:count], wires.widths_px[:count], shape,
                             ImagingParams(dtype="uint8"), imaging_rng)
        frames.append(image)
        masks.append(mask)
    return SyntheticMovie(np.stack(frames), np.stack(masks), counts, float(pixel_size_nm))
