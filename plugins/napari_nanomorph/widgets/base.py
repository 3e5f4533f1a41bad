"""What every nanomorph dock shares: the viewer's session, the status bar, quick actions."""

from __future__ import annotations

from nanomorph.errors import NanomorphError
from napari.utils.notifications import show_error
from napari_nanomorph.session import session_for
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

# Height a workflow dock keeps beside the image browser before its content scrolls.
MIN_DOCK_HEIGHT_PX = 420


class NanomorphDock(QWidget):
    """Base of the nanomorph dock widgets (napari passes ``napari_viewer``)."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)

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
        self._scrolled = scroll
        return QVBoxLayout(content)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        scroll = getattr(self, "_scrolled", None)
        if scroll is not None:  # as wide as the content needs: it scrolls only vertically
            scroll.setMinimumWidth(scroll.widget().minimumSizeHint().width()
                                   + scroll.verticalScrollBar().sizeHint().width())
        self.session.install_window_hooks(self)

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
