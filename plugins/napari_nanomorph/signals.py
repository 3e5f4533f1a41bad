"""Connecting Qt widgets to the session's (psygnal) signals for as long as the widget lives,
and the single-shot timers that delay or merge what the widgets do.

A psygnal signal keeps calling a slot of a Qt widget after Qt has deleted the widget's C++
object (when its window closes), and the call then fails ("Internal C++ object already
deleted"). :func:`listen` disconnects the slot when the widget is destroyed.
"""

from __future__ import annotations

from collections.abc import Callable


def listen(widget, signal, slot: Callable) -> None:
    """Connect ``slot`` to the psygnal ``signal`` until ``widget`` is destroyed.

    Parameters
    ----------
    widget : QObject
        The receiver whose life bounds the connection.
    signal : psygnal.SignalInstance
        E.g. ``session.project_changed``.
    slot : callable
        Called with the signal's arguments (psygnal passes as many as it takes).
    """
    signal.connect(slot)
    widget.destroyed.connect(lambda *_: signal.disconnect(slot, missing_ok=True))


def single_shot(parent, interval_ms: int, slot: Callable[[], None]):
    """A single-shot QTimer that calls ``slot`` ``interval_ms`` after each ``start()`` (a start
    while it waits starts the wait again).

    Parameters
    ----------
    parent : QObject or None
        Owns the timer (None: the caller keeps it alive).
    interval_ms : int
        The delay, in ms.
    slot : callable
        Takes no argument; runs on the GUI thread.

    Returns
    -------
    QTimer
        Not started.
    """
    from qtpy.QtCore import QTimer

    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer
