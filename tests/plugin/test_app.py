"""The desktop app: open a folder/project/image, browse with thumbnails, physical scale,
calibration overrides, bad files — all through the real docks in a real napari viewer."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import tifffile

from nanomorph.io.calibration import Calibration
from nanomorph.project import Project
from nanomorph.project.opening import PROJECT_SUBFOLDER
from napari_nanomorph.launcher import open_path
from napari_nanomorph.layers import find_layer


@pytest.fixture
def folder_of_images(sample_copies):
    return sample_copies(("network_01.tif", "bundle_01.tif", "singular_01.tif"))


@pytest.mark.qtsmoke
def test_opening_a_folder_creates_its_project_and_shows_the_first_image(app, folder_of_images):
    open_path(app.viewer, folder_of_images)
    app.wait_jobs()
    project = app.session.project
    assert project.folder == folder_of_images / PROJECT_SUBFOLDER
    assert sorted(r.name for r in project.images.all()) == ["bundle_01.tif", "network_01.tif",
                                                        "singular_01.tif"]
    browser = app.docks["Images"]
    assert browser.count() == 3
    layer = find_layer(app.viewer, "image")
    current = app.session.current
    assert current.name == "bundle_01.tif"  # sorted by name
    assert layer.data.shape == (384, 384)
    size = current.calibration.pixel_size[1]
    assert tuple(layer.scale) == pytest.approx((size, size))
    assert str(layer.units[0]) == "nanometer"
    assert app.viewer.canvas.overlays.scale_bar.visible


def test_thumbnails_are_made_in_the_background_and_cached(app, folder_of_images):
    open_path(app.viewer, folder_of_images)
    app.wait_jobs()
    browser = app.docks["Images"]
    for row in range(browser.count()):
        icon = browser.icon_at(row).toImage()
        assert icon.pixelColor(10, 10).name() != "#808080"  # not the placeholder any more
    cached = list((app.session.project.cache_dir / "thumbnails").glob("*.png"))
    assert len(cached) == 3


def test_keyboard_and_buttons_step_through_the_filtered_images(app, folder_of_images):
    open_path(app.viewer, folder_of_images)
    app.wait_jobs()
    browser = app.docks["Images"]
    names = []
    for _ in range(3):
        names.append(app.session.current.name)
        browser.step(1)
        app.wait_jobs()
    assert names == ["bundle_01.tif", "network_01.tif", "singular_01.tif"]
    browser.step(1)  # stays on the last
    assert app.session.current.name == "singular_01.tif"
    browser.filter.setText("NET")
    assert len(browser.visible_ids()) == 1
    assert "1 (filtered from 3)" in browser.status.text() or "of 1" in browser.status.text()
    app.viewer.window._qt_viewer.canvas.native.setFocus()
    browser.filter.setText("")
    browser.step(-1)
    app.wait_jobs()
    assert app.session.current.name == "network_01.tif"
    assert find_layer(app.viewer, "image").name == "network_01.tif"


def test_pagedown_key_moves_to_the_next_image(app, folder_of_images):
    open_path(app.viewer, folder_of_images)
    app.wait_jobs()
    key = app.viewer.keymap.get("PageDown") or next(
        f for k, f in app.viewer.keymap.items() if "PageDown" in str(k))
    key(app.viewer)
    app.wait_jobs()
    assert app.session.current.name == "network_01.tif"


def test_pixel_size_override_rescales_the_layer_and_persists(app, folder_of_images):
    open_path(app.viewer, folder_of_images)
    app.wait_jobs()
    dock = app.docks["Project"]
    dock.pixel_size.setValue(0.25)
    dock.unit.setCurrentText("µm")
    dock.apply_to_current()
    app.wait_jobs()
    layer = find_layer(app.viewer, "image")
    assert tuple(layer.scale) == pytest.approx((0.25, 0.25))
    assert str(layer.units[0]) == "micrometer"
    dock.apply_to_project()
    project = app.session.project
    assert {r.calibration.source for r in project.images.all()} == {"user", "project"}
    folder = project.folder
    app.session.close_project()  # the image's mask is still loading: it is waited for
    with Project.open(folder) as again:
        assert again.images.all()[0].calibration == Calibration((0.25, 0.25), "µm", "user")


def test_opening_a_single_image_makes_it_current(app, folder_of_images):
    open_path(app.viewer, folder_of_images / "singular_01.tif")
    app.wait_jobs()
    assert [r.name for r in app.session.project.images.all()] == ["singular_01.tif"]
    assert app.session.current.name == "singular_01.tif"


def test_bad_files_in_a_folder_give_one_warning_and_the_rest_open(app, folder_of_images,
                                                                  notifications):
    (folder_of_images / "empty.tif").write_bytes(b"")
    data = tifffile.imread(folder_of_images / "network_01.tif")
    (folder_of_images / "truncated.tif").write_bytes(
        (folder_of_images / "network_01.tif").read_bytes()[:5000])
    tifffile.imwrite(folder_of_images / "nan.tif", np.where(data > 100, np.nan, 1.0))
    open_path(app.viewer, folder_of_images)
    app.wait_jobs()
    names = sorted(r.name for r in app.session.project.images.all())
    assert "empty.tif" not in names and "truncated.tif" not in names
    assert "nan.tif" in names  # NaNs are replaced, the image opens
    warnings = [m for level, m in notifications if level == "warning"]
    assert len(warnings) == 1 and "more" in warnings[0]
    assert find_layer(app.viewer, "image").data.shape == (384, 384)


def test_a_cut_movie_opens_with_its_whole_frames_and_one_warning(app, tmp_path, notifications):
    movie = np.random.default_rng(0).integers(0, 255, (10, 32, 32), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "whole.tif", movie, imagej=True, metadata={"axes": "TYX"})
    with tifffile.TiffFile(tmp_path / "whole.tif") as tif:
        first = tif.pages[0].dataoffsets[0]
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "growth.tif").write_bytes((tmp_path / "whole.tif").read_bytes()[:first + 6 * 1024])
    open_path(app.viewer, folder)
    app.wait_jobs()
    assert [r.frame for r in app.session.project.images.all()] == list(range(6))
    warnings = [m for level, m in notifications if level == "warning"]
    assert warnings == [f"{folder / 'growth.tif'}: the file is truncated: only its first 6 of "
                        "10 frames are whole; the rest are cut off"]


def numbered_frames_dialogs(monkeypatch, folder, interval):
    """The Project dock's *Add numbered frames…* dialogs answer ``folder`` and ``interval``."""
    from qtpy.QtWidgets import QFileDialog, QInputDialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(
        lambda *a, **k: str(folder)))
    monkeypatch.setattr(QInputDialog, "getDouble", staticmethod(lambda *a, **k: (interval, True)))


