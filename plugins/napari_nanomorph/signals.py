"""Connecting Qt widgets to the session's (psygnal) signals for as long as the widget lives.

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
