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
    import_masks,
    parse_value_mapping,
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
