"""Skeleton metrics and wire morphometry of wire masks.

- :func:`network_metrics` (:mod:`.skeleton`): total wire length, junctions, end points, segment
  lengths and densities, in pixels or physical units.
- :func:`measure_wires` (:mod:`.morphometry`): every wire traced through crossings with its
  diameter, length, orientation and straightness; the image's distributions, order parameter and
  densities against the stick-percolation threshold. :func:`image_orientation`: the mask-free
  direction of an image (structure tensor).
"""

from nanomorph.network.morphometry import Morphometry, Wire, measure_wires
from nanomorph.network.orientation import image_orientation
from nanomorph.network.skeleton import NetworkMetrics, network_metrics

__all__ = ["Morphometry", "NetworkMetrics", "Wire", "image_orientation", "measure_wires",
           "network_metrics"]
