"""The Mask dock: paint the current image's mask (napari's brush, eraser and fill; autosaved),
propose one with a classical auto-mask (live preview), apply it to all images, import and
export mask files."""

from __future__ import annotations

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    LineEdit,
    SpinBox,
)
from nanomorph.errors import NanomorphError
from nanomorph.jobs import call_as_job
from nanomorph.masks import METHOD_DEFAULTS, METHODS, RIDGE_FILTERS, MaskParams
from nanomorph.project.image_records import present_paths
from nanomorph.workflows.mask import AUTO_POLARITY, auto_mask_project
from napari.utils.notifications import show_info, show_warning
from napari_nanomorph.layer_mode import (
    PAIRED_KEY,
    LayerChoice,
    NoProjectBanner,
    layer_planes,
    paired_mask,
    plane,
    user_layers,
)
from napari_nanomorph.layers import find_layer, overlay_placement, placement_of, put_overlay
from napari_nanomorph.mask_layer import WIRE_COLOR, controller_for
from napari_nanomorph.signals import listen, single_shot
from napari_nanomorph.widgets.base import NanomorphDock
from napari_nanomorph.widgets.legend import Legend
from qtpy.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

PREVIEW_DELAY_MS = 250
IMPORT_MAPPING = "mask_import_mapping"  # project setting: the last mapping chosen
PREVIEW_COLOR = "#22e3ff"  # the auto-mask preview, apart from the mask's own colours
# form fields shown only for some methods
ONLY_FOR = {"block_size_px": "local", "offset": "local", "ridge_filter": "ridge",
            "ridge_sigmas_px": "ridge"}


