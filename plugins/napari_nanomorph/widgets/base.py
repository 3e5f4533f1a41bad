"""What every nanomorph dock shares: the viewer's session, the status bar, quick actions."""

from __future__ import annotations

from napari.utils.notifications import show_error
from qtpy.QtWidgets import QWidget

from nanomorph.errors import NanomorphError
from napari_nanomorph.session import session_for


class NanomorphDock(QWidget):
    """Base of the nanomorph dock widgets (napari passes ``napari_viewer``)."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.session.install_status_bar(self)

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
