"""The Segment dock: train a small UNet on the frozen encoder from a few masks, watch its loss
and validation Dice live, predict the current or all images, compare with the masks you have
and with the best classical auto-mask, and accept a prediction as the image's mask."""

from __future__ import annotations

import os

import numpy as np
from magicgui.widgets import CheckBox, Container, FloatSpinBox, SpinBox
from nanomorph.jobs import call_as_job
from nanomorph.workflows.segment import (
    WIRE_LABEL,
    accept_prediction,
    compare_with_truth,
    predict_project,
    stored_prediction,
    train_project_segmenter,
)
from napari.utils.notifications import show_info, show_warning
from napari_nanomorph.layers import ROLE_KEY, find_layer, scale_kwargs
from napari_nanomorph.mask_layer import controller_for
from napari_nanomorph.signals import listen
from napari_nanomorph.widgets.base import NanomorphDock
from napari_nanomorph.widgets.liveplot import LivePlot
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
)

FALSE_POSITIVE, FALSE_NEGATIVE = 1, 2
DIFFERENCE_COLOURS = {None: "transparent", 0: "transparent", FALSE_POSITIVE: "#ff3b30",
                      FALSE_NEGATIVE: "#0a84ff"}
METRIC_COLUMNS = ("image", "Dice", "IoU", "classical Dice", "classical IoU")


def difference_labels(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """1 where the prediction adds wire (false positive), 2 where it misses wire."""
    out = np.zeros(predicted.shape, np.uint8)
    out[predicted & ~truth] = FALSE_POSITIVE
    out[truth & ~predicted] = FALSE_NEGATIVE
    return out


# Why training stopped (``Segmenter.stop_reason``), as the status line says it.
STOPPED = {"epochs": "all epochs run", "early stopping": "stopped early: no better validation",
           "time limit": "stopped at the time limit", "cancelled": "cancelled"}


def draw_history(figure, history: list[dict]) -> None:
    """Training and validation loss per epoch, and the validation Dice on a second axis."""
    ax = figure.add_subplot()
    if not history:
        return
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["train_loss"] for h in history], label="train loss")
    ax.plot(epochs, [h["val_loss"] for h in history], label="validation loss")
    dice_ax = ax.twinx()
    dice_ax.plot(epochs, [h["val_dice"] for h in history], color="tab:green",
                 label="validation Dice")
    dice_ax.set(ylim=(0, 1), ylabel="Dice")
    ax.set(xlabel="epoch", ylabel="loss")
    lines = ax.get_lines() + dice_ax.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="center right")


