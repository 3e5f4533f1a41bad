"""Render the README screenshots of the desktop app on the sample project (`make screenshot`).

OUT.png shows a network image with its mask, the percolation verdict, the cluster overlay
(spanning cluster in yellow) and the table of all images; OUT_segment.png the Segment dock
after a short training run on eight of the project's masks: the loss / Dice curves, the Dice table
against the best classical auto-mask, and the prediction of a held-out image as contours.

Usage: python docs/make_screenshot.py OUT.png   (needs a display; the Makefile runs it under Xvfb)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time


def wait_until(condition, app, timeout_s: float = 120.0) -> bool:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return False


def dock_of(widget):
    """The QDockWidget holding a dock's widget."""
    from qtpy.QtWidgets import QDockWidget

    while widget is not None and not isinstance(widget, QDockWidget):
        widget = widget.parentWidget()
    return widget


def main(out: str) -> int:
    # A fresh sample project (it lives in the user data folder), so that models and
    # predictions of earlier runs do not show.
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="nanomorph-screenshot-")
    import imageio.v3 as iio
    import napari
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication

    from napari_nanomorph.launcher import add_docks, open_sample_project
    from napari_nanomorph.session import session_for

    viewer = napari.Viewer(title="nanomorph")
    viewer.window.resize(1500, 1050)
    docks = add_docks(viewer)
    session = session_for(viewer)
    open_sample_project(viewer)
    app = QApplication.instance()
    ready = lambda: session.current is not None and not session.jobs.busy  # noqa: E731
    if not wait_until(ready, app):
        print("timed out waiting for the sample project", file=sys.stderr)
        return 1
    network = next(r for r in session.project.images.all() if r.name == "network_02.tif")
    docks["Images"].select(network.id)
    wait_until(lambda: not session.jobs.busy, app)
    docks["Percolation"].run_all()
    wait_until(lambda: not session.jobs.busy, app)
    docks["Percolation"].run_current()
    wait_until(lambda: not session.jobs.busy, app)
    dock_of(docks["Percolation"]).raise_()
    settle(app)
    iio.imwrite(out, viewer.screenshot(canvas_only=False, flash=False))
    print(f"wrote {out}")

    segment = docks["Segment"]
    held_out = next(r for r in session.project.images.all() if r.name == "bundle_03.tif")
    for row in range(segment.training_list.count()):  # train on two images per class
        item = segment.training_list.item(row)
        if not item.text().endswith(("_01.tif", "_02.tif")):
            item.setCheckState(Qt.CheckState.Unchecked)
    segment.settings_form["epochs"].value = 8
    segment.train()
    wait_until(lambda: not session.jobs.busy, app, timeout_s=600)
    for layer in [layer for layer in viewer.layers if layer.name == "clusters"]:
        viewer.layers.remove(layer)
    docks["Images"].select(held_out.id)
    wait_until(lambda: not session.jobs.busy, app)
    segment.contour_box.value = True
    for layer in viewer.layers:
        if layer.name == "mask":
            layer.visible = False  # the difference layer shows where the prediction departs
    segment.predict_all()
    wait_until(lambda: not session.jobs.busy, app, timeout_s=600)
    wait_until(lambda: segment.plot.idle, app)
    dock_of(segment).raise_()
    settle(app)
    second = out.replace(".png", "_segment.png")
    iio.imwrite(second, viewer.screenshot(canvas_only=False, flash=False))
    print(f"wrote {second}")
    viewer.close()
    return 0


def settle(app) -> None:
    """Close napari's notification pop-ups and let Qt and the canvas paint for a second."""
    for widget in app.allWidgets():
        if type(widget).__name__ == "NapariQtNotification":
            widget.close()
    for _ in range(50):
        app.processEvents()
        time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png"))
