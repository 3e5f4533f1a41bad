"""The Project step: open or create a project, add images, relink moved files, set pixel
sizes by hand or from the scale bars drawn into the images (batch analysis and the report are
the Batch & Report step)."""

from __future__ import annotations

from nanomorph.io.calibration import Calibration
from nanomorph.jobs import call_as_job
from nanomorph.project import Project
from nanomorph.project.image_records import missing_records, present_paths
from napari.utils.notifications import show_error, show_info, show_warning
from napari_nanomorph.launcher import add_files, add_numbered_frames, open_path
from napari_nanomorph.layers import ROLE_KEY, find_layer, overlay_placement, place
from napari_nanomorph.signals import listen
from napari_nanomorph.widgets.base import NanomorphDock
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
)

UNITS = ("nm", "µm", "mm")


class ProjectWidget(NanomorphDock):
    """Project, images and calibration controls for one viewer."""

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)

        self.title = QLabel("No project open")
        self.title.setWordWrap(True)
        self.counts = QLabel("")
        buttons = QGridLayout()
        for i, (text, slot, tip) in enumerate([
            ("New project…", self.new_project, "Create an empty project in a new folder"),
            ("Open…", self.open_project, "Open a project folder, or a folder of images"),
            ("Add images…", self.add_images, "Add image files to the project"),
            ("Add folder…", self.add_folder, "Add every image in a folder"),
            ("Add numbered frames…", self.add_frames,
             "Add a folder of numbered frames (frame_0001.tif …) as one movie"),
            ("Relink missing…", self.relink, "Find moved images in a folder by content hash"),
        ]):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.addWidget(button, i // 2, i % 2)
            setattr(self, f"{slot.__name__}_button", button)

        self.calibration_group = self._calibration_box()
        layout = self.scrolling_layout()
        layout.addWidget(self.title)
        layout.addWidget(self.counts)
        layout.addLayout(buttons)
        layout.addWidget(self.calibration_group)
        layout.addStretch(1)

        listen(self, self.session.project_changed, self._project_closed)
        listen(self, self.session.images_changed, self._refresh)
        listen(self, self.session.current_changed, self._show_calibration)
        listen(self, self.session.current_changed, self._show_bar_marker)
        self._refresh()
        self._show_calibration(self.session.current)

    # ------------------------------------------------------------------ layout
    def _calibration_box(self) -> QGroupBox:
        box = QGroupBox("Pixel size")
        self.calibration_label = QLabel("no image")
        self.calibration_label.setWordWrap(True)
        self.pixel_size = QDoubleSpinBox()
        self.pixel_size.setDecimals(6)
        self.pixel_size.setRange(1e-6, 1e6)
        self.pixel_size.setValue(1.0)
        self.unit = QComboBox()
        self.unit.addItems(UNITS)
        row = QHBoxLayout()
        row.addWidget(self.pixel_size, 1)
        row.addWidget(self.unit)
        self.apply_image_button = QPushButton("Set for this image")
        self.apply_image_button.clicked.connect(self.apply_to_current)
        self.apply_project_button = QPushButton("Set for all images")
        self.apply_project_button.clicked.connect(self.apply_to_project)
        self.reset_button = QPushButton("Use the files' calibration")
        self.reset_button.clicked.connect(self.reset_calibration)
        self.read_bar_button = QPushButton("Read this image's scale bar")
        self.read_bar_button.setToolTip("Find the bar drawn into the image, read its label "
                                        "(offline OCR) and propose the pixel size it states")
        self.read_bar_button.clicked.connect(self.read_current_bar)
        self.read_bars_button = QPushButton("Read all uncalibrated…")
        self.read_bars_button.setToolTip("Read the scale bar of every image without a pixel "
                                         "size, then review the readings before applying them")
        self.read_bars_button.clicked.connect(self.read_uncalibrated_bars)
        form = QFormLayout(box)
        form.addRow(self.calibration_label)
        form.addRow("size / px", row)
        form.addRow(self.apply_image_button, self.apply_project_button)
        form.addRow(self.read_bar_button, self.read_bars_button)
        form.addRow(self.reset_button)
        return box

    def _project_closed(self, project) -> None:
        """A project that opens is announced with its images right after: the dock refreshes
        (and counts the missing files, one stat per file) once, on the images."""
        if project is None:
            self._refresh()

    def _refresh(self, *_) -> None:
        project = self.session.project
        has_project = project is not None
        for button in (self.add_images_button, self.add_folder_button, self.add_frames_button,
                       self.relink_button):
            button.setEnabled(has_project and not project.read_only)
        self.calibration_group.setEnabled(has_project and not project.read_only)
        if not has_project:
            self.title.setText("No project open")
            self.counts.setText("")
            return
        records = self.session.records()
        mode = " (read-only)" if project.read_only else ""
        self.title.setText(f"<b>{project.name}</b>{mode}<br><small>{project.folder}</small>")
        self.counts.setText(f"{len(records)} images")

        def counted(missing: list) -> None:
            if self.session.project is project and self.session.records() is records:
                self.counts.setText(f"{len(records)} images"
                                    + (f", {len(missing)} missing" if missing else ""))
                self.relink_button.setEnabled(bool(missing) and not project.read_only)

        # one stat per file: 100,000 frame files took 0.3 s on the GUI thread
        self.run_job(lambda _t: call_as_job(missing_records, records),
                     name="Look for missing images", on_done=counted)

    def _show_calibration(self, record) -> None:
        if record is None:
            self.calibration_label.setText("no image")
            return
        cal = record.calibration
        source = {"file": "from the file", "user": "set for this image",
                  "project": "set for all images", "none": ""}[cal.source]
        self.calibration_label.setText(f"{record.name}: {cal.describe()} {source}".strip())
        if cal.is_length:
            self.pixel_size.setValue(cal.pixel_size[1])
            self.unit.setCurrentText(cal.unit)

    # ------------------------------------------------------------------ actions
    def new_project(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the new project")
        if folder:
            self.guarded(lambda: self.session.open_project(Project.create(folder)))

    def open_project(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Project folder or folder of images")
        if folder:
            self.guarded(lambda: open_path(self.viewer, folder))

    def add_images(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add images")
        if files:
            add_files(self.viewer, files)

    def add_folder(self) -> None:
        from nanomorph.project.opening import image_files

        folder = QFileDialog.getExistingDirectory(self, "Add every image in a folder")
        if folder:
            self.guarded(lambda: add_files(self.viewer, image_files(folder)))

    def add_frames(self) -> None:
        """Ask for a folder of numbered frames and the seconds between them, then add it as one
        movie (a job)."""
        folder = QFileDialog.getExistingDirectory(self, "Folder of numbered frames (one movie)")
        if not folder:
            return
        interval, ok = QInputDialog.getDouble(
            self, "Frame interval", "Seconds between frames\n"
            "(0: from the files' acquisition times, else unknown):", 0.0, 0.0, 1e6, 4)
        if ok:
            add_numbered_frames(self.viewer, folder, interval or None)

    def relink(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder where the missing images are now")
        if folder:
            self.relink_from(folder)

    def relink_from(self, folder: str) -> None:
        """Search ``folder`` (recursively) for the project's missing images, in the background."""
        project = self.session.project

        def done(count: int) -> None:
            show_info(f"relinked {count} image{'s' * (count != 1)}; "
                      f"{len(project.images.missing())} still missing")

        self.run_job(lambda token: project.images.relink(folder, cancel=token),
                                name="Relink images", on_done=done)

    def _entered_calibration(self) -> Calibration:
        size = self.pixel_size.value()
        return Calibration((size, size), self.unit.currentText(), "user")

    def apply_to_current(self) -> None:
        record = self.session.current
        if record is None:
            show_error("no current image: pick one in the Images dock first")
            return
        self.guarded(lambda: self.session.project.images.set_calibration(
            record.id, self._entered_calibration()))
        self._calibration_changed()

    def apply_to_project(self) -> None:
        self.guarded(lambda: self.session.project.images.set_project_calibration(
            self._entered_calibration()))
        self._calibration_changed()

    def reset_calibration(self) -> None:
        self.guarded(self.session.project.images.reset_calibrations)
        self._calibration_changed()

    def _calibration_changed(self) -> None:
        self.session.refresh_current()

    # ------------------------------------------------------------------ scale bars
    def read_current_bar(self) -> None:
        """Read the current image's scale bar (a job), then review the reading."""
        record = self.session.current
        if record is None:
            show_error("no current image: pick one in the Images dock first")
            return
        self.read_bars([record.id])

    def read_uncalibrated_bars(self) -> None:
        """Read the scale bar of every image without a length calibration, then review."""
        records = self.session.records()
        present = present_paths(records)
        ids = [r.id for r in records if r.path in present and not r.calibration.is_length]
        if not ids:
            show_info("every image has a pixel size already; read one image's bar with "
                      "'Read this image's scale bar'")
            return
        self.read_bars(ids)

    def read_bars(self, image_ids: list[int]) -> None:
        """Read the scale bars of some images in the background and open the review.

        Parameters
        ----------
        image_ids : list of int
            The images.
        """
        from nanomorph.errors import NanomorphError
        from nanomorph.workflows.scalebar import read_project_scale_bars, reading_crop
        from napari_nanomorph.widgets.scalebar_review import ReadingRow

        project = self.session.project
        failed: list[tuple[str, str]] = []

        def job(token):
            readings = yield from read_project_scale_bars(project, image_ids, cancel=token)
            rows = []
            for image_id, reading in readings.items():
                record = project.images.get(image_id)
                try:
                    crop, box = reading_crop(record.path, reading["bbox"], page=record.page)
                except (NanomorphError, OSError):
                    crop, box = None, None  # the review shows the reading without its picture
                rows.append(ReadingRow(image_id, record.name, reading, crop, box))
            return rows

        def progressed(event) -> None:
            image_id, reading, error = event.payload or (None, None, None)
            if error is not None:
                failed.append((project.images.get(image_id).name, error))

        def done(rows) -> None:
            self._show_bar_marker(self.session.current)
            if not rows:
                show_warning(f"no scale bar found in {failed[0][0]}" if len(failed) == 1 else
                             f"no scale bar found in any of the {len(failed)} images")
                return
            self.review_readings(rows, failed)

        self.run_job(job, name="Read scale bars", on_progress=progressed, on_done=done)

    def review_readings(self, rows, failed) -> None:
        """Show the review dialog and apply the readings the user ticks.

        Parameters
        ----------
        rows : list of ReadingRow
            The readings.
        failed : list of (str, str)
            Images without a reading and why.
        """
        from napari_nanomorph.widgets.scalebar_review import ScaleBarReview

        dialog = ScaleBarReview(rows, failed, self)
        if dialog.exec():
            self.apply_readings(dialog.chosen())

    def apply_readings(self, rows) -> None:
        """Make readings the calibration of their images (the user has chosen them).

        Parameters
        ----------
        rows : list of ReadingRow
            The readings to apply.
        """
        from nanomorph.workflows.scalebar import apply_reading

        project = self.session.project
        applied = sum(self.guarded(lambda row=row: apply_reading(
            project, row.image_id, row.reading, force=True)) for row in rows)
        if applied:
            show_info(f"pixel size set from the scale bar of {applied} image"
                      f"{'s' * (applied != 1)}")
            self._calibration_changed()

    def _show_bar_marker(self, record) -> None:
        """Outline the bar that the current image's stored reading measured (or none)."""
        from nanomorph.workflows.scalebar import KIND

        project = self.session.project
        stored = (project.results.get(record.id, KIND)
                  if record is not None and project is not None else None)
        layer = find_layer(self.viewer, "scalebar")
        if stored is None:
            if layer is not None:
                layer.visible = False
            return
        reading = stored["result"]
        x0, y0, x1, y1 = reading["bbox"]
        box = [[y0 - 0.5, x0 - 0.5], [y1 + 0.5, x1 + 0.5]]
        text = f"{reading['text']} → {reading['pixel_size']:.4g} {reading['pixel_unit']}/px"
        placement = overlay_placement(self.viewer, record)
        if layer is None:
            selection = self.viewer.layers.selection
            selected, active = set(selection), selection.active
            layer = self.viewer.add_shapes(
                [box], shape_type="rectangle", name="scale bar read", edge_color="#ffd600",
                face_color="transparent", edge_width=2, metadata={ROLE_KEY: "scalebar"},
                text={"string": "{label}", "color": "#ffd600", "size": 10,
                      "anchor": "upper_left", "translation": [-14, 0]},
                features={"label": [text]}, **placement)
            layer.editable = False
            selection.clear()  # painting stays on the layer the user had chosen
            selection.update(selected)
            selection.active = active
        else:
            layer.data = [box]
            layer.features = {"label": [text]}
            place(layer, placement["scale"], placement["units"])
            layer.visible = True
