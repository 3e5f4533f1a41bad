"""Stick percolation: the pixel pipeline (render → DBSCAN, eps 2, min_samples 2, margin 2) against
exact continuum spanning of the same sticks, in square boxes of 5, 10 and 20 stick lengths.

A validation, not a speed test: it reports spanning-probability curves, the critical densities
``n_c L²`` where they cross 1/2 (rule "percolates" = one cluster spans both directions, and
"spans x" alone), their trend with the box size toward the continuum value 5.63726 (Li & Zhang
2009), the per-image agreement of the two verdicts, and the excluded-area prediction of where
rods of the rendered width should percolate (checked with a second, wider rod).
Writes bench-out/stick_percolation.{json,png}.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from itertools import repeat

import numpy as np
import pytest

from nanomorph.synthetic import CRITICAL_DENSITY_NL2
from nanomorph.percolation.validation import (
    excluded_area_threshold,
    infinite_box_threshold,
    spanning_crossing,
    stick_trial,
)
from tests.benchmarks.conftest import OUT

LENGTH_PX = 40.0
WIDTH_PX = 2.0
WIDE_PX, WIDE_BOX_L = 4.0, 10  # a second rod width, one box size: does n_c move as predicted?
EPS_PX, MIN_SAMPLES, MARGIN_PX = 2.0, 2, 2.0  # the paper's rule
DENSITIES_NL2 = np.arange(2.0, 9.01, 0.5)
SEEDS_PER_BOX = {5: 200, 10: 100, 20: 60}  # box side in stick lengths → networks per density
RULES = ("spans_x", "spans_y", "percolates")  # order of SpanVerdicts' tuples
METHODS = ("geometric", "pixel")


def sweep(box_l: int, width_px: float, pool: ProcessPoolExecutor) -> np.ndarray:
    """Verdicts of every network of one box size, shape (densities, seeds, methods, rules)."""
    n_seeds = SEEDS_PER_BOX[box_l]
    counts = [round(d * box_l ** 2) for d in DENSITIES_NL2 for _ in range(n_seeds)]
    seeds = [1000 * k + s for k in range(len(DENSITIES_NL2)) for s in range(n_seeds)]
    trial = partial(stick_trial, eps=EPS_PX, min_samples=MIN_SAMPLES, margin=MARGIN_PX)
    verdicts = pool.map(trial, counts, repeat(LENGTH_PX), repeat(box_l * LENGTH_PX),
                        repeat(width_px), seeds, chunksize=8)
    flat = np.array([(v.geometric, v.pixel) for v in verdicts], dtype=bool)
    return flat.reshape(len(DENSITIES_NL2), n_seeds, len(METHODS), len(RULES))


def summarise(verdicts: np.ndarray) -> dict:
    """Probabilities, crossings and agreement of one box size."""
    n_seeds = verdicts.shape[1]
    probability = verdicts.mean(axis=1)
    summary = {"seeds_per_density": n_seeds}
    for m, method in enumerate(METHODS):
        for rule in ("percolates", "spans_x"):
            p = probability[:, m, RULES.index(rule)]
            x_c, error = spanning_crossing(DENSITIES_NL2, p, n_seeds)
            summary[f"{method}_{rule}_nc_L2"] = round(x_c, 3)
            summary[f"{method}_{rule}_nc_L2_stderr"] = round(error, 3)
            summary[f"{method}_{rule}_P"] = p.round(3).tolist()
    geometric, pixel = verdicts[:, :, 0, :], verdicts[:, :, 1, :]
    for rule in ("percolates", "spans_x"):
        r = RULES.index(rule)
        summary[f"agreement_{rule}"] = round(float((geometric[..., r] == pixel[..., r]).mean()), 4)
        # rods contain their sticks, so the pixel pipeline should never miss a spanning network
        summary[f"pixel_misses_{rule}"] = int((geometric[..., r] & ~pixel[..., r]).sum())
        summary[f"pixel_only_{rule}"] = int((pixel[..., r] & ~geometric[..., r]).sum())
    return summary


def predicted_band(width_px: float) -> tuple[float, float]:
    """Excluded-area n_c L² of rods: they connect when their axes are within about w + eps
    (up to 1 px less on the pixel grid), so (for reach w + eps, for reach w + eps - 1)."""
    return (excluded_area_threshold(width_px + EPS_PX, LENGTH_PX),
            excluded_area_threshold(width_px + EPS_PX - 1, LENGTH_PX))


def plot(results: dict, predicted: tuple[float, float]) -> None:
    """P(n L²) per box size, both methods and both rules, to bench-out/stick_percolation.png."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4 * len(results), 3.6), layout="constrained")
    for ax, (box_l, summary) in zip(fig.subplots(1, len(results), sharey=True), results.items()):
        for method, colour in zip(METHODS, ("tab:blue", "tab:red")):
            for rule, style in (("percolates", "-o"), ("spans_x", ":s")):
                ax.plot(DENSITIES_NL2, summary[f"{method}_{rule}_P"], style, color=colour,
                        markersize=3, label=f"{method}, {rule}")
        ax.axvline(CRITICAL_DENSITY_NL2, color="k", lw=0.8, label="continuum 5.637")
        ax.axvspan(*predicted, color="tab:red", alpha=0.12, label="excluded-area estimate, rods")
        ax.axhline(0.5, color="grey", lw=0.5)
        ax.set(title=f"box {box_l} L ({summary['seeds_per_density']} networks/point)",
               xlabel="n L²")
    fig.axes[0].set_ylabel("spanning probability")
    fig.axes[0].legend(fontsize=7, loc="lower right")
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "stick_percolation.png", dpi=120)


