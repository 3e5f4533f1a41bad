"""The project's change events, brought to the GUI thread and merged.

The store emits its events (:class:`nanomorph.project.events.ProjectEvents`) from whatever
thread made the change — mostly the job runner's workers. :class:`StoreRelay` hands each one to
the GUI thread through a queued Qt signal and merges a burst (an auto-mask of 500 images is 500
mask events) into one call per kind every ``MERGE_MS``, so docks and tables refresh once, on
the GUI thread, with the ids that changed.
"""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import QObject, Signal

from napari_nanomorph.signals import single_shot

MERGE_MS = 40
KINDS = ("images", "masks", "labels", "classes", "models", "results", "settings")


class StoreRelay(QObject):
    """Forwards one project's events to ``deliver(kind, ids)`` on the GUI thread.

    Parameters
    ----------
    deliver : callable
        ``deliver(kind, ids)``: ``kind`` one of :data:`KINDS`, ``ids`` the image ids that
        changed (empty for classes, models and settings).
    """

    arrived = Signal(str, object)

    def __init__(self, deliver: Callable[[str, set], None]):
        super().__init__()
        self._deliver = deliver
        self._pending: dict[str, set] = {}
        self._project = None
        self._slots: list = []
        self._timer = single_shot(self, MERGE_MS, self.flush)
        self.arrived.connect(self._collect)

    def attach(self, project) -> None:
        """Listen to ``project``'s events (and stop listening to the previous project's).

        Parameters
        ----------
        project : Project or None
            The session's project.
        """
        self.detach()
        if project is None:
            return
        self._project = project
        for kind in KINDS:
            slot = self._forwarder(kind)
            getattr(project.events, kind).connect(slot)
            self._slots.append((kind, slot))

    def detach(self) -> None:
        """Stop listening and drop what has not been delivered."""
        if self._project is not None:
            for kind, slot in self._slots:
                getattr(self._project.events, kind).disconnect(slot, missing_ok=True)
        self._project, self._slots = None, []
        self._pending.clear()
        self._timer.stop()

    def _forwarder(self, kind: str):
        def forward(*args):  # any thread: a Qt signal carries it to the GUI thread
            ids = args[0] if args and isinstance(args[0], list) else (
                [args[0]] if kind == "masks" else args[1] if kind == "results" else [])
            self.arrived.emit(kind, set(ids))
        return forward

    def _collect(self, kind: str, ids: set) -> None:
        self._pending.setdefault(kind, set()).update(ids)
        if not self._timer.isActive():
            self._timer.start()

    @property
    def pending(self) -> bool:
        """Whether some events wait for the next merge."""
        return bool(self._pending)

    def flush(self) -> None:
        """Deliver what arrived since the last flush, one call per kind."""
        pending, self._pending = self._pending, {}
        for kind in KINDS:
            if kind in pending:
                self._deliver(kind, pending[kind])
