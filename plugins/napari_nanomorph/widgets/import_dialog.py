"""The mask-import dialog: the values found in the chosen mask files, how many pixels and files
hold each, and the project label each becomes (each value its own label by default, so that two
classes of a mask never merge silently)."""

from __future__ import annotations

from nanomorph.workflows.transfer import NONZERO, MaskSurvey
from qtpy.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)


class MappingDialog(QDialog):
    """Choose the label of every value found in the mask files.

    Parameters
    ----------
    survey : MaskSurvey
        What the files hold.
    previous : dict, optional
        The mapping chosen last time in this project: its labels win for the values it names.
    parent : QWidget, optional
        The dialog's parent.
    """

    def __init__(self, survey: MaskSurvey, previous: dict | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Import masks: map values to labels")
        self.survey = survey
        default = survey.default_mapping()
        previous = previous or {}
        self.values = sorted(survey.pixels)
        self.table = QTableWidget(len(self.values), 4)
        self.table.setHorizontalHeaderLabels(("value", "files", "pixels", "project label"))
        self.table.verticalHeader().setVisible(False)
        self.spins: dict[int, QSpinBox] = {}
        for row, value in enumerate(self.values):
            for col, shown in enumerate((value, survey.files[value], survey.pixels[value])):
                item = QTableWidgetItem(f"{shown:,}" if col == 2 else str(shown))
                self.table.setItem(row, col, item)
            spin = QSpinBox()
            spin.setRange(0, 255)
            spin.setSpecialValueText("0 (background)")
            spin.setValue(int(previous.get(value, default.get(value, default.get(
                NONZERO, 0) if value else 0))))
            self.spins[value] = spin
            self.table.setCellWidget(row, 3, spin)
        self.table.resizeColumnsToContents()
        self.nonzero = QCheckBox("every non-zero value → label 1 (one class; instance masks)")
        self.nonzero.setChecked(NONZERO in default and not previous)
        self.nonzero.toggled.connect(self._nonzero_toggled)
        self._nonzero_toggled(self.nonzero.isChecked())
        note = QLabel("Label 1 is the nanowire class; 2, 3, … other classes (e.g. droplets); "
                      "0 is background." + (
                          f"<br><b>{len(survey.failed)} file(s) cannot be read</b> and will be "
                          "skipped." if survey.failed else ""))
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.nonzero)
        layout.addWidget(buttons)

    def _nonzero_toggled(self, on: bool) -> None:
        for spin in self.spins.values():
            spin.setEnabled(not on)

    def mapping(self) -> dict:
        """The chosen mapping, as :func:`~nanomorph.workflows.transfer.parse_value_mapping`
        returns it (values mapped to 0 left out).

        Returns
        -------
        dict
            Mask value (or ``"nonzero"``) → project label.
        """
        if self.nonzero.isChecked():
            return {NONZERO: 1}
        return {value: spin.value() for value, spin in self.spins.items() if spin.value()}
