"""The app's GUI phases measured with a heartbeat, in a fresh process as a user starts it
(``python -m tests.support.gui_phases PROJECT_FOLDER``; prints one JSON object).

Phases: start-up (splash painted, window shown), opening a project until its first image shows,
10 image switches, labelling until predictions update, and — side by side, in the same process —
bare napari swapping the data of one image and one labels layer (what any napari app pays per
image on this machine's OpenGL).
"""

from __future__ import annotations

import json
import sys
import time

START = time.perf_counter()


def bare_napari_swaps(viewer, n: int = 10) -> dict:
    """Heartbeat while bare napari swaps an image and a labels layer's data ``n`` times (the
    floor of an image switch in any napari app)."""
    import numpy as np

    from tests.support.heartbeat import Heartbeat, wait

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (384, 384), dtype=np.uint8) for _ in range(2)]
    image = viewer.add_image(images[0], name="bare image")
    labels = viewer.add_labels((images[0] > 128).astype(np.uint8), name="bare labels")
    pause = []
    with Heartbeat() as beat:
        for k in range(n):
            image.data = images[k % 2]
            labels.data = (images[k % 2] > 128).astype(np.uint8)
            pause.clear()
            from qtpy.QtCore import QTimer

            QTimer.singleShot(150, lambda: pause.append(1))
            wait(lambda: bool(pause))
    viewer.layers.remove(image)
    viewer.layers.remove(labels)
    return beat.summary()


def rss_mib() -> dict:
    """This process's resident memory now and at its peak (MiB)."""
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {key: round(int(fields[name].split()[0]) / 1024, 1)
            for key, name in (("rss_mib", "VmRSS"), ("peak_rss_mib", "VmHWM"))}


def movie_class(record) -> str:
    """The class of a benchmark movie's frame (``frames-<n>.tif`` or the folder ``frames-<n>/``):
    dispersed in its first half, network after."""
    n_frames = int(record.group.removesuffix("/").removesuffix(".tif").split("-")[1])
    return "dispersed" if record.frame < n_frames // 2 else "network"


def main(folder: str, label_only: bool = False, movie: bool = False,
         step: str | None = None) -> dict:
    """Run the phases on the project in ``folder`` (changed: labels are added); with
    ``label_only`` only opening it and labelling; ``movie`` labels the frames of a benchmark
    movie named ``frames-<n>.tif`` by :func:`movie_class`; ``step`` is the workflow step open
    throughout (the default step when None)."""
    import napari
    from napari._qt.qt_event_loop import get_qapp

    from napari_nanomorph.launcher import (
        add_docks,
        arrange_window,
        open_path,
        prepare_layers,
        show_splash,
        warm_canvas,
        warm_up,
    )
    from napari_nanomorph.session import session_for
    from tests.support.heartbeat import (
        Heartbeat,
        label_until_predicted,
        shown,
        switch_images,
        wait,
    )

    out = {}
    splash = show_splash(get_qapp())
    out["splash_painted_s"] = round(time.perf_counter() - START, 2)
    viewer = napari.Viewer(title="nanomorph")
    docks = add_docks(viewer)
    arrange_window(docks)
    if step is not None:
        docks["Workflow"].show_step(step)
    prepare_layers(viewer)
    warm_up(splash)
    splash.finish(viewer.window._qt_window)
    get_qapp().processEvents()
    out["window_shown_s"] = round(time.perf_counter() - START, 2)
    warm_canvas(viewer)  # a stall of its own, right after the window shows
    out["warm_canvas_s"] = round(time.perf_counter() - START - out["window_shown_s"], 2)
    session = session_for(viewer)
    classify = docks["Classify"]
    with Heartbeat() as beat:
        start = time.perf_counter()
        open_path(viewer, folder)
        painted = []
        from qtpy.QtCore import QTimer

        QTimer.singleShot(0, lambda: painted.append(time.perf_counter()))
        wait(lambda: bool(painted))  # the event loop runs again: the window repaints
        out["window_paints_s"] = round(painted[0] - start, 2)
        wait(lambda: session.current is not None and shown(viewer, session.current))
        out["first_image_shown_s"] = round(time.perf_counter() - start, 2)
        wait(lambda: session.settled and not classify.retrain_pending, 600)
        out["predictions_ready_s"] = round(time.perf_counter() - start, 2)
    out["open"] = beat.summary()
    out["images"] = len(session.project.images.all())
    out.update(rss_mib())
    if not label_only:
        out["switch"] = switch_images(viewer, docks, session, 10)
    out["label"] = label_until_predicted(docks, session, 6 if label_only else 4,
                                         movie_class if movie else None)
    out["after_labelling"] = rss_mib()
    if not label_only:
        out["bare_napari_swap"] = bare_napari_swaps(viewer)
    viewer.close()
    return out


if __name__ == "__main__":
    steps = [arg.removeprefix("--step=") for arg in sys.argv if arg.startswith("--step=")]
    print(json.dumps(main(sys.argv[1], label_only="--label-only" in sys.argv,
                          movie="--movie" in sys.argv, step=(steps or [None])[0])))
