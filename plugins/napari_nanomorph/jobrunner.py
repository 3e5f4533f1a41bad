"""The job runner: engine jobs on worker threads, progress and cancel in the status bar.

Engine jobs are generators that yield :class:`nanomorph.jobs.Progress` (see DESIGN.md, "The job
protocol"). :meth:`JobRunner.start` runs one in a napari ``GeneratorWorker``: progress events
reach the GUI thread through the worker's ``yielded`` signal (throttled to ~20 per second, except
events carrying a payload, which all arrive), cancel sets the job's
:class:`~nanomorph.jobs.CancelToken` and the job stops at its next check, errors become one
napari notification with the full traceback in the log file.

Callbacks given to ``start`` run on the GUI thread; they are the only place that touches layers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nanomorph.errors import JobCancelled, NanomorphError
from nanomorph.jobs import CancelToken, Job, Progress
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject, Qt, Signal
from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

log = logging.getLogger("nanomorph")
MIN_INTERVAL_S = 0.05


@dataclass
class JobHandle:
    """A running job: its name, cancel token, latest progress and worker."""

    name: str
    token: CancelToken
    worker: object = None
    progress: Progress | None = None
    started: float = field(default_factory=time.perf_counter)
    state: str = "running"  # running, done, failed, cancelled

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def running(self) -> bool:
        return self.state == "running"


def _throttled(factory: Callable[[CancelToken], Job], token: CancelToken):
    """Run the job, forwarding progress at most every MIN_INTERVAL_S (payloads always)."""
    job = factory(token)
    last = 0.0
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            return stop.value
        now = time.perf_counter()
        if (event.payload is not None or now - last >= MIN_INTERVAL_S
                or (event.total and event.done >= event.total)):
            last = now
            yield event


class JobRunner(QObject):
    """Starts jobs and keeps the status-bar job indicator up to date."""

    changed = Signal()

    def __init__(self):
        super().__init__()
        self.handles: list[JobHandle] = []

    def start(
        self,
        factory: Callable[[CancelToken], Job],
        *,
        name: str,
        on_progress: Callable[[Progress], None] | None = None,
        on_done: Callable[[object], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        notify_done: bool = False,
    ) -> JobHandle:
        """Run ``factory(token)`` (which returns a job generator) on a worker thread.

        Parameters
        ----------
        factory : callable
            Called in the worker thread with the job's CancelToken; returns the generator.
            Copy any layer data before calling ``start`` so the user can keep editing.
        name : str
            Shown in the status bar and in notifications.
        on_progress, on_done, on_error, on_cancelled : callable, optional
            GUI-thread callbacks: each Progress event, the job's return value, an exception
            (after the notification is shown), a cancel.
        notify_done : bool
            Show an info notification when the job finishes.
        """
        handle = JobHandle(name, CancelToken())

        def progressed(event: Progress) -> None:
            handle.progress = event
            self.changed.emit()
            if on_progress is not None:
                on_progress(event)

        def returned(result) -> None:
            handle.state = "done"
            if notify_done:
                show_info(f"{name}: done")
            if on_done is not None:
                on_done(result)

        def errored(exc: BaseException) -> None:
            if isinstance(exc, JobCancelled):
                handle.state = "cancelled"
                show_info(f"{name}: cancelled")
                if on_cancelled is not None:
                    on_cancelled()
                return
            handle.state = "failed"
            log.error("%s failed", name, exc_info=(type(exc), exc, exc.__traceback__))
            if isinstance(exc, NanomorphError):
                show_error(f"{name}: {exc}")
            else:
                show_error(f"{name} failed: {type(exc).__name__}: {exc} (details in the log)")
            if on_error is not None:
                on_error(exc)

        def finished() -> None:
            if handle in self.handles:
                self.handles.remove(handle)
            self.changed.emit()

        handle.worker = create_worker(
            _throttled, factory, handle.token, _start_thread=False,
            _connect={"yielded": progressed, "returned": returned, "errored": errored,
                      "finished": finished})
        self.handles.append(handle)
        self.changed.emit()
        handle.worker.start()
        return handle

    def cancel_all(self) -> None:
        for handle in list(self.handles):
            handle.cancel()

    @property
    def busy(self) -> bool:
        return bool(self.handles)


class JobStatusWidget(QWidget):
    """Status-bar indicator: the newest running job, its progress bar and a cancel button."""

    def __init__(self, runner: JobRunner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setMaximumWidth(160)
        self.bar.setMaximumHeight(14)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("✕")
        self.cancel_button.setToolTip("Cancel this job")
        self.cancel_button.clicked.connect(self._cancel_newest)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        for w in (self.label, self.bar, self.cancel_button):
            layout.addWidget(w, 0, Qt.AlignmentFlag.AlignVCenter)
        runner.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        handles = self.runner.handles
        self.setVisible(bool(handles))
        if not handles:
            return
        newest = handles[-1]
        p = newest.progress
        more = f" (+{len(handles) - 1} more)" if len(handles) > 1 else ""
        self.label.setText(f"{newest.name}{': ' + p.message if p and p.message else ''}{more}")
        if p is None or not p.total:
            self.bar.setRange(0, 0)  # busy indicator
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * p.fraction))

    def _cancel_newest(self) -> None:
        if self.runner.handles:
            self.runner.handles[-1].cancel()

