"""The Images browser at 1,000 / 10,000 / 100,000 images (`make bench`): filling it and
stepping through it on the GUI thread, the model/view browser beside the item-widget list it
replaced (one QListWidgetItem per image with its icon, text and tooltip), in one process.

Records are stand-ins with the fields the list shows (no project: this measures the widget,
the store's own listing is measured elsewhere). Times are the median of 3.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class FakeCalibration:
    def describe(self) -> str:
        return "2.5 nm/px"


@dataclass(frozen=True)
class FakeRecord:
    id: int
    name: str
    path: str = "/data/frame.tif"
    format: str = "TIFF"
    shape: tuple = (1024, 1024)
    exists: bool = True
    calibration: FakeCalibration = FakeCalibration()


def item_widget_fill(records) -> None:
    """What the browser did before: an item per image, with a placeholder icon and tooltip,
    in a shown icon-mode list that lays them out."""
    from qtpy.QtGui import QIcon
    from qtpy.QtWidgets import QApplication, QListView, QListWidget, QListWidgetItem

    from napari_nanomorph.widgets.browser import ITEM_SIZE, _placeholder_pixmap

    widget = QListWidget()
    widget.setViewMode(QListView.ViewMode.IconMode)
    widget.setUniformItemSizes(True)
    widget.resize(340, 640)
    widget.show()
    icon = QIcon(_placeholder_pixmap())
    for record in records:
        item = QListWidgetItem(icon, record.name)
        item.setData(256, record.id)
        item.setSizeHint(ITEM_SIZE)
        item.setToolTip(f"{record.path}\n{record.format}")
        widget.addItem(item)
    QApplication.processEvents()
    widget.close()


def median_ms(action, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(1e3 * (time.perf_counter() - start))
    return round(statistics.median(times), 2)


@pytest.mark.bench
def test_browser_cost_does_not_grow_with_the_images(qtbot, record):
    from qtpy.QtWidgets import QApplication, QListView

    from napari_nanomorph.record_index import RecordIndex
    from napari_nanomorph.widgets.browser import ImageListModel

    results = {}
    for n in (1_000, 10_000, 100_000):
        records = [FakeRecord(i, f"frame_{i:06d}.tif") for i in range(n)]
        model = ImageListModel()
        view = QListView()
        view.setViewMode(QListView.ViewMode.IconMode)
        view.setUniformItemSizes(True)
        view.setLayoutMode(QListView.LayoutMode.Batched)
        view.setModel(model)
        view.resize(340, 640)
        view.show()
        asked = []
        model.wanted.connect(asked.append)

        def fill_model():
            model.set_records(RecordIndex.of(records))
            QApplication.processEvents()

        fill = median_ms(fill_model)
        step = median_ms(lambda: (view.setCurrentIndex(model.index(n // 2)),
                                  QApplication.processEvents()))
        view.close()
        old = median_ms(lambda: item_widget_fill(records), repeats=1 if n > 10_000 else 3)
        results[n] = {"model_fill_ms": fill, "model_step_ms": step,
                      "item_widgets_fill_ms": old,
                      "thumbnails_asked": len(set(asked))}
    record("browser_scaling", results)
    assert results[100_000]["model_fill_ms"] < 1000
    assert results[100_000]["thumbnails_asked"] < 200  # only the rows in view
