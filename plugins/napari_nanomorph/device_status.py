"""The compute device in the status bar: which one torch jobs use, and a menu to change it.

The preference is saved in the project (``device`` setting); ``$NANOMORPH_DEVICE`` is the default
when the project has none. Resolving it imports torch, so it runs in the job runner. In the GUI
process torch gets one CPU thread fewer than the machine has, so the GUI thread always has a
core to itself (the heartbeat test holds us to < 50 ms stalls).
"""

from __future__ import annotations

import os

from nanomorph.device import (
    DEVICE_CHOICES,
    describe_device,
    requested_device,
    select_device,
)
from nanomorph.errors import NanomorphError
from nanomorph.jobs import call_as_job
from qtpy.QtWidgets import QMenu, QToolButton

from napari_nanomorph.signals import listen


def configure_torch_threads_for_gui() -> int:
    """Limit torch's CPU threads to (cores − 1), at least 1; returns the count."""
    import torch

    threads = max(1, (os.cpu_count() or 2) - 1)
    torch.set_num_threads(threads)
    return threads


def resolve_for_gui(preference: str | None) -> str:
    """The device a GUI job will use, after setting the GUI's torch thread policy."""
    configure_torch_threads_for_gui()
    return select_device(preference)


class DeviceButton(QToolButton):
    """Shows ``device: cpu (1 threads)``; its menu sets the preference."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.resolved: str | None = None
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setAutoRaise(True)
        self.setToolTip("Compute device for embedding and training (auto: cuda, then mps, then cpu)")
        menu = QMenu(self)
        for choice in DEVICE_CHOICES:
            menu.addAction(choice, lambda c=choice: self.choose(c))
        self.setMenu(menu)
        listen(self, session.project_changed, lambda _p: self.refresh())
        self.refresh()

    @property
    def preference(self) -> str:
        project = self.session.project
        saved = project.settings.get("device") if project is not None else None
        try:
            return requested_device(saved)
        except NanomorphError:
            return "auto"

    def choose(self, choice: str) -> None:
        project = self.session.project
        if project is not None and not project.read_only:
            project.settings.set("device", choice)
        self.refresh(choice)

    def refresh(self, preference: str | None = None) -> None:
        preference = preference or self.preference
        self.setText(f"device: {preference} …")

        def done(device: str) -> None:
            self.resolved = device
            self.setText(f"device: {describe_device(device)}")

        def failed(exc) -> None:
            self.resolved = None
            self.setText(f"device: {preference} (unavailable)")

        self.session.jobs.start(lambda _t: call_as_job(resolve_for_gui, preference),
                                name="Detect device", on_done=done, on_error=failed, owner=self)
