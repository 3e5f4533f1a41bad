"""The transfer workflow: importing mask files with a value mapping, exporting masks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nanomorph.errors import InvalidParameterError
from nanomorph.jobs import run_job
from nanomorph.workflows.transfer import (
    apply_mapping,
    export_masks,
    format_value_mapping,
    import_masks,
    parse_value_mapping,
    survey_mask_values,
)
from tests.engine.workflows.conftest import ids_by_name


def test_mappings_are_parsed_or_refused_with_an_example():
    assert parse_value_mapping("127:1, 255:2") == {127: 1, 255: 2}
    assert parse_value_mapping("nonzero:1") == {"nonzero": 1}
    for bad in ("127", "nonzero:1, 255:2", "1:300", ""):
        with pytest.raises(InvalidParameterError):
            parse_value_mapping(bad)
    labels = apply_mapping(np.array([[0, 127, 255, 3]]), {127: 1, 255: 2})
    assert labels.tolist() == [[0, 1, 2, 0]] and labels.dtype == np.uint8


def test_a_survey_maps_each_value_to_its_own_label(tmp_path):
    two = np.zeros((20, 20), np.uint8)
    two[:5], two[-5:] = 127, 255
    Image.fromarray(two).save(tmp_path / "a_mask.png")
    Image.fromarray(np.where(two == 255, 255, 0).astype(np.uint8)).save(tmp_path / "b_mask.png")
    (tmp_path / "broken_mask.png").write_bytes(b"not a png")
    survey = run_job(survey_mask_values(sorted(tmp_path.glob("*.png"))))
    assert survey.pixels == {0: 200 + 300, 127: 100, 255: 200}
    assert survey.files == {0: 2, 127: 1, 255: 2}
    assert [p.rsplit("/", 1)[-1] for p, _ in survey.failed] == ["broken_mask.png"]
    mapping = survey.default_mapping()
    assert mapping == {127: 1, 255: 2}  # the droplet class no longer merges into the wire
    assert parse_value_mapping(format_value_mapping(mapping)) == mapping


def test_instance_masks_default_to_nonzero(tmp_path):
    instances = np.arange(400, dtype=np.uint16).reshape(20, 20) % 40
    Image.fromarray(instances.astype(np.uint8)).save(tmp_path / "cells_mask.png")
    survey = run_job(survey_mask_values([tmp_path / "cells_mask.png"]))
    assert len(survey.pixels) == 40 and survey.default_mapping() == {"nonzero": 1}


def test_masks_are_matched_by_stem_and_mapped(project, tmp_path):
    ids = ids_by_name(project)
    shape = project.images.get(ids["network_01.tif"]).shape
    values = np.zeros(shape, np.uint8)
    values[:10] = 127
    values[-10:] = 255
    Image.fromarray(values).save(tmp_path / "network_01_mask.png")
    Image.fromarray(values[:5]).save(tmp_path / "network_02.png")
    Image.fromarray(values).save(tmp_path / "unknown_mask.png")
    result = run_job(import_masks(project, sorted(tmp_path.glob("*.png")), {127: 1, 255: 2}))
    assert [name for name, _ in result.imported] == ["network_01.tif"]
    reasons = dict((p.rsplit("/", 1)[-1], r) for p, r in result.failed)
    assert "px but" in reasons["network_02.png"] and "no project image" in reasons[
        "unknown_mask.png"]
    stored = project.masks.read(ids["network_01.tif"])
    assert (stored[:10] == 1).all() and (stored[-10:] == 2).all()
    assert project.masks.versions(ids["network_01.tif"])[-1]["source"] == "import"


def test_export_writes_every_latest_mask(project, tmp_path):
    count = run_job(export_masks(project, tmp_path / "out"))
    assert count == 24
    written = np.asarray(Image.open(tmp_path / "out" / "network_01_mask.png"))
    truth = project.masks.read(ids_by_name(project)["network_01.tif"])
    np.testing.assert_array_equal(written > 0, truth > 0)
