"""The labels repository: classes (order, colours, uniqueness) and labels."""

from __future__ import annotations


import pytest

from nanomorph.errors import ProjectError
from nanomorph.project import Project


def test_labels_need_a_known_class_and_classes_are_unique(project):
    project.labels.set_classes(["a", "b"])
    image_id = project.images.all()[0].id
    with pytest.raises(ProjectError, match="no class named"):
        project.labels.set(image_id, "zebra")
    with pytest.raises(ProjectError, match="unique"):
        project.labels.set_classes(["a", "a"])
    project.labels.set(image_id, "b")
    project.labels.set_classes(["b", "c"])  # removing "a" keeps b's labels
    assert project.labels.all() == {image_id: "b"}
    project.labels.set_classes(["c"])  # removing "b" drops its labels
    assert project.labels.all() == {}


def test_a_new_project_starts_with_the_default_classes(tmp_path):
    with Project.create(tmp_path / "p") as p:
        assert p.labels.classes() == ["bundle", "dispersed", "network", "singular"]
        assert p.labels.class_colors()["network"] == "#7bc043"


def test_set_many_is_one_transaction_and_one_event(project):
    project.labels.set_classes(["a", "b"])
    ids = [r.id for r in project.images.all()][:3]
    project.labels.set(ids[0], "a")
    events = []
    project.events.labels.connect(events.append)
    project.labels.set_many({ids[0]: "b", ids[1]: "b", ids[2]: None})
    assert project.labels.all() == {ids[0]: "b", ids[1]: "b"}
    assert events == [[ids[0], ids[1], ids[2]]]
    with pytest.raises(ProjectError, match="no class named 'zebra'"):
        project.labels.set_many({ids[0]: "a", ids[1]: "zebra"})
    assert project.labels.all() == {ids[0]: "b", ids[1]: "b"}  # nothing half-done
