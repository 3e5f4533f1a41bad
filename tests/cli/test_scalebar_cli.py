"""``nanomorph scalebar``: the contract's keys, one error line per image without a bar (exit
2, the others go on), ``--apply`` into a project."""

from __future__ import annotations

import json

import pytest
from nanomorph.cli import main
from nanomorph.jobs import run_job
from nanomorph.project import Project

from tests.engine.workflows.test_scalebar import barred_tiff

pytestmark = pytest.mark.slow
KEYS = ["path", "text", "value", "unit", "bar_px", "pixel_size", "pixel_unit", "bbox",
        "confidence"]


def test_json_lines_errors_and_apply(tmp_path, capsys):
    import tifffile
    from nanomorph.synthetic import generate_morphology

    first = tmp_path / "a.tif"
    truth = barred_tiff(first, 2.5, seed=5)
    nobar = tmp_path / "nobar.tif"
    tifffile.imwrite(nobar, generate_morphology("network", shape=(200, 200), seed=1).image)
    with Project.create(tmp_path / "project") as project:
        run_job(project.images.add([first, nobar]))
    code = main(["scalebar", str(first), str(nobar), "--json", "--apply",
                 str(tmp_path / "project")])
    out, err = capsys.readouterr()
    assert code == 2
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 1 and list(lines[0]) == KEYS
    assert lines[0]["pixel_size"] == pytest.approx(truth.pixel_size_nm, rel=0.02)
    assert err.strip().splitlines()[-1] == f"error: {nobar}: no scale bar found"
    with Project.open(tmp_path / "project") as project:
        record = next(r for r in project.images.all() if r.name == "a.tif")
        assert record.calibration.pixel_size[1] == pytest.approx(truth.pixel_size_nm, rel=0.02)
