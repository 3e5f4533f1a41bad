"""A GUI-thread heartbeat: a 10 ms QTimer whose worst gap between ticks is the longest time the
GUI thread was busy (a stall the user sees as a frozen window), and the GUI phases measured with
it (shared by the heartbeat tests and the GUI benchmark)."""

from __future__ import annotations

import time

import numpy as np

TICK_MS = 10


class Heartbeat:
    """Ticks every :data:`TICK_MS` on the GUI thread while running.

    Use as ``with Heartbeat() as beat: ...``; then ``beat.worst_ms``, ``beat.p99_ms``.
    """

    def __init__(self):
        from qtpy.QtCore import QTimer

        self.ticks: list[float] = []
        self._timer = QTimer()
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def __enter__(self) -> "Heartbeat":
        self.ticks.clear()
        self.ticks.append(time.perf_counter())
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.stop()
        self.ticks.append(time.perf_counter())

    @property
    def gaps_ms(self) -> np.ndarray:
        """Milliseconds between consecutive ticks (the first from the start)."""
        return np.diff(self.ticks) * 1e3

    @property
    def worst_ms(self) -> float:
        """The longest stall."""
        return float(self.gaps_ms.max()) if len(self.ticks) > 1 else 0.0

    @property
    def p99_ms(self) -> float:
        """The 99th percentile gap."""
        return float(np.percentile(self.gaps_ms, 99)) if len(self.ticks) > 1 else 0.0

    def summary(self) -> dict:
        """``worst_ms``, ``p99_ms``, ``ticks`` rounded for a report."""
        return {"worst_ms": round(self.worst_ms, 1), "p99_ms": round(self.p99_ms, 1),
                "ticks": len(self.ticks)}


def wait(condition, timeout_s: float = 120.0) -> float:
    """Run Qt's event loop until ``condition()`` holds (checked every 2 ms); the seconds it
    took. An event loop, not ``processEvents`` calls: timers then fire as in the app.

    Raises
    ------
    TimeoutError
        When it does not hold within ``timeout_s``.
    """
    from qtpy.QtCore import QEventLoop, QTimer

    start = time.perf_counter()
    if condition():
        return 0.0
    loop = QEventLoop()
    check = QTimer()
    check.setInterval(2)
    timed_out = []

    def poll() -> None:
        if condition():
            loop.quit()
        elif time.perf_counter() - start > timeout_s:
            timed_out.append(True)
            loop.quit()

    check.timeout.connect(poll)
    check.start()
    loop.exec()
    check.stop()
    if timed_out:
        raise TimeoutError(f"waited {timeout_s:.0f} s")
    return time.perf_counter() - start


def shown(viewer, record) -> bool:
    """Whether the canvas shows ``record``'s image."""
    from napari_nanomorph.layers import find_layer

    layer = find_layer(viewer, "image")
    return layer is not None and layer.name == record.name


def switch_images(viewer, docks, session, n: int = 10) -> dict:
    """Step to the next image ``n`` times, each time until it shows and the window has
    repainted (as a user stepping: each key press is handled after the last one's repaint).

    Returns
    -------
    dict
        ``show_ms`` per switch (median and worst) and the heartbeat summary.
    """
    from qtpy.QtCore import QTimer

    browser = docks["Images"]
    times = []
    with Heartbeat() as beat:
        for _ in range(n):
            start = time.perf_counter()
            browser.step(1)
            record = session.current
            painted = []  # posted after the repaint the switch asked for: as a user's next key
            QTimer.singleShot(0, lambda: painted.append(True))
            wait(lambda: painted and shown(viewer, record) and not session.jobs.busy)
            times.append((time.perf_counter() - start) * 1e3)
    return {**beat.summary(), "show_ms_median": round(float(np.median(times)), 1),
            "show_ms_worst": round(max(times), 1)}


def label_until_predicted(docks, session, n: int = 4, class_of=None) -> dict:
    """Label ``n`` unlabelled images (the class ``class_of(record)`` gives; by default the one
    its name starts with) and wait each time until the predictions of every other image are
    updated (then until the calibrated fit is in).

    Returns
    -------
    dict
        ``label_to_predictions_ms`` (median and worst: until the new predictions show) and the
        heartbeat summary.
    """
    classify = docks["Classify"]
    project = session.project
    classes = project.labels.classes()
    todo = [r for r in project.images.all() if r.id not in project.labels.all()][:n]
    times = []
    with Heartbeat() as beat:
        for record in todo:
            session.set_current(record)
            wait(lambda: session.settled)
            name = class_of(record) if class_of else record.name.split("_")[0]
            key = classes.index(name) + 1
            before = classify.predictions
            start = time.perf_counter()
            classify.label_with_key(key)
            wait(lambda: classify.predictions is not before
                 and record.id not in classify.predictions)
            times.append((time.perf_counter() - start) * 1e3)
            wait(lambda: not classify.retrain_pending and session.settled)
    return {**beat.summary(),
            "label_to_predictions_ms_median": round(float(np.median(times)), 1),
            "label_to_predictions_ms_worst": round(max(times), 1)}
