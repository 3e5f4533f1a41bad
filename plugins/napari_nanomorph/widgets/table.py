"""The per-image tables of the workflow steps (percolation results, classes, Dice scores): one
row per image, sortable by any column, narrowed by a filter box, columns sized to their
content, tall enough for ``MIN_ROWS`` rows; a click makes the row's image current.

The rows live in a model that the view asks only for the cells it paints, so replacing all
rows of a 1,000-image project costs about a millisecond on the GUI thread (a QTableWidget
builds an item per cell: tens of milliseconds).
"""

from __future__ import annotations

from collections.abc import Sequence

from qtpy.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from qtpy.QtGui import QColor
from qtpy.QtWidgets import QHeaderView, QLineEdit, QTableView, QVBoxLayout, QWidget

MIN_ROWS = 12
# rows the header looks at to size a column to its content
SIZE_PRECISION_ROWS = 20


class _RowModel(QAbstractTableModel):
    """Rows of cell values; the first cell of a row carries its image id."""

    def __init__(self, columns: Sequence[str]):
        super().__init__()
        self.columns = list(columns)
        self.ids: list[int] = []
        self.values: list[Sequence] = []
        self.colors: list = []
        self._text: list[str] | None = None  # each row's cells in lower case, for the filter
        self.sorted_by = (0, Qt.SortOrder.AscendingOrder)

    def replace(self, rows: Sequence[tuple[int, Sequence]], colors: Sequence) -> None:
        self.beginResetModel()
        self.ids = [image_id for image_id, _ in rows]
        self.values = [values for _, values in rows]  # read only: no copy per row
        self.colors = list(colors) + [None] * (len(rows) - len(colors))
        self._text = None
        self._apply_sort()
        self.endResetModel()

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sort the rows by a column in Python (one key per row, empty cells last); the view
        calls it when a header is clicked."""
        self.sorted_by = (column, order)
        self.layoutAboutToBeChanged.emit()
        self._apply_sort()
        self.layoutChanged.emit()

    def _apply_sort(self) -> None:
        column, order = self.sorted_by
        if column < 0 or not self.values:
            return
        cells = [row[column] for row in self.values]
        # numbers before text, empty cells last; C-level sort keys (a Python key function
        # per row took 40 ms at 10,000 rows)
        numbers = [r for r, v in enumerate(cells) if isinstance(v, (int, float))]
        texts = [r for r, v in enumerate(cells) if v is not None and
                 not isinstance(v, (int, float))]
        as_text = {r: str(cells[r]) for r in texts}
        descending = order == Qt.SortOrder.DescendingOrder
        numbers.sort(key=cells.__getitem__, reverse=descending)
        texts.sort(key=as_text.__getitem__, reverse=descending)
        filled = texts + numbers if descending else numbers + texts
        order_rows = filled + [r for r, value in enumerate(cells) if value is None]
        for name in ("ids", "values", "colors"):
            items = getattr(self, name)
            setattr(self, name, [items[i] for i in order_rows])
        self._text = None

    def row_text(self, row: int) -> str:
        """A row's cells in lower case, for the filter (made for all rows at the first call
        after a change: only a filtering user pays for it)."""
        if self._text is None:
            self._text = [" ".join("" if v is None else str(v) for v in values).lower()
                          for values in self.values]
        return self._text[row]

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt's signature
        return 0 if parent.isValid() else len(self.values)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt's signature
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        row, col = index.row(), index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self.values[row][col]
        if role == Qt.ItemDataRole.DecorationRole and col == 0 and self.colors[row]:
            return QColor(self.colors[row])
        if role == Qt.ItemDataRole.UserRole:
            return self.ids[row]
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None


class _WordFilter(QSortFilterProxyModel):
    """Keeps the rows that hold every word of the filter text, in any cell. Sorting is the
    source model's (one Python key per row): the proxy's own sort asked Python for two cells
    per comparison, 50 ms a refresh at 1,000 images."""

    def __init__(self):
        super().__init__()
        self.words: list[str] = []

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:  # noqa: D102
        self.sourceModel().sort(column, order)

    def set_text(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10 (invalidateFilter is deprecated)
            self.beginFilterChange()
            self.words = text.lower().split()
            self.endFilterChange()
        else:
            self.words = text.lower().split()
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, _parent) -> bool:  # noqa: N802 - Qt's name
        if not self.words:
            return True
        text = self.sourceModel().row_text(row)
        return all(word in text for word in self.words)


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
        self.filter.setPlaceholderText("filter: words in any cell, e.g. network no")
        self.filter.setClearButtonEnabled(True)
        self.model = _RowModel(columns)
        self.proxy = _WordFilter()
        self.proxy.setSourceModel(self.model)
        self.filter.textChanged.connect(self.proxy.set_text)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        header = self.view.horizontalHeader()
        # sized to the content when the rows are first filled (and when their number
        # changes), not at every refresh: that asks the model for every visible cell
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setResizeContentsPrecision(SIZE_PRECISION_ROWS)
        header.setStretchLastSection(True)
        self.view.verticalHeader().setVisible(False)
        self.view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.view.clicked.connect(lambda index: self.image_clicked.emit(
            index.data(Qt.ItemDataRole.UserRole)))
        row_px = self.view.verticalHeader().defaultSectionSize()
        self.view.setMinimumHeight(row_px * MIN_ROWS + header.sizeHint().height()
                                   + 2 * self.view.frameWidth())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.view, 1)

    def set_rows(self, rows: Sequence[tuple[int, Sequence]], colors: Sequence = ()) -> None:
        """Replace the rows, keeping the sort order and the filter.

        Parameters
        ----------
        rows : sequence of (int, sequence)
            ``(image id, cell values)``: numbers sort as numbers, None shows empty.
        colors : sequence, optional
            Per row, a colour (``"#rrggbb"``) shown beside the row's first cell, or None.
        """
        sized = self.model.rowCount() == len(rows) and len(rows) > 0
        self.model.replace(rows, colors)
        if not sized:
            self.view.resizeColumnsToContents()

    def rowCount(self) -> int:  # noqa: N802 - the Qt name, for callers that count rows
        """The number of rows (shown or filtered out)."""
        return self.model.rowCount()

    def shown_rows(self) -> list[list]:
        """The cell values of the rows the filter shows, in display order."""
        return [[self.proxy.index(row, col).data() for col in range(self.proxy.columnCount())]
                for row in range(self.proxy.rowCount())]

    def visible_ids(self) -> list[int]:
        """The image ids of the rows the filter shows, in display order."""
        return [self.proxy.index(row, 0).data(Qt.ItemDataRole.UserRole)
                for row in range(self.proxy.rowCount())]

    def cell(self, image_id: int, column: int):
        """The value in one cell (None when the image has no row or the cell is empty).

        Parameters
        ----------
        image_id : int
            The row's image.
        column : int
            The column.
        """
        try:
            return self.model.values[self.model.ids.index(image_id)][column]
        except ValueError:
            return None
