"""Classical auto-masking of nanowires: thresholds, ridge filters, cleanup (numpy, scipy and
scikit-image only; no torch).

- :mod:`.params`: :class:`MaskParams`, the per-method :data:`METHOD_DEFAULTS` and how they were
  chosen (the measured Dice table).
- :mod:`.auto`: :func:`auto_mask` (an array) and :func:`mask_micrograph` (a ``MicroscopeImage``,
  info bar from its metadata or found: :func:`databar_rows_of`).
- :mod:`.polarity`: :func:`suggest_polarity`, dark (TEM) or bright (SEM) wires.
- :mod:`.databar`: :func:`find_databar_rows`, the SEM info bar from the pixels.

The tests (``tests/engine/test_masks*.py``) assert Dice values a little below those measured,
on synthetic images and on the real data sets.
"""

import lazy_loader

from nanomorph.masks.params import (
    AUTO_POLARITY,
    METHOD_DEFAULTS,
    METHODS,
    POLARITIES,
    RIDGE_FILTERS,
    RIDGE_HYSTERESIS,
    MaskParams,
    params_for,
)

# Functions that need scikit-image load on first use, so that the CLI's parser can take
# METHODS and RIDGE_FILTERS from here without importing it (``nanomorph --help`` stays fast).
__getattr__, __dir__, _lazy_names = lazy_loader.attach(
    __name__,
    submod_attrs={
        "auto": ["auto_mask", "auto_mask_image", "auto_mask_plane", "databar_rows_of",
                 "mask_micrograph", "wire_score"],
        "databar": ["find_databar_rows"],
        "polarity": ["polarity_evidence", "suggest_polarity"],
    },
)

__all__ = [
    "AUTO_POLARITY",
    "METHODS",
    "METHOD_DEFAULTS",
    "POLARITIES",
    "RIDGE_FILTERS",
    "RIDGE_HYSTERESIS",
    "MaskParams",
    "auto_mask",
    "auto_mask_image",
    "auto_mask_plane",
    "databar_rows_of",
    "find_databar_rows",
    "mask_micrograph",
    "params_for",
    "polarity_evidence",
    "suggest_polarity",
    "wire_score",
]
