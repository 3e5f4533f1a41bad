"""The Batch & Report step: analyse every image of the project with the batch engine (the
Percolation step's settings as they are shown, stored masks, skeleton metrics, wire morphometry,
the live classifier), and write the project's HTML report (opened only when asked)."""

from __future__ import annotations

from napari.utils.notifications import show_warning
from napari_nanomorph.layer_mode import NoProjectBanner
from napari_nanomorph.signals import listen
from napari_nanomorph.widgets.base import NanomorphDock
from qtpy.QtWidgets import QFileDialog, QGridLayout, QGroupBox, QLabel, QPushButton

# the Percolation step keeps its settings here, as the user changes them
PERCOLATION_SETTINGS = "percolation_settings"


class BatchReportWidget(NanomorphDock):
    """Batch analysis and the report of the session's project."""

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.last_batch = None
        self.last_report = None
        batch = QGroupBox("Batch analysis")
        self.batch_button = QPushButton("Analyse all images")
        self.batch_button.setToolTip(
            "Percolation (with the Percolation step's settings) of every stored mask, skeleton "
            "metrics, wire morphometry, and the live classifier's classes: results.csv/parquet "
            "in batch/<time>/")
        self.batch_button.clicked.connect(self.run_batch)
        self.settings_label = QLabel()
        self.settings_label.setWordWrap(True)
        self.batch_label = QLabel("")
        self.batch_label.setWordWrap(True)
        grid = QGridLayout(batch)
        grid.addWidget(self.settings_label, 0, 0)
        grid.addWidget(self.batch_button, 1, 0)
        grid.addWidget(self.batch_label, 2, 0)
        report = QGroupBox("Report")
        self.report_button = QPushButton("Write report…")
        self.report_button.setToolTip("One self-contained HTML file of the project: "
                                      "percolation, classes, evaluation, segmentation")
        self.report_button.clicked.connect(self.report_dialog)
        self.open_button = QPushButton("Open report")
        self.open_button.setEnabled(False)
        self.open_button.setToolTip("Write a report first")
        self.open_button.clicked.connect(self.open_report)
        self.report_label = QLabel("")
        self.report_label.setWordWrap(True)
        grid = QGridLayout(report)
        grid.addWidget(self.report_button, 0, 0)
        grid.addWidget(self.open_button, 0, 1)
        grid.addWidget(self.report_label, 1, 0, 1, 2)
        self.banner = NoProjectBanner(
            self, "The batch analysis and the report cover a project's images; "
                  "<code>nanomorph batch</code> analyses folders from the command line.",
            project_only=[self.batch_button, self.report_button])
        layout = self.scrolling_layout()
        layout.addWidget(self.banner)
        layout.addWidget(batch)
        layout.addWidget(report)
        layout.addStretch(1)
        listen(self, self.session.project_changed, lambda _p: self._refresh())
        listen(self, self.session.settings_changed, self._refresh)
        self._refresh()

    def percolation_settings(self):
        """The Percolation step's settings as they are shown (stored in the project)."""
        from nanomorph.workflows.percolation import PercolationSettings

        project = self.session.project
        stored = project.settings.get(PERCOLATION_SETTINGS) if project is not None else None
        return PercolationSettings(**(stored or {}))

    def _refresh(self) -> None:
        project = self.session.project
        for button in (self.batch_button, self.report_button):
            button.setEnabled(project is not None)
            button.setToolTip(button.toolTip() if project is not None
                              else "Open a project first (Project step)")
        if project is None:
            self.settings_label.setText("No project open.")
            return
        s = self.percolation_settings()
        self.settings_label.setText(
            f"Percolation: {s.method}, eps {s.eps:g} {s.units}, min samples {s.min_samples}, "
            f"margin {s.margin:g} {s.units}" + (f", at {s.resize} × {s.resize} px"
                                                if s.resize else "")
            + " (as set in the Percolation step)")

    def run_batch(self) -> None:
        """The batch engine (as ``nanomorph batch PROJECT``) in the job runner."""
        import time

        from nanomorph.batch.config import BatchConfig
        from nanomorph.batch.runner import run_batch

        project = self.session.project
        if project is None:
            show_warning("Open a project first (Project step)")
            return
        live = [m for m in project.models.list("classifier") if m["name"] == "live"]
        config = BatchConfig(mask_source="project", skeleton=True, morphometry=True,
                             write_overlays=True,
                             percolation=self.percolation_settings(),
                             classifier=str(project.models.path(live[0])) if live else None)
        out = project.folder / "batch" / time.strftime("%Y%m%d-%H%M%S")

        def done(summary) -> None:
            counts = summary.counts
            parts = [f"{counts['ok']} analysed ({counts['percolates']} percolate)"]
            if counts["no mask"]:
                parts.append(f"{counts['no mask']} without a mask (paint or auto-mask them in "
                             "the Mask step)")
            if counts["error"]:
                parts.append(f"{counts['error']} failed (see results.csv)")
            self.batch_label.setText(f"{'; '.join(parts)}. Results: {out / 'results.csv'}")
            self.last_batch = out

        self.run_job(lambda token: run_batch([project.folder], out, config, cancel=token),
                     name="Batch analysis", on_done=done, notify_done=True)

    def report_dialog(self) -> None:
        """Ask where to write the report, then write it."""
        path, _ = QFileDialog.getSaveFileName(self, "Write the HTML report", "report.html",
                                              "HTML (*.html)")
        if path:
            self.write_report(path)

    def write_report(self, path: str) -> None:
        """Write the project's report in the background; *Open report* then opens it.

        Parameters
        ----------
        path : str
            The HTML file to write.
        """
        from nanomorph.report.html import report_job

        project = self.session.project

        def done(written) -> None:
            self.last_report = written
            self.report_label.setText(f"report: {written}")
            self.open_button.setEnabled(True)
            self.open_button.setToolTip(f"Open {written} in the web browser")

        self.run_job(lambda token: report_job(project.folder, path, cancel=token),
                     name="Write report", on_done=done)

    def open_report(self) -> None:
        """Open the last report in the web browser."""
        from qtpy.QtCore import QUrl
        from qtpy.QtGui import QDesktopServices

        if self.last_report is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.last_report)))
