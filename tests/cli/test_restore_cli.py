"""`nanomorph restore`: a damaged project database is replaced by its newest sound backup."""

from __future__ import annotations

import json
import os

from nanomorph.cli import main
from nanomorph.project import Project


def _project_with_backups(tmp_path):
    folder = tmp_path / "p"
    Project.create(folder).close()
    for i in range(2):
        with Project.open(folder) as p:
            p.settings.set("generation", i)
            p.backup()
    return folder


def test_restore_puts_the_newest_sound_backup_in_place(tmp_path, capsys):
    folder = _project_with_backups(tmp_path)
    (folder / "project.sqlite").write_bytes(b"")
    assert main(["restore", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["restored"] == out["backups"][-1]
    with Project.open(folder) as p:
        assert p.settings.get("generation") == 1
    assert [n for n in os.listdir(folder) if n.startswith("project.sqlite.damaged-")]


def test_list_and_errors(tmp_path, capsys):
    folder = _project_with_backups(tmp_path)
    assert main(["restore", str(folder), "--list"]) == 0
    assert capsys.readouterr().out.count("project-") >= 2
    assert main(["restore", str(folder), "--backup", "nope.sqlite"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no backup named" in err and len(err.splitlines()) == 1
    assert main(["restore", str(tmp_path / "missing")]) == 2
    assert "not a nanomorph project" in capsys.readouterr().err
