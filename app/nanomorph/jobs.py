"""The job protocol: long work written once as a generator, driven by any runner.

A job is a generator function that yields :class:`Progress` events and returns its result::

    def embed(paths, *, cancel=None):
        for i, p in enumerate(paths):
            check_cancel(cancel)
            ...
            yield Progress(i + 1, len(paths), f"embedded {p}")
        return result

Runners (the napari plugin's job runner, the CLI, the Dask batch runner) iterate the generator;
none of that is visible to the engine. Cancel happens at a yield: the runner sets the
:class:`CancelToken` (or stops iterating) and the job raises :class:`JobCancelled` at its next
check, after saving what it already finished.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from nanomorph.errors import JobCancelled

T = TypeVar("T")
Job = Generator["Progress", None, T]


@dataclass(frozen=True)
class Progress:
    """One progress event.

    Attributes
    ----------
    done, total : int
        Steps finished and steps in all (``total`` may be 0 when unknown).
    message : str
        A short line for a status bar.
    payload : Any
        Optional data for live displays (e.g. a loss value, a finished item's result).
    """

    done: int
    total: int
    message: str = ""
    payload: Any = None

    @property
    def fraction(self) -> float:
        """Fraction done in [0, 1] (0 when the total is unknown)."""
        return self.done / self.total if self.total else 0.0


class CancelToken:
    """A thread-safe flag a runner sets to ask a job to stop at its next check."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next check (idempotent, thread-safe)."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()


def check_cancel(token: CancelToken | None) -> None:
    """Stop a job whose cancel token was set.

    Parameters
    ----------
    token : CancelToken or None
        The job's token; None never cancels.

    Raises
    ------
    JobCancelled
        When ``token`` was set.
    """
    if token is not None and token.cancelled:
        raise JobCancelled()


def run_job(job: Job[T], on_progress: Callable[[Progress], None] | None = None) -> T:
    """Drive a job to completion in the calling thread.

    Parameters
    ----------
    job : generator
        The job, already called with its arguments.
    on_progress : callable, optional
        Called with every :class:`Progress` event.

    Returns
    -------
    Any
        The job's result (the generator's return value).
    """
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(event)


def call_as_job(function: Callable[..., T], *args, **kwargs) -> Job[T]:
    """Wrap a short function as a job with no progress events, so a runner can drive it off the GUI
    thread; the function runs at the first step.

    Parameters
    ----------
    function : callable
        The work.
    *args, **kwargs
        Passed to ``function``.

    Returns
    -------
    generator
        A job whose result is ``function(*args, **kwargs)``.
    """
    yield from ()
    return function(*args, **kwargs)
