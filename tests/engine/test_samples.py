"""The bundled sample project: recipe, calibrated TIFFs, exact masks, CSVs, determinism."""

from __future__ import annotations

import csv
import json
from collections import Counter
from importlib import resources

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from nanomorph.errors import InvalidParameterError
from nanomorph.synthetic.samples import MASK_FOREGROUND, generate_sample, load_recipe, write_samples
from nanomorph.synthetic import MORPHOLOGIES


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    dest = tmp_path_factory.mktemp("samples")
    return dest, write_samples(dest)


def read_pixel_size_nm(path) -> tuple[float, float, str]:
    """(y, x) pixel size in nm from a TIFF's X/YResolution and its ImageJ unit."""
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        unit = tif.imagej_metadata["unit"]
        sizes = []
        for tag in ("YResolution", "XResolution"):
            numerator, denominator = tags[tag].value
            sizes.append(denominator / numerator * {"um": 1e3, "nm": 1.0}[unit])
    return sizes[0], sizes[1], unit


def test_recipe_loads_through_importlib_resources():
    recipe = load_recipe()
    raw = json.loads((resources.files("nanomorph_resources") / "samples" / "recipe.json").read_text())
    assert recipe == raw
    assert tuple(recipe["shape"]) in ((384, 384), (512, 512))
    assert Counter(item["morphology"] for item in recipe["items"]) == {m: 6 for m in MORPHOLOGIES}
    for morphology in MORPHOLOGIES:
        items = [i for i in recipe["items"] if i["morphology"] == morphology]
        assert {i["contrast"] for i in items} == {"tem", "sem"}


def test_write_samples_writes_every_item_with_its_calibration(written):
    dest, samples = written
    recipe = load_recipe()
    assert [s.name for s in samples] == [i["name"] for i in recipe["items"]]
    for sample, item in zip(samples, recipe["items"]):
        assert sample.image_path == dest / f"{item['name']}.tif"
        assert sample.mask_path == dest / "masks" / f"{item['name']}_mask.png"
        py, px, unit = read_pixel_size_nm(sample.image_path)
        assert unit == "um"
        assert py == pytest.approx(item["pixel_size_nm"], rel=1e-6)
        assert px == pytest.approx(item["pixel_size_nm"], rel=1e-6)
        assert tifffile.imread(sample.image_path).shape == tuple(recipe["shape"])


def test_masks_are_lossless_and_match_the_generated_truth(written):
    _, samples = written
    for sample in samples[::5]:
        truth = generate_sample(sample.name)
        mask = iio.imread(sample.mask_path)
        assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, MASK_FOREGROUND}
        np.testing.assert_array_equal(mask == MASK_FOREGROUND, truth.mask == 1)
        np.testing.assert_array_equal(tifffile.imread(sample.image_path), truth.image)
        assert sample.foreground_fraction == pytest.approx(truth.foreground_fraction)


def test_samples_csv_is_a_labels_csv_and_pairs_csv_a_pairs_csv(written):
    dest, samples = written
    with open(dest / "samples.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["path", "label", "group"]
    assert [(r["path"], r["label"], r["group"]) for r in rows] == [
        (f"{s.name}.tif", s.label, s.name) for s in samples]
    assert all((dest / r["path"]).is_file() for r in rows)
    with open(dest / "pairs.csv", newline="") as file:
        pairs = list(csv.DictReader(file))
    assert [(p["image"], p["mask"]) for p in pairs] == [
        (f"{s.name}.tif", f"masks/{s.name}_mask.png") for s in samples]


def test_writing_twice_gives_byte_identical_files(written, tmp_path):
    dest, samples = written
    write_samples(tmp_path)
    for name in ["samples.csv", "pairs.csv"] + [f"{s.name}.tif" for s in samples] + [
            f"masks/{s.name}_mask.png" for s in samples]:
        assert (tmp_path / name).read_bytes() == (dest / name).read_bytes(), name


def test_a_custom_recipe_and_its_errors(tmp_path):
    recipe = {"seed": 5, "shape": [64, 96], "items": [
        {"name": "net", "morphology": "network", "seed": 1, "contrast": "sem", "pixel_size_nm": 3.3}]}
    (sample,) = write_samples(tmp_path, recipe)
    assert tifffile.imread(sample.image_path).shape == (64, 96)
    assert read_pixel_size_nm(sample.image_path)[1] == pytest.approx(3.3, rel=1e-6)
    bad = {**recipe, "items": [{**recipe["items"][0], "morphology": "spaghetti"}]}
    with pytest.raises(InvalidParameterError, match="spaghetti"):
        write_samples(tmp_path, bad)
    with pytest.raises(InvalidParameterError, match="no sample named"):
        generate_sample("nope", recipe)
