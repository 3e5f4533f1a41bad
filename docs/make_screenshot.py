"""Render the README screenshot: the desktop app on the sample project (run by `make screenshot`).

The picture shows a network image with its mask, the percolation verdict and the cluster
overlay (spanning cluster in yellow).

Usage: python docs/make_screenshot.py OUT.png   (needs a display; the Makefile runs it under Xvfb)
"""

from __future__ import annotations

import sys
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
    import imageio.v3 as iio
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_nanomorph.launcher import add_docks, open_sample_project
    from napari_nanomorph.session import session_for

    viewer = napari.Viewer(title="nanomorph")
    viewer.window.resize(1500, 950)
    docks = add_docks(viewer)
    session = session_for(viewer)
    open_sample_project(viewer)
    app = QApplication.instance()
    ready = lambda: session.current is not None and not session.jobs.busy  # noqa: E731
    if not wait_until(ready, app):
        print("timed out waiting for the sample project", file=sys.stderr)
        return 1
    network = next(r for r in session.project.images() if r.name == "network_02.tif")
    docks["Images"].select(network.id)
    wait_until(lambda: not session.jobs.busy, app)
    docks["Percolation"].run_current()
    wait_until(lambda: not session.jobs.busy, app)
    dock_of(docks["Percolation"]).raise_()
    for _ in range(50):
        app.processEvents()
        time.sleep(0.02)
    iio.imwrite(out, viewer.screenshot(canvas_only=False, flash=False))
    print(f"wrote {out}")
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png"))
