"""The job runner: engine jobs on worker threads, progress and cancel in the status bar.

Engine jobs are generators that yield :class:`nanomorph.jobs.Progress` (see DESIGN.md, "The job
protocol"). :meth:`JobRunner.start` runs one in a superqt ``GeneratorWorker``: progress events
reach the GUI thread through the worker's ``yielded`` signal (throttled to ~20 per second, except
events carrying a payload, which all arrive), cancel sets the job's
:class:`~nanomorph.jobs.CancelToken` and the job stops at its next check, errors become one
napari notification with the full traceback in the log file.

Callbacks given to ``start`` run on the GUI thread; they are the only place that touches layers.

What the user waits for goes first: while a job started with ``waited_for=True`` runs (reading
the image they asked for), other jobs that may be cancelled wait to start, for at most
:data:`HOLD_LIMIT_MS`. On two cores, two busy jobs beside the GUI thread left it without Python's
lock for 60–90 ms at a time while a 100,000-frame project showed its first frame.

:meth:`JobRunner.shutdown` cancels every job and waits (bounded) until their threads are done:
the session calls it before it closes a project, so no job ever works on a closed project, and
the callbacks of jobs that were running then are dropped (their results belong to a project
that is gone).

superqt's workers are used directly, not napari's ``create_worker``: napari's adds status-bar
slots (``functools.partial`` of two-argument lambdas) to the worker's one-argument ``errored``
signal, which PyQt calls with the arguments the slot takes and PySide6 with all of them, so on
PySide6 every failed job raised a TypeError in the Qt event loop.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nanomorph.errors import JobCancelled, NanomorphError
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject, Qt, QTimer, Signal
from qtpy.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget
from superqt.utils import create_worker

from napari_nanomorph.signals import single_shot

log = logging.getLogger("nanomorph")
MIN_INTERVAL_S = 0.05
REFRESH_MS = 250  # the status bar's job indicator follows the jobs this often
SHUTDOWN_TIMEOUT_S = 10.0
# the longest a job's thread keeps Python's lock while the GUI thread asks for it, in seconds
# (CPython's default is 5 ms): painting the window takes the lock for each of its dozens of
# Python calls, so with two busy jobs a repaint waited 5 ms at each of them — 100–170 ms
# stalls while a 100,000-frame project opened, under 100 ms with 1 ms
GIL_SWITCH_INTERVAL_S = 0.001
HOLD_LIMIT_MS = 2000  # the longest a job waits for the jobs the user waits for


@dataclass
class JobHandle:
    """A running job: its name, cancel token, latest progress and worker."""

    name: str
    token: CancelToken
    worker: object = None
    progress: Progress | None = None
    started: float = field(default_factory=time.perf_counter)
    state: str = "running"  # running, done, failed, cancelled
    # set in the worker thread when the job's generator is done (finished, failed or cancelled)
    stopped: threading.Event = field(default_factory=threading.Event)
    # the callbacks are dropped (the job was running when its project closed)
    detached: bool = False
    cancellable: bool = True
    waited_for: bool = False  # the user waits for its result on screen
    held: bool = False  # not started yet: it waits for a job the user waits for

    def cancel(self) -> None:
        """Ask the job to stop at its next check."""
        self.token.cancel()

    @property
    def running(self) -> bool:
        return self.state == "running"


def _throttled(factory: Callable[[CancelToken], Job], handle: JobHandle):
    """Run the job, forwarding progress at most every MIN_INTERVAL_S (payloads always)."""
    try:
        check_cancel(handle.token)  # cancelled before a thread was free to start it
        job = factory(handle.token)
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
    finally:
        handle.stopped.set()


class JobRunner(QObject):
    """Starts jobs and keeps the status-bar job indicator up to date.

    Creating one shortens Python's thread switch interval, for the whole process, to
    :data:`GIL_SWITCH_INTERVAL_S` at most: the GUI thread gets Python's lock back that soon from
    a busy job."""

    changed = Signal()

    def __init__(self):
        super().__init__()
        self.handles: list[JobHandle] = []
        self._held: list[JobHandle] = []  # not started yet: a job the user waits for runs
        # held jobs are looked at once the callback that started them is over (it may start
        # the job the user waits for after them), and started at the latest after the limit
        self._release_soon = single_shot(self, 0, self._release_held)
        self._hold_limit = single_shot(self, HOLD_LIMIT_MS, lambda: self._release_held(True))
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))

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
        cancellable: bool = True,
        waited_for: bool = False,
        owner=None,
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
        cancellable : bool
            False for work that must finish once asked for (saving an edit): :meth:`shutdown`
            waits for it instead of cancelling it; it starts at once.
        waited_for : bool
            The user waits for its result on screen (the image they asked for): until it
            ends, other cancellable jobs wait to start (at most :data:`HOLD_LIMIT_MS`).
        owner : QObject, optional
            The widget the callbacks update: once Qt deletes it (its window closed), the
            callbacks are dropped instead of touching a deleted object.

        Returns
        -------
        JobHandle
            The running job.
        """
        handle = JobHandle(name, CancelToken(), cancellable=cancellable, waited_for=waited_for)
        if owner is not None:
            owner.destroyed.connect(lambda *_: setattr(handle, "detached", True))

        def progressed(event: Progress) -> None:
            handle.progress = event
            self.changed.emit()
            if on_progress is not None and not handle.detached:
                on_progress(event)

        def returned(result) -> None:
            handle.state = "done"
            if handle.detached:
                return
            if notify_done:
                show_info(f"{name}: done")
            if on_done is not None:
                on_done(result)

        def errored(exc: BaseException) -> None:
            if isinstance(exc, JobCancelled):
                handle.state = "cancelled"
                if handle.detached:
                    return
                show_info(f"{name}: cancelled")
                if on_cancelled is not None:
                    on_cancelled()
                return
            handle.state = "failed"
            log.error("%s failed", name, exc_info=(type(exc), exc, exc.__traceback__))
            if handle.detached:
                return
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
            if waited_for:
                self._release_soon.start()

        handle.worker = create_worker(
            _throttled, factory, handle, _start_thread=False,
            _connect={"yielded": progressed, "returned": returned, "errored": errored,
                      "finished": finished})
        self.handles.append(handle)
        self.changed.emit()
        if waited_for or not cancellable:
            handle.worker.start()
        else:
            handle.held = True
            self._held.append(handle)
            self._release_soon.start()
        return handle

    def _release_held(self, force: bool = False) -> None:
        """Start the held jobs, unless a job the user waits for still runs (and ``force`` is
        False): then they are started when it ends, or when the hold limit comes."""
        if not force and any(h.waited_for and h.running for h in self.handles):
            if not self._hold_limit.isActive():
                self._hold_limit.start()
            return
        self._hold_limit.stop()
        held, self._held = self._held, []
        for handle in held:
            handle.held = False
            handle.worker.start()
        if held:
            self.changed.emit()

    def cancel_all(self) -> None:
        """Ask every running job to stop at its next check."""
        for handle in list(self.handles):
            handle.cancel()

    def shutdown(self, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> list[str]:
        """Cancel every job, wait until their threads are done, and drop their callbacks.

        Jobs that do not check their token (a mask being saved) run to their end: waiting for
        them is what keeps an acknowledged edit. Runs on the GUI thread, which it blocks for at
        most ``timeout_s``.

        Parameters
        ----------
        timeout_s : float
            The longest wait for all jobs together.

        Returns
        -------
        list of str
            Names of the jobs still running after the wait (empty when all stopped).
        """
        for handle in self._held:  # never started: dropped (only cancellable jobs are held)
            handle.cancel()
            handle.state = "cancelled"
            handle.stopped.set()
            self.handles.remove(handle)
        self._held = []
        handles = list(self.handles)
        for handle in handles:
            if handle.cancellable:
                handle.cancel()
            handle.detached = True
        deadline = time.perf_counter() + timeout_s
        for handle in handles:
            handle.stopped.wait(max(0.0, deadline - time.perf_counter()))
        return [h.name for h in handles if not h.stopped.is_set()]

    @property
    def busy(self) -> bool:
        """Whether a job is running (or its last signals are still on their way)."""
        return bool(self.handles)


class FractionBar(QWidget):
    """A progress bar drawn in the style's look that repaints when Qt next paints.

    ``QProgressBar.setValue`` repaints at once, synchronously: in napari's window, whose canvas
    is an OpenGL widget, that redraws the whole window (measured 0.3 s per call) — a stall at
    every progress event. Here a new value only asks for a paint. A job of unknown length shows
    a bar that fills in steps every :data:`REFRESH_MS`: the style's own busy animation repainted
    the window at 60 frames a second, which with software OpenGL took a core away from the
    job itself (training on 100,000 embeddings: 0.18 s alone, 1.3 s beside the animation).
    """

    BUSY_STEPS = 5

    def __init__(self, parent=None):
        super().__init__(parent)
        self.fraction: float | None = None  # None: progress not known (a busy bar)
        self.busy_step = 0
        self._busy_timer = QTimer(self)
        self._busy_timer.setInterval(REFRESH_MS)
        self._busy_timer.timeout.connect(self._next_busy_step)

    def set_fraction(self, fraction: float | None) -> None:
        """Show ``fraction`` (0–1) done, or a busy bar for None.

        Parameters
        ----------
        fraction : float or None
            Done so far.
        """
        if fraction != self.fraction:
            self.fraction = fraction
            self.update()
        if fraction is None and not self._busy_timer.isActive():
            self._busy_timer.start()
        elif fraction is not None:
            self._busy_timer.stop()

    def _next_busy_step(self) -> None:
        if not self.isVisibleTo(self.window()):
            self._busy_timer.stop()  # hidden with its indicator: started again when shown
            return
        self.busy_step = (self.busy_step + 1) % self.BUSY_STEPS
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt's name
        """Draw the bar with the style's progress-bar control."""
        from qtpy.QtGui import QPainter
        from qtpy.QtWidgets import QStyle, QStyleOptionProgressBar

        option = QStyleOptionProgressBar()
        option.initFrom(self)
        option.state |= QStyle.StateFlag.State_Horizontal  # else Qt 6 fills it bottom to top
        option.minimum = 0  # never min == max: the style would animate a busy bar itself
        if self.fraction is None:
            option.maximum, option.progress = self.BUSY_STEPS, self.busy_step + 1
        else:
            option.maximum, option.progress = 1000, int(1000 * self.fraction)
        option.textVisible = False
        painter = QPainter(self)
        self.style().drawControl(QStyle.ControlElement.CE_ProgressBar, option, painter, self)
        painter.end()


class JobStatusWidget(QWidget):
    """Status-bar indicator: the newest running job, its progress bar and a cancel button."""

    def __init__(self, runner: JobRunner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.label = QLabel()
        self.bar = FractionBar()
        self.bar.setFixedSize(160, 14)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("✕")
        self.cancel_button.setToolTip("Cancel this job")
        self.cancel_button.clicked.connect(self._cancel_newest)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        for w in (self.label, self.bar, self.cancel_button):
            layout.addWidget(w, 0, Qt.AlignmentFlag.AlignVCenter)
        # at most ~4 repaints a second: each repaint of napari's window recomposes its OpenGL
        # canvas (20 ms with software OpenGL), and short jobs come and go many times a second
        self._timer = single_shot(self, REFRESH_MS, self.refresh)
        runner.changed.connect(self._schedule)  # a method: Qt disconnects it with the widget
        self.refresh()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        handles = self.runner.handles
        self.setVisible(bool(handles))
        if not handles:
            return
        newest = handles[-1]
        p = newest.progress
        more = f" (+{len(handles) - 1} more)" if len(handles) > 1 else ""
        state = ": waiting for the image" if newest.held else (
            f": {p.message}" if p and p.message else "")
        self.label.setText(f"{newest.name}{state}{more}")
        self.bar.set_fraction(None if p is None or not p.total else p.fraction)

    def _cancel_newest(self) -> None:
        if self.runner.handles:
            self.runner.handles[-1].cancel()

