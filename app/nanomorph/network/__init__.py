"""Skeleton metrics of wire masks: total wire length, junctions, end points, segment lengths and
densities, in pixels or physical units (:func:`network_metrics`, :mod:`.skeleton`)."""

from nanomorph.network.skeleton import NetworkMetrics, network_metrics

__all__ = ["NetworkMetrics", "network_metrics"]
