"""The settings and runs repositories: JSON values by key, the run history."""

from __future__ import annotations

from nanomorph.project import Project


def test_settings_round_trip_json_values(project, tmp_path):
    project.settings.set("percolation", {"eps": 2.5, "units": "nm", "resize": None})
    project.settings.set("epochs", 12)
    assert project.settings.get("missing", "default") == "default"
    project.close()
    with Project.open(tmp_path / "proj") as again:
        assert again.settings.get("percolation") == {"eps": 2.5, "units": "nm", "resize": None}
        assert again.settings.get("epochs") == 12


def test_runs_record_start_and_end_by_kind(project):
    first = project.runs.start("segment-train", {"epochs": 3})
    second = project.runs.start("batch", {"images": 4})
    project.runs.finish(first, "cancelled", {"best_epoch": 2})
    runs = project.runs.list("segment-train")
    assert [r["id"] for r in runs] == [first]
    assert runs[0]["status"] == "cancelled" and runs[0]["result"] == {"best_epoch": 2}
    assert runs[0]["finished_at"] >= runs[0]["started_at"]
    assert project.runs.list("batch")[0]["status"] == "running"
    assert [r["id"] for r in project.runs.list()] == [first, second]
