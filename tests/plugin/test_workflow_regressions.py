"""Bugs met by a new user going through every step (issue 14), each pinned by a test that
failed before the fix: docks that did not follow the project, settings the batch ignored, class
colours that differed, an empty Classify table, a units warning, a self-contradicting verdict,
unmasked images counted as errors, a report without segmentation that opened a browser."""

from __future__ import annotations

import warnings

import imageio.v3 as iio
import numpy as np
import pytest

from napari_nanomorph.launcher import open_path

NAMES = ("network_01", "singular_01")


@pytest.fixture
def two(app, sample_folder, sample_copies):
    """Two sample images, no masks, the first current."""
    open_path(app.viewer, sample_copies([f"{name}.tif" for name in NAMES]))
    app.wait_jobs()
    app.sample_folder = sample_folder
    return app


def mask_files(app) -> list[str]:
    return [str(app.sample_folder / "masks" / f"{name}_mask.png") for name in NAMES]


def test_segment_training_list_follows_imported_and_auto_masks(two):  # bug 1
    app = two
    segment = app.docks["Segment"]
    assert segment.training_list.count() == 0
    app.docks["Mask"].import_files(mask_files(app)[:1], mapping={"nonzero": 1})
    app.wait_jobs()
    assert segment.training_list.count() == 1  # no refresh by hand: the store's events
    app.docks["Mask"].apply_to_all()
    app.wait_jobs()
    assert segment.training_list.count() == 2
    assert len(segment.training_ids()) == 2


def test_batch_uses_the_percolation_settings_the_dock_shows(two):  # bug 2
    app = two
    percolation, batch = app.docks["Percolation"], app.docks["Batch & Report"]
    percolation.settings_form["eps"].value = 7.5
    percolation.settings_form["min_samples"].value = 9
    app.wait_jobs()
    assert batch.percolation_settings() == percolation.settings()
    assert "eps 7.5" in batch.settings_label.text()


def test_one_class_colour_map_everywhere_and_new_classes_get_colours(two):  # bug 3
    from nanomorph.jobs import run_job
    from nanomorph.report.data import load_report_data
    from qtpy.QtWidgets import QPushButton

    app = two
    project = app.session.project
    classify = app.docks["Classify"]
    project.labels.set_classes([*project.labels.classes(), "rods"])
    app.wait_jobs()
    colors = project.labels.class_colors()
    assert colors["rods"].startswith("#") and len(set(colors.values())) == len(colors)
    assert classify.colors() == colors
    button = next(b for b in classify.findChildren(QPushButton) if "rods" in b.text())
    assert colors["rods"] in button.styleSheet()
    assert run_job(load_report_data(project.folder, thumbnails=0)).classes == colors


def test_the_classify_table_lists_every_image_before_any_label(two):  # bug 4
    app = two
    table = app.docks["Classify"].table
    assert table.rowCount() == 2
    assert [row[:3] for row in table.shown_rows()] == [[f"{n}.tif", "", ""] for n in NAMES]


def test_no_units_warning_switching_from_uncalibrated_to_calibrated(app, sample_folder,
                                                                    tmp_path):  # bug 5
    folder = tmp_path / "mixed"
    folder.mkdir()
    import shutil

    shutil.copy(sample_folder / "network_01.tif", folder / "network_01.tif")
    iio.imwrite(folder / "plain.png", (np.random.default_rng(0).random((200, 240)) * 255)
                .astype(np.uint8))
    open_path(app.viewer, folder)
    app.wait_jobs()
    records = {r.name: r for r in app.session.project.images.all()}
    app.docks["Images"].select(records["plain.png"].id)
    app.wait_jobs()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app.docks["Images"].select(records["network_01.tif"].id)
        app.wait_jobs()
        app.docks["Images"].select(records["plain.png"].id)
        app.wait_jobs()
    assert not [w for w in caught if "unit" in str(w.message).lower()], \
        [str(w.message) for w in caught]


def test_the_verdict_says_there_is_no_mask_yet(two):  # bug 6
    verdict = two.docks["Percolation"].verdict.text()
    assert "no mask yet" in verdict and "press" not in verdict


def test_batch_counts_unmasked_images_and_says_what_to_do(two, tmp_path):  # bug 7
    import csv

    app = two
    app.docks["Mask"].import_files(mask_files(app)[:1], mapping={"nonzero": 1})
    app.wait_jobs()
    batch = app.docks["Batch & Report"]
    batch.run_batch()
    app.wait_jobs(120000)
    text = batch.batch_label.text()
    assert "1 without a mask" in text and "Mask step" in text and "failed" not in text
    with open(batch.last_batch / "results.csv") as f:
        statuses = sorted(row["status"] for row in csv.DictReader(f))
    assert statuses == ["no mask", "ok"]


def test_the_report_is_written_without_opening_a_browser(two, tmp_path, monkeypatch):  # bug 8
    from qtpy.QtGui import QDesktopServices

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url))
    batch = two.docks["Batch & Report"]
    batch.write_report(str(tmp_path / "report.html"))
    two.wait_jobs(120000)
    assert (tmp_path / "report.html").is_file() and opened == []
    batch.open_button.click()
    assert len(opened) == 1 and opened[0].toLocalFile() == str(tmp_path / "report.html")
