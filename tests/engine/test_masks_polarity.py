"""Polarity guessing and info-bar finding, on synthetic images and the real data sets."""

from __future__ import annotations

import numpy as np
import pytest

from nanomorph.io import read_image
from nanomorph.masks import databar_rows_of, find_databar_rows, suggest_polarity
from nanomorph.synthetic import MORPHOLOGIES, generate_morphology


@pytest.mark.parametrize("contrast, expected", [("tem", "dark"), ("sem", "bright")])
def test_synthetic_tem_is_dark_and_sem_bright(contrast, expected):
    for name in MORPHOLOGIES:
        for seed in range(3):
            image = generate_morphology(name, seed=seed, contrast=contrast).image
            assert suggest_polarity(image) == expected, (name, seed)


def test_polarity_ignores_the_info_bar():
    """A black bar with white text would otherwise outweigh thin bright wires."""
    image = generate_morphology("dispersed", seed=4, contrast="sem").image
    with_bar = np.vstack([image, np.zeros((60, image.shape[1]), np.uint8)])
    with_bar[-40:-20, 20:300] = 255
    assert find_databar_rows(with_bar) == 60
    assert suggest_polarity(with_bar) == "bright"
    assert suggest_polarity(with_bar, databar_rows=60) == "bright"


def _polarities(paths) -> list[str]:
    polarities = []
    for path in paths:
        image = read_image(path)
        polarities.append(suggest_polarity(image.data, databar_rows=databar_rows_of(image)))
    return polarities


def test_real_hrtem_frames_are_dark(shared_data):
    """Measured 23 of 24 (frame 65, a diagonal wire with a large droplet, reads bright)."""
    frames = sorted((shared_data / "nanowire_tem_seg" / "images").glob("*.png"))
    assert len(frames) == 24
    assert _polarities(frames).count("dark") >= 22


def test_real_sem_images_are_bright(shared_data):
    """Measured: TiO2 12/12, AgNW/aramid networks 5/5, single nanowires on chips 5/6 (image
    22.tif reads dark: its dark electrodes outweigh the thin wires)."""
    tio2 = sorted((shared_data / "tio2_sem_seg" / "images").glob("*.tif"))
    networks = sorted((shared_data / "agnw_network_sem").glob("a*.tif"))
    wires = sorted((shared_data / "sem_nanowires").glob("*.tif"))
    assert _polarities(tio2) == ["bright"] * 12
    assert _polarities(networks) == ["bright"] * 5
    assert _polarities(wires).count("bright") >= 5


def test_databar_black_white_and_absent():
    rng = np.random.default_rng(0)
    image = rng.integers(20, 200, (200, 150)).astype(np.uint8)
    assert find_databar_rows(image) == 0
    black = image.copy()
    black[-30:] = 0
    black[-20:-10, 5:60] = 255  # text
    assert find_databar_rows(black) == 30
    white = image.copy()
    white[-12:] = 255
    assert find_databar_rows(white) == 12
    too_thin = image.copy()
    too_thin[-5:] = 0
    assert find_databar_rows(too_thin) == 0


def test_databar_with_image_rows_below_it_counts_them_too():
    """Some Zeiss files end with two image rows under the bar."""
    rng = np.random.default_rng(1)
    image = rng.integers(20, 200, (200, 150)).astype(np.uint8)
    image[-40:-2] = 0
    assert find_databar_rows(image) == 40


def test_binary_and_blank_images_have_no_bar():
    mask = np.zeros((100, 100), np.uint8)
    mask[40:60] = 255
    assert find_databar_rows(mask) == 0
    assert find_databar_rows(np.zeros((50, 50))) == 0
    assert find_databar_rows(np.zeros((0, 5))) == 0


def test_real_info_bars(shared_data):
    """Zeiss (TiO2) 56 rows, Hitachi (sem_nanowires) 70, none on the HRTEM frames."""
    tio2 = read_image(shared_data / "tio2_sem_seg" / "images" / "1908248.tif")
    hitachi = read_image(shared_data / "sem_nanowires" / "13.tif")
    frame = read_image(shared_data / "nanowire_tem_seg" / "images" / "0000001.png")
    assert find_databar_rows(tio2.data) == 56
    assert find_databar_rows(hitachi.data) == 70
    assert find_databar_rows(frame.data) == 0
