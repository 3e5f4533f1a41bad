"""Errors stay: napari's notifications fade after a few seconds, whatever their severity. The
status bar's problems button keeps every error shown in this window (nanomorph's and napari's)
until the user has read them: its count, the last message as its tooltip, the full list on a
click, with a button that clears them."""

from __future__ import annotations

import time

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QMessageBox, QToolButton

KEEP = 50  # the newest errors kept


class ProblemsButton(QToolButton):
    """Counts the errors notified since the last clear; hidden while there are none."""

    arrived = Signal(str)

    def __init__(self, parent=None):
        from napari.utils.notifications import notification_manager

        super().__init__(parent)
        self.problems: list[str] = []
        self.setStyleSheet("color: #e5484d; font-weight: bold;")
        self.clicked.connect(self.show_problems)
        self.arrived.connect(self._add)  # any thread → the GUI thread
        self._manager = notification_manager
        notification_manager.notification_ready.connect(self._notified)
        self.destroyed.connect(lambda *_: self._disconnect())
        self._refresh()

    def _disconnect(self) -> None:
        try:
            self._manager.notification_ready.disconnect(self._notified)
        except (TypeError, ValueError, RuntimeError):
            pass

    def _notified(self, event) -> None:
        notification = getattr(event, "value", event)
        if str(getattr(notification, "severity", "")).lower() == "error":
            self.arrived.emit(str(notification.message))

    def _add(self, message: str) -> None:
        self.problems = [*self.problems, f"{time.strftime('%H:%M:%S')}  {message}"][-KEEP:]
        self._refresh()

    def _refresh(self) -> None:
        n = len(self.problems)
        self.setVisible(n > 0)
        self.setText(f"⚠ {n} problem{'s' * (n != 1)}")
        self.setToolTip(self.problems[-1] if self.problems else "")

    def show_problems(self) -> None:
        """List the errors; the user may clear them."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Problems",
                          "\n\n".join(reversed(self.problems)), parent=self.window())
        clear = box.addButton("Clear", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.exec()
        if box.clickedButton() is clear:
            self.clear()

    def clear(self) -> None:
        """Forget the errors shown so far."""
        self.problems = []
        self._refresh()
