"""`nanomorph segment train|predict|evaluate` on the bundled synthetic samples: files written,
the evaluate JSON contract (exact keys), error lines, exit codes, and Ctrl-C during training."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import tifffile

from nanomorph.cli import main
from nanomorph.io.mask_files import read_mask, write_mask_png
from nanomorph.synthetic.samples import write_samples

pytestmark = pytest.mark.slow  # trains Lite0's decoder for one short epoch (10-30 s on a CPU)

EVALUATE_KEYS = ["n_images", "dice_mean", "iou_mean", "per_image"]
PER_IMAGE_KEYS = ["image", "dice", "iou"]
FAST = ["--epochs", "1", "--patch", "128", "--batch-size", "4", "--threads", "2",
        "--device", "cpu"]


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """Four TEM/SEM samples (0/255 masks) and a PAIRS.csv with paths relative to it."""
    folder = tmp_path_factory.mktemp("samples")
    written = [s for s in write_samples(folder) if s.name.endswith(("_01", "_02"))][:4]
    pairs = folder / "four.csv"
    pairs.write_text("image,mask\n" + "".join(
        f"{s.image_path.name},masks/{s.mask_path.name}\n" for s in written))
    return folder, written, pairs


@pytest.fixture(scope="module")
def model(samples, tmp_path_factory):
    _, _, pairs = samples
    path = tmp_path_factory.mktemp("model") / "wires.segmenter"
    assert main(["segment", "train", str(pairs), "--out", str(path), *FAST]) == 0
    return path


def run(capsys, *args):
    code = main(["segment", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_writes_one_model_file(model):
    assert model.is_file() and model.stat().st_size > 10_000
    assert list(model.parent.iterdir()) == [model]


def test_predict_writes_labels_and_probabilities(samples, model, tmp_path, capsys):
    _, written, _ = samples
    paths = [s.image_path for s in written[:2]]
    code, out, err = run(capsys, "predict", model, *paths, "--out", tmp_path / "out",
                         "--device", "cpu")
    assert code == 0 and err == ""
    assert [line.split(" -> ")[0] for line in out.splitlines()] == [str(p) for p in paths]
    for path in paths:
        labels, _ = read_mask(tmp_path / "out" / f"{path.stem}.png")
        probability = tifffile.imread(tmp_path / "out" / f"{path.stem}_prob.tif")
        assert labels.shape == probability.shape == (384, 384)
        assert set(np.unique(labels)) <= {0, 255} and probability.dtype == np.uint8
        assert np.array_equal(labels == 255, probability > 127) or \
            np.mean((labels == 255) != (probability > 127)) < 0.001  # ties at 0.5 only


def test_predict_reports_failed_images_and_goes_on(samples, model, tmp_path, capsys):
    _, written, _ = samples
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"not a tiff")
    good = written[0].image_path
    code, out, err = run(capsys, "predict", model, tmp_path / "absent.tif", good, broken,
                         "--out", tmp_path / "out")
    assert code == 2
    assert len(out.splitlines()) == 1 and out.startswith(str(good))
    lines = err.splitlines()
    assert lines[0] == f"error: {tmp_path / 'absent.tif'}: no such file"
    assert lines[1].startswith(f"error: {broken}: ") and len(lines) == 2


def test_evaluate_prints_one_object_with_the_contract_keys(samples, model, capsys):
    _, written, pairs = samples
    code, out, err = run(capsys, "evaluate", model, pairs, "--json", "--device", "cpu")
    assert code == 0 and err == ""
    assert len(out.splitlines()) == 1
    result = json.loads(out)
    assert list(result) == EVALUATE_KEYS and result["n_images"] == 4
    assert [list(r) for r in result["per_image"]] == [PER_IMAGE_KEYS] * 4
    assert [r["image"] for r in result["per_image"]] == [str(s.image_path) for s in written]
    assert result["dice_mean"] == pytest.approx(np.mean([r["dice"] for r in result["per_image"]]))
    assert all(0 <= r["iou"] <= r["dice"] <= 1 for r in result["per_image"])
    assert result["dice_mean"] > 0.3  # one short epoch: well above chance for thin wires


def test_evaluate_goes_on_past_a_missing_image(samples, model, tmp_path, capsys):
    folder, written, _ = samples
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"image,mask\n{folder}/absent.tif,{written[0].mask_path}\n"
                     f"{written[0].image_path},{written[0].mask_path}\n")
    code, out, err = run(capsys, "evaluate", model, pairs, "--json")
    assert code == 2 and err == f"error: {folder}/absent.tif: no such file\n"
    assert json.loads(out)["n_images"] == 1


def test_bad_command_lines_exit_1(samples, model, capsys):
    _, _, pairs = samples
    assert run(capsys, "evaluate", model, pairs, "--foreground", "wire")[0] == 1
    assert run(capsys, "train", pairs)[0] == 1  # no --out
    assert run(capsys, "train", pairs, "--out", "m", "--patch", "16")[0] == 1
    assert run(capsys, "train", pairs, "--out", "m", "--encoder", "nope")[0] == 1


def test_a_file_that_is_no_segmenter_is_refused(samples, tmp_path, capsys):
    _, written, pairs = samples
    code, _, err = run(capsys, "predict", pairs, written[0].image_path, "--out", tmp_path)
    assert code == 2 and err.startswith(f"error: {pairs}: ") and len(err.splitlines()) == 1
    code, _, err = run(capsys, "evaluate", written[0].mask_path, pairs, "--json")
    assert code == 2 and "not a nanomorph segmenter file" in err or "cannot read" in err


def test_train_refuses_masks_without_foreground_and_of_another_size(samples, tmp_path, capsys):
    folder, written, _ = samples
    empty, small = tmp_path / "empty.png", tmp_path / "small.png"
    write_mask_png(empty, np.zeros((384, 384), bool))
    write_mask_png(small, np.ones((100, 100), bool))
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"image,mask\n{written[0].image_path},{empty}\n"
                     f"{written[1].image_path},{small}\n")
    code, _, err = run(capsys, "train", pairs, "--out", tmp_path / "m", *FAST)
    assert code == 2 and not (tmp_path / "m").exists()
    lines = err.splitlines()
    assert lines[0] == (f"error: {small}: the mask is 100 × 100 pixels but its image is "
                        "384 × 384: a mask must have the image's size")
    assert lines[1].startswith(f"error: {empty}: the mask has no foreground")


def test_ctrl_c_saves_the_best_model_so_far(samples, tmp_path, capsys, monkeypatch):
    import nanomorph.segment.train as train_module

    original = train_module.train_segmenter

    def interrupted_after_the_first_epoch(*args, **kwargs):
        job = original(*args, **kwargs)
        while True:
            try:
                event = next(job)
            except StopIteration as stop:
                return stop.value
            if event.payload is not None:
                os.kill(os.getpid(), signal.SIGINT)
            yield event

    monkeypatch.setattr(train_module, "train_segmenter", interrupted_after_the_first_epoch)
    _, _, pairs = samples
    handler = signal.getsignal(signal.SIGINT)
    target = tmp_path / "interrupted.segmenter"
    code, out, err = run(capsys, "train", pairs, "--out", target,
                         *[a if a != "1" else "5" for a in FAST])
    assert code == 130 and target.is_file()
    assert "stopping after this batch" in err
    assert "best epoch 1 of 1" in out and "(cancelled, " in out
    assert signal.getsignal(signal.SIGINT) is handler


def test_a_group_column_adds_per_group_means(samples, model, capsys):
    folder, written, _ = samples
    pairs = folder / "grouped.csv"
    runs = ["run-a", "run-b", "run-a", "run-b"]
    pairs.write_text("image,mask,group\n" + "".join(
        f"{s.image_path.name},masks/{s.mask_path.name},{g}\n" for s, g in zip(written, runs)))
    code, out, _ = run(capsys, "evaluate", model, pairs, "--json", "--device", "cpu")
    result = json.loads(out)
    assert code == 0 and list(result) == [*EVALUATE_KEYS, "per_group"]
    assert [list(g) for g in result["per_group"]] == [["group", "n_images", "dice_mean",
                                                      "iou_mean"]] * 2
    dice = [r["dice"] for r in result["per_image"]]
    assert [(g["group"], g["n_images"]) for g in result["per_group"]] == [("run-a", 2),
                                                                         ("run-b", 2)]
    assert result["per_group"][0]["dice_mean"] == pytest.approx((dice[0] + dice[2]) / 2)
    pairs.write_text("image,mask,group\n" + "".join(
        f"{s.image_path.name},masks/{s.mask_path.name},{g}\n"
        for s, g in zip(written, ["run-a", "", "run-a", "run-b"])))
    code, out, err = run(capsys, "evaluate", model, pairs, "--json")
    assert code == 2 and out == ""
    assert err == f"error: {pairs}: line 3 has no group (the group column must be filled on " \
                  "every line)\n"
