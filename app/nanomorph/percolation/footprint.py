"""The eps-neighbourhood of a pixel on a (possibly anisotropic) pixel grid.

A pixel offset ``(dy, dx)`` is in the neighbourhood when ``(dy*sy)**2 + (dx*sx)**2 <= eps**2``,
with ``(sy, sx)`` the pixel size: the comparison scikit-learn's tree-based radius query makes on
the scaled coordinates (squared distance against ``eps * eps``). When the pixel size is not a
short binary fraction (e.g. 0.1), scikit-learn's coordinate differences ``y1*sy - y2*sy`` may
round differently from ``dy*sy``; the two can then disagree on pairs whose distance equals eps
to within rounding, and only on those.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


def within_eps(dy, dx, eps: float, spacing: tuple[float, float]):
    """Whether pixel offsets lie within a radius.

    Parameters
    ----------
    dy, dx : int or ndarray
        Offsets in pixels.
    eps : float
        Radius, in the unit of ``spacing``.
    spacing : (float, float)
        Pixel size along (y, x).

    Returns
    -------
    bool or ndarray of bool
        ``(dy·sy)² + (dx·sx)² <= eps²``.
    """
    return (dy * spacing[0]) ** 2 + (dx * spacing[1]) ** 2 <= eps * eps


@dataclass(frozen=True)
class Footprint:
    """The offsets within ``eps`` of a pixel, clipped to the offsets an image can hold.

    Every row ``dy`` of the footprint is one horizontal run ``-w(dy) .. w(dy)``: the shape is
    symmetric and monotone (with ``(dy, dx)`` it holds every ``(dy', dx')`` with
    ``|dy'| <= |dy|`` and ``|dx'| <= |dx|``).

    Attributes
    ----------
    half_widths : ndarray of int, shape (2 * ry + 1,)
        ``half_widths[dy + ry]`` is ``w(dy)``, in pixels.
    eps : float
        The radius, in the unit of ``spacing``.
    spacing : (float, float)
        Pixel size along (y, x).
    """

    half_widths: np.ndarray
    eps: float
    spacing: tuple[float, float]

    @classmethod
    def build(cls, eps: float, spacing: tuple[float, float],
              max_offset: tuple[int, int]) -> "Footprint":
        """The footprint of radius ``eps``, clipped to ``|dy| <= max_offset[0]`` and
        ``|dx| <= max_offset[1]`` (offsets beyond an image's size can never pair two pixels).

        Parameters
        ----------
        eps : float
            Radius in the unit of ``spacing``.
        spacing : (float, float)
            Pixel size along (y, x).
        max_offset : (int, int)
            Largest useful |dy| and |dx| in pixels (image height - 1, width - 1).

        Returns
        -------
        Footprint
            The offsets within ``eps``.
        """
        sy, sx = spacing
        ry = int(min(eps / sy + 1, max_offset[0]))
        dy = np.arange(-ry, ry + 1)
        reach = np.sqrt(np.maximum(eps * eps - (dy * sy) ** 2, 0.0))  # may be inf for huge eps
        w = np.minimum(np.floor(np.minimum(reach / sx, max_offset[1])) + 1,
                       max_offset[1]).astype(np.int64)
        # floor() may be one off either way at the boundary: settle it with the exact comparison
        w = np.where(within_eps(dy, w, eps, spacing), w, w - 1)
        w = np.where(within_eps(dy, w, eps, spacing), w, w - 1)
        return cls(w[w >= 0], float(eps), (float(sy), float(sx)))

    @property
    def ry(self) -> int:
        """Largest |dy| in the footprint (pixels)."""
        return (len(self.half_widths) - 1) // 2

    @property
    def rx(self) -> int:
        """Largest |dx| in the footprint (pixels)."""
        return int(self.half_widths[self.ry])

    @property
    def size(self) -> int:
        """Number of offsets, the pixel itself included."""
        return int(np.sum(2 * self.half_widths + 1))

    def covers(self, shape: tuple[int, int]) -> bool:
        """Whether every pair of pixels of an image lies within eps.

        Parameters
        ----------
        shape : (int, int)
            The image's shape.

        Returns
        -------
        bool
            True when the footprint reaches across the whole image.
        """
        return self.ry >= shape[0] - 1 and bool(np.all(self.half_widths >= shape[1] - 1))

    def image(self) -> np.ndarray:
        """The footprint as an image.

        Returns
        -------
        ndarray of bool, shape (2 * ry + 1, 2 * rx + 1)
            Centred on the middle pixel.
        """
        dx = np.arange(-self.rx, self.rx + 1)
        return np.abs(dx)[None, :] <= self.half_widths[:, None]

    def structure(self) -> np.ndarray:
        """The 3×3 part of the footprint.

        Returns
        -------
        ndarray of bool, shape (3, 3)
            A structuring element for ``scipy.ndimage.label``.
        """
        dy, dx = np.mgrid[-1:2, -1:2]
        return within_eps(dy, dx, self.eps, self.spacing)

    @cached_property
    def offsets(self) -> np.ndarray:
        """All offsets ``(dy, dx)``, shape (size, 2), sorted by distance, then dy, then dx.

        The first row is ``(0, 0)``; this order is the tie rule for border pixels.
        """
        ry = self.ry
        dy = np.repeat(np.arange(-ry, ry + 1), 2 * self.half_widths + 1)
        dx = np.concatenate([np.arange(-w, w + 1) for w in self.half_widths])
        distance_sq = (dy * self.spacing[0]) ** 2 + (dx * self.spacing[1]) ** 2
        order = np.lexsort((dx, dy, distance_sq))
        return np.column_stack([dy[order], dx[order]])

    def far_half_offsets(self) -> np.ndarray:
        """Offsets outside the 3×3 neighbourhood in the half-plane ``dy > 0 or (dy == 0, dx > 0)``;
        together with their negatives and the 3×3 part they make the whole footprint.

        Returns
        -------
        ndarray of int, shape (n, 2)
            (dy, dx) rows.
        """
        dy, dx = self.offsets.T
        half = (dy > 0) | ((dy == 0) & (dx > 0))
        far = (np.abs(dy) > 1) | (np.abs(dx) > 1)
        return self.offsets[half & far]
