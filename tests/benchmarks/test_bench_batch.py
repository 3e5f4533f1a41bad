"""Batch throughput on Dask and memory over a long batch.

Images: 2,000 synthetic micrographs of 256² (16 generated ones, each file shifted and re-noised
so that every file has its own content), auto-masked (Otsu) and percolated. Measured in one run:

- throughput (images/s) of the same 400 images without Dask (a plain loop in this process),
  on a LocalCluster of 1 worker and of 2 workers (one thread each); three alternating rounds,
  medians; cluster start-up is measured apart. Dask overhead = 1-worker time / plain time - 1
  (target <= 10 %: a task analyses 16 images, so per-task costs are spread).
- memory over the 2,000 images on 2 workers: resident memory of the client process (which
  holds the scheduler) and of each worker after 200 images (warm) and at the end; growth must
  stay under 10 %.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import pytest
import tifffile

from nanomorph.batch.config import BatchConfig
from nanomorph.batch.cluster import batch_client
from nanomorph.batch.runner import run_batch
from nanomorph.jobs import run_job
from nanomorph.synthetic import generate_morphology

N_IMAGES, SUBSET, SIDE, ROUNDS, WARM = 2000, 400, 256, 3, 200
MAX_OVERHEAD, MAX_GROWTH = 0.10, 0.10

pytestmark = pytest.mark.bench


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """(folder of 2,000 images, folder of the first 400)."""
    root = tmp_path_factory.mktemp("batch-bench")
    rng = np.random.default_rng(0)
    bases = [generate_morphology(m, shape=(SIDE, SIDE), seed=s).image
             for s in range(4) for m in ("network", "dispersed", "bundle", "singular")]
    (root / "all").mkdir()
    (root / "subset").mkdir()
    for i in range(N_IMAGES):
        image = np.roll(bases[i % len(bases)], (i // len(bases)) * 3, axis=1)
        image = np.clip(image.astype(np.int16) + rng.integers(-2, 3, image.shape), 0, 255)
        name = f"img_{i:05d}.tif"
        tifffile.imwrite(root / "all" / name, image.astype(np.uint8))
        if i < SUBSET:
            os.link(root / "all" / name, root / "subset" / name)
    return root / "all", root / "subset"


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def timed_run(folder, out, client=None) -> float:
    """Images per second of one batch run (fresh output folder: nothing reused)."""
    started = time.perf_counter()
    summary = run_job(run_batch([str(folder)], out, BatchConfig(), client=client))
    seconds = time.perf_counter() - started
    assert summary.computed == summary.counts["ok"] == len(summary.rows)
    return len(summary.rows) / seconds


def test_throughput_scaling_and_dask_overhead(folders, tmp_path, record):
    _, subset = folders
    started = time.perf_counter()
    with batch_client(workers=1) as one, batch_client(workers=2) as two:
        startup_s = (time.perf_counter() - started) / 2
        timed_run(subset, tmp_path / "warm-1", one)  # imports on the workers
        timed_run(subset, tmp_path / "warm-2", two)
        rates = {"plain": [], "dask_1": [], "dask_2": []}
        for r in range(ROUNDS):
            rates["plain"].append(timed_run(subset, tmp_path / f"plain-{r}"))
            rates["dask_1"].append(timed_run(subset, tmp_path / f"one-{r}", one))
            rates["dask_2"].append(timed_run(subset, tmp_path / f"two-{r}", two))
    median = {k: statistics.median(v) for k, v in rates.items()}
    overhead = median["plain"] / median["dask_1"] - 1
    results = {"images": SUBSET, "side_px": SIDE, "rounds": ROUNDS,
               "images_per_s": {k: round(v, 1) for k, v in median.items()},
               "scaling_2_vs_1": round(median["dask_2"] / median["dask_1"], 2),
               "dask_overhead_1_worker": round(overhead, 3),
               "cluster_startup_s": round(startup_s, 2),
               "all_rates": {k: [round(x, 1) for x in v] for k, v in rates.items()}}
    record("batch_throughput", results)
    assert overhead <= MAX_OVERHEAD


def test_memory_stays_flat_over_2000_images(folders, tmp_path, record):
    every, _ = folders
    samples = {}

    def measure(event) -> None:
        if event.done in (WARM, N_IMAGES) and event.done not in samples:
            samples[event.done] = (_rss(), sorted(client.run(_rss).values()))

    with batch_client(workers=2) as client:
        started = time.perf_counter()
        summary = run_job(run_batch([str(every)], tmp_path / "out", BatchConfig(),
                                    client=client), measure)
        seconds = time.perf_counter() - started
    assert summary.counts["ok"] == N_IMAGES
    (client_warm, workers_warm), (client_end, workers_end) = samples[WARM], samples[N_IMAGES]
    growth_client = client_end / client_warm - 1
    growth_workers = sum(workers_end) / sum(workers_warm) - 1
    record("batch_memory", {
        "images": N_IMAGES, "side_px": SIDE, "workers": 2, "seconds": round(seconds, 1),
        "images_per_s": round(N_IMAGES / seconds, 1),
        "client_mb": [round(client_warm / 2**20), round(client_end / 2**20)],
        "workers_mb": [[round(w / 2**20) for w in workers_warm],
                       [round(w / 2**20) for w in workers_end]],
        "growth_client": round(growth_client, 3), "growth_workers": round(growth_workers, 3)})
    assert growth_client < MAX_GROWTH and growth_workers < MAX_GROWTH


def test_movies_of_1000_to_100000_frames(tmp_path, record):
    """``nanomorph batch MOVIE`` over generated movies of 64² frames (one process each, no
    Dask): seconds and peak memory per size, then a run cut after a third of the 100,000 frames
    and resumed, then a run that reuses every frame's record."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from tests.benchmarks.test_bench_movie_project import write_movie

    def batch(movie, out, timeout=None) -> dict:
        script = Path(sys.executable).parent / "nanomorph"
        command = ["/usr/bin/time", "-f", "%M %e", str(script), "batch", str(movie), "--out",
                   str(out), "--workers", "0"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, start_new_session=True)
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:  # Ctrl+C to the batch (not only to `time`)
            os.killpg(process.pid, signal.SIGINT)
            process.communicate()
            return {"cut": True}
        peak_kb, seconds = err.strip().splitlines()[-1].split()
        return {"seconds": float(seconds), "peak_mib": round(int(peak_kb) / 1024),
                "summary": out.strip().split(";")[0]}

    results = {}
    for n in (1_000, 10_000, 100_000):
        movie = tmp_path / f"m{n}.tif"
        write_movie(movie, n)
        results[n] = batch(movie, tmp_path / f"out{n}")
        record("batch_movies", results)
    cut = tmp_path / "cut"
    first = batch(tmp_path / "m100000.tif", cut, timeout=60)
    recorded = sum(1 for _ in open(cut / "batch-records.jsonl"))
    results["resume"] = {"first": first, "recorded": recorded,
                         "resumed": batch(tmp_path / "m100000.tif", cut),
                         "all_reused": batch(tmp_path / "m100000.tif", cut)}
    record("batch_movies", results)
    assert "100000 from an earlier run" in results["resume"]["all_reused"]["summary"]
