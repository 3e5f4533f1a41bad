"""The HTML report: self-contained, escaped, and the sections each source calls for."""

from __future__ import annotations

import re

import pytest

from nanomorph.workflows.percolation import PercolationSettings, analyse_project
from nanomorph.batch.config import BatchConfig
from nanomorph.report.html import write_report
from nanomorph.errors import NanomorphError
from nanomorph.jobs import run_job
from nanomorph.project import Project
from tests.engine.test_batch import make_images, make_project, run, trained_classifier

ODD_NAME = 'a<b>&"c".png'


def assert_self_contained(text: str) -> None:
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", text)
    assert "@import" not in text and "url(" not in text


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return trained_classifier(tmp_path_factory)


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory, classifier):
    folder = tmp_path_factory.mktemp("results")
    make_images(folder / "images", 8)
    (folder / "images" / ODD_NAME).write_bytes(b"")
    run([folder / "images"], folder / "out", BatchConfig(classifier=str(classifier)))
    return folder / "out"


def test_a_results_report_is_one_escaped_self_contained_file(results_dir, tmp_path):
    path = write_report(results_dir, tmp_path / "report.html")
    text = path.read_text("utf-8")
    assert_self_contained(text)
    assert text.count("data:image/png;base64,") >= 4
    for title in ("Run parameters", "Percolation", "Classes", "Failed images (1)", "Images"):
        assert f"<h2>{title}</h2>" in text
    assert "a&lt;b&gt;&amp;&quot;c&quot;.png" in text and "<b>&" not in text
    assert "Confidence of the predictions" in text and "Classifier evaluation" not in text
    assert "Segmentation against ground truth" not in text
    assert "Wire morphometry" not in text  # batch ran without --morphometry


def test_a_results_report_shows_morphometry_per_image(tmp_path):
    make_images(tmp_path / "images", 4)
    run([tmp_path / "images"], tmp_path / "out", BatchConfig(morphometry=True))
    text = write_report(tmp_path / "out", tmp_path / "r.html").read_text("utf-8")
    assert "<h2>Wire morphometry</h2>" in text and "4 images measured" in text
    assert "one value per image" in text
    assert text.count("<tr><td>img_0") >= 4


def test_a_project_report_shows_every_wire_measured(tmp_path):
    from nanomorph.workflows.morphometry import measure_project

    folder = make_project(tmp_path, 3)
    with Project.open(folder) as project:
        run_job(measure_project(project, [r.id for r in project.images.all()]))
    text = write_report(folder, tmp_path / "report.html").read_text("utf-8")
    assert_self_contained(text)
    assert "<h2>Wire morphometry</h2>" in text and "3 images measured" in text
    assert "every traced wire" in text


def test_overlays_show_percolating_images_first(results_dir, tmp_path):
    from nanomorph.report.data import spanning_rows
    from nanomorph.batch.results import read_table

    rows = read_table(results_dir)
    chosen = spanning_rows(rows, 3)
    percolating = [i for i, r in enumerate(rows) if r.get("percolates")]
    assert chosen[:len(percolating)] == percolating[:3]
    text = write_report(results_dir, tmp_path / "r.html", thumbnails=3).read_text("utf-8")
    assert text.count('<div class="thumbs">') == 1 and text.count("<figure><img alt=") == \
        min(3, len([r for r in rows if r.get("percolates") or r.get("spans_x")
                    or r.get("spans_y")]))


def test_a_project_report_has_the_evaluation_and_segmentation_scores(tmp_path):
    folder = make_project(tmp_path, 12, labels=True)
    with Project.open(folder) as project:
        ids = [r.id for r in project.images.all()]
        run_job(analyse_project(project, ids, PercolationSettings()))
    run([folder], tmp_path / "batch", BatchConfig(mask_source="auto"))
    text = write_report(folder, tmp_path / "report.html", repeats=3).read_text("utf-8")
    assert_self_contained(text)
    for part in ("<h2>Project</h2>", "Classifier evaluation", "Confusion matrix",
                 "Embedding map", "Segmentation against ground truth", "labelled by you"):
        assert part in text
    assert "12 images scored against the project's stored masks" in text
    assert "<h2>Class ↔ connectivity</h2>" in text
    with Project.open(folder) as project:
        from nanomorph.workflows.consistency import consistency_flags

        flags = consistency_flags(project).values()
    disagreeing = sum(f["flag"] == "disagrees" for f in flags)
    assert f"<b>{disagreeing} disagree</b>" in text


def test_a_project_without_labels_says_how_to_get_an_evaluation(tmp_path):
    folder = make_project(tmp_path, 2)
    text = write_report(folder, tmp_path / "report.html").read_text("utf-8")
    assert "Label images of at least two classes" in text
    assert "No image was analysed yet." in text


def test_a_folder_that_is_neither_is_refused(tmp_path):
    with pytest.raises(NanomorphError, match="not the output folder of nanomorph batch"):
        write_report(tmp_path, tmp_path / "report.html")
