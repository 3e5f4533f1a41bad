"""``nanomorph info``: JSON Lines with exactly the contract's keys, error lines, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from nanomorph.cli import main

KEYS = ["path", "format", "shape", "dtype", "pixel_size", "unit", "frames", "frame_interval_s"]


@pytest.fixture
def images(tmp_path) -> dict[str, Path]:
    """A calibrated ImageJ TIFF (0.5 × 0.25 nm), an RGB PNG and a float stack."""
    paths = {"tif": tmp_path / "cal.tif", "png": tmp_path / "rgb.png", "stack": tmp_path / "s.tif"}
    tifffile.imwrite(paths["tif"], np.zeros((4, 6), np.uint16), imagej=True,
                     resolution=(4.0, 2.0), metadata={"unit": "nm"})
    Image.fromarray(np.zeros((3, 5, 3), np.uint8)).save(paths["png"])
    tifffile.imwrite(paths["stack"], np.zeros((2, 3, 4), np.float32), photometric="minisblack")
    return paths


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_json_lines_in_input_order_with_exactly_the_contract_keys(images, capsys):
    paths = [images["tif"], images["png"], images["stack"]]
    assert main(["info", *map(str, paths), "--json"]) == 0
    records = json_lines(capsys.readouterr().out)
    assert [list(r) for r in records] == [KEYS] * 3
    assert records[0] == {"path": str(images["tif"]), "format": "TIFF (ImageJ)", "shape": [4, 6],
                          "dtype": "uint16", "pixel_size": [0.5, 0.25], "unit": "nm",
                          "frames": 1, "frame_interval_s": None}
    assert records[1] == {"path": str(images["png"]), "format": "PNG", "shape": [3, 5],
                          "dtype": "uint8", "pixel_size": None, "unit": None,
                          "frames": 1, "frame_interval_s": None}
    assert records[2]["shape"] == [2, 3, 4] and records[2]["dtype"] == "float32"
    assert records[2]["frames"] == 2 and records[2]["frame_interval_s"] is None


def test_frames_and_their_interval(tmp_path, capsys):
    stack = tmp_path / "movie.tif"
    tifffile.imwrite(stack, np.zeros((5, 8, 8), np.uint8), imagej=True,
                     metadata={"axes": "TYX", "finterval": 250, "tunit": "ms"})
    assert main(["info", str(stack), "--json"]) == 0
    (movie,) = json_lines(capsys.readouterr().out)
    assert (movie["frames"], movie["frame_interval_s"]) == (5, 0.25)
    assert main(["info", str(stack)]) == 0
    assert "5 frames, one every 0.25 s" in capsys.readouterr().out


def test_a_cut_movie_gives_its_whole_frames_and_one_warning(tmp_path, capsys):
    movie = np.zeros((10, 16, 16), np.uint8)
    tifffile.imwrite(tmp_path / "m.tif", movie, imagej=True, metadata={"axes": "TYX"})
    with tifffile.TiffFile(tmp_path / "m.tif") as tif:
        first = tif.pages[0].dataoffsets[0]
    cut = tmp_path / "cut.tif"
    cut.write_bytes((tmp_path / "m.tif").read_bytes()[:first + 4 * 256 + 10])
    assert main(["info", str(cut), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["frames"] == 4
    assert err == (f"warning: {cut}: the file is truncated: only its first 4 of 10 frames are "
                   "whole; the rest are cut off\n")


def test_a_velox_time_series_gives_its_frame_interval(shared_data, capsys):
    emd = shared_data / "microscope_formats" / "fei_example_tem_stack.emd"
    assert main(["info", str(emd), "--json"]) == 0
    (velox,) = json_lines(capsys.readouterr().out)
    assert (velox["frames"], velox["frame_interval_s"]) == (2, pytest.approx(0.8))


def test_failing_input_is_reported_and_the_others_continue(images, tmp_path, capsys):
    missing = tmp_path / "missing.tif"
    (tmp_path / "empty.png").write_bytes(b"")
    args = [str(images["png"]), str(missing), str(tmp_path / "empty.png"), str(images["tif"])]
    assert main(["info", *args, "--json"]) == 2
    out, err = capsys.readouterr()
    assert [r["path"] for r in json_lines(out)] == [str(images["png"]), str(images["tif"])]
    assert err.splitlines() == [f"error: {missing}: no such file",
                                f"error: {tmp_path / 'empty.png'}: the file is empty (0 bytes)"]


def test_readable_lines(images, capsys):
    assert main(["info", str(images["tif"]), str(images["png"])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{images['tif']}: TIFF (ImageJ), 4 × 6, uint16, 0.5 × 0.25 nm/px (y × x)",
                     f"{images['png']}: PNG, 3 × 5, uint8, uncalibrated"]


def test_readable_line_shows_the_fei_databar(shared_data, capsys):
    path = shared_data / "microscope_formats" / "FEI-Helios-Ebeam-16bits.tif"
    assert main(["info", str(path)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{path}: TIFF (FEI), 471 × 512, uint16, 3.372 µm/px, databar 29 rows, "
        "acquired 2016-06-13 17:06:40")


def test_real_files_as_json(shared_data, capsys):
    folder = shared_data / "microscope_formats"
    names = ["dmTest_float32_nonSquare_diffPixelSize.dm4", "test_diffraction_pattern.dm3",
             "FEI-Helios-navcam-with-no-IRBeam-bad-floats.tif"]
    assert main(["info", "--json", *(str(folder / n) for n in names)]) == 0
    dm4, diffraction, navcam = json_lines(capsys.readouterr().out)
    assert dm4["pixel_size"] == pytest.approx([0.2, 1.0]) and dm4["unit"] == "nm"
    assert diffraction["unit"] == "1/nm" and diffraction["format"] == "Gatan DM3"
    assert (navcam["pixel_size"], navcam["unit"], navcam["shape"]) == (None, None, [551, 768])


def test_undecodable_file_name_prints_an_escaped_path(tmp_path, capsys):
    name = os.fsencode(tmp_path) + b"/\xff.png"
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(os.fsdecode(name))
    missing = os.fsdecode(os.fsencode(tmp_path) + b"/\xfe.png")
    assert main(["info", "--json", os.fsdecode(name), missing]) == 2
    out, err = capsys.readouterr()
    assert json_lines(out)[0]["path"] == f"{tmp_path}/\\xff.png"
    assert err == f"error: {tmp_path}/\\xfe.png: no such file\n"


def test_no_file_is_a_command_line_error(capsys):
    assert main(["info"]) == 1


def test_installed_console_script(images, tmp_path):
    script = Path(sys.executable).parent / "nanomorph"
    result = subprocess.run([str(script), "info", "--json", str(images["tif"]),
                             str(tmp_path / "nope.dm3")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert json_lines(result.stdout)[0]["pixel_size"] == [0.5, 0.25]
    assert result.stderr == f"error: {tmp_path / 'nope.dm3'}: no such file\n"


def test_a_folder_of_numbered_frames_is_one_movie(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    for i in (1, 2, 3, 5):
        tifffile.imwrite(run / f"f_{i:03d}.tif", np.zeros((4, 6), np.uint16), imagej=True,
                         resolution=(4.0, 2.0), metadata={"unit": "nm"})
    assert main(["info", str(run), "--json"]) == 0
    record, = json_lines(capsys.readouterr().out)
    assert list(record) == KEYS
    assert record == {"path": str(run), "format": "TIFF (ImageJ)", "shape": [4, 4, 6],
                      "dtype": "uint16", "pixel_size": [0.5, 0.25], "unit": "nm",
                      "frames": 4, "frame_interval_s": None}
    assert main(["info", str(run)]) == 0
    assert "named f_###.tif, 4 frames" in capsys.readouterr().out


def test_a_folder_without_numbered_frames_is_one_error_line(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    Image.fromarray(np.zeros((3, 5), np.uint8)).save(tmp_path / "d" / "overview.png")
    assert main(["info", str(tmp_path / "d"), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (f"error: {tmp_path / 'd'}: holds no numbered frames (1 image "
                                    "files; frames are named <prefix><number><suffix>, e.g. "
                                    "frame_0001.tif)")
