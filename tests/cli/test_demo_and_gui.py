"""`nanomorph demo` (headless) and the argument handling of `nanomorph [gui] [PATH]`."""

from __future__ import annotations

import json

import pytest

from nanomorph.cli import main


def test_demo_runs_every_step_and_writes_a_summary(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    read = summary["steps"]["read"]
    assert read["images"] == 24 and read["formats"] == ["TIFF (ImageJ)"]
    labels = summary["steps"]["labels_and_masks"]
    assert labels["labelled_per_class"] == {"bundle": 2, "dispersed": 2, "network": 2,
                                            "singular": 2}
    assert labels["masks"] == 24 and 0 < labels["wire_fraction"]["min"] < 0.3
    assert summary["steps"]["percolation"]["percolating_by_class"] == {
        "bundle": "0/6", "dispersed": "0/6", "network": "6/6", "singular": "0/6"}
    assert min(summary["steps"]["auto_mask"]["dice_by_class"].values()) > 0.6
    classify = summary["steps"]["classify"]
    assert classify["labelled"] == 8 and classify["predicted"] == 16
    assert classify["accuracy"] >= 0.75
    segment = summary["steps"]["segment"]
    assert segment["trained_on"] == 8 and segment["predicted"] == 16
    assert segment["dice"] > 0.65 and segment["model"].endswith(".pt")
    report = summary["steps"]["report"]
    assert report["bytes"] > 10_000
    assert "<html" in (tmp_path / "report.html").read_text(encoding="utf-8")[:500].lower()
    assert str(tmp_path / "summary.json") in out
    # a second run reuses the finished sample project
    assert main(["demo", "--out", str(tmp_path)]) == 0


def test_gui_without_a_display_says_so(monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["gui"]) == 1
    assert "no display" in capsys.readouterr().err


def test_gui_with_a_missing_path_fails_like_every_command(tmp_path, capsys):
    missing = tmp_path / "nothing-here"
    assert main([str(missing)]) == 2  # `nanomorph PATH` means `nanomorph gui PATH`
    assert capsys.readouterr().err.strip() == f"error: {missing}: no such file or folder"


@pytest.mark.parametrize("options, message", [
    (["--frame-interval", "2"], "--frame-interval gives the times of --numbered-frames folders "
                                "(a movie file's own interval is read from it)"),
    (["--numbered-frames"], "--numbered-frames needs PATH, a folder of numbered frames"),
])
def test_gui_frames_options_without_a_folder_of_frames_exit_1(tmp_path, capsys, options,
                                                               message):
    image = tmp_path / "a.png"
    image.write_bytes(b"")
    assert main(["gui", str(image), *options]) == 1
    assert capsys.readouterr().err.strip() == f"error: {message}"


def test_a_bad_command_line_exits_1(capsys):
    assert main(["info", "--no-such-option"]) == 1
