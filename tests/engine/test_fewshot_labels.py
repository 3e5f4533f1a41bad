"""LABELS.csv: relative paths, optional groups, missing files, malformed files."""

from __future__ import annotations

import os

import pytest

from nanomorph.errors import NanomorphError
from nanomorph.fewshot.labels_csv import read_labels_csv


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "images").mkdir()
    for name in ("a.tif", "b.tif", "c.tif"):
        (tmp_path / "images" / name).write_bytes(b"x")
    return tmp_path


def write(folder, text: str, name: str = "labels.csv"):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_relative_paths_are_relative_to_the_csv_folder(folder, monkeypatch):
    absolute = folder / "images" / "c.tif"
    path = write(folder, f"path,label\nimages/a.tif,network\n images/b.tif , bundle\n\n"
                         f"{absolute},network\n")
    monkeypatch.chdir(folder.parent)
    table = read_labels_csv(path)
    assert table.paths == [str(folder / "images" / n) for n in ("a.tif", "b.tif", "c.tif")]
    assert table.labels == ["network", "bundle", "network"]
    assert table.groups is None and table.missing == []


def test_groups_with_empty_cells_and_a_bom(folder):
    path = folder / "labels.csv"
    path.write_bytes("\ufeffpath,label,group\nimages/a.tif,network,m1\nimages/b.tif,network,m1\n"
                     "images/c.tif,bundle,\n".encode())
    table = read_labels_csv(path)
    assert table.groups == ["m1", "m1", str(folder / "images" / "c.tif")]
    assert table.subset([2, 0]).labels == ["bundle", "network"]


def test_missing_files_are_an_error_or_skipped(folder):
    path = write(folder, "path,label\nimages/a.tif,network\nimages/gone.tif,bundle\n"
                         "images/lost.tif,bundle\n")
    with pytest.raises(NanomorphError, match="2 listed image\\(s\\) do not exist: .*gone.tif"):
        read_labels_csv(path)
    table = read_labels_csv(path, missing="skip")
    assert table.paths == [str(folder / "images" / "a.tif")]
    assert [os.path.basename(p) for p in table.missing] == ["gone.tif", "lost.tif"]


@pytest.mark.parametrize("text, message", [
    ("file,class\na.tif,x\n", "must name the columns path,label"),
    ("path,label\nimages/a.tif,\n", "line 2 has no label"),
    ("path,label\nimages/a.tif,x\nimages/./a.tif,y\n", "line 3 lists .* again \\(first on line 2"),
    ("path,label\n", "lists no images"),
])
def test_malformed_files(folder, text, message):
    with pytest.raises(NanomorphError, match=message):
        read_labels_csv(write(folder, text))


def test_unreadable_files(folder):
    with pytest.raises(NanomorphError, match="no such file"):
        read_labels_csv(folder / "absent.csv")
    binary = folder / "binary.csv"
    binary.write_bytes(b"path,label\n\xff\xfe,x\n")
    with pytest.raises(NanomorphError, match="not a UTF-8"):
        read_labels_csv(binary)
