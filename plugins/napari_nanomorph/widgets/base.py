"""What every nanomorph dock shares: the viewer's session, the status bar, quick actions."""

from __future__ import annotations

from nanomorph.errors import NanomorphError
from napari.utils.notifications import show_error
from napari_nanomorph.session import session_for
from napari_nanomorph.signals import listen
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFrame, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

# Height a workflow dock keeps beside the image browser before its content scrolls.
MIN_DOCK_HEIGHT_PX = 420
# up to this many images a closed step refreshes at each change; above, when it is next opened
# (a table takes 20-45 ms per 1,000 rows: five closed steps froze the opening of a
# 1,000-frame movie for 0.1 s when this was 2,000)
EAGER_IMAGES = 250


class NanomorphDock(QWidget):
    """Base of the nanomorph dock widgets (napari passes ``napari_viewer``)."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self._deferred: dict = {}  # refreshes waiting for the step to open (in order)

    def refresh_when_open(self, refresh) -> None:
        """Run ``refresh`` now when the step is open or the project small (``EAGER_IMAGES``);
        else when the step is next opened: a closed step of a 100,000-frame project does not
        rebuild its table at every change on the GUI thread.

        Parameters
        ----------
        refresh : callable
            Takes no argument; asked for twice before the step opens, it runs once.
        """
        if len(self.session.records()) <= EAGER_IMAGES or self.is_open():
            self._deferred.pop(refresh, None)
            refresh()
        else:
            self._deferred[refresh] = None

    def is_open(self) -> bool:
        """Whether the step is open: shown, or would be once its window shows (a closed page
        of the step bar is not)."""
        return self.isVisibleTo(self.window())

    def step_opened(self) -> None:
        """The step was opened (the step bar, or the dock shown): run the deferred refreshes."""
        while self._deferred:
            refresh = next(iter(self._deferred))
            del self._deferred[refresh]
            refresh()

    def scrolling_layout(self) -> QVBoxLayout:
        """The layout for the dock's content, which sits in a vertical scroll area: a dock
        taller than the room napari gives it scrolls instead of squeezing its widgets."""
        content = QWidget()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumHeight(MIN_DOCK_HEIGHT_PX)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        # the step takes the height it is given (the step bar's page, or a dock of its own)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self._scrolled = scroll
        return QVBoxLayout(content)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        scroll = getattr(self, "_scrolled", None)
        if scroll is not None:  # as wide as the content needs: it scrolls only vertically
            scroll.setMinimumWidth(scroll.widget().minimumSizeHint().width()
                                   + scroll.verticalScrollBar().sizeHint().width())
        self.session.install_window_hooks(self)
        self.step_opened()

    @staticmethod
    def form_grid(form, columns: int = 2) -> QWidget:
        """A magicgui form's fields laid out in ``columns`` label–field pairs per row: half
        the height of magicgui's one field per row, so that the table below it keeps its
        twelve rows on a 1080-pixel screen. The form itself keeps working (values, signals).

        Parameters
        ----------
        form : magicgui.widgets.Container
            The form.
        columns : int
            Fields per row.

        Returns
        -------
        QWidget
            The grid, to put in the dock's layout instead of ``form.native``.
        """
        from qtpy.QtWidgets import QGridLayout, QLabel

        grid_widget = QWidget()
        grid = QGridLayout(grid_widget)
        grid.setContentsMargins(0, 0, 0, 0)
        for index, widget in enumerate(form):
            row, column = divmod(index, columns)
            is_checkbox = type(widget).__name__ == "CheckBox"
            if not is_checkbox:
                grid.addWidget(QLabel(widget.label), row, 2 * column)
            grid.addWidget(widget.native, row, 2 * column + (0 if is_checkbox else 1),
                           1, 2 if is_checkbox else 1)
            widget.native.setToolTip(widget.tooltip or "")
        return grid_widget

    def run_job(self, factory, **options):
        """Start a job in the session's runner whose callbacks belong to this dock (dropped
        once the dock is deleted); the options are :meth:`JobRunner.start`'s.

        Parameters
        ----------
        factory : callable
            ``factory(token)`` returns the job.
        **options
            ``name``, ``on_progress``, ``on_done``, ``on_error``, ``on_cancelled`` …

        Returns
        -------
        JobHandle
            The running job.
        """
        return self.session.jobs.start(factory, owner=self, **options)

    def remember(self, form, key: str, on_saved=None) -> None:
        """Keep a magicgui form's values in the project's settings: restored when a project
        opens, saved at each change (one small SQLite write), so that what the form shows is
        what every other step and the batch use.

        Parameters
        ----------
        form : magicgui.widgets.Container
            The form.
        key : str
            Its name in the project's settings (``form.<key>``).
        on_saved : callable, optional
            Called with the values after each save (e.g. to keep a derived setting).
        """
        def restore(project) -> None:
            stored = project.settings.get(f"form.{key}") if project is not None else None
            if stored:
                with form.changed.blocked():
                    for widget in form:
                        if widget.name in stored:
                            try:
                                widget.value = stored[widget.name]
                            except (ValueError, TypeError):
                                pass  # a value this version's widget no longer takes
            if project is not None and on_saved is not None:
                on_saved(form.asdict())

        def save() -> None:
            project = self.session.project
            if project is None or project.read_only:
                return
            values = form.asdict()
            project.settings.set(f"form.{key}", values)
            if on_saved is not None:
                on_saved(values)

        form.changed.connect(lambda *_: save())
        listen(self, self.session.project_changed, restore)
        restore(self.session.project)

    def guarded(self, action) -> bool:
        """Run a quick GUI-thread action; engine and file errors become one notification.

        Returns True when the action succeeded.
        """
        try:
            action()
        except NanomorphError as e:
            show_error(str(e))
        except OSError as e:
            show_error(f"{e.filename or ''}: {e.strerror or e}".strip(": "))
        else:
            return True
        return False
