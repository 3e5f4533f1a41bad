"""``nanomorph mask``: files written, JSON keys, polarity, options, error lines and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nanomorph.cli import main
from nanomorph.errors import display_path
from nanomorph.io.mask_files import read_mask
from nanomorph.masks.overlap import dice
from nanomorph.synthetic import generate_morphology
from tests.support.badfiles import make_bad_files, make_odd_but_valid_files

KEYS = ["path", "mask", "method", "polarity", "foreground_fraction", "seconds"]


@pytest.fixture
def images(tmp_path) -> dict[str, Path]:
    """A TEM-like (dark wires) and an SEM-like (bright wires) PNG with their exact masks."""
    paths = {}
    for contrast, seed in (("tem", 1), ("sem", 2)):
        sample = generate_morphology("network", seed=seed, contrast=contrast)
        paths[contrast] = tmp_path / f"{contrast}.png"
        Image.fromarray(sample.image).save(paths[contrast])
        np.save(tmp_path / f"{contrast}_truth.npy", sample.mask)
    return paths


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_writes_one_png_per_image_and_json_lines_in_input_order(images, tmp_path, capsys):
    out = tmp_path / "masks"
    assert main(["mask", str(images["tem"]), str(images["sem"]), "--out", str(out),
                 "--json"]) == 0
    records = json_lines(capsys.readouterr().out)
    assert [list(r) for r in records] == [KEYS, KEYS]
    assert [r["path"] for r in records] == [str(images["tem"]), str(images["sem"])]
    assert [r["polarity"] for r in records] == ["dark", "bright"]
    assert all(r["method"] == "otsu" and r["seconds"] >= 0 for r in records)
    for record, contrast in zip(records, ("tem", "sem")):
        assert record["mask"] == str(out / f"{contrast}.png")
        mask, _ = read_mask(record["mask"])
        assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
        assert record["foreground_fraction"] == pytest.approx((mask > 0).mean())
        truth = np.load(tmp_path / f"{contrast}_truth.npy")
        assert dice(mask > 0, truth) > 0.75


def test_method_polarity_smoothing_and_min_size_options(images, tmp_path, capsys):
    out = tmp_path / "m"
    args = ["mask", str(images["sem"]), "--out", str(out), "--json", "--method", "ridge",
            "--polarity", "bright", "--smooth", "0.5", "--min-size", "10",
            "--ridge-filter", "meijering"]
    assert main(args) == 0
    (record,) = json_lines(capsys.readouterr().out)
    assert record["method"] == "ridge" and record["polarity"] == "bright"
    truth = np.load(tmp_path / "sem_truth.npy")
    assert dice(read_mask(out / "sem.png")[0] > 0, truth) > 0.6
    assert main(["mask", str(images["sem"]), "--out", str(out), "--json",
                 "--polarity", "dark"]) == 0
    (wrong,) = json_lines(capsys.readouterr().out)
    assert wrong["polarity"] == "dark"
    assert dice(read_mask(out / "sem.png")[0] > 0, truth) < 0.2


def test_readable_line(images, tmp_path, capsys):
    assert main(["mask", str(images["tem"]), "--out", str(tmp_path / "o")]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{images['tem']} -> {tmp_path / 'o' / 'tem.png'}: otsu, dark wires, ")
    assert line.endswith(" s") and "% wire" in line


def test_failing_inputs_are_reported_and_the_others_continue(images, tmp_path, capsys):
    missing = tmp_path / "missing.tif"
    (tmp_path / "empty.png").write_bytes(b"")
    other = tmp_path / "other"
    other.mkdir()
    same_stem = other / "tem.png"
    shutil.copy(images["sem"], same_stem)
    args = [str(missing), str(images["tem"]), str(tmp_path / "empty.png"), str(same_stem)]
    assert main(["mask", *args, "--out", str(tmp_path / "out"), "--json"]) == 2
    out, err = capsys.readouterr()
    assert [r["path"] for r in json_lines(out)] == [str(images["tem"])]
    lines = err.splitlines()
    assert lines[:2] == [f"error: {missing}: no such file",
                         f"error: {tmp_path / 'empty.png'}: the file is empty (0 bytes)"]
    assert lines[2].startswith(f"error: {same_stem}: its mask would be ")
    assert "already the mask of" in lines[2] and len(lines) == 3


def test_bad_files_give_one_line_each_and_odd_valid_ones_are_masked(tmp_path, capsys):
    bad = make_bad_files(tmp_path / "bad")
    good = make_odd_but_valid_files(tmp_path / "good")
    order = [bad["empty"], good["nan"], bad["truncated"], good["non_utf8_name"],
             bad["wrong_extension"], bad["huge_header"]]
    out_dir = tmp_path / "out"
    assert main(["mask", "--json", "--out", str(out_dir), *map(str, order)]) == 2
    out, err = capsys.readouterr()
    records = json_lines(out)
    assert [r["path"] for r in records] == [display_path(good["nan"]),
                                            display_path(good["non_utf8_name"])]
    assert len(list(out_dir.iterdir())) == 2
    errors = err.strip().splitlines()
    for line, name in zip(errors, ("empty", "truncated", "wrong_extension", "huge_header")):
        assert line.startswith(f"error: {bad[name]}: ")
    assert len(errors) == 4


def test_a_mask_never_overwrites_its_image(images, tmp_path, capsys):
    before = images["tem"].read_bytes()
    assert main(["mask", str(images["tem"]), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {images['tem']}: its mask {tmp_path / 'tem.png'} would overwrite the image "
        "itself: choose another --out folder")
    assert images["tem"].read_bytes() == before


def test_stacks_are_refused(tmp_path, capsys):
    import tifffile

    tifffile.imwrite(tmp_path / "s.tif", np.zeros((2, 16, 16), np.uint8),
                     photometric="minisblack")
    assert main(["mask", str(tmp_path / "s.tif"), "--out", str(tmp_path / "o")]) == 2
    assert "holds 2 images" in capsys.readouterr().err


def test_an_output_folder_that_is_a_file_stops_the_command(images, tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["mask", str(images["tem"]), "--out", str(target), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == f"error: {target}: the output folder is a file"


def test_an_unwritable_output_folder_stops_the_command(images, tmp_path, capsys):
    folder = tmp_path / "locked"
    folder.mkdir()
    locked = _make_unwritable(folder)
    try:
        assert main(["mask", str(images["tem"]), "--out", str(folder), "--json"]) == 2
        out, err = capsys.readouterr()
    finally:
        locked()
    assert out == ""
    assert err.startswith(f"error: {folder}: the output folder cannot be written (")
    assert len(err.splitlines()) == 1 and not any(folder.iterdir())


def _make_unwritable(folder: Path):
    """Make ``folder`` unwritable even for root (chattr +i); returns the undo function."""
    folder.chmod(0o555)
    probe = folder / "probe"
    try:
        probe.write_bytes(b"")
    except OSError:
        return lambda: folder.chmod(0o755)
    probe.unlink()
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)],
                                        capture_output=True).returncode != 0:
        folder.chmod(0o755)
        pytest.skip("cannot make a folder unwritable here (root, and chattr +i is not "
                    "available on this file system)")

    def undo():
        subprocess.run([chattr, "-i", str(folder)], check=True)
        folder.chmod(0o755)

    return undo


@pytest.mark.parametrize("args", [
    ["--method", "kmeans"], ["--polarity", "grey"], ["--smooth", "-1"], ["--min-size", "1.5"],
    ["--ridge-filter", "hessian"], [],
])
def test_bad_command_lines_exit_1(images, tmp_path, args, capsys):
    out_args = ["--out", str(tmp_path / "o")] if args else []
    assert main(["mask", str(images["tem"]), *out_args, *args]) == 1
    assert not (tmp_path / "o").exists()


def test_the_info_bar_of_a_real_sem_image_is_background(shared_data, tmp_path, capsys):
    image = shared_data / "tio2_sem_seg" / "images" / "1908248.tif"
    assert main(["mask", str(image), "--out", str(tmp_path), "--json"]) == 0
    (record,) = json_lines(capsys.readouterr().out)
    assert record["polarity"] == "bright"
    mask, _ = read_mask(record["mask"])
    truth, _ = read_mask(shared_data / "tio2_sem_seg" / "masks" / "1908248.tif")
    assert mask.shape == (768, 1024) and not mask[-56:].any()
    assert dice(mask > 0, truth > 0) > 0.85
