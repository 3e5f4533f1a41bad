"""A closed step of a large project rebuilds its table when it is opened, not at each change
(EAGER_IMAGES; small projects refresh at once, as every other test shows)."""

from __future__ import annotations

from nanomorph.jobs import run_job
from nanomorph.workflows.percolation import PercolationSettings, analyse_project
from nanomorph.workflows.transfer import import_masks
from napari_nanomorph.launcher import open_path
from napari_nanomorph.widgets import base


def test_a_closed_step_catches_up_when_opened(app, sample_copies, sample_folder, monkeypatch):
    names = ("network_01", "dispersed_01")
    open_path(app.viewer, sample_copies([f"{n}.tif" for n in names]))
    app.wait_jobs()
    monkeypatch.setattr(base, "EAGER_IMAGES", 0)  # as if the project were large
    project = app.session.project
    run_job(import_masks(project, [sample_folder / "masks" / f"{n}_mask.png" for n in names],
                         {"nonzero": 1}))
    app.docks["Workflow"].show_step("Project")
    app.wait_jobs()
    percolation = app.docks["Percolation"]
    before = percolation.table.shown_rows()
    ids = [r.id for r in project.images.all()]
    run_job(analyse_project(project, ids, PercolationSettings(eps=3.0, margin=2.0)))
    app.wait_jobs()
    assert percolation.table.shown_rows() == before  # closed: nothing rebuilt
    assert percolation._deferred
    app.docks["Workflow"].show_step("Percolation")
    assert not percolation._deferred
    assert {row[-1] for row in percolation.table.shown_rows()} == {"ok"}
