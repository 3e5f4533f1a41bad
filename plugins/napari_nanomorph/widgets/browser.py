"""The Images dock: thumbnails of the project's images, filter by name, next/previous.

A list view over a model: the view asks for the rows it paints, thumbnails are made in the
background (job runner) for the rows in view and cached in the project (on disk) and in memory
(the newest few thousand), so opening and browsing a project costs the same at 100 or 100,000
images apart from one list of records. Keys:
PageDown / PageUp (anywhere in the viewer) or the arrow keys (in the list) move to the
next / previous image shown by the filter.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
from nanomorph.project.thumbnails import THUMBNAIL_PX, thumbnails_job
from napari_nanomorph.record_index import RecordIndex
from napari_nanomorph.signals import listen, single_shot
from napari_nanomorph.widgets.base import NanomorphDock
from napari_nanomorph.widgets.movie_bar import MovieBar
from qtpy.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from qtpy.QtGui import QBrush, QColor, QIcon, QImage, QPixmap
from qtpy.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QListView, QPushButton, QVBoxLayout

ID_ROLE = Qt.ItemDataRole.UserRole
NAME_ROLE = Qt.ItemDataRole.UserRole + 1
ICON_BATCH_MS = 150  # thumbnails asked for (or arriving) within this time are handled together
ITEM_SIZE = QSize(114, 136)  # thumbnail + two lines: file name and label/prediction badge
FIRST_THUMBNAILS = 60  # made at once when a project opens (a screenful); others when scrolled to
ICON_CACHE = 3000  # thumbnails kept in memory (the project caches them on disk)


class ImageListModel(QAbstractListModel):
    """The project's images as list rows (each row's ``Qt.UserRole`` data is the image id).

    The view asks only for the rows it paints; a row whose thumbnail is not in memory shows a
    placeholder and announces that it is ``wanted`` — thumbnails are made for the rows in
    view, never for all N at once. Nothing here grows with N on the GUI thread beyond one list
    of records and a dictionary of row numbers.
    """

    wanted = Signal(int)

    def __init__(self):
        super().__init__()
        self.records: tuple = ()
        self.row_of: dict[int, int] = {}  # image id → row
        self.badges: Mapping = {}  # image id → (text, colour)
        self.icons: OrderedDict[int, QIcon] = OrderedDict()  # scaled to the view's icon size
        self.placeholder = QIcon(_placeholder_pixmap())

    def set_records(self, index: RecordIndex) -> None:
        """Show the images of ``index`` (thumbnails in memory are kept for the ones that stay)."""
        self.beginResetModel()
        self.records, self.row_of = index.records, index.row_of
        self.endResetModel()

    def set_badges(self, badges: Mapping) -> None:
        """Each image's label or prediction (text, colour), looked up as rows are painted;
        one repaint of the rows in view."""
        self.badges = badges
        if self.records:
            self.dataChanged.emit(self.index(0), self.index(len(self.records) - 1))

    def add_thumbnails(self, thumbnails: dict) -> None:
        """Image id → thumbnail (2-D uint8): kept as icons (least recently added go first)."""
        for image_id, thumb in thumbnails.items():
            self.icons[image_id] = QIcon(gray_pixmap(thumb))
            self.icons.move_to_end(image_id)
        while len(self.icons) > ICON_CACHE:
            self.icons.popitem(last=False)
        self._changed(set(thumbnails))

    def _changed(self, image_ids: set) -> None:
        rows = [self.row_of[i] for i in image_ids if i in self.row_of]
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)))

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt's signature
        return 0 if parent.isValid() else len(self.records)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        record = self.records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            text = self.badges.get(record.id, ("", None))[0]
            return f"{record.name}\n{text}" if text else record.name
        if role == Qt.ItemDataRole.DecorationRole:
            icon = self.icons.get(record.id)
            if icon is None and record.exists:
                self.wanted.emit(record.id)
            return icon or self.placeholder
        if role in (ID_ROLE, NAME_ROLE):
            return record.id if role == ID_ROLE else record.name
        if role == Qt.ItemDataRole.BackgroundRole:
            text, color = self.badges.get(record.id, ("", None))
            return _tint(color) if text else None
        if role == Qt.ItemDataRole.ForegroundRole and not record.exists:
            return QColor("red")
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = (f"{record.path}\n{record.format}, {' × '.join(map(str, record.shape))} px, "
                   f"{record.calibration.describe()}")
            return tip + ("" if record.exists else "\nMISSING: use Relink in the Project dock")
        if role == Qt.ItemDataRole.SizeHintRole:
            return ITEM_SIZE
        return None


class BrowserWidget(NanomorphDock):
    """Thumbnail list of the current project's images (a view over :class:`ImageListModel`)."""

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.model = ImageListModel()
        self.proxy = QSortFilterProxyModel()
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(NAME_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        # names never change in place (a new list resets the model): the proxy need not
        # re-filter all rows when badges repaint them (100,000 rows at each label)
        self.proxy.setDynamicSortFilter(False)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter by name")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.apply_filter)
        self.list = QListView()
        self.list.setModel(self.proxy)
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setUniformItemSizes(True)
        self.list.setLayoutMode(QListView.LayoutMode.Batched)
        self.list.setIconSize(QSize(96, 96))
        self.list.setGridSize(ITEM_SIZE + QSize(4, 4))
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.setWordWrap(True)
        self.list.selectionModel().currentChanged.connect(self._row_changed)
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
        self.movie_bar = MovieBar(self._select_frame, self.session.prefetch)
        layout.addWidget(self.movie_bar)

        napari_viewer.bind_key("PageDown", lambda _v: self.step(1), overwrite=True)
        napari_viewer.bind_key("PageUp", lambda _v: self.step(-1), overwrite=True)
        napari_viewer.bind_key("Alt-Right", lambda _v: self.movie_bar.step(1), overwrite=True)
        napari_viewer.bind_key("Alt-Left", lambda _v: self.movie_bar.step(-1), overwrite=True)
        napari_viewer.bind_key("Alt-P", lambda _v: self.movie_bar.toggle(), overwrite=True)
        self._wanted: set[int] = set()  # thumbnails asked for, not yet requested
        self._asked: set[int] = set()  # requested from the job runner (or failed)
        self._pending_icons: dict = {}  # image id → thumbnail, shown by the next _show_icons
        self._icon_timer = single_shot(self, ICON_BATCH_MS, self._show_icons)
        self._want_timer = single_shot(self, ICON_BATCH_MS, self._make_wanted)
        self.model.wanted.connect(self._want)
        listen(self, self.session.badges_changed, self.set_badges)
        listen(self, self.session.images_changed, self.reload)
        listen(self, self.session.current_changed, self._select_current)
        self.reload()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override: the thumbnails get the room
        return QSize(340, 640)

    # ------------------------------------------------------------------ content
    def reload(self) -> None:
        """Show the project's images; thumbnails follow for the first screenful and for the
        rows scrolled into view."""
        index = self.session.record_index()
        records = index.records
        self.list.selectionModel().blockSignals(True)
        self.model.set_records(index)
        self.list.selectionModel().blockSignals(False)
        self.movie_bar.set_movies(index)
        self._asked.clear()
        self._wanted = {r.id for r in records[:FIRST_THUMBNAILS] if r.exists}
        self._make_wanted()
        self._select_current(self.session.current)

    def _want(self, image_id: int) -> None:
        if image_id not in self._asked:
            self._wanted.add(image_id)
            if not self._want_timer.isActive():
                self._want_timer.start()

    def _make_wanted(self) -> None:
        """Make (or load from the project's cache) the thumbnails asked for, in one job."""
        project, wanted = self.session.project, self._wanted - self._asked
        self._wanted = set()
        if project is None or not wanted:
            return
        self._asked |= wanted
        records = [self.model.records[self.model.row_of[i]] for i in sorted(
            wanted, key=lambda i: self.model.row_of.get(i, 0)) if i in self.model.row_of]
        self.run_job(lambda token: thumbnails_job(project, records, cancel=token),
                     name="Thumbnails", on_progress=self._thumbnail_arrived)

    def set_badges(self, badges: Mapping) -> None:
        """Show each image's label or prediction under its thumbnail, tinted in the class colour."""
        self.model.set_badges(badges)

    def _thumbnail_arrived(self, event) -> None:
        image_id, thumb = event.payload
        if thumb is not None:
            self._pending_icons[image_id] = thumb
            if not self._icon_timer.isActive():
                self._icon_timer.start()

    def _show_icons(self) -> None:
        """Put the thumbnails that arrived in the list, several at a time (one repaint)."""
        pending, self._pending_icons = self._pending_icons, {}
        self.model.add_thumbnails(pending)

    def icon_at(self, row: int) -> QPixmap:
        """The picture shown for a row (as the filter shows them).

        Parameters
        ----------
        row : int
            The row.

        Returns
        -------
        QPixmap
        """
        return self.proxy.index(row, 0).data(Qt.ItemDataRole.DecorationRole).pixmap(96, 96)

    def text_at(self, row: int) -> str:
        """The text under a row's thumbnail: its name and badge.

        Parameters
        ----------
        row : int
            The row (as the filter shows them).

        Returns
        -------
        str
        """
        return self.proxy.index(row, 0).data(Qt.ItemDataRole.DisplayRole)

    def count(self) -> int:
        """The number of images listed (shown or filtered out)."""
        return self.model.rowCount()

    def apply_filter(self, text: str) -> None:
        """Show only images whose name contains ``text`` (case-insensitive); the current image
        stays current even when the filter hides it."""
        self.list.selectionModel().blockSignals(True)
        self.proxy.setFilterFixedString(text.strip())
        self.list.selectionModel().blockSignals(False)
        self._select_current(self.session.current)
        self._update_status()

    def visible_ids(self) -> list[int]:
        """The ids of the images the filter shows, in order."""
        return [self.proxy.index(r, 0).data(ID_ROLE) for r in range(self.proxy.rowCount())]

    # ------------------------------------------------------------------ navigation
    def _proxy_row(self, image_id: int | None) -> int:
        """Row of an image as the filter shows it, -1 when it is not shown."""
        row = self.model.row_of.get(image_id)
        if row is None:
            return -1
        return self.proxy.mapFromSource(self.model.index(row)).row()

    def _id_at(self, row: int) -> int:
        return self.proxy.index(row, 0).data(ID_ROLE)

    def step(self, delta: int) -> None:
        """Move to the next (+1) or previous (-1) image among those the filter shows."""
        shown = self.proxy.rowCount()
        if not shown:
            return
        current = self.session.current.id if self.session.current else None
        row = self._proxy_row(current)
        row = row + delta if row >= 0 else 0
        self.select(self._id_at(max(0, min(shown - 1, row))))

    def select(self, image_id: int) -> None:
        """Make an image current (when the filter shows it).

        Parameters
        ----------
        image_id : int
            The image.
        """
        row = self._proxy_row(image_id)
        if row >= 0:
            self.list.setCurrentIndex(self.proxy.index(row, 0))

    def _row_changed(self, index, _previous) -> None:
        if not index.isValid() or self.session.project is None:
            return
        image_id = index.data(ID_ROLE)
        if self.session.current is None or self.session.current.id != image_id:
            self.session.set_current(self.session.project.images.get(image_id))
        self._prefetch_neighbours(image_id)
        self._update_status()

    def _prefetch_neighbours(self, image_id: int) -> None:
        """Read the images before and after ``image_id`` (as the filter shows them) ahead, so
        that stepping to them shows them at once."""
        row, shown = self._proxy_row(image_id), self.proxy.rowCount()
        if row >= 0:
            project = self.session.project
            self.session.prefetch([project.images.get(self._id_at(i)) for i in (row + 1, row - 1)
                                   if 0 <= i < shown])

    def _select_frame(self, image_id: int) -> None:
        """A frame chosen on the frame bar: current, even when the filter hides it."""
        if self._proxy_row(image_id) >= 0:
            self.select(image_id)
        elif self.session.project is not None:
            self.session.set_current(self.session.project.images.get(image_id))

    def _select_current(self, record) -> None:
        self.movie_bar.show_record(record)
        if record is None:
            return
        row = self._proxy_row(record.id)
        if row >= 0 and self.list.currentIndex().row() != row:
            index = self.proxy.index(row, 0)
            self.list.selectionModel().blockSignals(True)
            self.list.setCurrentIndex(index)
            self.list.selectionModel().blockSignals(False)
            self.list.scrollTo(index)
        self._update_status()

    def _update_status(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        current = self.session.current.id if self.session.current else None
        row = self._proxy_row(current)
        position = f"{row + 1} of {shown}" if row >= 0 else f"{shown}"
        self.status.setText(position + (f" (filtered from {total})" if shown < total else ""))


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


def _placeholder_pixmap() -> QPixmap:
    pixmap = QPixmap(THUMBNAIL_PX, THUMBNAIL_PX)
    pixmap.fill(Qt.GlobalColor.darkGray)
    return pixmap
