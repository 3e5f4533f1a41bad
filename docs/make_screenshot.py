"""Render the README screenshot: the desktop app on the sample project (run by `make screenshot`).

Usage: python docs/make_screenshot.py OUT.png   (needs a display; the Makefile runs it under Xvfb)
"""

from __future__ import annotations

import sys
import time


def main(out: str) -> int:
    import imageio.v3 as iio
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_nanomorph.launcher import add_docks, open_sample_project
    from napari_nanomorph.session import session_for

    viewer = napari.Viewer(title="nanomorph")
    viewer.window.resize(1500, 950)
    add_docks(viewer)
    session = session_for(viewer)
    open_sample_project(viewer)
    app = QApplication.instance()
    deadline = time.time() + 120
    # wait until the project is open, the first image shown and every background job finished
    while time.time() < deadline:
        app.processEvents()
        if session.current is not None and not session.jobs.busy:
            break
        time.sleep(0.02)
    else:
        print("timed out waiting for the sample project", file=sys.stderr)
        return 1
    for _ in range(50):
        app.processEvents()
        time.sleep(0.02)
    iio.imwrite(out, viewer.screenshot(canvas_only=False, flash=False))
    print(f"wrote {out}")
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png"))
