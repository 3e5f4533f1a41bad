"""Pixel-density and intensity control features on synthetic micrographs."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from nanomorph.errors import NanomorphError
from nanomorph.fewshot.control import (
    INTENSITY_FEATURES,
    control_features,
    density_features,
    intensity_features,
)
from nanomorph.jobs import run_job
from nanomorph.synthetic import generate_morphology


@pytest.fixture(scope="module")
def images():
    return {name: [generate_morphology(name, shape=(256, 256), seed=s) for s in range(5)]
            for name in ("network", "dispersed")}


def test_networks_are_denser_than_dispersed_wires(images):
    network = density_features([s.image for s in images["network"]])[:, 0]
    dispersed = density_features([s.image for s in images["dispersed"]])[:, 0]
    # Otsu over-segments the background of some sparse images (seed 1: 0.28 measured for a true
    # 0.05), so compare medians: measured 0.21 vs 0.06 (true 0.15 vs 0.05)
    assert np.median(network) > 2 * np.median(dispersed)
    assert np.median([s.foreground_fraction for s in images["network"]]) > \
        2 * np.median([s.foreground_fraction for s in images["dispersed"]])


def test_given_masks_are_used_instead_of_auto_masks(images):
    samples = images["network"]
    exact = density_features([s.image for s in samples], masks=[s.mask for s in samples])
    np.testing.assert_allclose(exact[:, 0], [s.foreground_fraction for s in samples])


def test_files_and_arrays_give_the_same_features(images, tmp_path):
    sample = images["network"][0]
    path = tmp_path / "network.tif"
    tifffile.imwrite(path, sample.image)
    np.testing.assert_allclose(density_features([str(path)]), density_features([sample.image]))
    np.testing.assert_allclose(intensity_features([path]), intensity_features([sample.image]))


def test_intensity_statistics_are_scaled_by_the_dtype():
    image = np.full((64, 64), 128, dtype=np.uint8)
    image[:32] = 255
    stats = intensity_features([image, image.astype(np.uint16) * 257])
    assert stats.shape == (2, len(INTENSITY_FEATURES))
    np.testing.assert_allclose(stats[0], stats[1])
    mean, std, p05, _, _, _, p95 = stats[0]
    assert mean == pytest.approx((1 + 128 / 255) / 2)
    assert (p05, p95) == (pytest.approx(128 / 255), 1.0)


def test_unreadable_images_are_listed_and_the_others_kept(images, tmp_path):
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"not an image")
    items = [images["network"][0].image, str(broken), images["dispersed"][0].image]
    events = []
    job = control_features(items)
    while True:
        try:
            events.append(next(job))
        except StopIteration as stop:
            features = stop.value
            break
    assert [e.done for e in events] == [1, 2, 3]
    assert features.indices.tolist() == [0, 2]
    assert features.density.shape == (2, 1) and features.intensity.shape == (2, 7)
    assert features.failed[0][0] == 1
    with pytest.raises(NanomorphError) as caught:
        density_features(items)
    assert caught.value.path == str(broken)
    assert run_job(control_features([])).density.shape == (0, 1)


def test_real_networks_are_denser_than_wires_dispersed_on_chips(shared_data):
    networks = density_features([shared_data / "agnw_network_sem" / "agnw_0001.tif",
                                 shared_data / "cellulose_fibre_sem" / "K1.jpg"])[:, 0]
    chips = density_features([shared_data / "sem_nanowires" / f"{n}.tif"
                              for n in ("2_2", "4", "9", "13", "22", "23")])[:, 0]
    # measured: networks 0.55, 0.50; chips 0.03, 0.02, 0.71, 0.03, 0.06, 0.69 (on two almost
    # blank chips Otsu splits the background noise: the control is as crude as its auto-mask)
    assert networks.min() > 0.4 and np.median(chips) < 0.1
