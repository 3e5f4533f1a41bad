"""napari start-up time with the nanomorph plugin enabled vs disabled (same run, alternating)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import pytest

START = "import napari; v = napari.Viewer(show=False); v.close()"


def _time_start(env) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", START], env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


@pytest.mark.bench
def test_napari_startup_with_and_without_the_plugin(tmp_path, record):
    disabled = tmp_path / "disabled.yaml"
    disabled.write_text("plugins:\n  disabled_plugins: [napari-nanomorph]\n")
    enabled = tmp_path / "enabled.yaml"
    enabled.write_text("plugins:\n  disabled_plugins: []\n")
    env_on = {**os.environ, "NAPARI_CONFIG": str(enabled)}
    env_off = {**os.environ, "NAPARI_CONFIG": str(disabled)}
    _time_start(env_on)  # warm the file cache
    on, off = [], []
    for _ in range(7):
        on.append(_time_start(env_on))
        off.append(_time_start(env_off))
    ratios = [a / b for a, b in zip(on, off)]
    record("startup", {
        "napari_start_s_with_plugin": round(statistics.median(on), 3),
        "napari_start_s_without_plugin": round(statistics.median(off), 3),
        "ratio_median": round(statistics.median(ratios), 3),
        "runs": len(on),
    })
    assert statistics.median(ratios) < 1.05
