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

from nanomorph.lazy import lazy_exports

from nanomorph.masks.params import (
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
_LAZY = {
    "auto_mask": "auto",
    "databar_rows_of": "auto",
    "mask_micrograph": "auto",
    "wire_score": "auto",
    "find_databar_rows": "databar",
    "polarity_evidence": "polarity",
    "suggest_polarity": "polarity",
}


__getattr__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "METHODS",
    "METHOD_DEFAULTS",
    "POLARITIES",
    "RIDGE_FILTERS",
    "RIDGE_HYSTERESIS",
    "MaskParams",
    "auto_mask",
    "databar_rows_of",
    "find_databar_rows",
    "mask_micrograph",
    "params_for",
    "polarity_evidence",
    "suggest_polarity",
    "wire_score",
]
