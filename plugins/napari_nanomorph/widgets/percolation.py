"""The Percolation dock: DBSCAN clusters of the wire pixels, the spanning verdict, skeleton
metrics, a table over all images and a cluster overlay (spanning clusters highlighted, noise in
its own colour)."""

from __future__ import annotations

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, SpinBox
from nanomorph.errors import NanomorphError
from nanomorph.jobs import call_as_job
from nanomorph.workflows.percolation import UNITS, PercolationSettings, analyse_project
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
from napari_nanomorph.widgets.batch_report import PERCOLATION_SETTINGS
from napari_nanomorph.widgets.table import ImageTable
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog, QFormLayout, QHBoxLayout, QLabel, QPushButton

NOISE, SPANNING, FIRST_OTHER, N_OTHER_COLOURS = 1, 2, 3, 12
OVERLAY_COLOURS = {None: "transparent", 0: "transparent", NOISE: "#ff2bd6", SPANNING: "#ffd400",
                   **{FIRST_OTHER + i: c for i, c in enumerate(
                       ["#4e79a7", "#59a14f", "#76b7b2", "#9c755f", "#bab0ac", "#8cd17d",
                        "#499894", "#86bcb6", "#a0cbe8", "#6b8e23", "#5f9ea0", "#7f7f7f"])}}
TABLE_COLUMNS = ("image", "percolates", "spans x", "spans y", "clusters", "wire %",
                 "largest %", "status")


def overlay_labels(labels: np.ndarray, spanning: set[int]) -> np.ndarray:
    """Colour classes for the overlay: noise, spanning clusters, others cycling 12 colours."""
    out = np.zeros(labels.shape, np.uint8)
    clustered = labels > 0
    out[clustered] = FIRST_OTHER + (labels[clustered] % N_OTHER_COLOURS)
    out[labels < 0] = NOISE
    if spanning:
        out[np.isin(labels, list(spanning))] = SPANNING
    return out


def _row(name: str, r: dict, status: str) -> list:
    """A table row of one percolation summary."""
    return [name, "yes" if r["percolates"] else "no", "yes" if r["spans_x"] else "no",
            "yes" if r["spans_y"] else "no", r["n_clusters"],
            round(100 * r["foreground_fraction"], 2), round(100 * r["largest_cluster_fraction"], 1),
            status]


def network_lines(n: dict) -> list[str]:
    """Skeleton metrics as short lines (lengths in µm when calibrated, else px)."""
    if not n:
        return []
    if "total_length_nm" in n:
        length = lambda key: f"{n[key + '_nm'] / 1e3:.3g} µm"  # noqa: E731
    else:
        unit = next(k.rsplit("_", 1)[1] for k in n if k.startswith("total_length_"))
        length = lambda key: f"{n[f'{key}_{unit}']:.4g} {unit}"  # noqa: E731
    lines = [f"skeleton: total length {length('total_length')}, {n['segments']} segments "
             f"(mean {length('mean_segment_length')}), {n['junctions']} junctions, "
             f"{n['end_points']} ends"]
    if n.get("wires_per_um2") is not None:
        lines.append(f"{n['wires_per_um2']:.3g} wires/µm², "
                     f"{n['length_density_per_um']:.3g} µm of wire per µm²")
    return lines