def test_numbered_stills_become_one_movie_with_the_add_frames_button(app, tmp_path, monkeypatch,
                                                                      notifications):
    folder = tmp_path / "run"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(1, 5):
        tifffile.imwrite(folder / f"frame_{i:03d}.tif",
                         rng.integers(0, 255, (32, 40), dtype=np.uint8))
    open_path(app.viewer, folder)  # opened as a folder: four stills
    app.wait_jobs()
    assert [r.group for r in app.session.project.images.all()] == [None] * 4
    assert app.docks["Images"].movie_bar.isHidden()
    numbered_frames_dialogs(monkeypatch, folder, 0.5)
    notifications.clear()
    app.docks["Project"].add_frames_button.click()
    app.wait_jobs()
    records = app.session.project.images.all()
    assert [(r.frame, r.time_s, r.group) for r in records] == [(i, 0.5 * i, "run/")
                                                               for i in range(4)]
    app.qtbot.waitUntil(lambda: app.session.current is not None
                        and app.session.current.group == "run/", timeout=20000)
    app.docks["Images"].select(records[0].id)
    app.wait_jobs()
    bar = app.docks["Images"].movie_bar
    assert not bar.isHidden() and "frame 0 of 3" in bar.label.text()
    bar.step(3)
    app.wait_jobs()
    assert app.session.current.name == "frame_004.tif"
    assert notifications == [("info", "run/: 4 frames (0 new)")]


