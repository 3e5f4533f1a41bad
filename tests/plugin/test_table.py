"""ImageTable: the per-image tables' sorting, filtering, clicks and height."""

from __future__ import annotations

from qtpy.QtCore import Qt

from napari_nanomorph.widgets.table import MIN_ROWS, ImageTable


def make(qtbot) -> ImageTable:
    table = ImageTable(("image", "class", "Dice"))
    qtbot.addWidget(table)
    table.set_rows([(1, ["b.tif", "network", 0.9]), (2, ["a.tif", "bundle", None]),
                    (3, ["c.tif", "network", 0.25])], colors=["#ff0000", None, None])
    return table


def test_rows_sort_by_name_and_by_number(qtbot):
    table = make(qtbot)
    assert table.visible_ids() == [2, 1, 3]
    table.view.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    assert table.visible_ids() == [3, 1, 2]  # empty cells after the values
    table.view.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    assert table.visible_ids() == [1, 3, 2]  # in either order
    assert table.cell(1, 2) == 0.9 and table.cell(99, 0) is None


def test_the_filter_keeps_rows_holding_every_word_in_any_cell(qtbot):
    table = make(qtbot)
    table.filter.setText("NETWORK c.")
    assert table.visible_ids() == [3] and table.rowCount() == 3
    table.set_rows([(4, ["network_9.tif", "bundle", 1.0])])  # the filter stays
    assert table.visible_ids() == [] and table.shown_rows() == []
    table.filter.clear()
    assert table.shown_rows() == [["network_9.tif", "bundle", 1.0]]


def test_a_click_names_the_image_and_the_table_shows_twelve_rows(qtbot):
    table = make(qtbot)
    clicked = []
    table.image_clicked.connect(clicked.append)
    table.view.clicked.emit(table.proxy.index(1, 2))
    assert clicked == [1]
    rows_px = table.view.verticalHeader().defaultSectionSize() * MIN_ROWS
    assert table.view.minimumHeight() >= rows_px
