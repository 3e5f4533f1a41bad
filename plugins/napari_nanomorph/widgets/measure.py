"""The Measure step: every wire of the current image traced through its crossings, with its
length, diameter, orientation and straightness; the image's diameter and length histograms and
orientation rose; a per-wire table (sortable, CSV export) and an overlay colouring each wire —
click a wire on the canvas or in the table to read its numbers. All measuring runs in the job
runner."""

from __future__ import annotations

from magicgui.widgets import CheckBox, ComboBox
from nanomorph.jobs import call_as_job
from nanomorph.workflows.morphometry import KIND, measure_project, measure_with_labels
from napari.utils.notifications import show_info, show_warning
from napari_nanomorph.layer_mode import (
    LayerChoice,
    NoProjectBanner,
    layer_planes,
    user_layers,
)
from napari_nanomorph.layers import find_layer, overlay_placement, placement_of, put_overlay
from napari_nanomorph.mask_layer import controller_for
from napari_nanomorph.signals import listen
from napari_nanomorph.widgets.base import NanomorphDock
from napari_nanomorph.widgets.liveplot import LivePlot
from napari_nanomorph.widgets.table import ImageTable
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton

ROLE = "wires"
WIRE_TABLE_COLUMNS = ("wire", "length", "diameter", "diameter sd", "orientation °",
                      "straightness", "leaves frame")
PLOT_SCOPES = ("this image", "all images")


def draw_plots(figure, data) -> None:
    """The three panels, two rows high for the narrow dock (runs on a worker thread)."""
    from nanomorph.report.morphometry import draw_morphometry

    draw_morphometry(figure, data, rows=2)


def summary_lines(s: dict) -> list[str]:
    """The numbers of one ``measure`` record as short lines of rich text."""
    unit, d, length, o = s["unit"], s["diameter"], s["length"], s["orientation"]
    lines = [f"<b>{s['n_wires']} wires</b>"]
    if d["mean"] is not None:
        lines.append(f"diameter {d['mean']:.3g} ± {d['sd']:.2g} {unit} (median {d['median']:.3g}, "
                     f"p10–p90 {d['p10']:.3g}–{d['p90']:.3g})")
    if length["mean"] is not None:
        inside = length["n_complete"]
        lines.append(f"length {length['mean']:.4g} {unit} (median {length['median']:.4g}; "
                     f"{inside} {'wire' if inside == 1 else 'wires'} inside the frame)")
    if o["dominant_deg"] is not None:
        lines.append(f"direction {o['dominant_deg']:.0f}°, order parameter S = "
                     f"{o['order_parameter']:.2f} (0 isotropic, 1 aligned)")
    if s["wires_per_um2"] is not None:
        lines.append(f"{s['wires_per_um2']:.3g} wires/µm², {s['junctions_per_um2']:.3g} "
                     "junctions/µm²")
    if s["nL2_over_threshold"] is not None:
        side = "above" if s["nL2_over_threshold"] > 1 else "below"
        lines.append(f"n·L² = {s['nL2_over_threshold']:.2f} × the stick-percolation threshold "
                     f"({side})")
    elif unit == "px":
        lines.append("<i>uncalibrated: set the pixel size in the Project step for nm and "
                     "densities</i>")
    return lines


def _rounded(value, digits: int):
    """A table cell: the number rounded (None stays empty)."""
    return None if value is None else round(value, digits)


def wire_text(wire: dict, unit: str) -> str:
    """One wire's numbers as one line."""
    border = ", leaves the frame (its length is a lower bound)" if wire["touches_border"] else ""
    return (f"wire {wire['id']}: length {wire['length']:.4g} {unit}, diameter "
            f"{wire['diameter_mean']:.3g} ± {wire['diameter_sd']:.2g} {unit}, "
            f"{wire['orientation_deg']:.0f}°, straightness {wire['straightness']:.2f}{border}")


