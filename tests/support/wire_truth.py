"""Synthetic wire scenes with exact per-wire truth, and how traced wires are matched to them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nanomorph.synthetic import WireParams, generate_wires, render_mask


@dataclass
class Scene:
    """A mask and the truth of each of its wires (only wires that show in the frame)."""

    mask: np.ndarray
    masks: list          # each wire's own mask
    lengths: np.ndarray  # arc length of each axis, px
    widths: np.ndarray   # px
    angles: np.ndarray   # chord angle, degrees ccw from +x as displayed, [0, 180)
    border: np.ndarray   # the wire's mask reaches the frame's edge

    def exclusive(self, k: int) -> np.ndarray:
        """Pixels of wire k that no other wire covers."""
        return self.masks[k] & (self.cover == 1)

    @property
    def cover(self) -> np.ndarray:
        return np.sum(self.masks, axis=0)


def scene(params: WireParams, seed: int) -> Scene:
    """Wires drawn from ``params``; wires that miss the frame are left out."""
    wires = generate_wires(params, seed)
    masks, lengths, widths, angles, border = [], [], [], [], []
    for polyline, width in zip(wires.polylines, wires.widths_px):
        own = render_mask([polyline], [width], params.shape_px)
        if not own.any():
            continue
        masks.append(own)
        lengths.append(float(np.hypot(*np.diff(polyline, axis=0).T).sum()))
        widths.append(float(width))
        chord = polyline[-1] - polyline[0]
        angles.append(math.degrees(math.atan2(-chord[0], chord[1])) % 180.0)
        border.append(bool(own[0].any() or own[-1].any() or own[:, 0].any() or own[:, -1].any()))
    return Scene(np.any(masks, axis=0), masks, np.array(lengths), np.array(widths),
                 np.array(angles), np.array(border))


def matched(scene: Scene, labels: np.ndarray, k: int) -> int:
    """The traced wire (1-based id) that covers most of truth wire k's own pixels, 0 for none."""
    ids = labels[scene.exclusive(k)]
    ids = ids[ids > 0]
    return int(np.bincount(ids).argmax()) if len(ids) else 0


def angle_error(a: float, b: float) -> float:
    """Smallest difference of two axial angles in degrees."""
    return abs((a - b + 90.0) % 180.0 - 90.0)
