"""The review of scale-bar readings: for each image, the bar and its label as found, the text
read, the pixel size it gives and how sure the reader is; the user ticks the readings that
become the images' pixel sizes (confident ones, which agree with their files, are ticked)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from napari_nanomorph.widgets.browser import gray_pixmap
from qtpy.QtCore import QRectF, Qt
from qtpy.QtGui import QColor, QPainter, QPen
from qtpy.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("apply", "image", "bar and label", "read", "bar (px)", "pixel size", "confidence",
           "note")
DEFAULT_MIN_CONFIDENCE = 0.8


@dataclass
class ReadingRow:
    """One image's reading as the review shows it.

    Attributes
    ----------
    image_id : int
        The image.
    name : str
        Its file name.
    reading : dict
        The reading's JSON (:func:`nanomorph.workflows.scalebar.read_project_scale_bars`).
    crop : ndarray of uint8 or None
        The bar's neighbourhood (:func:`nanomorph.workflows.scalebar.reading_crop`).
    crop_box : tuple of float or None
        Where the bar lies in ``crop`` (``x0, y0, x1, y1``, px).
    """

    image_id: int
    name: str
    reading: dict
    crop: np.ndarray | None = None
    crop_box: tuple[float, float, float, float] | None = None

    def note(self) -> str:
        """What the user should know before applying the reading."""
        notes = list(self.reading.get("notes") or [])
        disagreement = self.reading.get("file_disagreement")
        if disagreement is not None and disagreement > 0.05:
            notes.insert(0, f"the file's own pixel size is {100 * disagreement:.0f} % apart")
        return "; ".join(notes)

    def default_apply(self, min_confidence: float) -> bool:
        """Ticked at first: confident enough, and not against the file's own pixel size."""
        disagreement = self.reading.get("file_disagreement")
        return (self.reading["confidence"] >= min_confidence
                and (disagreement is None or disagreement <= 0.05))


class ScaleBarReview(QDialog):
    """Tick the readings to apply.

    Parameters
    ----------
    rows : list of ReadingRow
        The readings.
    failed : list of (str, str)
        Image name and reason for each image without a reading.
    parent : QWidget, optional
        The dialog's parent.
    """

    def __init__(self, rows: list[ReadingRow], failed: list[tuple[str, str]], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Scale bars read")
        self.rows = rows
        self.table = QTableWidget(len(rows), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.checks: list[QCheckBox] = []
        for r, row in enumerate(rows):
            self._fill(r, row)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()

        self.min_confidence = QDoubleSpinBox()
        self.min_confidence.setRange(0.0, 1.0)
        self.min_confidence.setSingleStep(0.05)
        self.min_confidence.setValue(DEFAULT_MIN_CONFIDENCE)
        tick = QPushButton("Tick all at or above")
        tick.clicked.connect(self.tick_confident)
        none = QPushButton("Tick none")
        none.clicked.connect(lambda: [c.setChecked(False) for c in self.checks])
        controls = QHBoxLayout()
        controls.addWidget(tick)
        controls.addWidget(self.min_confidence)
        controls.addStretch(1)
        controls.addWidget(none)

        summary = (f"{len(rows)} image(s) read. The ticked readings become the images' pixel "
                   "sizes (each can be set by hand again in the Pixel size box).")
        if failed:
            names = ", ".join(name for name, _ in failed[:5]) + (" …" if len(failed) > 5
                                                                 else "")
            summary += f"<br>No scale bar found in {len(failed)} image(s): {names}"
        intro = QLabel(summary)
        intro.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Apply ticked")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(controls)
        layout.addWidget(buttons)
        self.resize(min(1100, 80 + self.table.horizontalHeader().length()), 520)

    def _fill(self, r: int, row: ReadingRow) -> None:
        reading = row.reading
        check = QCheckBox()
        check.setChecked(row.default_apply(DEFAULT_MIN_CONFIDENCE))
        holder = QWidget()
        box = QHBoxLayout(holder)
        box.setContentsMargins(6, 0, 6, 0)
        box.addWidget(check)
        self.checks.append(check)
        self.table.setCellWidget(r, 0, holder)
        if row.crop is not None:
            picture = QLabel()
            picture.setPixmap(_outlined(gray_pixmap(row.crop), row.crop_box))
            self.table.setCellWidget(r, 2, picture)
        bar = "" if reading.get("bar_px") is None else f"{reading['bar_px']:.1f}"
        cells = {1: row.name, 3: reading["text"], 4: bar,
                 5: f"{reading['pixel_size']:.4g} {reading['pixel_unit']}/px",
                 6: f"{reading['confidence']:.2f}", 7: row.note()}
        for column, text in cells.items():
            item = QTableWidgetItem(text)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, column, item)

    def tick_confident(self) -> None:
        """Tick every reading at or above the chosen confidence that agrees with its file."""
        for row, check in zip(self.rows, self.checks):
            check.setChecked(row.default_apply(self.min_confidence.value()))

    def chosen(self) -> list[ReadingRow]:
        """The ticked readings.

        Returns
        -------
        list of ReadingRow
            In table order.
        """
        return [row for row, check in zip(self.rows, self.checks) if check.isChecked()]


def _outlined(pixmap, box):
    """The pixmap with the bar's box drawn in the canvas marker's yellow."""
    if box is None:
        return pixmap
    x0, y0, x1, y1 = box
    painter = QPainter(pixmap)
    painter.setPen(QPen(QColor("#ffd600"), 1.5))
    painter.drawRect(QRectF(x0 - 1, y0 - 1, x1 - x0 + 2, y1 - y0 + 2))
    painter.end()
    return pixmap
