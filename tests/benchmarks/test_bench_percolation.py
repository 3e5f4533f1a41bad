"""Speed and memory of percolation clustering: the exact grid DBSCAN against scikit-learn's
DBSCAN (the paper's method) and ``scipy.ndimage.label`` (one connected-component pass, a floor),
on the same masks in one run, eps 2 px and min_samples 2.

Masks: stick networks at 1024², 2048², 4096² (sticks 250 px long and 3 px wide at 1.5 × the
critical density: about 10 % foreground), and real masks from ../shared/data. Times: median of
at least ``REPEATS`` runs (more for fast ones) in this process for the exact method and
``ndimage.label``; scikit-learn runs once per mask in a fresh subprocess, which also gives its
peak memory (growth of the peak resident set over the process before clustering, from /proc:
Linux only), measured the same way for the exact method. Every mask also checks that both
methods give the same partition.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from nanomorph.percolation import analyse_percolation, cluster_mask
from nanomorph.synthetic import CRITICAL_DENSITY_NL2, render_sticks, stick_network
from tests.engine.test_percolation_real import read_mask

SIZES = (1024, 2048, 4096)
STICK_LENGTH_PX, STICK_WIDTH_PX, DENSITY_FACTOR = 250.0, 3.0, 1.5
REAL_MASKS = [("nanowire_tem_seg/masks/0000001.png", 127),
              ("nanowire_tem_seg/masks/0000025.png", 127),
              ("tio2_sem_seg/masks/1908248.tif", 255)]
REPEATS, BUDGET_S = 5, 1.0
MIN_SPEEDUP = 30.0
MAX_PEAK_MB = 1024.0

pytestmark = [pytest.mark.bench,
              pytest.mark.skipif(not Path("/proc/self/status").is_file(),
                                 reason="peak memory is read from /proc (Linux)")]

# Runs one method on a saved mask in a fresh interpreter: JSON {seconds, peak_mb} on stdout,
# labels and core pixels to an .npz file. Peak memory is the growth of the peak resident set
# (VmHWM; getrusage's ru_maxrss would carry the parent's peak over fork + exec on Linux).
_RUN_ONCE = """
import json, sys, time
import numpy as np
import sklearn.cluster
from nanomorph.percolation import cluster_mask

def peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM"))

mask_path, method, out_path = sys.argv[1:4]
mask = np.load(mask_path)
cluster_mask(np.eye(8, dtype=bool), method=method)  # first-call imports out of the measure
before = peak_mb()
start = time.perf_counter()
clusters = cluster_mask(mask, method=method)
seconds = time.perf_counter() - start
peak = peak_mb()
np.savez(out_path, labels=clusters.labels, core=clusters.core)
print(json.dumps({"seconds": seconds, "peak_mb": peak - before}))
"""


def stick_mask(size: int) -> np.ndarray:
    n_sticks = round(DENSITY_FACTOR * CRITICAL_DENSITY_NL2 * (size / STICK_LENGTH_PX) ** 2)
    sticks = stick_network(n_sticks, STICK_LENGTH_PX, float(size), seed=size)
    return render_sticks(sticks, float(size), STICK_WIDTH_PX, seed=size).mask.astype(bool)


def median_seconds(function, *args, **kwargs) -> float:
    """Median time of ``function(*args, **kwargs)`` over at least ``REPEATS`` runs, more (up to
    100) while they take less than ``BUDGET_S`` in all, after one warm-up run."""
    function(*args, **kwargs)
    times = []
    while len(times) < REPEATS or (sum(times) < BUDGET_S and len(times) < 100):
        start = time.perf_counter()
        function(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_in_subprocess(mask: np.ndarray, method: str, folder: Path) -> tuple[dict, dict]:
    """Cluster ``mask`` once in a fresh interpreter: ({seconds, peak_mb}, saved labels/core)."""
    mask_path, out_path = folder / "mask.npy", folder / f"{method}.npz"
    np.save(mask_path, mask)
    done = subprocess.run([sys.executable, "-c", _RUN_ONCE, str(mask_path), method, str(out_path)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1]), np.load(out_path)


def assert_same_partition(exact, paper) -> None:
    """Same core pixels, same clusters of core pixels (same numbers), same noise."""
    np.testing.assert_array_equal(exact.core, paper["core"])
    np.testing.assert_array_equal(exact.labels[exact.core], paper["labels"][paper["core"]])
    np.testing.assert_array_equal(exact.labels == -1, paper["labels"] == -1)
    assert exact.n_clusters == int(paper["labels"].max())


def measure(mask: np.ndarray, folder: Path, *, memory: bool) -> dict:
    """One table row: times, ratios and (optionally) peak memory of the three methods."""
    exact = cluster_mask(mask)
    sklearn_run, paper = run_in_subprocess(mask, "dbscan", folder)
    assert_same_partition(exact, paper)
    exact_s = median_seconds(cluster_mask, mask)
    label_s = median_seconds(ndimage.label, mask)
    row = {
        "shape": list(mask.shape), "foreground_fraction": round(float(mask.mean()), 4),
        "n_clusters": exact.n_clusters,
        "exact_s": round(exact_s, 4), "sklearn_s": round(sklearn_run["seconds"], 3),
        "ndimage_label_s": round(label_s, 4),
        "analysis_s": round(median_seconds(analyse_percolation, mask), 4),
        "speedup_vs_sklearn": round(sklearn_run["seconds"] / exact_s, 1),
        "exact_over_ndimage_label": round(exact_s / label_s, 2),
    }
    if memory:
        exact_run, _ = run_in_subprocess(mask, "exact", folder)
        row["exact_peak_mb"] = round(exact_run["peak_mb"], 1)
        row["sklearn_peak_mb"] = round(sklearn_run["peak_mb"], 1)
    return row


def test_exact_dbscan_speed_on_stick_networks(record, tmp_path):
    rows = {f"{size}²": measure(stick_mask(size), tmp_path, memory=size == max(SIZES))
            for size in SIZES}
    record("percolation_speed", {"eps_px": 2.0, "min_samples": 2, "repeats": REPEATS,
                                 "masks": rows})
    for name, row in rows.items():
        assert 0.05 <= row["foreground_fraction"] <= 0.15, name
        assert row["speedup_vs_sklearn"] >= MIN_SPEEDUP, name
    assert rows[f"{max(SIZES)}²"]["exact_peak_mb"] < MAX_PEAK_MB


def test_exact_dbscan_speed_on_real_masks(record, tmp_path, shared_data):
    rows = {name: measure(read_mask(shared_data / name, value), tmp_path, memory=False)
            for name, value in REAL_MASKS}
    record("percolation_speed_real", {"eps_px": 2.0, "min_samples": 2, "repeats": REPEATS,
                                      "masks": rows})
    for name, row in rows.items():
        assert row["speedup_vs_sklearn"] >= MIN_SPEEDUP, name
