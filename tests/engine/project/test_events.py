"""The project's change events: each repository says what changed, after the change is saved."""

from __future__ import annotations

import numpy as np
import pytest

from nanomorph.errors import ProjectError
from nanomorph.io.calibration import Calibration
from nanomorph.jobs import run_job
from tests.engine.project.conftest import write_tif


@pytest.fixture
def heard(project):
    """Every event of ``project`` as (signal name, arguments), in order."""
    events = []
    for name in ("images", "masks", "labels", "classes", "models", "results", "settings",
                 "runs"):
        getattr(project.events, name).connect(
            lambda *args, _name=name: events.append((_name, args)))
    return events


def test_each_change_names_what_changed(project, heard, tmp_path):
    a, b, _ = (r.id for r in project.images.all())
    project.masks.save(a, np.zeros((32, 40), np.uint8))
    project.labels.set(b, "network")
    project.labels.set_classes(["network", "bundle"])
    model = project.models.register("classifier", "live", "live.npz", {})
    project.models.save_predictions(model, {a: {"label": "network"}})
    project.results.save(a, "percolation", {}, {"percolates": True}, 1)
    project.settings.set("eps", 2.0)
    run = project.runs.start("demo", {})
    project.runs.finish(run, "done")
    project.images.set_calibration(a, Calibration((2.0, 2.0), "nm", "user"))
    added = run_job(project.images.add([write_tif(tmp_path / "new.tif", seed=9)]))
    assert heard == [
        ("masks", (a, 1)), ("labels", ([b],)), ("classes", ()),
        ("models", ("classifier", "live")), ("models", ("classifier", "live")),
        ("results", ("percolation", [a])), ("settings", ("eps",)),
        ("runs", (run, "running")), ("runs", (run, "done")),
        ("images", ([a],)), ("images", ([added.added[0].id],))]


def test_a_refused_change_emits_nothing(project, heard):
    image = project.images.all()[0].id
    with pytest.raises(ProjectError):
        project.labels.set(image, "no such class")
    assert heard == []


def test_listeners_read_the_new_state(project):
    image = project.images.all()[0].id
    seen = []
    project.events.labels.connect(lambda ids: seen.append(project.labels.all()[ids[0]]))
    project.labels.set(image, "bundle")
    assert seen == ["bundle"]
