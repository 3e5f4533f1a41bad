"""The Explore step on the sample project: clusters on the classifier's embeddings, similar
images, a cluster labelled after its review and the labels it replaced brought back."""

from __future__ import annotations

import pytest

from nanomorph.jobs import run_job
from nanomorph.workflows.sample_project import prepare_sample_project
from napari_nanomorph.launcher import open_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample_project(tmp_path_factory):
    return run_job(prepare_sample_project(tmp_path_factory.mktemp("sample") / "project"))


@pytest.fixture
def explore(app, sample_project, tmp_path):
    import shutil

    folder = tmp_path / "project"
    shutil.copytree(sample_project, folder)
    open_path(app.viewer, folder)
    app.wait_jobs(120000)
    return app, app.docks["Explore"]


def test_cluster_find_similar_label_and_undo(explore):
    app, dock = explore
    project = app.session.project
    dock.n_clusters.setValue(4)
    dock.cluster()
    app.wait_jobs(120000)
    ids, clustering = dock.clustering
    assert clustering.n_clusters == 4 and len(ids) == 24
    assert dock.table.rowCount() == 24
    assert "4 clusters" in dock.summary.text() and "NMI" in dock.summary.text()
    assert dock.chosen_cluster.count() == 4
    app.qtbot.waitUntil(lambda: dock.map.idle and dock.map.extra is not None, timeout=60000)
    assert not dock.map.isHidden() and len(dock.map.extra) == 24
    x, y = dock.map.extra[5]
    dock._map_clicked(float(x), float(y))  # a click on a point opens its image
    assert app.session.current.id == ids[5]
    dock.chosen_cluster.setCurrentIndex(1)
    app.wait_jobs()
    grid = [dock.grid.item(r) for r in range(dock.grid.count())]
    assert [item.data(256) for item in grid] == dock.cluster_members(1)  # Qt.UserRole
    assert all(not item.icon().isNull() for item in grid)  # thumbnails arrived

    app.session.set_current(project.images.get(ids[0]))
    app.wait_jobs()
    dock.top.setValue(5)
    dock.find_similar()
    app.wait_jobs()
    assert len(dock.similar) == 5 and ids[0] not in dock.similar
    app.wait_jobs()
    grid = [dock.grid.item(r) for r in range(dock.grid.count())]
    assert [item.data(256) for item in grid] == list(dock.similar)  # most similar first
    assert grid[0].text().endswith(f"{max(dock.similar.values()):.3f}")
    shown = dock.table.shown_rows()
    assert [row[3] for row in shown[:5]] == sorted((round(s, 3) for s in dock.similar.values()),
                                                   reverse=True)

    before = project.labels.all()
    members = dock.cluster_members(0)
    asked = []
    dock.confirm = lambda question: asked.append(question) or True
    dock.chosen_cluster.setCurrentIndex(0)
    dock.target_class.setCurrentText("bundle")
    dock.label_cluster()
    assert f"Label {len(members)} images as “bundle”?" in asked[0]
    after = project.labels.all()
    assert all(after[i] == "bundle" for i in members)
    assert dock.undo_button.isEnabled()
    dock.undo()
    assert project.labels.all() == before and not dock.undo_button.isEnabled()


def test_declining_the_review_changes_nothing_and_too_many_clusters_is_one_message(
        explore, monkeypatch):
    import napari_nanomorph.jobrunner as jobrunner

    app, dock = explore
    project = app.session.project
    dock.cluster()  # auto
    app.wait_jobs(120000)
    before = project.labels.all()
    dock.confirm = lambda question: False
    dock.label_cluster()
    assert project.labels.all() == before and not dock.undo_button.isEnabled()
    shown = []
    monkeypatch.setattr(jobrunner, "show_error", shown.append)
    dock.n_clusters.setValue(50)
    dock.cluster()
    app.wait_jobs()
    assert len(shown) == 1 and "50 clusters asked of 24 images" in shown[0]


def test_class_and_percolation_disagreements_are_listed(explore):
    from nanomorph.workflows.consistency import class_connectivity

    app, dock = explore
    project = app.session.project
    app.docks["Percolation"].run_all()
    app.wait_jobs(120000)
    dock.list_disagreements()
    flags = dock.flags
    labelled = project.labels.all()
    assert set(labelled) <= set(flags)
    verdicts = {i: r["result"]["percolates"]
                for i, r in project.results.of_kind("percolation").items()}
    for image_id, flag in flags.items():
        wanted = class_connectivity(project)[flag["class"]]
        expected = "unknown" if wanted is None else (
            "ok" if verdicts[image_id] == wanted else "disagrees")
        assert flag["flag"] == expected
    assert "Class ↔ connectivity" in dock.summary.text()
    # networks expected not to percolate: those that do now disagree, and only they are listed
    grid = dock.expectations_grid
    combos = {grid.itemAt(i - 1).widget().text(): grid.itemAt(i).widget()
              for i in range(1, grid.count(), 2)}
    combos["network"].setCurrentText("does not")
    assert class_connectivity(project)["network"] is False
    disagreeing = {i for i, f in dock.flags.items() if f["flag"] == "disagrees"}
    assert disagreeing == {i for i, f in dock.flags.items()
                           if f["class"] == "network" and verdicts[i]}
    assert disagreeing  # the sample's networks percolate
    shown = dock.table.shown_rows()
    assert len(shown) == len(disagreeing) and {row[5] for row in shown} == {"disagrees"}
    table = app.docks["Classify"].table  # follows the project's change events
    app.qtbot.waitUntil(lambda: sum(row[5] == "disagrees" for row in table.shown_rows())
                        == len(disagreeing), timeout=5000)


def test_images_like_a_drawn_box(explore, monkeypatch):
    import numpy as np

    from napari_nanomorph.layers import find_layer

    app, dock = explore
    project = app.session.project
    record = next(r for r in project.images.all() if r.name.startswith("network"))
    app.session.set_current(record)
    app.wait_jobs(120000)
    dock.find_like_box()  # the first click makes the layer
    layer = find_layer(app.viewer, "query box")
    assert layer is not None and layer.mode == "add_rectangle"
    layer.add_rectangles(np.array([[20, 20], [200, 220]]))
    dock.top.setValue(6)
    dock.find_like_box()
    app.wait_jobs(120000)
    assert len(dock.similar) == 6
    scores = list(dock.similar.values())
    assert all(-1 <= s <= 1 for s in scores)
    layer.data = [np.array([[5, 5], [10, 10], [10, 5], [5, 10]])]
    shown = []
    monkeypatch.setattr("napari_nanomorph.widgets.explore.show_warning", shown.append)
    dock.find_like_box()
    assert shown and "smaller than 16" in shown[0]
