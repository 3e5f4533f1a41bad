"""The per-image tables of the workflow steps (percolation results, classes, Dice scores): one
row per image, sortable by any column, narrowed by a filter box, columns sized to their
content, tall enough for ``MIN_ROWS`` rows, a click makes the row's image current."""

from __future__ import annotations

from collections.abc import Sequence

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

MIN_ROWS = 12


class ImageTable(QWidget):
    """A filterable, sortable table with one row per image.

    Parameters
    ----------
    columns : sequence of str
        Column titles; the first column holds the image name.
    """

    image_clicked = Signal(int)

    def __init__(self, columns: Sequence[str]):
        super().__init__()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter: part of a name or any cell, e.g. network")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.table = QTableWidget(0, len(columns))
        self.table.setHorizontalHeaderLabels(list(columns))
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.cellClicked.connect(self._clicked)
        row_px = self.table.verticalHeader().defaultSectionSize()
        self.table.setMinimumHeight(row_px * MIN_ROWS + self.table.horizontalHeader().sizeHint()
                                    .height() + 2 * self.table.frameWidth())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)

    def set_rows(self, rows: Sequence[tuple[int, Sequence]], colors: Sequence = ()) -> None:
        """Replace the rows, keeping the sort order and the filter.

        Parameters
        ----------
        rows : sequence of (int, sequence)
            ``(image id, cell values)``: numbers sort as numbers, None shows empty.
        colors : sequence, optional
            Per row, a colour (``"#rrggbb"``) for the row's first cell, or None.
        """
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for row, (image_id, values) in enumerate(rows):
            for col, value in enumerate(values):
                item = QTableWidgetItem()
                item.setData(Qt.ItemDataRole.DisplayRole, value)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, image_id)
                    color = colors[row] if row < len(colors) else None
                    if color:
                        item.setData(Qt.ItemDataRole.DecorationRole, QColor(color))
                self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)
        self._apply_filter(self.filter.text())

    def rowCount(self) -> int:  # noqa: N802 - the QTableWidget name, for callers that count rows
        """The number of rows (shown or filtered out)."""
        return self.table.rowCount()

    def visible_ids(self) -> list[int]:
        """The image ids of the rows the filter shows, in display order."""
        return [self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)
                for row in range(self.table.rowCount()) if not self.table.isRowHidden(row)]

    def cell(self, image_id: int, column: int):
        """The value shown in one cell (None when the image has no row).

        Parameters
        ----------
        image_id : int
            The row's image.
        column : int
            The column.
        """
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == image_id:
                item = self.table.item(row, column)
                return None if item is None else item.data(Qt.ItemDataRole.DisplayRole)
        return None

    def _apply_filter(self, text: str) -> None:
        words = text.lower().split()
        for row in range(self.table.rowCount()):
            cells = " ".join(str(self.table.item(row, col).data(Qt.ItemDataRole.DisplayRole))
                             for col in range(self.table.columnCount())
                             if self.table.item(row, col) is not None).lower()
            self.table.setRowHidden(row, not all(word in cells for word in words))

    def _clicked(self, row: int, _col: int) -> None:
        self.image_clicked.emit(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole))
