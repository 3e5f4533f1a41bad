"""``nanomorph batch``: tables, summary line, error lines, exit codes, and bad input."""

from __future__ import annotations

import csv
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nanomorph.cli import main
from nanomorph.cli.percolate import CONTRACT_KEYS
from tests.engine.test_batch import make_images, make_project
from tests.support.badfiles import make_bad_files
from tests.support.fulldisk import record_log_fills_after


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_writes_the_tables_and_one_summary_line(tmp_path, capsys):
    make_images(tmp_path / "images", 4)
    code = main(["batch", str(tmp_path / "images"), "--out", str(tmp_path / "out"),
                 "--workers", "0"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    rows = read_csv(tmp_path / "out" / "results.csv")
    assert list(rows[0])[:4 + len(CONTRACT_KEYS) - 1] == ["path", "sha256", "status", "error",
                                                          *CONTRACT_KEYS[1:]]
    assert [r["status"] for r in rows] == ["ok"] * 4 and rows[0]["shape"] == "96x96"
    assert out.startswith("4 images: ") and "results.parquet" in out
    assert len(out.splitlines()) == 1


def test_failed_images_print_one_error_line_each_in_input_order(tmp_path, capsys):
    good = make_images(tmp_path / "images", 2)
    bad = make_bad_files(tmp_path / "bad")
    inputs = [str(bad["empty"]), str(good[0]), str(bad["truncated"]), str(good[1])]
    code = main(["batch", *inputs, "--out", str(tmp_path / "out"), "--workers", "0"])
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 2 and len(lines) == 2
    assert lines[0].startswith(f"error: {bad['empty']}: ")
    assert lines[1].startswith(f"error: {bad['truncated']}: ")
    assert "2 failed" in out
    assert [r["status"] for r in read_csv(tmp_path / "out" / "results.csv")] == \
           ["error", "ok", "error", "ok"]


def test_existing_masks_with_foreground_values(tmp_path, capsys):
    paths = make_images(tmp_path / "images", 2)
    (tmp_path / "masks").mkdir()
    for p in paths:
        truth = np.load(p.with_suffix(".npy"))
        Image.fromarray(truth * np.uint8(127)).save(tmp_path / "masks" / f"{p.stem}_mask.png")
    code = main(["batch", str(tmp_path / "images"), "--out", str(tmp_path / "out"),
                 "--masks", str(tmp_path / "masks"), "--foreground", "127", "--workers", "0"])
    assert code == 0, capsys.readouterr().err
    rows = read_csv(tmp_path / "out" / "results.csv")
    assert [int(r["foreground_pixels"]) for r in rows] == \
           [int(np.load(p.with_suffix(".npy")).sum()) for p in paths]
    assert {r["mask_source"] for r in rows} == {"masks"}


def test_morphometry_columns_on_request(tmp_path, capsys):
    make_images(tmp_path / "images", 2)
    code = main(["batch", str(tmp_path / "images"), "--out", str(tmp_path / "out"),
                 "--morphometry", "--workers", "0"])
    assert code == 0, capsys.readouterr().err
    rows = read_csv(tmp_path / "out" / "results.csv")
    assert all(int(r["wires"]) > 0 and float(r["diameter_mean"]) > 0 for r in rows)
    assert {"order_parameter", "length_mean", "nL2_over_threshold"} <= set(rows[0])


def test_a_project_is_analysed_with_its_stored_masks(tmp_path, capsys):
    folder = make_project(tmp_path, 2)
    assert main(["batch", str(folder), "--out", str(tmp_path / "out"), "--workers", "0"]) == 0
    assert {r["mask_source"] for r in read_csv(tmp_path / "out" / "results.csv")} == {"project"}
    assert main(["batch", str(folder), "--out", str(tmp_path / "out2"), "--workers", "0",
                 "--mask-method", "li"]) == 0
    rows = read_csv(tmp_path / "out2" / "results.csv")
    assert {r["mask_source"] for r in rows} == {"auto:li"} and all(r["dice"] for r in rows)


@pytest.mark.parametrize("options", [
    ["--foreground", "127"],
    ["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"],
    ["--percolation-eps", "0"],
    ["--masks", "m", "--segmenter", "s"],
    ["--workers", "-1"],
    ["--frame-interval", "0.5"],  # the times of --numbered-frames folders
    ["--numbered-frames", "--frame-interval", "0"],
])
def test_bad_command_lines_exit_1(tmp_path, capsys, options):
    make_images(tmp_path / "images", 1)
    code = main(["batch", str(tmp_path / "images"), "--out", str(tmp_path / "out"), *options])
    assert code == 1 and capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_scheduler_that_does_not_answer_exits_2_with_one_line_within_10_s(tmp_path, capsys):
    make_images(tmp_path / "images", 1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    started = time.monotonic()
    code = main(["batch", str(tmp_path / "images"), "--out", str(tmp_path / "out"),
                 "--scheduler", address])
    err = capsys.readouterr().err
    assert code == 2 and time.monotonic() - started < 10
    assert err.count("\n") == 1 and err.startswith(f"error: {address}: no Dask scheduler")


def test_an_output_folder_that_is_a_file_exits_2(tmp_path, capsys):
    make_images(tmp_path / "images", 1)
    (tmp_path / "out").write_text("")
    code = main(["batch", str(tmp_path / "images"), "--out", str(tmp_path / "out"),
                 "--workers", "0"])
    assert code == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'out'}: the output folder is a file\n"


def test_a_full_disk_exits_2_with_one_line_and_a_rerun_completes(tmp_path, capsys,
                                                                   monkeypatch):
    make_images(tmp_path / "images", 4)
    command = ["batch", str(tmp_path / "images"), "--out", str(tmp_path / "out"),
               "--workers", "0", "--images-per-task", "1"]
    free_disk = record_log_fills_after(monkeypatch, 2)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the disk is full" in err
    free_disk()
    assert main(command) == 0
    assert "2 from an earlier run" in capsys.readouterr().out


@pytest.mark.slow
def test_the_local_cluster_prints_its_dashboard_and_gives_the_same_table(tmp_path):
    make_images(tmp_path / "images", 6, (64, 64))
    command = [str(Path(sys.executable).parent / "nanomorph"), "batch", str(tmp_path / "images")]
    local = subprocess.run([*command, "--out", str(tmp_path / "dask"), "--workers", "2"],
                           capture_output=True, text=True, timeout=120)
    plain = subprocess.run([*command, "--out", str(tmp_path / "plain"), "--workers", "0"],
                           capture_output=True, text=True, timeout=120)
    assert local.returncode == plain.returncode == 0, local.stderr
    assert "Dask dashboard: http://" in local.stderr
    drop = ("seconds",)
    strip = [{k: v for k, v in r.items() if k not in drop}
             for r in read_csv(tmp_path / "dask" / "results.csv")]
    assert strip == [{k: v for k, v in r.items() if k not in drop}
                     for r in read_csv(tmp_path / "plain" / "results.csv")]


def test_a_cut_movie_is_analysed_frame_by_frame_with_one_warning(tmp_path, capsys):
    """The whole frames of a cut movie each get a row; one ``warning:`` line says the rest are
    cut off; the exit code is 0."""
    import tifffile

    from tests.engine.test_batch_frames import write_movie

    write_movie(tmp_path / "m.tif", n=6)
    with tifffile.TiffFile(tmp_path / "m.tif") as tif:
        first = tif.pages[0].dataoffsets[0]
    cut = tmp_path / "cut.tif"
    cut.write_bytes((tmp_path / "m.tif").read_bytes()[:first + 4 * 96 * 96 + 10])
    code = main(["batch", str(cut), "--out", str(tmp_path / "out"), "--workers", "0"])
    out, err = capsys.readouterr()
    assert code == 0
    assert err == (f"warning: {cut}: the file is truncated: only its first 4 of 6 frames are "
                   "whole; the rest are cut off\n")
    rows = read_csv(tmp_path / "out" / "results.csv")
    assert [(r["frame"], r["status"]) for r in rows] == [(str(i), "ok") for i in range(4)]


def test_numbered_frames_folders_give_frame_and_time_columns(tmp_path, capsys):
    paths = make_images(tmp_path / "run", 3)
    for i, path in enumerate(paths):
        Path(path).rename(tmp_path / "run" / f"t{i + 7:03d}.png")
    code = main(["batch", str(tmp_path / "run"), "--out", str(tmp_path / "out"), "--workers",
                 "0", "--numbered-frames", "--frame-interval", "0.25"])
    assert code == 0, capsys.readouterr().err
    rows = read_csv(tmp_path / "out" / "results.csv")
    assert [(r["frame"], r["time_s"]) for r in rows] == [("0", "0.0"), ("1", "0.25"),
                                                         ("2", "0.5")]


def test_numbered_frames_on_a_folder_without_them_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "d" / "overview.png")
    code = main(["batch", str(tmp_path / "d"), "--out", str(tmp_path / "out"), "--workers", "0",
                 "--numbered-frames"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {tmp_path / 'd'}: holds no numbered frames (1 image files")
