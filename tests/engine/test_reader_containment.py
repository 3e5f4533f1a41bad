"""Readers never hang and never let a library's exception through: third-party readers run in
a helper process with a time budget, truncated files are refused before they are parsed."""

from __future__ import annotations

import os
import time

import pytest

from nanomorph.errors import ImageReadError
from nanomorph.io import read_image, sandbox
from nanomorph.io.readers import read_info


def test_a_reader_that_never_returns_is_stopped_within_the_budget(tmp_path):
    fifo = tmp_path / "stuck.elid"
    os.mkfifo(fifo)  # opening it for reading blocks until a writer comes: none will
    started = time.perf_counter()
    with pytest.raises(ImageReadError, match="reading stopped after 1 s"):
        sandbox.run_contained("nanomorph.io.native", "native_header", "elid", str(fifo),
                              path=str(fifo), timeout_s=1.0)
    assert time.perf_counter() - started < 5
    # the helper was killed; the next read gets a fresh one and works
    assert sandbox.run_contained("nanomorph.io.calibration", "nm_per_unit", "µm",
                                 path="x") == 1000.0


def test_pipes_and_devices_are_refused_without_opening_them(tmp_path):
    fifo = tmp_path / "pipe.tif"
    os.mkfifo(fifo)
    with pytest.raises(ImageReadError, match="not a regular file"):
        read_info(fifo)


def test_only_nanomorph_readers_run_in_the_helper():
    with pytest.raises(sandbox.ContainedError, match="not a nanomorph reader"):
        sandbox.run_contained("os", "system", "true", path="x")


def test_a_library_error_in_the_helper_becomes_one_line(tmp_path):
    bad = tmp_path / "bad.dm3"
    bad.write_bytes(b"\x00\x00\x00\x03" + os.urandom(4000))  # a DM3 signature, then noise
    with pytest.raises(ImageReadError, match="cannot read this file as Gatan DM3"):
        read_image(bad)


@pytest.mark.parametrize("suffix", [".elid", ".mrc", ".png", ".jpg", ".gif", ".bmp", ".tif"])
def test_truncated_files_are_refused_by_info(shared_data, tmp_path, suffix):
    import numpy as np
    from PIL import Image

    formats = shared_data / "microscope_formats"
    seeds = {".elid": formats / "Elid2Version4.elid", ".mrc": formats / "HAADFscan.mrc",
             ".tif": formats / "FEI-Helios-Ebeam-8bits.tif"}
    if suffix in seeds:
        data = seeds[suffix].read_bytes()
    else:
        path = tmp_path / f"whole{suffix}"
        image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 80), np.uint8))
        (image.convert("P") if suffix == ".gif" else image).save(path)
        data = path.read_bytes()
    for fraction in (0.3, 0.7, 0.95):
        cut = tmp_path / f"cut{suffix}"
        cut.write_bytes(data[:int(len(data) * fraction)])
        with pytest.raises(ImageReadError, match="truncated|damaged|cannot read"):
            read_info(cut)
