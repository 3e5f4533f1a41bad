"""The nanomorph state of one napari viewer: the open project, the current image, the job runner.

Every nanomorph dock of a viewer shares one :class:`Session` (``session_for(viewer)``), so the
Project dock, the image browser and later workflow docks see the same project and image.
"""

from __future__ import annotations

import gc
import logging
import weakref
from pathlib import Path

from nanomorph import defaults
from nanomorph.jobs import call_as_job
from nanomorph.project import ImageRecord, Project
from psygnal import Signal

from napari_nanomorph.record_index import RecordIndex

_SESSIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
# a project with more images has its records read in the background when it opens and after
# each change (about 20 µs a record: 100,000 froze the window 1 s before it first painted, and
# 1,000 read with the docks' refresh and the first repaint stalled it 116–122 ms; 500 take 10 ms)
EAGER_RECORDS = 500
_NO_RECORDS = RecordIndex()
log = logging.getLogger("nanomorph")


class Session:
    """Shared state of the nanomorph docks in one viewer.

    Signals
    -------
    project_closing(object)
        The project is about to close: flush pending edits now (they are saved before it
        closes).
    project_changed(object)
        A project was opened (the Project) or closed (None).
    images_changed()
        Images were added, removed, relinked or re-calibrated (or another project opened).
    masks_changed(set)
        Image ids whose mask has a new version (painted, imported, auto-masked, accepted).
    labels_changed(set)
        Image ids whose label changed.
    classes_changed()
        The class list, its order or its colours changed.
    models_changed()
        A model was registered or its predictions stored.
    results_changed(set)
        Image ids with a new analysis result.
    settings_changed()
        A project setting changed.
    current_changed(object)
        The current image changed (its ImageRecord, or None).
    badges_changed(Mapping)
        image id → (text, colour) shown under the image's thumbnail (labels, predictions).
    encoder_changed(str)
        Another encoder was chosen (e.g. a finished pretraining run's ``ssl:<name>``).
    """

    project_closing = Signal(object)
    project_changed = Signal(object)
    images_changed = Signal()
    masks_changed = Signal(set)
    labels_changed = Signal(set)
    classes_changed = Signal()
    models_changed = Signal()
    results_changed = Signal(set)
    settings_changed = Signal()
    current_changed = Signal(object)
    badges_changed = Signal(object)
    encoder_changed = Signal(str)

    def __init__(self, viewer):
        from napari_nanomorph.jobrunner import JobRunner
        from napari_nanomorph.read_ahead import ReadAhead
        from napari_nanomorph.store_relay import StoreRelay

        self.viewer = viewer
        self.project: Project | None = None
        self.current: ImageRecord | None = None
        # the encoder chosen in the Classify dock and its latest predictions (image id → dict)
        self.encoder = defaults.ENCODER
        self.predictions: dict[int, dict] = {}
        self._load_serial = 0
        self._index: RecordIndex | None = None  # the project's records, read once per change
        self._records_version = 0  # counts the store's image changes
        self._records_read_at = 0  # the version ``_index`` was read at
        self._after_records: list | None = None  # callbacks while records are read at open
        self.jobs = JobRunner()
        # the browser's and the frame bar's neighbours of the current image, with their masks
        self.read_ahead = ReadAhead(self.jobs)
        self.device_button = None
        self._close_hook = None
        # the docks follow the project: its change events, on the GUI thread, merged
        self._relay = StoreRelay(self._store_changed)

    @property
    def settled(self) -> bool:
        """No job runs and every store change has reached the docks."""
        return not self.jobs.busy and not self._relay.pending

    def install_window_hooks(self, anchor) -> None:
        """Once per session, on the main window that holds ``anchor`` (a docked widget): add
        the job indicator and the device button to its status bar, and close the project
        cleanly (pending edits saved, jobs cancelled and waited for) when it closes."""
        from qtpy.QtWidgets import QMainWindow

        from napari_nanomorph.device_status import DeviceButton
        from napari_nanomorph.jobrunner import JobStatusWidget
        from napari_nanomorph.problems import ProblemsButton

        window = anchor.window()
        if self.device_button is not None or not isinstance(window, QMainWindow):
            return
        self._close_hook = _install_close_hook(window, self)
        self.device_button = DeviceButton(self)
        window.statusBar().addPermanentWidget(JobStatusWidget(self.jobs))
        window.statusBar().addPermanentWidget(ProblemsButton())
        window.statusBar().addPermanentWidget(self.device_button)

    def records(self) -> tuple[ImageRecord, ...]:
        """The project's images in the order they were added (``project.images.all()``), read
        from the store once per change of them and shared by the docks: at 10,000 images each
        read takes 0.4 s, and a dozen docks refreshing on a change each read them.

        Returns
        -------
        tuple of ImageRecord
            Empty without a project, and while a large project's records are read in the
            background as it opens (:meth:`after_records`). After a change, a small project's
            are read again at once; a large project's (more than :data:`EAGER_RECORDS`) are
            the previous ones until their background read lands and ``images_changed`` says so.
        """
        return self.record_index().records

    def record_index(self) -> RecordIndex:
        """:meth:`records` with the docks' lookups over them (rows, movies), built with them."""
        if self.project is None:
            return _NO_RECORDS
        if self._index is None:
            version = self._records_version
            self._index = RecordIndex.of(self.project.images.all())
            self._records_read_at = version
            if len(self._index.records) > EAGER_RECORDS:
                keep_out_of_gc()
        return self._index

    def after_records(self, callback) -> None:
        """Call ``callback()`` once the project's records are read: now, or when a large
        project's background read (see :data:`EAGER_RECORDS`) finishes.

        Parameters
        ----------
        callback : callable
            Takes no argument; runs on the GUI thread.
        """
        if self._after_records is None:
            callback()
        else:
            self._after_records.append(callback)

    def _forget_records(self, *_ids) -> None:
        """The store's images changed (on the writing thread): a small project's records are
        read again on next use; a large one's are kept until :meth:`_store_changed` has them
        read in the background."""
        self._records_version += 1
        if self._index is None or len(self._index.records) <= EAGER_RECORDS:
            self._index = None

    def _read_records_in_background(self, project: Project) -> None:
        """Read a large project's records, and index them, on a worker; until they arrive the
        docks see the previous ones (none when it opens), then ``images_changed`` fills them."""
        if self._index is None:
            self._index = _NO_RECORDS
        if self._after_records is None:
            self._after_records = []
        version = self._records_version

        def read(index: RecordIndex | None) -> None:
            if self.project is not project:
                return
            if index is not None and self._records_version != version:
                return  # a newer change came in: the read it started lands later
            self._index = index  # failed (None): read on use
            self._records_read_at = version
            keep_out_of_gc()
            callbacks, self._after_records = self._after_records, None
            self.images_changed.emit()
            for callback in callbacks:
                callback()

        self.jobs.start(lambda _token: call_as_job(lambda: RecordIndex.of(project.images.all())),
                        name="Read the image list", on_done=read,
                        on_error=lambda _exc: read(None), on_cancelled=lambda: read(None))

    def open_project(self, project: Project) -> None:
        """Make ``project`` the session's project (closing the previous one first)."""
        self.close_project(announce=False)
        self.project = project
        self._index = None
        self.current = None
        self.read_ahead.reset(project)
        # forgotten the moment the store changes (on the writing thread), not when the merged
        # event reaches the docks: a dock reading them in between sees the change
        project.events.images.connect(self._forget_records)
        self._relay.attach(project)
        _log_to(project.log_path)
        if project.images.count() > EAGER_RECORDS:
            self._read_records_in_background(project)
        self.project_changed.emit(project)
        self.images_changed.emit()

    def close_project(self, announce: bool = True) -> None:
        """Close the session's project cleanly: pending edits are saved, running jobs are
        cancelled and waited for (bounded), then the project closes.

        Parameters
        ----------
        announce : bool
            Emit ``project_changed(None)`` afterwards (not when another project follows).
        """
        project = self.project
        if project is None:
            return
        self.project_closing.emit(project)
        still_running = self.jobs.shutdown()
        self._relay.detach()
        project.events.images.disconnect(self._forget_records, missing_ok=True)
        if still_running:
            log.warning("closing %s while these jobs still run: %s", project.folder,
                        ", ".join(still_running))
        self.project, self.current, self._index = None, None, None
        self._after_records = None
        self.read_ahead.reset(None)
        project.close()
        if announce:
            self.project_changed.emit(None)

    def _store_changed(self, kind: str, ids: set) -> None:
        """A merged burst of the project's change events, on the GUI thread."""
        if kind == "images":
            if self.current is not None and self.current.id in ids:
                self.current = self.project.images.get(self.current.id)
            if self._index is not None and self._records_read_at != self._records_version:
                self._read_records_in_background(self.project)  # large: it emits when read
            else:
                self.images_changed.emit()
        elif kind in ("classes", "models", "settings"):
            getattr(self, f"{kind}_changed").emit()
        else:
            getattr(self, f"{kind}_changed").emit(ids)

    def set_current(self, record: ImageRecord | None) -> None:
        """Make ``record`` the current image and show it (read in the background)."""
        from napari_nanomorph.layers import layer_rows_updated_once

        self.current = record
        with layer_rows_updated_once(self.viewer):  # the image and its overlays change
            self.current_changed.emit(record)
            if record is not None:
                self._show(record)

    def _show(self, record: ImageRecord) -> None:
        from napari_nanomorph.layers import show_image
        from napari_nanomorph.read_ahead import read_layer

        self._load_serial += 1
        serial = self._load_serial
        ahead = self.read_ahead.layer(record)
        if ahead is not None:  # read ahead: shown now, no round trip through a worker
            show_image(self.viewer, ahead)
            return

        def loaded(layer_tuple) -> None:
            if serial == self._load_serial:  # a newer request replaced this one
                show_image(self.viewer, layer_tuple)

        self.jobs.start(lambda _token: call_as_job(read_layer, record),
                        name=f"Open {record.name}", on_done=loaded, waited_for=True)

    def prefetch(self, records: list[ImageRecord]) -> None:
        """Read images and their masks ahead (the browser's neighbours of the current image),
        once the window has repainted: a worker running beside the repaint would slow it.

        Parameters
        ----------
        records : list of ImageRecord
            The images to have ready.
        """
        from qtpy.QtCore import QTimer

        project = self.project
        # a 0 ms timer would run first: Qt posts the repaint request at low priority
        QTimer.singleShot(1, lambda: self.read_ahead.start(records)
                          if self.project is project else None)

    def refresh_current(self) -> None:
        """Re-read the current image's record (e.g. after a calibration change)."""
        if self.project is not None and self.current is not None:
            self.set_current(self.project.images.get(self.current.id))