class SegmentWidget(NanomorphDock):
    """Training, prediction overlays, accept-as-mask and the Dice table."""

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.masks = controller_for(self.session)
        self.segmenter = None
        self.model_file: str | None = None
        self.predictions: dict[int, np.ndarray] = {}
        self.history: list[dict] = []

        self.training_list = QListWidget()
        self.training_list.setMaximumHeight(110)
        self.settings_form = Container(widgets=[
            SpinBox(name="epochs", value=40, min=1, max=10_000),
            SpinBox(name="patch_px", label="patch (px)", value=256, min=64, max=1024, step=32),
            SpinBox(name="unfreeze_stages", label="unfreeze last stages", value=0, min=0, max=4),
            SpinBox(name="seed", value=0, min=0, max=2**31 - 1),
            FloatSpinBox(name="time_limit_min", label="time limit (min, 0 = none)", value=10.0,
                         min=0.0, max=24 * 60.0, step=1.0),
        ])
        self.train_button = QPushButton("Train")
        self.train_button.clicked.connect(self.train)
        self.model_box = QComboBox()
        self.model_box.currentTextChanged.connect(self._model_chosen)
        self.status = QLabel("Paint or import masks for a few images, then press Train.")
        self.status.setWordWrap(True)
        self.plot = LivePlot(draw_history)
        predict_current = QPushButton("Predict this image")
        predict_current.clicked.connect(self.predict_current)
        predict_all = QPushButton("Predict all images")
        predict_all.clicked.connect(self.predict_all)
        self.accept_button = QPushButton("Accept as mask")
        self.accept_button.clicked.connect(self.accept_current)
        self.contour_box = CheckBox(text="contours only", value=False)
        self.contour_box.changed.connect(self._contour_changed)
        self.metrics = QTableWidget(0, len(METRIC_COLUMNS))
        self.metrics.setHorizontalHeaderLabels(METRIC_COLUMNS)
        self.metrics.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.metrics.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.metrics.setSortingEnabled(True)
        self.metrics_note = QLabel("")
        self.metrics_note.setWordWrap(True)

        layout = self.scrolling_layout()
        layout.addWidget(QLabel("Training images (those with masks):"))
        layout.addWidget(self.training_list)
        layout.addWidget(self.settings_form.native)
        layout.addWidget(self.train_button)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("model"))
        row.addWidget(self.model_box, 1)
        layout.addLayout(row)
        row = QHBoxLayout()
        for w in (predict_current, predict_all, self.accept_button):
            row.addWidget(w)
        layout.addLayout(row)
        layout.addWidget(self.contour_box.native)
        layout.addWidget(self.metrics_note)
        layout.addWidget(self.metrics, 1)

        listen(self, self.session.project_changed, lambda _p: self.refresh())
        listen(self, self.session.images_changed, self.refresh)
        self.masks.saved.connect(lambda _i, _v: self._fill_training_list())
        listen(self, self.session.current_changed, self._show_current)
        self.refresh()

    # ------------------------------------------------------------------ lists
    def refresh(self) -> None:
        self._fill_training_list()
        self._fill_models()

    def _fill_training_list(self) -> None:
        project = self.session.project
        checked = {self.training_list.item(r).data(Qt.ItemDataRole.UserRole)
                   for r in range(self.training_list.count())
                   if self.training_list.item(r).checkState() == Qt.CheckState.Unchecked}
        self.training_list.clear()
        if project is None:
            return
        for record in project.images.all():
            if project.masks.latest_version(record.id) is None:
                continue
            item = QListWidgetItem(record.name)
            item.setData(Qt.ItemDataRole.UserRole, record.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if record.id in checked
                               else Qt.CheckState.Checked)
            self.training_list.addItem(item)

    def training_ids(self) -> list[int]:
        return [self.training_list.item(r).data(Qt.ItemDataRole.UserRole)
                for r in range(self.training_list.count())
                if self.training_list.item(r).checkState() == Qt.CheckState.Checked]

    def _fill_models(self) -> None:
        project = self.session.project
        self.model_box.blockSignals(True)
        self.model_box.clear()
        if project is not None:
            for model in reversed(project.models.list("segmenter")):
                self.model_box.addItem(model["name"], model["file"])
        self.model_box.blockSignals(False)
        if self.model_box.count() and self.model_file is None:
            self._model_chosen(self.model_box.currentText())

    def _model_chosen(self, _name: str) -> None:
        file = self.model_box.currentData()
        if not file or file == self.model_file:
            return
        from nanomorph.segment import load_segmenter

        project = self.session.project

        def loaded(segmenter) -> None:
            self.segmenter, self.model_file = segmenter, file
            self.predictions = {}
            self._plot_history(segmenter.history)
            self.status.setText(f"model {file}: best epoch {segmenter.best_epoch}, "
                                f"{STOPPED[segmenter.stop_reason]}")

        model = next(m for m in project.models.list("segmenter") if m["file"] == file)
        self.run_job(lambda _t: call_as_job(lambda: load_segmenter(project.models.path(model))),
                     name="Load segmenter", on_done=loaded)

    # ------------------------------------------------------------------ training
    def config(self):
        from nanomorph.segment import TrainConfig

        v = {w.name: w.value for w in self.settings_form}
        threads = max(1, (os.cpu_count() or 2) - 1)  # a core stays with the GUI
        return TrainConfig(encoder=self.session.encoder, epochs=v["epochs"],
                           patch_px=v["patch_px"], unfreeze_stages=v["unfreeze_stages"],
                           seed=v["seed"], threads=threads,
                           device=self.session.project.settings.get("device"),
                           time_limit_s=v["time_limit_min"] * 60 or None)

    def train(self) -> None:
        project, ids = self.session.project, self.training_ids()
        if project is None or not ids:
            show_warning("no training images: paint or import masks first")
            return
        self.masks.save_now()
        if not self.guarded(self.config):
            return
        config = self.config()
        self.history = []

        def progressed(event) -> None:
            if isinstance(event.payload, dict) and "epoch" in event.payload:
                self.history.append(event.payload)
                self._plot_history(self.history)
                p = event.payload
                self.status.setText(f"epoch {p['epoch']}: train loss {p['train_loss']:.3f}, "
                                    f"validation Dice {p['val_dice']:.3f}")

        def done(result) -> None:
            segmenter, file = result
            self.segmenter, self.model_file = segmenter, file
            self.predictions = {}
            self._fill_models()
            self.model_box.setCurrentIndex(self.model_box.findData(file))
            best = max((h["val_dice"] for h in segmenter.history), default=float("nan"))
            self.status.setText(f"saved {file}: best validation Dice {best:.3f} "
                                f"(epoch {segmenter.best_epoch}; "
                                f"{STOPPED[segmenter.stop_reason]})")

        self.run_job(
            lambda token: train_project_segmenter(project, ids, config, cancel=token),
            name="Train segmenter", on_progress=progressed, on_done=done, notify_done=True)

    def _plot_history(self, history: list[dict]) -> None:
        self.plot.show_data(list(history))

    # ------------------------------------------------------------------ prediction
    def predict_current(self) -> None:
        record = self.session.current
        if record is not None:
            self._predict([record.id])

    def predict_all(self) -> None:
        if self.session.project is not None:
            self._predict([r.id for r in self.session.project.images.all() if r.exists])

    def _predict(self, image_ids: list[int]) -> None:
        if self.segmenter is None:
            show_warning("no segmenter yet: train one or choose a saved model")
            return
        project, segmenter, file = self.session.project, self.segmenter, self.model_file
        probabilities = {}

        def progressed(event) -> None:
            if not isinstance(event.payload, tuple):
                return  # progress inside one image
            image_id, labels, probability, error = event.payload
            if error is not None:
                show_warning(f"{project.images.get(image_id).name}: {error}")
                return
            self.predictions[image_id] = labels
            probabilities[image_id] = probability
            current = self.session.current
            if current is not None and current.id == image_id:
                self._show_prediction(current, labels, probability)

        def done(results) -> None:
            self._score(results)

        self.run_job(
            lambda token: predict_project(project, image_ids, segmenter, file, cancel=token),
            name="Segment images", on_progress=progressed, on_done=done)

    def _score(self, results: dict) -> None:
        project = self.session.project

        def show(table) -> None:
            self._fill_metrics(table)

        self.run_job(lambda token: compare_with_truth(project, results, cancel=token),
                                name="Score predictions", on_done=show)

    def _fill_metrics(self, table: dict) -> None:
        self.metrics.setSortingEnabled(False)
        self.metrics.setRowCount(0)
        for row in table["rows"]:
            n = self.metrics.rowCount()
            self.metrics.insertRow(n)
            for col, value in enumerate((row["image"], round(row["dice"], 3),
                                         round(row["iou"], 3), round(row["classical_dice"], 3),
                                         round(row["classical_iou"], 3))):
                item = QTableWidgetItem()
                item.setData(Qt.ItemDataRole.DisplayRole, value)
                self.metrics.setItem(n, col, item)
        self.metrics.setSortingEnabled(True)
        if table["rows"]:
            m = table["means"]
            self.metrics_note.setText(
                f"Mean over {len(table['rows'])} images with masks: Dice {m['dice']:.3f} "
                f"(IoU {m['iou']:.3f}) vs the best classical auto-mask "
                f"({table['classical_method']}) Dice {m['classical_dice']:.3f} "
                f"(IoU {m['classical_iou']:.3f}).")
        else:
            self.metrics_note.setText("No predicted image has a mask to compare with.")

    def _show_current(self, record) -> None:
        for role in ("prediction", "probability", "difference"):
            layer = find_layer(self.viewer, role)
            if layer is not None:
                self.viewer.layers.remove(layer)
        if record is None or self.model_file is None:
            return
        labels = self.predictions.get(record.id)
        if labels is None:
            labels = stored_prediction(self.session.project, self.model_file, record)
        if labels is not None:
            self._show_prediction(record, labels, None)

    def _show_prediction(self, record, labels: np.ndarray, probability) -> None:
        """Prediction (Labels, contour option), probability (Image) and the difference to the
        stored mask (false positives red, false negatives blue)."""
        from napari.utils.colormaps import DirectLabelColormap

        placement = scale_kwargs(record.calibration)
        self._set_layer("prediction", labels, "labels", placement, opacity=0.55,
                        name="predicted mask")
        if probability is not None:
            self._set_layer("probability", probability, "image", placement, opacity=0.6,
                            colormap="magma", contrast_limits=(0, 255),
                            name="nanowire probability", blending="additive", visible=False)
        truth = self.session.project.masks.read(record.id)
        if truth is not None and truth.shape == labels.shape:
            diff = difference_labels(labels == WIRE_LABEL, truth == WIRE_LABEL)
            layer = self._set_layer("difference", diff, "labels", placement, opacity=0.8,
                                    name="difference to mask (FP red, FN blue)")
            layer.colormap = DirectLabelColormap(color_dict=DIFFERENCE_COLOURS)
        self._contour_changed(self.contour_box.value)

    def _set_layer(self, role: str, data, kind: str, placement: dict, **kwargs):
        layer = find_layer(self.viewer, role)
        if layer is None:
            add = self.viewer.add_labels if kind == "labels" else self.viewer.add_image
            layer = add(data, metadata={ROLE_KEY: role}, **placement, **kwargs)
            if kind == "labels":
                layer.editable = False
        else:
            layer.data = data
            layer.scale = placement["scale"]
            layer.units = placement["units"]
        return layer

    def _contour_changed(self, contours: bool) -> None:
        layer = find_layer(self.viewer, "prediction")
        if layer is not None:
            layer.contour = 2 if contours else 0

    def accept_current(self) -> None:
        """Copy the current image's prediction into its editable mask (a new mask version)."""
        record = self.session.current
        labels = self.predictions.get(record.id) if record is not None else None
        if labels is None and record is not None and self.model_file is not None:
            labels = stored_prediction(self.session.project, self.model_file, record)
        if labels is None:
            show_warning("no prediction for this image: press 'Predict this image' first")
            return
        if self.guarded(lambda: accept_prediction(self.session.project, record.id, labels,
                                                  self.model_file)):
            show_info(f"{record.name}: the prediction is now its mask")
            self.masks.show(self.session.project.masks.read(record.id), record)
            self.masks.saved.emit(record.id, self.session.project.masks.latest_version(record.id))
