"""Resuming: records reused by content and configuration, a killed run continued, torn log
lines, changed files, and a full disk that stops the run without losing what was recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nanomorph.batch.config import BatchConfig
from nanomorph.batch.results import CSV_FILE, LOG_FILE, OutputError, RecordLog
from tests.engine.test_batch import comparable, make_images, run
from tests.support.fulldisk import record_log_fills_after


def log_lines(out: Path) -> list[bytes]:
    return (out / LOG_FILE).read_bytes().splitlines()


def test_a_second_run_reuses_every_row_and_writes_the_same_table(tmp_path):
    make_images(tmp_path / "images", 5)
    first = run([tmp_path / "images"], tmp_path / "out")
    table = (tmp_path / "out" / CSV_FILE).read_bytes()
    again = run([tmp_path / "images"], tmp_path / "out")
    assert (again.computed, again.reused) == (0, 5)
    assert (tmp_path / "out" / CSV_FILE).read_bytes() == table
    assert list(again.rows) == list(first.rows) and len(log_lines(tmp_path / "out")) == 5


def test_other_parameters_do_not_reuse_the_records(tmp_path):
    make_images(tmp_path / "images", 3)
    run([tmp_path / "images"], tmp_path / "out")
    other = run([tmp_path / "images"], tmp_path / "out", BatchConfig(polarity="bright"))
    assert (other.computed, other.reused) == (3, 0)


def test_a_killed_run_continues_where_it_stopped_with_the_same_table(tmp_path):
    make_images(tmp_path / "images", 24, (64, 64))
    out = tmp_path / "out"
    code = ("import sys, time; import nanomorph.batch.pipeline as p; slow = p.analyse_item\n"
            "def analyse(*a):\n    time.sleep(0.15); return slow(*a)\n"
            "p.analyse_item = analyse\nfrom nanomorph.cli import main\n"
            f"main(['batch', {str(tmp_path / 'images')!r}, '--out', {str(out)!r}, "
            "'--workers', '0', '--images-per-task', '1'])")
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (out / LOG_FILE).exists() or len(log_lines(out)) < 5:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    recorded = len(log_lines(out))
    assert 5 <= recorded < 24 and not (out / CSV_FILE).exists()
    resumed = run([tmp_path / "images"], out, images_per_task=1)
    assert resumed.reused == recorded and resumed.computed == 24 - recorded
    clean = run([tmp_path / "images"], tmp_path / "clean", images_per_task=1)
    assert comparable(resumed.rows) == comparable(clean.rows)
    assert len({r["path"] for r in resumed.rows}) == 24


def test_a_torn_last_line_is_ignored_and_the_next_records_start_on_a_new_line(tmp_path):
    make_images(tmp_path / "images", 4)
    out = tmp_path / "out"
    run([tmp_path / "images"], out, images_per_task=1)
    lines = log_lines(out)
    (out / LOG_FILE).write_bytes(b"\n".join(lines[:2]) + b"\n" + lines[2][:40])
    resumed = run([tmp_path / "images"], out, images_per_task=1)
    assert (resumed.reused, resumed.computed) == (2, 2)
    with RecordLog(out) as log:
        assert len(log) == 4
    assert log_lines(out)[2] == lines[2][:40]  # kept, ignored


def test_a_changed_image_is_analysed_again(tmp_path):
    paths = make_images(tmp_path / "images", 4)
    first = run([tmp_path / "images"], tmp_path / "out", images_per_task=1)
    Image.fromarray(255 - np.asarray(Image.open(paths[2]))).save(paths[2])
    again = run([tmp_path / "images"], tmp_path / "out", images_per_task=1)
    assert (again.reused, again.computed) == (3, 1)
    assert again.rows[2]["sha256"] != first.rows[2]["sha256"]


def test_a_second_run_on_the_same_folder_at_the_same_time_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    with RecordLog(tmp_path / "out"):
        with pytest.raises(OutputError, match="another nanomorph batch is writing"):
            RecordLog(tmp_path / "out")


def test_a_full_disk_stops_the_run_and_keeps_what_was_recorded(tmp_path, monkeypatch):
    make_images(tmp_path / "images", 6)
    out = tmp_path / "out"
    free_disk = record_log_fills_after(monkeypatch, 3)
    with pytest.raises(OutputError) as caught:
        run([tmp_path / "images"], out, images_per_task=1)
    assert "the disk is full" in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.path == str(out / LOG_FILE)
    free_disk()
    resumed = run([tmp_path / "images"], out, images_per_task=1)
    assert (resumed.reused, resumed.computed, resumed.counts["ok"]) == (3, 3, 6)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs (root only; skips where mounting is not permitted); yields its folder
    and a function that grows it to 16 MiB."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                           capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip() or 'not permitted'}")

    def grow():
        subprocess.run(["mount", "-o", "remount,size=16m", str(folder)], check=True)

    try:
        yield folder, grow
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_really_full_disk_stops_the_run_and_a_run_with_space_completes(tmp_path, tiny_disk):
    folder, grow = tiny_disk
    make_images(tmp_path / "images", 24, (128, 128))
    out = folder / "out"
    config = BatchConfig(write_overlays=True)
    with pytest.raises(OutputError, match="the disk is full"):
        run([tmp_path / "images"], out, config, images_per_task=1)
    with RecordLog(out) as log:
        recorded = len(log)
    assert 0 < recorded < 24
    grow()
    resumed = run([tmp_path / "images"], out, config, images_per_task=1)
    assert resumed.reused == recorded and resumed.counts["ok"] == 24
    assert all((out / r["overlay_file"]).is_file() for r in resumed.rows)


def test_the_log_keeps_where_rows_are_and_reads_them_back(tmp_path):
    """A run's rows are read back from the record log when asked: the log holds offsets, not
    rows (a 100,000-frame run held every row three times over before)."""
    from nanomorph.batch.results import RunRows

    (tmp_path / "out").mkdir()
    rows = [{"path": f"/i{i}.png", "status": "ok", "percolates": i % 2 == 0, "eps": 2.5 * i}
            for i in range(3)]
    files = [[(f"/i{i}.png", 10 + i, 123, f"{i:064x}")] for i in range(3)]
    failed = {"path": "/bad.png", "status": "error", "error": "truncated"}
    with RecordLog(tmp_path / "out") as log:
        keys = log.add("cfg", [(rows[0], files[0]), (failed, []), (rows[1], files[1])])
        more = log.add("cfg", [(rows[2], files[2])])
        assert keys[1] is None and len(log) == 3
        assert [log.row(k) for k in (keys[0], keys[2], more[0])] == rows
        entries = [log.place(keys[0]), failed, log.place(more[0]), log.place(keys[2])]
    with RecordLog(tmp_path / "out") as log:  # reopened: the same places
        assert [log.place(k) for k in (keys[0], more[0], keys[2])] == [entries[0], *entries[2:]]
    shared = {"params": "{}"}
    table = RunRows(tmp_path / "out" / LOG_FILE, entries, shared)
    expected = [{**rows[0], **shared}, {**failed, **shared}, {**rows[2], **shared},
                {**rows[1], **shared}]
    assert len(table) == 4 and list(table) == expected
    assert table[3] == expected[3] and table[1:3] == expected[1:3]


def test_tables_written_a_row_group_at_a_time_equal_the_whole_table(tmp_path, monkeypatch):
    """Streaming the tables gives what pyarrow infers from the whole column (ints with floats
    are floats, an all-empty column is null) and the same CSV text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from nanomorph.batch import results
    from nanomorph.io.atomic import csv_text

    rows = [{"path": f"/a{i}.tif", "sha256": None if i == 2 else "ab", "status": "ok",
             "eps": 2 if i < 4 else 2.5, "percolates": i % 3 == 0, "note": None,
             **({"frame": i} if i > 3 else {}), "params": "{}"} for i in range(7)]
    monkeypatch.setattr(results, "TABLE_BATCH_ROWS", 3)
    csv_path, parquet_path = results.write_tables(tmp_path, rows)
    columns = ["path", "sha256", "status", "eps", "percolates", "note", "frame", "params"]
    full = [{c: row.get(c) for c in columns} for row in rows]
    streamed = pq.read_table(parquet_path)
    assert streamed.schema == pa.Table.from_pylist(full).schema
    assert streamed.to_pylist() == pa.Table.from_pylist(full).to_pylist()
    assert pq.ParquetFile(parquet_path).metadata.num_row_groups == 3
    assert csv_path.read_text() == csv_text(full, columns)
