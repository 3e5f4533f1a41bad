"""`nanomorph percolate`: the JSON contract, units, resize, CSV, and bad input."""

from __future__ import annotations

import csv
import json

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from nanomorph.cli import main
from nanomorph.cli.percolate import CONTRACT_KEYS


@pytest.fixture
def masks(tmp_path):
    cross = np.zeros((64, 80), np.uint8)
    cross[30:33, :] = 255
    cross[:, 40:43] = 255
    line = np.zeros((64, 80), np.uint8)
    line[10:12, :] = 255
    line[50, 5] = 255  # an isolated pixel: DBSCAN noise
    paths = {"cross": tmp_path / "cross.png", "line": tmp_path / "line.png"}
    iio.imwrite(paths["cross"], cross)
    iio.imwrite(paths["line"], line)
    calibrated = tmp_path / "cross_5nm.tif"
    tifffile.imwrite(calibrated, cross, imagej=True, resolution=(200.0, 200.0),
                     metadata={"unit": "um"})  # 5 nm per pixel
    paths["calibrated"] = calibrated
    return paths


def run_json(capsys, *args):
    code = main(["percolate", *map(str, args), "--json"])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_json_lines_carry_exactly_the_contract_keys_in_input_order(masks, capsys):
    code, records, err = run_json(capsys, masks["cross"], masks["line"])
    assert code == 0 and err == ""
    assert [list(r) for r in records] == [list(CONTRACT_KEYS)] * 2
    cross, line = records
    assert cross["path"] == str(masks["cross"]) and cross["shape"] == [64, 80]
    assert cross["percolates"] and cross["n_clusters"] == 1
    assert not line["percolates"] and line["spans_x"] and not line["spans_y"]
    assert line["noise_pixels"] == 1 and line["foreground_pixels"] == 161
    assert line["largest_cluster_fraction"] == pytest.approx(160 / 161)
    assert cross["method"] == "exact" and cross["eps"] == 2 and cross["min_samples"] == 2
    assert cross["seconds"] >= 0


def test_dbscan_method_gives_the_same_numbers(masks, capsys):
    _, exact, _ = run_json(capsys, masks["line"])
    _, dbscan, _ = run_json(capsys, masks["line"], "--method", "dbscan")
    drop = ("method", "seconds")
    assert {k: v for k, v in exact[0].items() if k not in drop} == \
           {k: v for k, v in dbscan[0].items() if k not in drop}


def test_physical_units_need_a_calibration(masks, capsys):
    code, records, _ = run_json(capsys, masks["calibrated"], "--units", "nm", "--eps", "10",
                                "--margin", "10")
    assert code == 0 and records[0]["eps"] == 10 and records[0]["percolates"]
    code, records, err = run_json(capsys, masks["cross"], "--units", "nm", "--eps", "10")
    assert code == 2 and records == []
    assert err.startswith(f"error: {masks['cross']}: ") and "uncalibrated" in err


def test_resize_reproduces_the_papers_224(masks, capsys):
    code, records, _ = run_json(capsys, masks["cross"], "--resize", "224")
    assert code == 0 and records[0]["shape"] == [224, 224] and records[0]["percolates"]


def test_csv_output(masks, tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert main(["percolate", str(masks["cross"]), str(masks["line"]), "--csv", str(out)]) == 0
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(CONTRACT_KEYS) and rows[0]["shape"] == "64x80"
    assert [r["percolates"] for r in rows] == ["True", "False"]


def test_readable_lines_without_json(masks, capsys):
    assert main(["percolate", str(masks["cross"])]) == 0
    assert "PERCOLATES" in capsys.readouterr().out


def test_multi_valued_masks_ask_for_foreground(tmp_path, capsys):
    mask = np.zeros((40, 40), np.uint8)
    mask[10:12, :] = 127
    mask[20:25, 20:25] = 255
    path = tmp_path / "tem.png"
    iio.imwrite(path, mask)
    code, _, err = run_json(capsys, path)
    assert code == 2 and "0, 127, 255" in err and "--foreground" in err
    code, records, _ = run_json(capsys, path, "--foreground", "127")
    assert code == 0 and records[0]["foreground_pixels"] == 80
    code, _, err = run_json(capsys, path, "--foreground", "64")
    assert code == 2 and "64" in err


@pytest.mark.parametrize("args, message", [
    (["--eps", "0"], "eps"), (["--eps", "-1"], "eps"), (["--min-samples", "0"], "min_samples"),
])
def test_bad_parameters_give_one_line_each(masks, capsys, args, message):
    code, records, err = run_json(capsys, masks["cross"], masks["line"], *args)
    assert code == 2 and records == []
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(message in line for line in lines)


def test_empty_and_full_masks(tmp_path, capsys):
    iio.imwrite(tmp_path / "empty.png", np.zeros((30, 30), np.uint8))
    iio.imwrite(tmp_path / "full.png", np.full((30, 30), 255, np.uint8))
    code, (empty, full), _ = run_json(capsys, tmp_path / "empty.png", tmp_path / "full.png",
                                      "--foreground", "nonzero")
    assert code == 0
    assert not empty["percolates"] and empty["n_clusters"] == 0
    assert empty["foreground_fraction"] == 0 and empty["largest_cluster_fraction"] == 0
    assert full["percolates"] and full["n_clusters"] == 1 and full["foreground_fraction"] == 1


def test_unreadable_mask_is_reported_and_the_rest_continue(masks, tmp_path, capsys):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG broken")
    code, records, err = run_json(capsys, tmp_path / "broken.png", masks["cross"])
    assert code == 2 and len(records) == 1
    assert err.startswith(f"error: {tmp_path / 'broken.png'}: ")