def keep_out_of_gc() -> None:
    """Move every object alive now out of the garbage collector's reach (``gc.freeze``): what
    the app has loaded (napari, Qt, torch) and a large project's image records live as long as
    the window, yet each full collection walked them all — 0.3–0.65 s with the GIL held, a
    frozen window, many times a minute in a 100,000-frame project. Objects without reference
    cycles (the records) are still freed when dropped; young cyclic garbage is collected
    first (a few ms) so that little of it is kept for good."""
    gc.collect(1)
    gc.freeze()


def _install_close_hook(window, session):
    """Close the session's project when ``window`` closes; returns the event filter."""
    from qtpy.QtCore import QEvent, QObject

    class CloseHook(QObject):
        def eventFilter(self, watched, event):  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Close:
                session.close_project()
            return False

    hook = CloseHook(window)
    window.installEventFilter(hook)
    return hook


def session_for(viewer) -> Session:
    """The viewer's session, created on first use."""
    session = _SESSIONS.get(viewer)
    if session is None:
        session = _SESSIONS[viewer] = Session(viewer)
    return session


def _log_to(path: Path) -> None:
    """Send nanomorph's log (job tracebacks) to the project's log file."""
    for handler in list(log.handlers):
        if isinstance(handler, logging.FileHandler):
            log.removeHandler(handler)
            handler.close()
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:  # read-only project: keep logging to the user log only
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
