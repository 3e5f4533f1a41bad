"""Golden outputs: the CLI's JSON for ``info``, ``percolate``, ``mask``, ``classify evaluate`` and
``segment evaluate`` on the bundled samples, compared with the files in ``tests/cli/golden``.

The golden files were written by the engine before it was reorganised into layers (issue 12);
any later change to these numbers or keys is a change of behaviour and must be deliberate:
rewrite them with ``NANOMORPH_UPDATE_GOLDEN=1 pytest tests/cli/test_golden.py`` and say why in
the commit. Timing keys (``seconds``) are dropped; the samples' temporary folder is written as
``<samples>``. A segmenter trained here differs in the fifth decimal from one CPU to another (torch
picks its kernels by the instruction set), so its scores are compared to 1e-4.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from nanomorph.cli import main
from nanomorph.synthetic.samples import LABELS_CSV, write_samples

pytestmark = pytest.mark.slow  # embeds 24 images and trains one short segmentation epoch

GOLDEN = Path(__file__).parent / "golden"
TIMING_KEYS = {"seconds"}
SEGMENT_FAST = ["--epochs", "1", "--patch", "128", "--batch-size", "4", "--threads", "2",
                "--device", "cpu", "--seed", "0"]


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("golden-samples")
    written = write_samples(folder)
    return folder, written


def _normalise(value, folder: str):
    if isinstance(value, dict):
        return {k: _normalise(v, folder) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_normalise(v, folder) for v in value]
    if isinstance(value, str):
        return value.replace(folder, "<samples>")
    return value


def _run(capsys, folder: Path, *args) -> str:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    return "".join(json.dumps(_normalise(obj, str(folder)), sort_keys=False) + "\n"
                   for obj in lines)


def _check(name: str, text: str, tolerance: float = 0.0) -> None:
    path = GOLDEN / f"{name}.jsonl"
    if os.environ.get("NANOMORPH_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {path}: run with NANOMORPH_UPDATE_GOLDEN=1"
    golden = path.read_text(encoding="utf-8")
    if tolerance:
        assert [json.loads(line) for line in text.splitlines()] == [
            _approx(json.loads(line), tolerance) for line in golden.splitlines()], name
    else:
        assert text == golden, f"{name}: output differs from {path}"


def _approx(value, tolerance: float):
    """``value`` with each float as ``pytest.approx`` within ``tolerance`` (absolute)."""
    if isinstance(value, dict):
        return {k: _approx(v, tolerance) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx(v, tolerance) for v in value]
    if isinstance(value, float):
        return pytest.approx(value, abs=tolerance)
    return value


def test_info_is_unchanged(samples, capsys):
    folder, written = samples
    _check("info", _run(capsys, folder, "info", "--json", *(s.image_path for s in written)))


def test_percolate_is_unchanged(samples, capsys):
    folder, written = samples
    masks = [s.mask_path for s in written]
    _check("percolate", _run(capsys, folder, "percolate", "--json", *masks)
           + _run(capsys, folder, "percolate", "--json", "--method", "dbscan", "--resize", "224",
                  *masks[:6]))


def test_mask_is_unchanged(samples, capsys):
    folder, written = samples
    images = [s.image_path for s in written]
    text = (_run(capsys, folder, "mask", "--json", "--out", folder / "otsu", *images)
            + _run(capsys, folder, "mask", "--json", "--method", "ridge", "--out",
                   folder / "ridge", *images[:8]))
    digests = "".join(f"{p.parent.name}/{p.name} {hashlib.sha256(p.read_bytes()).hexdigest()}\n"
                      for p in sorted([*folder.glob("otsu/*.png"), *folder.glob("ridge/*.png")]))
    _check("mask", text + digests)


def test_classify_evaluate_is_unchanged(samples, capsys, tmp_path):
    folder, _ = samples
    _check("classify_evaluate",
           _run(capsys, folder, "classify", "evaluate", folder / LABELS_CSV, "--json",
                "--k", "1,2,4", "--repeats", "5", "--device", "cpu", "--cache", tmp_path))


def test_segment_evaluate_is_unchanged(samples, capsys, tmp_path):
    folder, written = samples
    pairs = folder / "train.csv"
    pairs.write_text("image,mask\n" + "".join(
        f"{s.image_path.name},masks/{s.mask_path.name}\n" for s in written[::3]))
    model = tmp_path / "golden.segmenter"
    assert main(["segment", "train", str(pairs), "--out", str(model), *SEGMENT_FAST]) == 0
    capsys.readouterr()
    _check("segment_evaluate",
           _run(capsys, folder, "segment", "evaluate", model, folder / "pairs.csv", "--json"),
           tolerance=1e-4)
