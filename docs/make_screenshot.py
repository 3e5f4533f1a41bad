"""Render the screenshot gallery of the desktop app on the sample project (`make screenshot`).

One picture per workflow step, ``docs/gui/<n>-<step>-<width>x<height>.png``, of the whole
window as the app opens it on a screen of that size, after the step has done its work on the
sample project: a network image and its mask (Mask), the cluster overlay and the table
(Percolation), every wire traced with its numbers and distributions (Measure), a synthetic
deposition movie's wire fraction against time with its percolation onset (Over time), four clusters
and the images like the current one (Explore), predictions for
every image (Classify), the label-efficiency curve
(Evaluation), a short training run with its curves, Dice table and the prediction's difference
to the mask (Segment), the Pretrain panel, and a batch run (Batch & Report). The README's tour
shows the 1920×1080 ones.

Usage: python docs/make_screenshot.py OUT_FOLDER   (needs a display; `make screenshot` runs it
under Xvfb once per screen size)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time


def wait_until(condition, timeout_s: float = 600.0) -> bool:
    """Run Qt's event loop until ``condition()`` holds."""
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance()
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return False


def settle(seconds: float = 1.0) -> None:
    """Close napari's notification pop-ups and let Qt and the canvas paint."""
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance()
    for widget in app.allWidgets():
        if type(widget).__name__ == "NapariQtNotification":
            widget.close()
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        time.sleep(0.02)


def main(out: str) -> int:
    # A fresh sample project and fresh preferences, so earlier runs do not show.
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="nanomorph-screenshot-")
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="nanomorph-screenshot-")
    import imageio.v3 as iio
    import napari
    from qtpy.QtCore import Qt

    from napari_nanomorph.launcher import (
        add_docks,
        arrange_window,
        open_sample_project,
        prepare_layers,
    )
    from napari_nanomorph.session import session_for

    viewer = napari.Viewer(title="nanomorph")
    docks = add_docks(viewer)
    arrange_window(docks)
    prepare_layers(viewer)
    session = session_for(viewer)
    workflow = docks["Workflow"]
    window = viewer.window._qt_window
    size = f"{window.screen().size().width()}x{window.screen().size().height()}"
    os.makedirs(out, exist_ok=True)
    idle = lambda: session.settled and not docks["Classify"].retrain_pending  # noqa: E731

    def shoot(number: int, step: str) -> None:
        workflow.show_step(step)
        settle()
        name = f"{number}-{step.lower().replace(' & ', '-').replace(' ', '-')}-{size}.png"
        iio.imwrite(os.path.join(out, name), viewer.screenshot(canvas_only=False, flash=False))
        print(f"wrote {name}")

    open_sample_project(viewer)
    if not wait_until(lambda: session.current is not None and idle()):
        print("timed out waiting for the sample project", file=sys.stderr)
        return 1
    records = {r.name: r for r in session.project.images.all()}
    docks["Images"].select(records["network_02.tif"].id)
    wait_until(idle)
    shoot(1, "Project")
    shoot(2, "Mask")

    percolation = docks["Percolation"]
    percolation.run_all()
    wait_until(idle)
    percolation.run_current()
    wait_until(idle)
    shoot(3, "Percolation")
    for layer in [layer for layer in viewer.layers if layer.name == "clusters"]:
        viewer.layers.remove(layer)

    measure = docks["Measure"]
    workflow.show_step("Measure")  # the plots are drawn at the size they are shown
    measure.run_all()
    wait_until(idle)
    measure.run_current()
    wait_until(lambda: idle() and measure.plot.idle)
    longest = max(measure.summary["wires"], key=lambda wire: wire["length"])
    measure.select_wire(longest["id"])
    shoot(4, "Measure")
    for layer in [layer for layer in viewer.layers if layer.name == "wires"]:
        viewer.layers.remove(layer)

    explore = docks["Explore"]
    explore.n_clusters.setValue(4)
    explore.cluster()
    wait_until(idle)
    explore.find_similar()
    wait_until(idle)
    shoot(6, "Explore")
    shoot(7, "Classify")
    evaluation = docks["Evaluation"]
    evaluation.form["ks"].value = "1, 2"
    evaluation.form["repeats"].value = 10
    evaluation.run()
    wait_until(lambda: idle() and all(p.idle for p in evaluation.plots.values()))
    shoot(8, "Evaluation")

    segment = docks["Segment"]
    for row in range(segment.training_list.count()):  # train on two images per class
        item = segment.training_list.item(row)
        if not item.text().endswith(("_01.tif", "_02.tif")):
            item.setCheckState(Qt.CheckState.Unchecked)
    segment.settings_form["epochs"].value = 8
    segment.train()
    wait_until(idle, 1200)
    docks["Images"].select(records["bundle_03.tif"].id)
    wait_until(idle)
    segment.contour_box.value = True
    mask = next(layer for layer in viewer.layers if layer.name == "mask")
    mask.visible = False  # the difference layer shows where the prediction departs
    segment.predict_all()
    wait_until(lambda: idle() and segment.plot.idle, 1200)
    shoot(9, "Segment")
    mask.visible = True

    shoot(10, "Pretrain")
    batch = docks["Batch & Report"]
    batch.run_batch()
    wait_until(idle, 1200)
    shoot(11, "Batch & Report")
    shoot_movie(viewer, docks, session, idle, shoot)
    viewer.close()
    return 0


def shoot_movie(viewer, docks, session, idle, shoot) -> None:
    """A synthetic deposition movie opened as a project, its exact masks imported (as the
    sample project's) and every frame analysed: the Over time step after the onset."""
    import tifffile

    from napari_nanomorph.launcher import open_path

    from nanomorph.synthetic.movie import deposition_movie

    movie = deposition_movie(40, (384, 384), seed=2)
    folder = os.path.join(tempfile.mkdtemp(prefix="nanomorph-movie-"), "deposition")
    os.makedirs(folder)
    tifffile.imwrite(os.path.join(folder, "deposition.tif"), movie.frames, imagej=True,
                     resolution=(1 / (movie.pixel_size_nm * 1e-3),) * 2,
                     metadata={"axes": "TYX", "unit": "um", "finterval": 2.0})
    open_path(viewer, folder)
    wait_until(lambda: session.project is not None and session.current is not None and idle())
    ids = [r.id for r in session.project.images.all()]
    for image_id, mask in zip(ids, movie.masks):
        session.project.masks.save(image_id, mask, source="import")
    session.masks_changed.emit(set(ids))
    docks["Percolation"].run_all()
    wait_until(idle)
    docks["Images"].select(ids[34])
    wait_until(idle)
    docks["Workflow"].show_step("Over time")
    timeline = docks["Over time"]
    wait_until(lambda: idle() and timeline.table is not None
               and len(timeline.table["frame"]) == len(ids) and timeline.plot.idle
               and timeline.plot.marker is not None)
    shoot(5, "Over time")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/gui"))
