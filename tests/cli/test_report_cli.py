"""``nanomorph report``: writes one HTML file; a source that is neither project nor results
folder is one error line and exit code 2."""

from __future__ import annotations

from nanomorph.cli import main
from tests.engine.test_batch import make_images


def test_report_of_a_results_folder(tmp_path, capsys):
    make_images(tmp_path / "images", 3)
    assert main(["batch", str(tmp_path / "images"), "--out", str(tmp_path / "out"),
                 "--workers", "0"]) == 0
    capsys.readouterr()
    code = main(["report", str(tmp_path / "out"), "--out", str(tmp_path / "report.html")])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out == f"report: {tmp_path / 'report.html'}\n"
    assert (tmp_path / "report.html").read_text("utf-8").startswith("<!DOCTYPE html>")


def test_a_source_that_is_neither_exits_2_with_one_line(tmp_path, capsys):
    code = main(["report", str(tmp_path), "--out", str(tmp_path / "report.html")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith(f"error: {tmp_path}: ")
    assert not (tmp_path / "report.html").exists()
