"""`nanomorph measure`: the JSON contract, calibration, the per-wire CSV and bad input."""

from __future__ import annotations

import csv
import json

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from nanomorph.cli import main

KEYS = ["path", "shape", "pixel_size", "unit", "n_wires", "wires", "diameter", "length",
        "orientation", "junctions_per_um2", "wires_per_um2", "nL2_over_threshold", "seconds"]


@pytest.fixture
def masks(tmp_path):
    cross = np.zeros((120, 160), np.uint8)
    cross[58:63, 10:150] = 255   # a horizontal wire, 5 px wide, 140 px long
    cross[10:110, 78:83] = 255   # a vertical one crossing it
    paths = {"cross": tmp_path / "cross.png", "empty": tmp_path / "empty.png"}
    iio.imwrite(paths["cross"], cross)
    iio.imwrite(paths["empty"], np.zeros((40, 40), np.uint8))
    calibrated = tmp_path / "cross_5nm.tif"
    tifffile.imwrite(calibrated, cross, imagej=True, resolution=(200.0, 200.0),
                     metadata={"unit": "um"})  # 5 nm per pixel
    paths["calibrated"] = calibrated
    labels = cross // 255
    labels[0:4, 0:4] = 2  # a second class: the mask is not binary
    paths["labels"] = tmp_path / "labels.png"
    iio.imwrite(paths["labels"], labels.astype(np.uint8))
    return paths


def run_json(capsys, *args):
    code = main(["measure", *map(str, args), "--json"])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_json_lines_carry_the_contract_keys(masks, capsys):
    code, records, err = run_json(capsys, masks["cross"], masks["empty"])
    assert code == 0 and err == ""
    assert [list(r) for r in records] == [KEYS, KEYS]
    cross, empty = records
    assert cross["unit"] == "px" and cross["pixel_size"] is None and cross["shape"] == [120, 160]
    assert cross["n_wires"] == 2
    by_angle = sorted(cross["wires"], key=lambda w: w["orientation_deg"])
    assert by_angle[0]["orientation_deg"] == pytest.approx(0, abs=1) or \
        by_angle[0]["orientation_deg"] == pytest.approx(180, abs=1)
    assert by_angle[1]["orientation_deg"] == pytest.approx(90, abs=1)
    assert [w["length"] for w in by_angle] == pytest.approx([136, 96], abs=6)
    assert cross["diameter"]["mean"] == pytest.approx(5, abs=0.4)
    assert cross["junctions_per_um2"] is None and cross["nL2_over_threshold"] is None
    assert empty["n_wires"] == 0 and empty["wires"] == [] and empty["diameter"]["mean"] is None


def test_calibration_from_the_file_or_the_command_line(masks, capsys):
    _, (from_file,), _ = run_json(capsys, masks["calibrated"])
    _, (given,), _ = run_json(capsys, masks["cross"], "--pixel-size", "5")
    for record in (from_file, given):
        assert record["unit"] == "nm" and record["pixel_size"] == pytest.approx(5)
        assert record["diameter"]["mean"] == pytest.approx(25, abs=2)
        area = 120 * 160 * 0.005 ** 2
        assert record["wires_per_um2"] == pytest.approx(2 / area)
        assert record["nL2_over_threshold"] is not None


def test_csv_has_one_row_per_wire(masks, tmp_path, capsys):
    out = tmp_path / "wires.csv"
    assert main(["measure", str(masks["cross"]), str(masks["calibrated"]), "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4 and {r["unit"] for r in rows} == {"px", "nm"}
    assert set(rows[0]) == {"path", "unit", "id", "length", "diameter_mean", "diameter_sd",
                            "orientation_deg", "straightness", "touches_border", "centroid_row",
                            "centroid_col"}


def test_text_output_is_one_line_per_mask(masks, capsys):
    assert main(["measure", str(masks["cross"])]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "2 wires" in out[0] and "diameter" in out[0]


def test_bad_inputs_are_one_line_each_and_the_others_go_on(masks, tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    code, records, err = run_json(capsys, masks["labels"], broken, masks["cross"])
    assert code == 2 and len(records) == 1
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines)
    assert str(masks["labels"]) in lines[0] and "--foreground" in lines[0]
    assert "Traceback" not in err
    code, records, _ = run_json(capsys, masks["labels"], "--foreground", "1")
    assert code == 0 and records[0]["n_wires"] == 2


def test_a_bad_pixel_size_is_a_command_line_error(masks, capsys):
    assert main(["measure", str(masks["cross"]), "--pixel-size", "-2"]) == 1
    assert "--pixel-size" in capsys.readouterr().err


def test_unwritable_csv_is_reported(masks, tmp_path, capsys):
    code = main(["measure", str(masks["cross"]), "--csv", str(tmp_path / "no" / "w.csv")])
    assert code == 2 and "cannot write the CSV" in capsys.readouterr().err
