"""Hostile command lines: every failure is one ``error:`` line (exit 2 for an input, 1 for a bad
command line), never a traceback; the traceback goes to the log, and to stderr with --debug."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tifffile

from nanomorph.cli import main


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    floats = rng.random((64, 80)).astype(np.float32)
    floats[5:10, 5:10] = np.nan
    floats[20, 20] = np.inf
    tifffile.imwrite(tmp_path / "nan.tif", floats)
    tifffile.imwrite(tmp_path / "ok.tif", (rng.random((64, 80)) * 255).astype(np.uint8))
    tifffile.imwrite(tmp_path / "mask.tif", (rng.random((64, 80)) > 0.5).astype(np.uint8) * 255)
    (tmp_path / "zero_width.tif").write_bytes(_zero_width_tiff())
    return tmp_path


def _zero_width_tiff() -> bytes:
    import io
    import warnings

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tifffile.imwrite(buffer, np.zeros((64, 0), np.uint8))
    return buffer.getvalue()


def test_nan_and_inf_pixels_are_masked(files, capsys):
    code, out, err = run(capsys, "mask", files / "nan.tif", "--out", files / "out")
    assert code == 0 and "nan.tif" in out


def test_a_zero_width_image_is_one_error_line(files, capsys):
    code, _, err = run(capsys, "mask", files / "zero_width.tif", "--out", files / "out")
    assert code == 2 and "zero_width.tif" in one_error_line(err)


@pytest.mark.parametrize("value", ["inf", "1e9", "nan"])
def test_absurd_smoothing_is_a_bad_command_line(files, capsys, value):
    code, _, err = run(capsys, "mask", files / "ok.tif", "--out", files / "out",
                       "--smooth", value)
    assert code == 1 and "error: " in err and "--smooth" in err or "smoothing" in err


def test_a_resize_beyond_memory_is_refused_with_the_estimate(files, capsys):
    code, _, err = run(capsys, "percolate", files / "mask.tif", "--resize", "100000")
    line = one_error_line(err)
    assert code == 2 and "GiB of memory" in line and "mask.tif" in line


@pytest.mark.slow
def test_a_huge_training_patch_is_refused_with_the_estimate(tmp_path, capsys):
    from nanomorph.synthetic.samples import write_samples

    write_samples(tmp_path)
    code, _, err = run(capsys, "segment", "train", tmp_path / "pairs.csv", "--out",
                       tmp_path / "m.pt", "--patch", "100000", "--epochs", "1")
    assert code == 2 and "GiB of memory" in one_error_line(err)


def test_pretrain_out_onto_a_file_or_an_unwritable_folder(files, capsys):
    (files / "a_file").write_text("x")
    images = files / "images"
    images.mkdir()
    for i in range(4):
        tifffile.imwrite(images / f"{i}.tif", np.full((128, 128), i * 40, np.uint8))
    code, _, err = run(capsys, "pretrain", "--images", images, "--out", files / "a_file",
                       "--batch-size", "2", "--epochs", "1")
    assert code == 1 and "is a file, not a folder" in one_error_line(err)
    locked = files / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    if os.geteuid() == 0:
        os.system(f"chattr +i '{locked}' 2>/dev/null")
    try:
        if os.access(locked, os.W_OK) and (locked / "probe").touch() is None:
            (locked / "probe").unlink()
            pytest.skip("cannot make a read-only folder here")
    except OSError:
        pass
    try:
        code, _, err = run(capsys, "pretrain", "--images", images, "--out", locked / "run",
                           "--batch-size", "2", "--epochs", "1")
        assert code == 2 and "cannot be written" in one_error_line(err)
    finally:
        if os.geteuid() == 0:
            os.system(f"chattr -i '{locked}' 2>/dev/null")
        os.chmod(locked, 0o755)


def test_an_unexpected_failure_is_one_line_and_logged(files, capsys, monkeypatch, tmp_path):
    import nanomorph.cli.info as info

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

    def broken(args):
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(info, "run", broken)
    code, _, err = run(capsys, "info", files / "ok.tif")
    line = one_error_line(err)
    assert code == 2 and "internal error (RuntimeError: something nobody foresaw)" in line
    log = line.rsplit("details in ", 1)[1]
    assert "something nobody foresaw" in open(log, encoding="utf-8").read()
    code = main(["--debug", "info", str(files / "ok.tif")])
    assert code == 2 and "Traceback" in capsys.readouterr().err


@pytest.mark.slow
def test_class_names_with_mathtext_characters_make_a_report(tmp_path, capsys):
    from nanomorph.jobs import run_job
    from nanomorph.project import Project
    from nanomorph.synthetic.samples import write_samples

    samples = write_samples(tmp_path / "images")[:8]
    with Project.create(tmp_path / "p") as project:
        added = run_job(project.images.add([s.image_path for s in samples])).added
        project.labels.set_classes(["net$work", "bun_dle^2"])
        for i, record in enumerate(added):
            project.labels.set(record.id, ["net$work", "bun_dle^2"][i % 2])
    code, out, err = run(capsys, "report", tmp_path / "p", "--out", tmp_path / "r.html",
                         "--repeats", "2")
    assert code == 0, err
    assert "net$work" in (tmp_path / "r.html").read_text(encoding="utf-8")
