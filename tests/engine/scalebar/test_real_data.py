"""Scale bars of the real micrographs in ../shared/data (skipped when absent): pixel sizes
against the ones their metadata or info bars state, labels read right, constant within a run
of TEM frames, and no answer where there is no bar."""

from __future__ import annotations

import numpy as np
import pytest
from nanomorph.scalebar import NoScaleBarError, read_scale_bar

pytestmark = pytest.mark.slow


def read(path):
    import imageio.v3 as iio

    return read_scale_bar(iio.imread(path))


def test_tio2_zeiss_brackets_within_3_percent_of_the_metadata(shared_data):
    for path in sorted((shared_data / "tio2_sem_seg" / "images").glob("*.tif")):
        reading = read(path)
        assert reading.unit == "nm" and reading.style == "bracket", path.name
        assert reading.pixel_size_nm == pytest.approx(7.344, rel=0.03), path.name
        assert any("agrees with the info bar" in note for note in reading.notes), path.name


def test_fei_split_bar_within_3_percent_of_its_field_width(shared_data):
    reading = read(shared_data / "agnw_network_sem" / "agnw_0001.tif")
    assert (reading.value, reading.unit, reading.style) == (10.0, "µm", "split")
    assert reading.pixel_size_nm == pytest.approx(41400 / 1280, rel=0.03)


def test_hitachi_rulers_read_10_um(shared_data):
    paths = sorted((shared_data / "sem_nanowires").glob("*.tif")) + sorted(
        (shared_data / "cellulose_fibre_sem").glob("*.jpg"))
    for path in paths:
        reading = read(path)
        assert (reading.value, reading.unit, reading.style) == (10.0, "µm", "ruler"), path.name


def test_tem_frames_read_and_constant_within_a_run(shared_data):
    runs: dict[str, list[float]] = {}
    for path in sorted((shared_data / "nanowire_tem_seg" / "images").glob("*.png")):
        reading = read(path)
        assert reading.unit == "nm" and reading.value in (5.0, 10.0, 20.0, 50.0), path.name
        runs.setdefault(f"{reading.value:g}", []).append(reading.pixel_size_nm)
    five = np.array(runs["5"])
    main = five[np.abs(five - np.median(five)) < 0.05 * np.median(five)]
    assert len(main) >= 20 and main.std() / main.mean() < 0.02


def test_no_bar_gives_no_answer(shared_data):
    import imageio.v3 as iio

    with pytest.raises(NoScaleBarError):
        read(shared_data / "agnw_network_sem" / "agnw_0000.tif")
    image = iio.imread(shared_data / "tio2_sem_seg" / "images" / "1908248.tif")
    with pytest.raises(NoScaleBarError):
        read_scale_bar(image[:700])  # the info bar (and its bracket) cropped off
