"""The Images dock: thumbnails of the project's images, filter by name, next/previous.

Thumbnails are made in the background (job runner) and cached in the project. Keys:
PageDown / PageUp (anywhere in the viewer) or the arrow keys (in the list) move to the
next / previous image shown by the filter.
"""

from __future__ import annotations

import numpy as np
from nanomorph.project.thumbnails import THUMBNAIL_PX, thumbnails_job
from napari_nanomorph.signals import listen
from napari_nanomorph.widgets.base import NanomorphDock
from qtpy.QtCore import QSize, Qt, QTimer
from qtpy.QtGui import QBrush, QColor, QIcon, QImage, QPixmap
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)

ID_ROLE = Qt.ItemDataRole.UserRole
NAME_ROLE = Qt.ItemDataRole.UserRole + 1
ICON_BATCH_MS = 150  # thumbnails that arrive within this time are shown together
ITEM_SIZE = QSize(114, 136)  # thumbnail + two lines: file name and label/prediction badge


class BrowserWidget(NanomorphDock):
    """Thumbnail list of the current project's images."""

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self._thumb_job = None

        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter by name")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.apply_filter)
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setUniformItemSizes(True)
        self.list.setIconSize(QSize(96, 96))
        self.list.setGridSize(ITEM_SIZE + QSize(4, 4))
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.setWordWrap(True)
        self.list.currentItemChanged.connect(self._item_changed)
        self.status = QLabel()
        self.previous_button = QPushButton("◀ previous")
        self.previous_button.setToolTip("Previous image (PageUp)")
        self.previous_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QPushButton("next ▶")
        self.next_button.setToolTip("Next image (PageDown)")
        self.next_button.clicked.connect(lambda: self.step(1))
        nav = QHBoxLayout()
        nav.addWidget(self.previous_button)
        nav.addWidget(self.status, 1, Qt.AlignmentFlag.AlignCenter)
        nav.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        layout.addLayout(nav)

        napari_viewer.bind_key("PageDown", lambda _v: self.step(1), overwrite=True)
        napari_viewer.bind_key("PageUp", lambda _v: self.step(-1), overwrite=True)
        self._badges: dict[int, tuple[str, str | None]] = {}
        self._pending_icons: dict = {}  # image id → thumbnail, shown by the next _show_icons
        self._icon_timer = QTimer(self)
        self._icon_timer.setSingleShot(True)
        self._icon_timer.setInterval(ICON_BATCH_MS)
        self._icon_timer.timeout.connect(self._show_icons)
        listen(self, self.session.badges_changed, self.set_badges)
        listen(self, self.session.images_changed, self.reload)
        listen(self, self.session.current_changed, self._select_current)
        self.reload()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override: the thumbnails get the room
        return QSize(340, 640)

    # ------------------------------------------------------------------ content
    def reload(self) -> None:
        """Rebuild the list from the project and start making missing thumbnails."""
        project = self.session.project
        self.list.blockSignals(True)
        self.list.clear()
        self._items: dict[int, QListWidgetItem] = {}
        records = project.images.all() if project is not None else []
        placeholder = _placeholder_icon()
        for record in records:
            item = QListWidgetItem(placeholder, record.name)
            item.setData(ID_ROLE, record.id)
            item.setData(NAME_ROLE, record.name)
            item.setSizeHint(ITEM_SIZE)
            self._items[record.id] = item
            tip = f"{record.path}\n{record.format}, {' × '.join(map(str, record.shape))} px, " \
                  f"{record.calibration.describe()}"
            if not record.exists:
                tip += "\nMISSING: use Relink in the Project dock"
                item.setForeground(Qt.GlobalColor.red)
            item.setToolTip(tip)
            self.list.addItem(item)
        self.list.blockSignals(False)
        badges, self._badges = self._badges, {}  # the new items show no badge yet
        self.set_badges(badges)
        self.apply_filter(self.filter.text())
        self._select_current(self.session.current)
        if self._thumb_job is not None:
            self._thumb_job.cancel()
        present = [r for r in records if r.exists]
        if project is not None and present:
            self._thumb_job = self.run_job(
                lambda token: thumbnails_job(project, present, cancel=token),
                name="Thumbnails", on_progress=self._thumbnail_arrived)

    def set_badges(self, badges: dict) -> None:
        """Show each image's label or prediction under its thumbnail, tinted in the class colour."""
        previous, self._badges = self._badges, badges
        model = self.list.model()
        # one repaint for all of them: an item's change signal each made the list lay out
        # its 1,000 items again (0.5 s on the GUI thread); the items keep their size
        model.blockSignals(True)
        try:
            for image_id, item in self._items.items():
                badge = badges.get(image_id, ("", None))
                if previous.get(image_id, ("", None)) == badge:
                    continue
                name, (text, color) = item.data(NAME_ROLE), badge
                item.setText(f"{name}\n{text}" if text else name)
                item.setBackground(_tint(color) if text else QBrush())
        finally:
            model.blockSignals(False)
        self.list.viewport().update()

    def _thumbnail_arrived(self, event) -> None:
        image_id, thumb = event.payload
        if thumb is not None:
            self._pending_icons[image_id] = thumb
            if not self._icon_timer.isActive():
                self._icon_timer.start()

    def _show_icons(self) -> None:
        """Put the thumbnails that arrived in the list, several at a time: one list update
        (and one repaint) instead of one per thumbnail."""
        pending, self._pending_icons = self._pending_icons, {}
        model = self.list.model()
        model.blockSignals(True)
        try:
            for image_id, thumb in pending.items():
                item = self._item_for(image_id)
                if item is not None:
                    item.setIcon(QIcon(gray_pixmap(thumb)))
        finally:
            model.blockSignals(False)
        self.list.viewport().update()

    def apply_filter(self, text: str) -> None:
        """Show only images whose name contains ``text`` (case-insensitive)."""
        needle = text.strip().lower()
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setHidden(bool(needle) and needle not in item.data(NAME_ROLE).lower())
        self._update_status()

    def visible_ids(self) -> list[int]:
        return [self.list.item(r).data(ID_ROLE) for r in range(self.list.count())
                if not self.list.item(r).isHidden()]

    # ------------------------------------------------------------------ navigation
    def step(self, delta: int) -> None:
        """Move to the next (+1) or previous (-1) image among those the filter shows."""
        ids = self.visible_ids()
        if not ids:
            return
        current = self.session.current.id if self.session.current else None
        index = ids.index(current) + delta if current in ids else 0
        self.select(ids[max(0, min(len(ids) - 1, index))])

    def select(self, image_id: int) -> None:
        item = self._item_for(image_id)
        if item is not None:
            self.list.setCurrentItem(item)

    def _item_changed(self, item, _previous) -> None:
        if item is None or self.session.project is None:
            return
        image_id = item.data(ID_ROLE)
        if self.session.current is None or self.session.current.id != image_id:
            self.session.set_current(self.session.project.images.get(image_id))
        self._prefetch_neighbours(image_id)
        self._update_status()

    def _prefetch_neighbours(self, image_id: int) -> None:
        """Read the images before and after ``image_id`` (as the filter shows them) ahead, so
        that stepping to them shows them at once."""
        ids = self.visible_ids()
        if image_id in ids:
            at = ids.index(image_id)
            project = self.session.project
            self.session.prefetch([project.images.get(ids[i]) for i in (at + 1, at - 1)
                                   if 0 <= i < len(ids)])

    def _select_current(self, record) -> None:
        if record is None:
            return
        item = self._item_for(record.id)
        if item is not None and self.list.currentItem() is not item:
            self.list.blockSignals(True)
            self.list.setCurrentItem(item)
            self.list.blockSignals(False)
            self.list.scrollToItem(item)
        self._update_status()

    def _item_for(self, image_id: int):
        return self._items.get(image_id)

    def _update_status(self) -> None:
        ids = self.visible_ids()
        current = self.session.current.id if self.session.current else None
        position = f"{ids.index(current) + 1} of {len(ids)}" if current in ids else f"{len(ids)}"
        total = self.list.count()
        self.status.setText(position + (f" (filtered from {total})" if len(ids) < total else ""))


def gray_pixmap(thumb: np.ndarray) -> QPixmap:
    """A QPixmap from a 2-D uint8 array (copied, so the array may be freed)."""
    thumb = np.ascontiguousarray(thumb)
    h, w = thumb.shape
    image = QImage(thumb.data, w, h, w, QImage.Format.Format_Grayscale8)
    return QPixmap.fromImage(image.copy())


def _tint(color: str | None) -> QBrush:
    """A translucent brush of a class colour for a list item's background."""
    c = QColor(color or "#808080")
    c.setAlpha(90)
    return QBrush(c)


def _placeholder_icon() -> QIcon:
    pixmap = QPixmap(THUMBNAIL_PX, THUMBNAIL_PX)
    pixmap.fill(Qt.GlobalColor.darkGray)
    return QIcon(pixmap)
