"""The in-memory image every reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nanomorph.io.calibration import UNCALIBRATED, Calibration


@dataclass
class MicroscopeImage:
    """A gray-level micrograph with its calibration.

    Attributes
    ----------
    path : str
        The file it came from.
    data : ndarray
        Gray levels, shape (y, x) for one image or (n, y, x) for a stack (multi-page TIFF, EMD
        time series). The file's dtype is kept (uint8/uint16/int32/float32 …); colour images are
        converted to gray (see ``nanomorph.io.readers``).
    calibration : Calibration
        Pixel size and unit, or UNCALIBRATED.
    format : str
        What the file is, e.g. ``"Gatan DM3"``, ``"TIFF (FEI)"``, ``"PNG"``.
    metadata : dict
        Instrument facts worth showing (voltage, magnification, …) and notes on conversions
        (``notes``: list of str), plus ``databar_rows`` when an SEM info bar's height is known.
    """

    path: str
    data: np.ndarray
    calibration: Calibration = UNCALIBRATED
    format: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        """Array shape: (rows, cols) or (pages, rows, cols)."""
        return tuple(self.data.shape)

    @property
    def is_stack(self) -> bool:
        """Whether the data holds several 2-D pages."""
        return self.data.ndim == 3

    def plane(self, page: int = 0) -> np.ndarray:
        """One 2-D image.

        Parameters
        ----------
        page : int
            Which page of a stack (ignored for a 2-D image).

        Returns
        -------
        ndarray, 2-D
            ``data`` itself, or page ``page`` of a stack.
        """
        if not self.is_stack:
            return self.data
        return self.data[page]