class MaskWidget(NanomorphDock):
    """Mask painting status, auto-mask proposals, import and export."""

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.masks = controller_for(self.session)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.form = self._make_form()
        self.preview_box = CheckBox(text="live preview on the current image", value=False)
        self.preview_box.changed.connect(self._preview_toggled)
        self.accept_button = QPushButton("Accept preview as mask")
        self.accept_button.clicked.connect(self.accept_preview)
        self.replace_box = CheckBox(text="replace existing masks", value=False)
        self.apply_all_button = QPushButton("Apply to all images")
        self.apply_all_button.clicked.connect(self.apply_to_all)
        import_button = QPushButton("Import masks…")
        import_button.clicked.connect(self.import_dialog)
        export_button = QPushButton("Export masks…")
        export_button.clicked.connect(self.export_dialog)
        import_button.setToolTip("Mask files matched to images by name; you choose the label "
                                 "of every value found in them before anything is stored")
        export_button.setToolTip("Every image's latest mask as PNG")
        self.image_choice = LayerChoice(napari_viewer, "image", "image layer:")
        self.banner = NoProjectBanner(self, "The auto-mask works on the chosen Image layer: "
                                            "<i>Accept</i> puts it into that image's mask (a "
                                            "Labels layer at its scale) to paint on with "
                                            "napari's tools. Without a project, open mask files "
                                            "with File › Open and save a mask layer with File › "
                                            "Save Selected Layers.",
                                      layer_only=[self.image_choice],
                                      project_only=[import_button, export_button])
        self.image_choice.box.currentTextChanged.connect(lambda _n: self._current_changed(None))

        auto = QGroupBox("Auto-mask")
        auto_layout = QVBoxLayout(auto)
        auto_layout.addWidget(self.form.native)
        auto_layout.addWidget(self.preview_box.native)
        auto_layout.addWidget(self.accept_button)
        row = QHBoxLayout()
        row.addWidget(self.apply_all_button)
        row.addWidget(self.replace_box.native)
        auto_layout.addLayout(row)
        files = QGroupBox("Mask files")
        files_layout = QVBoxLayout(files)
        row = QHBoxLayout()
        row.addWidget(import_button)
        row.addWidget(export_button)
        files_layout.addLayout(row)
        legend = Legend("mask layer", [(WIRE_COLOR[1], "1 nanowire"),
                                       (WIRE_COLOR[2], "2 second class (e.g. droplet)"),
                                       (WIRE_COLOR[3], "3 third class"),
                                       (PREVIEW_COLOR, "auto-mask preview")])
        layout = self.scrolling_layout()
        layout.addWidget(self.banner)
        layout.addWidget(self.image_choice)
        layout.addWidget(self.status)
        layout.addWidget(legend)
        layout.addWidget(auto)
        layout.addWidget(files)
        layout.addStretch(1)

        self._preview_timer = single_shot(self, PREVIEW_DELAY_MS, self.update_preview)
        self._preview_serial = 0
        self.form.changed.connect(self._form_changed)
        self.remember(self.form, "mask")
        listen(self, self.session.current_changed, self._current_changed)
        listen(self, self.session.masks_changed, lambda _ids: self._show_status())
        listen(self, self.session.project_changed, self._mode_changed)
        self._form_changed()
        self._mode_changed(self.session.project)

    def _mode_changed(self, _project) -> None:
        self._show_status()

    # ------------------------------------------------------------------ parameters
    def _make_form(self) -> Container:
        d = METHOD_DEFAULTS["otsu"]
        return Container(widgets=[
            ComboBox(name="method", choices=METHODS, value=d.method),
            ComboBox(name="polarity", choices=(AUTO_POLARITY, "dark", "bright"),
                     value=AUTO_POLARITY, tooltip="dark: TEM bright field; bright: SEM"),
            FloatSpinBox(name="smooth_sigma_px", label="smoothing σ (px)",
                         value=d.smooth_sigma_px, min=0, max=50, step=0.5),
            SpinBox(name="min_size_px", label="min object (px)", value=d.min_size_px, min=0,
                    max=10_000_000),
            SpinBox(name="fill_holes_px", label="fill holes (px)", value=d.fill_holes_px,
                    min=0, max=10_000_000),
            SpinBox(name="block_size_px", label="block (px)", value=d.block_size_px, min=3,
                    max=4001, step=2),
            FloatSpinBox(name="offset", value=d.offset, min=-1, max=1, step=0.01),
            ComboBox(name="ridge_filter", choices=RIDGE_FILTERS, value=d.ridge_filter),
            LineEdit(name="ridge_sigmas_px", label="ridge σ (px)",
                     value=", ".join(f"{s:g}" for s in d.ridge_sigmas_px)),
            CheckBox(name="crop_databar", text="ignore the SEM info bar", value=d.crop_databar),
        ])

    def _load_defaults(self, method: str) -> None:
        """Show ``method``'s measured defaults (the polarity and info-bar choice stay)."""
        defaults = METHOD_DEFAULTS[method]
        with self.form.changed.blocked():
            for widget in self.form:
                if widget.name in ("method", "polarity", "crop_databar"):
                    continue
                value = getattr(defaults, widget.name)
                widget.value = (", ".join(f"{v:g}" for v in value)
                                if widget.name == "ridge_sigmas_px" else value)

    def params(self) -> MaskParams:
        """The form as MaskParams (polarity resolved later, per image, when it is 'auto')."""
        values = {w.name: w.value for w in self.form}
        values["ridge_sigmas_px"] = tuple(
            float(s) for s in str(values["ridge_sigmas_px"]).replace(";", ",").split(",")
            if s.strip())
        values["polarity"] = "dark" if values["polarity"] == AUTO_POLARITY else values["polarity"]
        return MaskParams(**values)

    @property
    def polarity(self) -> str:
        return self.form["polarity"].value

    def _form_changed(self, *_) -> None:
        method = self.form["method"].value
        if method != getattr(self, "_method", method):
            self._load_defaults(method)
        self._method = method
        for name, only in ONLY_FOR.items():
            self.form[name].visible = method == only
        if self.preview_box.value:
            self._preview_timer.start()

    # ------------------------------------------------------------------ preview
    def _preview_toggled(self, on: bool) -> None:
        if on:
            self.update_preview()
        else:
            layer = find_layer(self.viewer, "preview")
            if layer is not None:
                self.viewer.layers.remove(layer)

    def _current_changed(self, _record) -> None:
        self._show_status()
        if self.preview_box.value:
            self._preview_timer.start()

    def update_preview(self) -> None:
        """Compute the auto-mask of the current image (without a project: of the chosen Image
        layer) in the background and show it."""
        if self.session.project is None:
            self._preview_layer()
            return
        record = self.session.current
        if record is None or not self.guarded(self.params):
            return
        params, polarity = self.params(), self.polarity
        self._preview_serial += 1
        serial = self._preview_serial

        def show(mask) -> None:
            if serial != self._preview_serial or self.session.current is None \
                    or self.session.current.id != record.id:
                return  # a newer preview, or another image, replaced this one
            self._show_preview(mask, overlay_placement(self.viewer, record), record.id)

        self.run_job(
            lambda _t: call_as_job(_auto_mask_image, record, params, polarity),
            name="Auto-mask preview", on_done=show)

    def _preview_layer(self) -> None:
        """The auto-mask preview of the chosen Image layer (no project)."""
        from nanomorph.masks.auto import auto_mask_plane

        image = self.image_choice.layer
        if image is None or not self.guarded(self.params) or \
                not self.guarded(lambda: plane(image)):
            return
        params, polarity, pixels = self.params(), self.polarity, plane(image)
        self._preview_serial += 1
        serial = self._preview_serial

        def show(result) -> None:
            if serial == self._preview_serial:
                self._show_preview(result[0].astype("uint8"), placement_of(image), image.name)

        self.run_job(lambda _t: call_as_job(auto_mask_plane, pixels, params, polarity),
                     name="Auto-mask preview", on_done=show)

    def _show_preview(self, mask, placement: dict, owner) -> None:
        """Show an auto-mask in the preview layer (made on first use); ``owner`` is the image
        id or layer name it belongs to."""
        layer = put_overlay(self.viewer, "preview", "auto-mask preview", mask, placement,
                            colors={**WIRE_COLOR, 1: PREVIEW_COLOR}, opacity=0.6, contour=1)
        layer.metadata["image_id"] = owner

    def _accept_into_layer(self) -> None:
        """Make the preview the chosen Image layer's mask: a new Labels layer at its scale,
        ready for painting (a mask already there is kept: nothing painted is replaced)."""
        preview, image = find_layer(self.viewer, "preview"), self.image_choice.layer
        if preview is None or image is None or preview.metadata.get("image_id") != image.name:
            show_warning("no preview of the chosen image layer: tick 'live preview' first")
            return
        mask = self._add_mask_layer(image, preview.data.copy())
        self.viewer.layers.selection.active = mask
        mask.mode = "paint"
        self._show_status()

    def _add_mask_layer(self, image, mask):
        """A new Labels layer that masks ``image`` (its scale, translate and units)."""
        return self.viewer.add_labels(mask, name=f"{image.name} mask", scale=image.scale,
                                      translate=image.translate, units=image.units,
                                      metadata={PAIRED_KEY: image.name})

    def accept_preview(self) -> None:
        """Copy the preview into the editable mask (saved now as a new version)."""
        if self.session.project is None:
            self._accept_into_layer()
            return
        layer = find_layer(self.viewer, "preview")
        current = self.session.current
        if layer is None or current is None or layer.metadata.get("image_id") != current.id:
            show_warning("no preview of the current image: tick 'live preview' first")
            return
        self.masks.replace(layer.data, source=f"auto:{self.form['method'].value}")

    def apply_to_all(self) -> None:
        project = self.session.project
        if project is None:
            self._apply_to_layers()
            return
        if not self.guarded(self.params):
            return
        self.masks.save_now()
        params, polarity, replace = self.params(), self.polarity, self.replace_box.value
        records = self.session.records()
        present = present_paths(records)
        ids = [r.id for r in records if r.path in present]
        errors = []

        def progressed(event) -> None:
            if event.payload[1] is not None:
                errors.append(event.payload[1])

        def done(stored: int) -> None:
            show_info(f"auto-mask: stored {stored} masks" +
                      (f"; {len(errors)} images failed (first: {errors[0]})" if errors else ""))
            self.session.set_current(self.session.current)  # reload the shown mask

        self.run_job(
            lambda token: auto_mask_project(project, ids, params, polarity, replace=replace,
                                            cancel=token),
            name="Auto-mask all images", on_progress=progressed, on_done=done)

    def _apply_to_layers(self) -> None:
        """Auto-mask every Image layer into a new mask layer (no project); images that have a
        mask are left out unless *replace existing masks* is ticked (the old layer stays)."""
        from nanomorph.masks.auto import auto_mask_plane
        from nanomorph.workflows.arrays import analyse_arrays

        if not self.guarded(self.params):
            return
        params, polarity, replace = self.params(), self.polarity, self.replace_box.value
        images = [layer for layer in user_layers(self.viewer, "image")
                  if replace or paired_mask(self.viewer, layer) is None]
        items = layer_planes(self, images)
        if not items:
            show_info("auto-mask: every image layer has a mask already (tick 'replace existing "
                      "masks' to redo them)" if user_layers(self.viewer, "image") else
                      "auto-mask: no image layer is open")
            return
        by_name = {layer.name: layer for layer in images}

        def done(results) -> None:
            for name, (mask, _polarity) in results.items():
                self._add_mask_layer(by_name[name], mask.astype("uint8"))
            show_info(f"auto-mask: {len(results)} image layers masked")
            self._show_status()

        self.run_job(lambda token: analyse_arrays(
            items, lambda pixels, _px: auto_mask_plane(pixels, params, polarity), cancel=token),
            name="Auto-mask all image layers", on_done=done)

    # ------------------------------------------------------------------ files
    def import_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Import masks (matched by file name)", "",
                                                "Masks (*.png *.tif *.tiff)")
        if files:
            self.import_files(files)

    def import_files(self, files, mapping: dict | None = None) -> None:
        """Import mask files: without ``mapping``, first survey their values in the job runner
        and ask which label each becomes (:class:`MappingDialog`).

        Parameters
        ----------
        files : list of str
            Mask files, matched to images by file name.
        mapping : dict, optional
            Mask value (or ``"nonzero"``) → label, as the dialog returns it.
        """
        from nanomorph.workflows.transfer import survey_mask_values

        if self.session.project is None:
            return
        if mapping is not None:
            self._import(files, mapping)
            return

        def ask(survey) -> None:
            if not survey.pixels:
                path, reason = survey.failed[0]
                show_warning(f"{path}: {reason}" + (f" (and {len(survey.failed) - 1} more)"
                                                    if len(survey.failed) > 1 else ""))
                return
            chosen = self.choose_mapping(survey)
            if chosen:
                self._import(files, chosen)

        self.run_job(lambda token: survey_mask_values(files, cancel=token),
                     name="Read mask values", on_done=ask)

    def choose_mapping(self, survey) -> dict | None:
        """Ask the user which label each value becomes (a modal dialog).

        Parameters
        ----------
        survey : MaskSurvey
            The values found.

        Returns
        -------
        dict or None
            The mapping, or None when the user cancels.
        """
        from nanomorph.workflows.transfer import parse_value_mapping
        from napari_nanomorph.widgets.import_dialog import MappingDialog

        stored = self.session.project.settings.get(IMPORT_MAPPING)
        try:
            previous = parse_value_mapping(stored) if stored else None
        except NanomorphError:
            previous = None
        dialog = MappingDialog(survey, previous, parent=self)
        return dialog.mapping() if dialog.exec() else None

    def _import(self, files, mapping: dict) -> None:
        from nanomorph.workflows.transfer import format_value_mapping, import_masks

        project = self.session.project
        self.masks.save_now()
        project.settings.set(IMPORT_MAPPING, format_value_mapping(mapping))

        def done(result) -> None:
            if result.failed:
                path, reason = result.failed[0]
                more = f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
                show_warning(f"{path}: {reason}{more}")
            show_info(f"imported {len(result.imported)} masks")
            self.session.set_current(self.session.current)

        self.run_job(lambda token: import_masks(project, files, mapping, cancel=token),
                     name="Import masks", on_done=done)

    def export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export masks to")
        if folder:
            self.export_to(folder)

    def export_to(self, folder: str) -> None:
        from nanomorph.workflows.transfer import export_masks

        project = self.session.project
        self.masks.save_now()
        self.run_job(lambda token: export_masks(project, folder, cancel=token),
                                name="Export masks",
                                on_done=lambda n: show_info(f"exported {n} masks to {folder}"))

    # ------------------------------------------------------------------ status
    def _show_status(self) -> None:
        record, project = self.session.current, self.session.project
        if project is None:
            image = self.image_choice.layer
            if image is None:
                self.status.setText("Open an image (File › Open, or a sample: File › Open "
                                    "Sample › nanomorph) to mask it.")
                return
            mask = paired_mask(self.viewer, image)
            self.status.setText(f"<b>{image.name}</b>: " + (
                f"its mask is the Labels layer <i>{mask.name}</i>; paint on it with napari's "
                "brush (label 1 = nanowire)." if mask is not None else
                "no mask layer yet: accept an auto-mask, or add a Labels layer and paint."))
            return
        if record is None:
            self.status.setText("Open an image to paint its mask.")
            return
        versions = project.masks.versions(record.id)
        if not versions:
            state = "no mask yet: paint with the brush (label 1 = nanowire) or accept an auto-mask"
        else:
            last = versions[-1]
            state = f"mask version {last['version']} ({last['source']}), saved"
        self.status.setText(f"<b>{record.name}</b>: {state}. Label 1 = nanowire, "
                            "2 = a second class (e.g. a catalyst droplet).")


def _auto_mask_image(record, params, polarity):
    """:func:`nanomorph.masks.auto_mask_image` of a project image, imported in the worker
    (scikit-image takes most of a second to import; the GUI thread never pays it)."""
    from nanomorph.masks import auto_mask_image

    return auto_mask_image(record.path, params, polarity, record.page)
