"""Change events of a project: docks and tables listen to them instead of polling.

Each signal is emitted after the change is committed, from the thread that made it (a GUI
listener connects with ``thread="main"`` or queues the call itself). The payload says what
changed; listeners re-read what they show from the store.
"""

from __future__ import annotations

from psygnal import Signal, SignalGroup


class ProjectEvents(SignalGroup):
    """The signals of one open project.

    Attributes
    ----------
    images : Signal(list)
        Image ids added, removed, relinked or recalibrated.
    masks : Signal(int, int)
        (image id, new mask version).
    labels : Signal(list)
        Image ids whose label changed.
    classes : Signal()
        The class list, its order or its colours changed.
    models : Signal(str, str)
        (kind, name) of a model registered or replaced, or whose predictions changed.
    results : Signal(str, list)
        (kind, image ids) of analysis results stored.
    settings : Signal(str)
        The key of a project setting that changed.
    runs : Signal(int, str)
        (run id, status) of a run started or finished.
    """

    images = Signal(list)
    masks = Signal(int, int)
    labels = Signal(list)
    classes = Signal()
    models = Signal(str, str)
    results = Signal(str, list)
    settings = Signal(str)
    runs = Signal(int, str)