class MeasureWidget(NanomorphDock):
    """Measure the wires of the current or every image and show them."""

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.masks = controller_for(self.session)
        self.summary: dict | None = None
        self.run_button = QPushButton("Measure image")
        self.run_button.setToolTip("trace and measure every wire of the current image's mask")
        self.run_button.clicked.connect(self.run_current)
        self.run_all_button = QPushButton("Measure all")
        self.run_all_button.setToolTip("measure every image that has a mask (in the background)")
        self.run_all_button.clicked.connect(self.run_all)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("every wire of every measured image, one row each")
        self.export_button.clicked.connect(self.export_csv)
        self.overlay_box = CheckBox(text="colour each wire", value=True)
        self.overlay_box.changed.connect(self._toggle_overlay)
        self.scope = ComboBox(choices=PLOT_SCOPES, value=PLOT_SCOPES[0],
                              tooltip="plots of this image, or of every measured image pooled")
        self.scope.changed.connect(lambda _v: self._plot())
        self.numbers = QLabel("no result yet")
        self.numbers.setTextFormat(Qt.TextFormat.RichText)
        self.numbers.setWordWrap(True)
        self.wire_label = QLabel("click a wire (canvas or table) for its numbers")
        self.wire_label.setWordWrap(True)
        self.plot = LivePlot(draw_plots)
        self.plot.setMinimumHeight(300)
        self.table = ImageTable(WIRE_TABLE_COLUMNS)
        self.table.image_clicked.connect(self.select_wire)
        self.labels_choice = LayerChoice(napari_viewer, "labels", "mask layer:")
        self.banner = NoProjectBanner(self, "<i>Measure image</i> measures the chosen Labels "
                                            "layer (every non-zero pixel is wire) at its scale; "
                                            "<i>Measure all</i> every Labels layer.",
                                      layer_only=[self.labels_choice])
        self.layer_summaries: dict[str, dict] = {}  # without a project: layer name → summary

        buttons = QHBoxLayout()
        for b in (self.run_button, self.run_all_button, self.export_button):
            buttons.addWidget(b)
        options = QHBoxLayout()
        options.addWidget(self.overlay_box.native)
        options.addWidget(QLabel("plots:"))
        options.addWidget(self.scope.native)
        layout = self.scrolling_layout()
        layout.addWidget(self.banner)
        layout.addWidget(self.labels_choice)
        layout.addLayout(buttons)
        layout.addLayout(options)
        layout.addWidget(self.numbers)
        layout.addWidget(self.plot)
        layout.addWidget(self.wire_label)
        layout.addWidget(self.table, 1)

        clicked, callbacks = self._canvas_clicked, self.viewer.mouse_drag_callbacks
        callbacks.append(clicked)
        self.destroyed.connect(lambda *_: clicked in callbacks and callbacks.remove(clicked))
        listen(self, self.session.current_changed, self._show_stored)
        listen(self, self.session.results_changed, self._results_changed)
        listen(self, self.session.project_changed, self._mode_changed)
        self._mode_changed(self.session.project)

    def _mode_changed(self, project) -> None:
        """With a project the dock measures its images; without one, the viewer's layers."""
        self._show_stored(self.session.current if project is not None else None)

    # ------------------------------------------------------------------ running
    def run_current(self) -> None:
        """Measure the current image's mask, store the result and show it with its overlay
        (without a project: the chosen Labels layer)."""
        if self.session.project is None:
            layer = self.labels_choice.layer
            if layer is None:
                show_warning("no Labels layer to measure: open a mask, or make one in the Mask "
                             "step (auto-mask, then Accept)")
                return
            self._measure_layers([layer], shown=layer)
            return
        record = self.session.current
        if record is None:
            show_warning("no current image: pick one in the Images dock")
            return
        self.masks.save_now()
        project = self.session.project

        def done(outcome) -> None:
            summary, labels, error = outcome
            if error is not None:
                show_warning(f"{record.name}: {error}")
                return
            if self._is_current(record):
                self._show_summary(summary)
                self._show_overlay(labels, record)

        self.run_job(lambda token: measure_with_labels(project, record.id, cancel=token),
                     name="Measure wires", on_done=done)

    def run_all(self) -> None:
        """Measure every image that has a mask (one job; a failing image does not stop it)."""
        project = self.session.project
        if project is None:
            layers = user_layers(self.viewer, "labels")
            if not layers:
                show_warning("no Labels layer to measure: open masks, or make them in the Mask "
                             "step")
                return
            self._measure_layers(layers, shown=self.labels_choice.layer)
            return
        self.masks.save_now()
        image_ids = [r.id for r in self.session.records()]
        failures = []

        def progressed(event) -> None:
            _image_id, _summary, error = event.payload
            if error is not None and error != "no mask yet":
                failures.append(error)

        def done(results) -> None:
            show_info(f"morphometry: {len(results)} of {len(image_ids)} images measured"
                      + (f", {len(failures)} failed (first: {failures[0]})" if failures else "")
                      + ("" if results else ": paint or accept masks in the Mask step first"))
            self._show_stored(self.session.current)

        self.run_job(lambda token: measure_project(project, image_ids, cancel=token),
                     name="Measure all images", on_progress=progressed, on_done=done)

    def _measure_layers(self, layers: list, shown) -> None:
        """Measure Labels layers (no project); show ``shown``'s wires and numbers."""
        from nanomorph.network import measure_wires
        from nanomorph.workflows.arrays import analyse_arrays

        items = [(name, data != 0, size) for name, data, size in layer_planes(self, layers)]

        def measure(wire, pixel_size):
            result = measure_wires(wire, pixel_size)
            return result.as_record(""), result.labels

        def done(results) -> None:
            for name, (summary, _labels) in results.items():
                self.layer_summaries[name] = {**summary, "path": name}
            if shown is not None and shown.name in results:
                summary, labels = results[shown.name]
                self._show_summary(self.layer_summaries[shown.name])
                self._put_overlay(labels, placement_of(shown))
            if len(items) > 1:
                show_info(f"morphometry: {len(results)} of {len(items)} layers measured")

        self.run_job(lambda token: analyse_arrays(items, measure, cancel=token),
                     name="Measure wires", on_done=done)

    def _recompute_overlay(self, record) -> None:
        """Wire labels of a stored result, for the overlay (background job, nothing stored)."""
        from nanomorph.workflows.morphometry import measure_image_mask
        from nanomorph.workflows.percolation import image_databar_rows

        mask = self.session.project.masks.read(record.id)
        if mask is None:
            return

        def compute():
            return measure_image_mask(mask, record, image_databar_rows(record))[1].labels

        self.run_job(lambda _t: call_as_job(compute), name="Wire overlay",
                     on_done=lambda labels: self._show_overlay(labels, record))

    # ------------------------------------------------------------------ showing
    def _is_current(self, record) -> bool:
        current = self.session.current
        return current is not None and current.id == record.id

    def _show_stored(self, record) -> None:
        """What is stored for the image now shown (nothing stale: the old overlay goes)."""
        layer = find_layer(self.viewer, ROLE)
        if layer is not None:
            self.viewer.layers.remove(layer)
        project = self.session.project
        stored = project.results.get(record.id, KIND) if record is not None and project else None
        if stored is None:
            masked = record is not None and project is not None and \
                project.masks.latest_version(record.id) is not None
            self.numbers.setText("no result yet: press <i>Measure image</i>" if masked else
                                 "no mask yet: paint one or accept an auto-mask in the Mask step, "
                                 "then measure")
            self.summary = None
            self.table.set_rows([])
            self._plot()
            return
        self._show_summary(stored["result"], stale=stored["stale"])
        if self.overlay_box.value and self.is_open():
            self._recompute_overlay(record)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        """The step opens: the stored result's wires get their colours (made in the job
        runner) if they are not shown yet."""
        super().showEvent(event)
        record = self.session.current
        if (self.summary is not None and record is not None and self.overlay_box.value
                and find_layer(self.viewer, ROLE) is None and self.session.project is not None):
            self._recompute_overlay(record)

    def _results_changed(self, *_args) -> None:
        if self.scope.value == PLOT_SCOPES[1]:
            self._plot()

    def _all_summaries(self) -> list[dict]:
        """Every measured image's record (every measured layer's without a project)."""
        project = self.session.project
        if project is None:
            return list(self.layer_summaries.values())
        return [e["result"] for e in project.results.of_kind(KIND).values()]

    def _show_summary(self, summary: dict, stale: bool = False) -> None:
        self.summary = summary
        note = ["<i>(stale: the mask changed since; measure again)</i>"] if stale else []
        self.numbers.setText("<br>".join(summary_lines(summary) + note))
        self.wire_label.setText("click a wire (canvas or table) for its numbers")
        self.table.set_rows([(w["id"], [w["id"], _rounded(w["length"], 1),
                                         _rounded(w["diameter_mean"], 2),
                                         _rounded(w["diameter_sd"], 2),
                                         _rounded(w["orientation_deg"], 1),
                                         _rounded(w["straightness"], 3),
                                         "yes" if w["touches_border"] else ""])
                             for w in summary["wires"]])
        self._plot()

    def _plot(self) -> None:
        from nanomorph.report.morphometry import wire_distributions

        if self.scope.value == PLOT_SCOPES[1]:
            summaries = self._all_summaries()
        else:
            summaries = [self.summary] if self.summary else []
        self.plot.show_data(wire_distributions(summaries))

    def _show_overlay(self, labels, record) -> None:
        if labels is not None and self._is_current(record):
            self._put_overlay(labels, overlay_placement(self.viewer, record))

    def _put_overlay(self, labels, placement: dict) -> None:
        """Show the wire labels in the ``wires`` layer."""
        layer = put_overlay(self.viewer, ROLE, "wires", labels, placement, opacity=0.6)
        layer.visible = self.overlay_box.value

    def _toggle_overlay(self, visible: bool) -> None:
        layer = find_layer(self.viewer, ROLE)
        if layer is not None:
            layer.visible = visible
        elif visible and self.summary is not None and self.session.current is not None:
            self._recompute_overlay(self.session.current)

    # ------------------------------------------------------------------ picking a wire
    def _canvas_clicked(self, _viewer, event) -> None:
        layer = find_layer(self.viewer, ROLE)
        if layer is None or not layer.visible or self.summary is None:
            return
        value = layer.get_value(event.position, world=True)
        if value:
            self.select_wire(int(value))

    def select_wire(self, wire_id: int) -> None:
        """Show one wire's numbers and highlight it on the overlay.

        Parameters
        ----------
        wire_id : int
            The wire (1-based, as in the table and the overlay).
        """
        if self.summary is None:
            return
        wire = next((w for w in self.summary["wires"] if w["id"] == wire_id), None)
        if wire is None:
            return
        self.wire_label.setText(wire_text(wire, self.summary["unit"]))
        layer = find_layer(self.viewer, ROLE)
        if layer is not None:
            layer.selected_label = wire_id

    # ------------------------------------------------------------------ export
    def export_csv(self) -> None:
        if not self._all_summaries():
            show_warning("nothing measured yet: press Measure all first")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export every measured wire", "",
                                              "CSV (*.csv)")
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        """Write every wire of every measured image to a CSV file (in the job runner).

        Parameters
        ----------
        path : str
            The CSV file.
        """
        from nanomorph.workflows.morphometry import write_wires_csv

        summaries = self._all_summaries()
        if not summaries:
            show_warning("nothing measured yet: press Measure all first")
            return
        self.run_job(lambda _t: call_as_job(write_wires_csv, path, summaries),
                     name="Export wires", on_done=lambda n: show_info(f"wrote {n} wires to {path}"))
