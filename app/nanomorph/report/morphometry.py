"""Wire morphometry at a glance: diameter and length histograms and an orientation rose.

One drawing (:func:`draw_morphometry`) serves the HTML report (:func:`morphometry_png`) and the
GUI's Measure step, which draws into its own matplotlib figure. Its data come from the per-wire
``nanomorph measure`` records of one or more images (:func:`wire_distributions`) or, for a
batch results table, from the per-image summary columns (:func:`image_distributions`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from nanomorph.network.orientation import order_parameter
from nanomorph.report.plots import MUTED, TEXT, _figure, _plain_text, _png

ROSE_BINS = 18  # 10° bins over the half circle


@dataclass(frozen=True)
class Distributions:
    """What the three panels show.

    Attributes
    ----------
    diameters, lengths : ndarray of float
        Per wire (or per image): diameters; lengths of complete wires only.
    angles_deg, weights : ndarray of float
        Orientations in [0, 180) degrees and their weights (wire lengths, or images' order
        parameters).
    unit : str
        ``nm`` or ``px``.
    per : str
        ``wire`` or ``image``: what one count is.
    left_out : int
        Images left out because their unit differs from ``unit``.
    """

    diameters: np.ndarray
    lengths: np.ndarray
    angles_deg: np.ndarray
    weights: np.ndarray
    unit: str
    per: str
    left_out: int = 0

    @property
    def orientation(self) -> tuple[float, float]:
        """Dominant direction (degrees) and order parameter of the weighted angles."""
        return order_parameter(np.radians(self.angles_deg), self.weights)


def _common_unit(units: list[str]) -> str:
    return Counter(units).most_common(1)[0][0] if units else "px"


def wire_distributions(summaries: list[dict]) -> Distributions:
    """Every wire of some ``nanomorph measure`` records, in their most common unit.

    Parameters
    ----------
    summaries : list of dict
        ``measure`` records (one per image).

    Returns
    -------
    Distributions
        Per wire; images in another unit are counted in ``left_out``.
    """
    unit = _common_unit([s["unit"] for s in summaries])
    kept = [s for s in summaries if s["unit"] == unit]
    wires = [w for s in kept for w in s["wires"]]
    value = (lambda key, chosen: np.array([w[key] for w in chosen if w[key] is not None], float))
    complete = [w for w in wires if not w["touches_border"]]
    oriented = [w for w in wires if w["orientation_deg"] is not None and w["length"]]
    return Distributions(value("diameter_mean", wires), value("length", complete),
                         value("orientation_deg", oriented), value("length", oriented), unit,
                         "wire", len(summaries) - len(kept))


def image_distributions(rows: list[dict]) -> Distributions:
    """Per-image morphometry columns of a batch results table, in their most common unit.

    Parameters
    ----------
    rows : list of dict
        Results rows with the columns of
        :func:`nanomorph.workflows.morphometry.summary_columns`.

    Returns
    -------
    Distributions
        Per image (orientations weighted by each image's order parameter).
    """
    measured = [r for r in rows if r.get("wires") is not None and r.get("morphometry_unit")]
    unit = _common_unit([r["morphometry_unit"] for r in measured])
    kept = [r for r in measured if r["morphometry_unit"] == unit]
    value = (lambda key: np.array([_number(r.get(key)) for r in kept], float))
    angles, order = value("orientation_deg"), value("order_parameter")
    finite = np.isfinite(angles) & np.isfinite(order)
    diameters, lengths = value("diameter_mean"), value("length_mean")
    return Distributions(diameters[np.isfinite(diameters)], lengths[np.isfinite(lengths)],
                         angles[finite], order[finite], unit, "image", len(measured) - len(kept))


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def draw_morphometry(fig, data: Distributions, rows: int = 1) -> None:
    """Draw the diameter histogram, the length histogram and the orientation rose into a figure.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        An empty figure.
    data : Distributions
        What to show.
    rows : int
        1: the three panels side by side; 2: the histograms above, the rose below (a narrow
        dock).
    """
    grid = fig.add_gridspec(rows, 3 if rows == 1 else 2)
    places = (grid[0, 0], grid[0, 1], grid[0, 2]) if rows == 1 else (grid[0, 0], grid[0, 1],
                                                                     grid[1, :])
    count = "wires" if data.per == "wire" else "images"
    for index, (values, name, colour) in enumerate(
            ((data.diameters, "diameter", "#3278dc"), (data.lengths, "length", "#e64b28"))):
        ax = fig.add_subplot(places[index])
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(colors=TEXT, labelsize=8)
        if len(values):
            ax.hist(values, bins=min(30, max(5, len(values) // 3)), color=colour,
                    edgecolor="white", linewidth=0.5)
            ax.axvline(np.median(values), color=TEXT, linewidth=1, linestyle="--")
            ax.set_title(f"median {np.median(values):.4g} {data.unit} (n = {len(values)})",
                         fontsize=9, color=TEXT)
        else:
            ax.text(0.5, 0.5, f"no {name}s", ha="center", va="center", color=MUTED,
                    transform=ax.transAxes)
        qualifier = "" if name == "diameter" else " (complete wires)"
        ax.set_xlabel(f"{name}{qualifier if data.per == 'wire' else ' (mean)'}, {data.unit}",
                      fontsize=9, color=TEXT)
        ax.set_ylabel(count, fontsize=9, color=TEXT)
    rose = fig.add_subplot(places[2], projection="polar")
    edges = np.radians(np.linspace(0, 180, ROSE_BINS + 1))
    counts, _ = np.histogram(np.radians(data.angles_deg), bins=edges, weights=data.weights)
    width = edges[1] - edges[0]
    for offset in (0.0, np.pi):  # a wire has no head: draw each bin and its opposite
        rose.bar(edges[:-1] + offset, counts, width=width, align="edge", color="#55a868",
                 edgecolor="white", linewidth=0.5)
    rose.set_yticks([])
    rose.tick_params(labelsize=7, colors=TEXT)
    dominant, order = data.orientation
    title = ("no orientation" if math.isnan(order) else
             f"S = {order:.2f}, direction {dominant:.0f}°")
    rose.set_title(title, fontsize=9, color=TEXT, pad=12)


@_plain_text
def morphometry_png(data: Distributions) -> bytes:
    """The three panels as a PNG for the report.

    Parameters
    ----------
    data : Distributions
        What to show.

    Returns
    -------
    bytes
        The figure as PNG.
    """
    fig, (ax,) = _figure(9.6, 3.2)
    fig.delaxes(ax)
    draw_morphometry(fig, data)
    return _png(fig)
