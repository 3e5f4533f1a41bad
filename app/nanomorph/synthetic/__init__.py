"""Synthetic nanowire micrographs with exact ground truth.

Used for the bundled sample project, napari's sample data, tests and benchmarks. numpy, scipy and
scikit-image only (no torch, no Qt). Everything is reproducible from an integer seed.

- :mod:`.geometry`: random wires (polylines + widths): count or density, lengths, widths,
  curvature, orientation spread, bundling, clipped or periodic frame.
- :mod:`.raster`: exact masks (pixel centres within width/2 of the axis), projected thickness.
- :mod:`.render`: TEM / SEM image formation, :func:`synthesize` and :class:`SyntheticImage`.
- :mod:`.presets`: the four morphology classes (bundle, dispersed, network, singular).
- :mod:`.sticks`: continuum stick percolation with an exact spanning test.
"""

from nanomorph.synthetic.geometry import WireParams, WireSet, generate_wires
from nanomorph.synthetic.presets import (
    FOREGROUND_RANGES,
    MORPHOLOGIES,
    generate_morphology,
)
from nanomorph.synthetic.raster import WireRaster, rasterize_wires, render_mask
from nanomorph.synthetic.render import ImagingParams, SyntheticImage, render, synthesize
from nanomorph.synthetic.sticks import (
    CRITICAL_DENSITY_NL2,
    render_sticks,
    segments_intersect,
    stick_clusters,
    stick_network,
    sticks_span,
)

__all__ = [
    "CRITICAL_DENSITY_NL2",
    "FOREGROUND_RANGES",
    "ImagingParams",
    "MORPHOLOGIES",
    "SyntheticImage",
    "WireParams",
    "WireRaster",
    "WireSet",
    "generate_morphology",
    "generate_wires",
    "rasterize_wires",
    "render",
    "render_mask",
    "render_sticks",
    "segments_intersect",
    "stick_clusters",
    "stick_network",
    "sticks_span",
    "synthesize",
]
