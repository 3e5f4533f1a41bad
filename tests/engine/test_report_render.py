"""The report as a browser shows it: headless Chromium renders it to a screenshot.

Needs the ``chromium`` package (``apt-get install -y chromium``; ``.ci/system-deps`` installs
it); skipped with that reason when it is absent.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from nanomorph.report.html import write_report
from tests.engine.test_batch import make_images, run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def screenshot(html, png, user_dir, size=(1280, 2000)) -> np.ndarray:
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={user_dir}", f"--screenshot={png}",
                    f"--window-size={size[0]},{size[1]}", html.as_uri()],
                   capture_output=True, timeout=120, check=True)
    return np.asarray(Image.open(png).convert("RGB"))


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                             "(apt-get install -y chromium)")
def test_chromium_renders_the_header_cards_plots_and_overlays(tmp_path):
    make_images(tmp_path / "images", 12, (128, 128))
    run([tmp_path / "images"], tmp_path / "out")
    html = write_report(tmp_path / "out", tmp_path / "report.html")
    pixels = screenshot(html, tmp_path / "shot.png", tmp_path / "chromium")
    assert pixels.shape == (2000, 1280, 3)
    header = pixels[10:60, 10:1270].reshape(-1, 3)
    assert (np.abs(header.astype(int) - (0x1F, 0x2A, 0x37)).sum(axis=1) < 12).mean() > 0.9
    page = pixels[200:2000]
    vermilion = (np.abs(page.astype(int) - (0xE6, 0x4B, 0x28)).sum(axis=2) < 60).sum()
    assert vermilion > 100  # verdict colour in cards, plots and overlays
    assert len(np.unique(page.reshape(-1, 3), axis=0)) > 1000  # plots and micrographs drawn