def test_a_folder_opened_as_numbered_frames_is_one_movie(app, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    for i in range(3):
        tifffile.imwrite(folder / f"f{i:02d}.tif", np.full((16, 16), i, np.uint8))
    open_path(app.viewer, folder, {"interval_s": 2.0})  # nanomorph gui FOLDER --numbered-frames
    app.wait_jobs()
    assert [(r.frame, r.time_s, r.group) for r in app.session.project.images.all()] == [
        (0, 0.0, "run/"), (1, 2.0, "run/"), (2, 4.0, "run/")]


def test_add_frames_on_a_folder_without_numbered_frames_says_why_in_one_line(
        app, folder_of_images, tmp_path, monkeypatch, notifications):
    open_path(app.viewer, folder_of_images)
    app.wait_jobs()
    empty = tmp_path / "empty"
    empty.mkdir()
    numbered_frames_dialogs(monkeypatch, empty, 0.0)
    notifications.clear()
    app.docks["Project"].add_frames_button.click()
    app.wait_jobs()
    assert notifications == [("error", f"Add frames: {empty}: holds no numbered frames (0 "
                                       "image files; frames are named <prefix><number><suffix>,"
                                       " e.g. frame_0001.tif)")]
    assert len(app.session.project.images.all()) == 3


def test_a_missing_image_is_flagged_and_relinked(app, folder_of_images, tmp_path):
    open_path(app.viewer, folder_of_images)
    app.wait_jobs()
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.move(folder_of_images / "network_01.tif", moved / "network_01.tif")
    app.session.images_changed.emit()
    app.wait_jobs()
    project_dock = app.docks["Project"]
    assert "1 missing" in project_dock.counts.text()
    assert project_dock.relink_button.isEnabled()
    project_dock.relink_from(str(moved))
    app.wait_jobs()
    assert app.session.project.images.missing() == []
    assert "missing" not in project_dock.counts.text()


def test_read_only_project_opens_and_says_so(app, folder_of_images, notifications):
    open_path(app.viewer, folder_of_images)
    app.wait_jobs()
    folder = app.session.project.folder
    app.session.close_project()
    os.chmod(folder, 0o555)
    try:
        from nanomorph.project.store import folder_is_writable

        if folder_is_writable(folder):
            os.system(f"chattr +i '{folder}' 2>/dev/null")
        if folder_is_writable(folder):
            pytest.skip("cannot make a read-only folder on this machine")
        open_path(app.viewer, folder)
        app.wait_jobs()
        assert app.session.project.read_only
        assert any("read-only" in m for level, m in notifications if level == "warning")
        assert "(read-only)" in app.docks["Project"].title.text()
        assert not app.docks["Project"].add_images_button.isEnabled()
        assert app.docks["Images"].count() == 3
    finally:
        os.system(f"chattr -i '{folder}' 2>/dev/null")
        os.chmod(folder, 0o755)


def test_every_kind_of_bad_file_is_survived(app, tmp_path, notifications):
    from tests.support.badfiles import make_bad_files, make_odd_but_valid_files

    folder = tmp_path / "mixed"
    bad = make_bad_files(folder)
    good = make_odd_but_valid_files(folder)
    open_path(app.viewer, folder)
    app.wait_jobs()
    names = sorted(r.name for r in app.session.project.images.all())
    assert names == ["caf\\xe9.tif", "nan.tif", *(f"stack.tif #{i}" for i in range(5))]
    warnings = [m for level, m in notifications if level == "warning"]
    assert len(warnings) == 1 and f"and {len(bad) - 1} more" in warnings[0]
    browser = app.docks["Images"]
    frame_id = next(r.id for r in app.session.project.images.all() if r.name == "stack.tif #3")
    browser.select(frame_id)
    app.wait_jobs()
    layer = find_layer(app.viewer, "image")  # a frame of a stack is one 2-D image
    assert layer.data.shape == (64, 80) and app.viewer.dims.ndim == 2
    np.testing.assert_array_equal(layer.data, tifffile.imread(good["stack"])[3])
    nan_id = next(r.id for r in app.session.project.images.all() if r.name == "nan.tif")
    browser.select(nan_id)
    app.wait_jobs()
    assert np.isfinite(find_layer(app.viewer, "image").data).all()
    assert str(good["nan"]) in [r.path for r in app.session.project.images.all()]


def test_opening_a_project_counts_its_missing_files_once(app, folder_of_images, monkeypatch):
    """The Project step refreshed on the project and again on its images, and each refresh
    looked at every file (one stat each) in a job of its own."""
    from napari_nanomorph.widgets import project as project_module

    counted = []
    real = project_module.missing_records
    monkeypatch.setattr(project_module, "missing_records",
                        lambda records: counted.append(len(records)) or real(records))
    open_path(app.viewer, folder_of_images)  # made, then its images added: two counts
    app.wait_jobs()
    folder = app.session.project.folder
    app.session.close_project()
    assert app.docks["Project"].title.text() == "No project open"
    counted.clear()
    open_path(app.viewer, folder)
    app.wait_jobs()
    assert counted == [3] and len(app.session.records()) == 3