@pytest.mark.bench
def test_pixel_percolation_against_exact_stick_spanning(record):
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        results = {box_l: summarise(sweep(box_l, WIDTH_PX, pool)) for box_l in SEEDS_PER_BOX}
        wide = summarise(sweep(WIDE_BOX_L, WIDE_PX, pool))
    predicted, predicted_wide = predicted_band(WIDTH_PX), predicted_band(WIDE_PX)
    boxes = np.array(list(results))
    trend = {f"{method}_{rule}_nc_L2_infinite_box": round(infinite_box_threshold(
        boxes, [results[b][f"{method}_{rule}_nc_L2"] for b in boxes]), 3)
        for method in METHODS for rule in ("percolates", "spans_x")}
    plot(results, predicted)
    record("stick_percolation", {
        "length_px": LENGTH_PX, "width_px": WIDTH_PX, "eps_px": EPS_PX,
        "min_samples": MIN_SAMPLES, "margin_px": MARGIN_PX, "densities_nL2": DENSITIES_NL2.tolist(),
        "continuum_nc_L2": CRITICAL_DENSITY_NL2,
        "excluded_area_nc_L2_rods": [round(p, 3) for p in predicted],
        **trend,
        "boxes": {f"{b}L": s for b, s in results.items()},
        "wide_rods": {"box": f"{WIDE_BOX_L}L", "width_px": WIDE_PX,
                      "excluded_area_nc_L2_rods": [round(p, 3) for p in predicted_wide],
                      **{k: v for k, v in wide.items() if k.startswith(("pixel_", "agreement_"))}},
        "seconds": round(time.perf_counter() - t0, 1),
    })
    largest = results[max(results)]
    assert largest["geometric_percolates_nc_L2"] == pytest.approx(CRITICAL_DENSITY_NL2, abs=0.5)
    for summary in [*results.values(), wide]:
        assert summary["pixel_misses_percolates"] == summary["pixel_misses_spans_x"] == 0
        assert summary["pixel_percolates_nc_L2"] < summary["geometric_percolates_nc_L2"]
    # loose: the band is an approximation and the extrapolation rests on three boxes
    low, high = predicted
    assert low - 0.3 < trend["pixel_percolates_nc_L2_infinite_box"] < high + 0.3
    assert wide["pixel_percolates_nc_L2"] < results[WIDE_BOX_L]["pixel_percolates_nc_L2"]