class PercolationWidget(NanomorphDock):
    """Run the percolation analysis on the current or all images and show the results."""

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.masks = controller_for(self.session)
        self.settings_form = Container(widgets=[
            FloatSpinBox(name="eps", value=2.0, min=0.1, max=1e6, step=0.5,
                         tooltip="DBSCAN radius"),
            SpinBox(name="min_samples", value=2, min=1, max=1000,
                    tooltip="DBSCAN min_samples (the pixel itself counts)"),
            FloatSpinBox(name="margin", value=2.0, min=0.0, max=1e6, step=1.0,
                         tooltip="a cluster spans x when its extent >= width - margin"),
            ComboBox(name="units", choices=UNITS, value="px",
                     tooltip="units of eps and margin (nm/µm need a calibrated image)"),
            ComboBox(name="method", choices=("exact", "dbscan"), value="exact",
                     tooltip="exact: fast and identical to DBSCAN; dbscan: scikit-learn"),
            CheckBox(name="resize_224", value=False, text="at 224 × 224 px",
                     tooltip="analyse the mask resized to 224 × 224 px, as Lu et al. (2022)"),
        ])
        self.run_button = QPushButton("Run on this image")
        self.run_button.clicked.connect(self.run_current)
        self.run_all_button = QPushButton("Run on all images")
        self.run_all_button.clicked.connect(self.run_all)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self.export_csv)
        self.overlay_box = CheckBox(text="show clusters (spanning: yellow, noise: magenta)",
                                    value=True)
        self.overlay_box.changed.connect(self._toggle_overlay)
        self.verdict = QLabel("no result yet")
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.table = ImageTable(TABLE_COLUMNS)
        self.table.image_clicked.connect(self._row_clicked)
        self.labels_choice = LayerChoice(napari_viewer, "labels", "mask layer:")
        self.banner = NoProjectBanner(self, "<i>Run on this image</i> analyses the chosen Labels "
                                            "layer (every non-zero pixel is wire) at its scale; "
                                            "<i>Run on all images</i> every Labels layer.",
                                      layer_only=[self.labels_choice])
        self.layer_results: dict[str, dict] = {}  # without a project: layer name → summary

        buttons = QHBoxLayout()
        for b in (self.run_button, self.run_all_button, self.export_button):
            buttons.addWidget(b)
        layout = self.scrolling_layout()
        form = QFormLayout()
        layout.addWidget(self.banner)
        layout.addWidget(self.labels_choice)
        layout.addWidget(self.form_grid(self.settings_form))
        layout.addLayout(buttons)
        layout.addWidget(self.overlay_box.native)
        form.addRow(self.verdict)
        form.addRow(self.details)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)

        self.remember(self.settings_form, "percolation", on_saved=self._store_settings)
        listen(self, self.session.current_changed, self._show_stored)
        for signal in (self.session.images_changed, self.session.masks_changed,
                       self.session.results_changed, self.session.project_changed):
            listen(self, signal, lambda *_: self.refresh_when_open(self.refresh_table))

    # ------------------------------------------------------------------ settings
    def _store_settings(self, _values=None) -> None:
        """The settings as shown become the project's percolation settings (which the Batch &
        Report step uses), whenever they change."""
        project = self.session.project
        if project is None or project.read_only:
            return
        try:
            settings = self.settings()
        except NanomorphError:
            return
        if project.settings.get(PERCOLATION_SETTINGS) != settings.as_json():
            project.settings.set(PERCOLATION_SETTINGS, settings.as_json())

    def settings(self) -> PercolationSettings:
        v = {w.name: w.value for w in self.settings_form}
        return PercolationSettings(v["eps"], v["min_samples"], v["margin"], v["units"],
                                   v["method"], 224 if v["resize_224"] else None)

    # ------------------------------------------------------------------ running
    def run_current(self) -> None:
        if self.session.project is None:
            layer = self.labels_choice.layer
            if layer is None:
                show_warning("no Labels layer to analyse: open a mask, or make one in the Mask "
                             "step (auto-mask, then Accept)")
                return
            self._run_layers([layer], overlay_for=layer)
            return
        record = self.session.current
        if record is None:
            show_warning("no current image: pick one in the Images dock")
            return
        self.masks.save_now()
        self._run([record.id], overlay_for=record.id)

    def run_all(self) -> None:
        if self.session.project is None:
            layers = user_layers(self.viewer, "labels")
            if not layers:
                show_warning("no Labels layer to analyse: open masks, or make them in the Mask "
                             "step")
                return
            self._run_layers(layers, overlay_for=self.labels_choice.layer)
            return
        self.masks.save_now()
        self._run([r.id for r in self.session.records()], overlay_for=None)

    def _run(self, image_ids: list[int], overlay_for: int | None) -> None:
        if not self.guarded(self.settings):
            return
        settings, project = self.settings(), self.session.project
        failures = []

        def progressed(event) -> None:
            image_id, summary, error = event.payload
            if error is not None and len(image_ids) == 1:
                show_warning(f"{project.images.get(image_id).name}: {error}")
            elif error is not None and error != "no mask yet":
                failures.append(error)

        def done(results) -> None:
            self.refresh_table()
            current = self.session.current
            if current is not None and current.id in results:
                self._show_summary(results[current.id])
                if overlay_for == current.id or self.overlay_box.value:
                    self._compute_overlay(current, settings)
            if len(image_ids) > 1:
                show_info(f"percolation: {len(results)} of {len(image_ids)} images analysed"
                          + (f", {len(failures)} failed (first: {failures[0]})" if failures else ""))

        self.run_job(
            lambda token: analyse_project(project, image_ids, settings, cancel=token),
            name="Percolation", on_progress=progressed, on_done=done)

    def _run_layers(self, layers: list, overlay_for) -> None:
        """Analyse Labels layers (no project): verdicts in the dock and the table, the cluster
        overlay over ``overlay_for``."""
        from nanomorph.workflows.arrays import analyse_arrays
        from nanomorph.workflows.percolation import analyse_foreground

        if not self.guarded(self.settings):
            return
        settings = self.settings()
        # copies: the user may keep painting while the job runs
        items = [(name, data != 0, size) for name, data, size in layer_planes(self, layers)]
        placements = {layer.name: layer for layer in layers}
        failures = []

        def analyse(foreground, pixel_size):
            summary, result = analyse_foreground(foreground, settings, pixel_size)
            spanning = {c.label for c in result.clusters if c.spans_x and c.spans_y}
            return summary, overlay_labels(result.labels, spanning)

        def progressed(event) -> None:
            name, _result, error = event.payload
            if error is not None:
                failures.append(f"{name}: {error}")

        def done(results) -> None:
            for failure in failures:
                show_warning(failure)
            self.layer_results.update({name: summary for name, (summary, _) in results.items()})
            self.refresh_table()
            shown = overlay_for.name if overlay_for is not None else None
            if shown in results:
                summary, overlay = results[shown]
                self._show_summary(summary)
                self._put_overlay(overlay, placement_of(placements[shown]))
            if len(items) > 1:
                show_info(f"percolation: {len(results)} of {len(items)} layers analysed")

        self.run_job(lambda token: analyse_arrays(items, analyse, cancel=token),
                     name="Percolation", on_progress=progressed, on_done=done)

    def _compute_overlay(self, record, settings: PercolationSettings) -> None:
        """Cluster labels of the current image at display resolution (background job)."""
        from nanomorph.workflows.percolation import (
            analyse_image_mask,
            image_databar_rows,
        )

        project = self.session.project
        mask = project.masks.read(record.id)
        if mask is None:
            return
        native = PercolationSettings(**{**settings.as_json(), "resize": None})

        def compute():
            _summary, result = analyse_image_mask(mask, record, native,
                                                  image_databar_rows(record))
            spanning = {c.label for c in result.clusters if c.spans_x and c.spans_y}
            return overlay_labels(result.labels, spanning)

        def show(overlay) -> None:
            if self.session.current is None or self.session.current.id != record.id:
                return
            self._put_overlay(overlay, overlay_placement(self.viewer, record))

        self.run_job(lambda _t: call_as_job(compute), name="Cluster overlay",
                                on_done=show)

    def _put_overlay(self, overlay, placement: dict) -> None:
        """Show the cluster colours in the ``clusters`` layer."""
        layer = put_overlay(self.viewer, "clusters", "clusters", overlay, placement,
                            colors=OVERLAY_COLOURS, opacity=0.7)
        layer.visible = self.overlay_box.value

    def _toggle_overlay(self, visible: bool) -> None:
        layer = find_layer(self.viewer, "clusters")
        if layer is not None:
            layer.visible = visible

    # ------------------------------------------------------------------ showing results
    def _show_stored(self, record) -> None:
        layer = find_layer(self.viewer, "clusters")
        if layer is not None:
            self.viewer.layers.remove(layer)
        stored = (self.session.project.results.get(record.id, "percolation")
                  if record is not None and self.session.project is not None else None)
        if stored is None:
            masked = record is not None and self.session.project is not None and \
                self.session.project.masks.latest_version(record.id) is not None
            self.verdict.setText("no result yet: press <i>Run on this image</i>" if masked else
                                 "no mask yet: paint one or accept an auto-mask in the Mask "
                                 "step, then run the analysis")
            self.details.setText("")
            return
        self._show_summary(stored["result"], stale=stored["stale"])

    def _show_summary(self, s: dict, stale: bool = False) -> None:
        colour = "#4caf50" if s["percolates"] else "#e53935"
        word = "PERCOLATES" if s["percolates"] else "does not percolate"
        spans = ", ".join(a for a in ("x", "y") if s[f"spans_{a}"]) or "neither direction"
        note = " <i>(stale: the mask changed since)</i>" if stale else ""
        self.verdict.setText(f"<b style='color:{colour}; font-size:14pt'>{word}</b> — spans "
                             f"{spans}{note}")
        lines = [f"{s['n_clusters']} clusters, {s['noise_pixels']} noise px",
                 f"wire {100 * s['foreground_fraction']:.2f} % of the image, largest cluster "
                 f"{100 * s['largest_cluster_fraction']:.1f} % of the wire",
                 *network_lines(s.get("network", {}))]
        self.details.setText("<br>".join(lines))

    def refresh_table(self) -> None:
        """One row per image (per analysed layer without a project): its stored verdict, or
        why there is none."""
        project = self.session.project
        if project is None:
            self.table.set_rows([(i, _row(name, summary, "ok")) for i, (name, summary) in
                                 enumerate(self.layer_results.items())])
            return
        stored = project.results.of_kind("percolation")
        masked = project.masks.latest_versions()
        rows = []
        for record in self.session.records():
            entry = stored.get(record.id)
            if entry is None:
                status = "not analysed" if record.id in masked else "no mask"
                rows.append((record.id, [record.name, *[None] * 6, status]))
                continue
            rows.append((record.id, _row(record.name, entry["result"],
                                         "stale" if entry["stale"] else "ok")))
        self.table.set_rows(rows)

    def _row_clicked(self, image_id: int) -> None:
        if self.session.project is None:  # a layer's row: select that layer
            name = list(self.layer_results)[image_id]
            layer = next((lay for lay in self.viewer.layers if lay.name == name), None)
            if layer is not None:
                self.viewer.layers.selection.active = layer
            return
        self.session.set_current(self.session.project.images.get(image_id))

    def export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export percolation results", "",
                                              "CSV (*.csv)")
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        """Write every stored result to a CSV file (in the job runner).

        Parameters
        ----------
        path : str
            The CSV file.
        """
        from nanomorph.workflows.percolation import export_analyses_csv, export_summaries_csv

        project = self.session.project
        if project is None:
            if not self.layer_results:
                show_warning("nothing to export yet: run the analysis on a Labels layer first")
                return
            if not self.guarded(self.settings):
                return
            summaries, settings = dict(self.layer_results), self.settings()
            self.run_job(lambda _t: call_as_job(export_summaries_csv, path, summaries, settings),
                         name="Export percolation results",
                         on_done=lambda n: show_info(f"wrote {n} rows to {path}"))
            return
        self.run_job(lambda _t: call_as_job(export_analyses_csv, project, path),
                     name="Export percolation results", on_done=lambda _r: show_info(
                         f"wrote {path}"))
