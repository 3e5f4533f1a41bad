"""Errors stay in the status bar after their notification fades; notifications (bottom right)
never cover the scale bar (bottom left)."""

from __future__ import annotations

from napari.utils.notifications import show_error, show_info

from napari_nanomorph.problems import ProblemsButton


def test_errors_are_kept_until_cleared_and_information_is_not(qtbot):
    button = ProblemsButton()
    qtbot.addWidget(button)
    assert button.isHidden()
    show_info("added 3 images")
    show_error("a.tif: not a TIFF file")
    show_error("b.tif: truncated")
    qtbot.waitUntil(lambda: len(button.problems) == 2)
    assert "2 problems" in button.text() and "b.tif: truncated" in button.toolTip()
    assert not button.isHidden()
    button.clear()
    assert button.problems == [] and button.isHidden()


def test_the_scale_bar_sits_where_notifications_do_not(app, sample_copies):
    from napari_nanomorph.launcher import open_path

    open_path(app.viewer, sample_copies(("network_01.tif",)))
    app.wait_jobs()
    scale_bar = app.viewer.canvas.overlays.scale_bar
    assert scale_bar.visible and str(scale_bar.position).endswith("bottom_left")
