"""The Segment dock: train a small UNet on the frozen encoder from a few masks, watch its loss
and validation Dice live, predict the current or all images, compare with the masks you have
and with the best classical auto-mask, and accept a prediction as the image's mask."""

from __future__ import annotations

import os

import numpy as np
from magicgui.widgets import CheckBox, Container, FloatSpinBox, SpinBox
from nanomorph.jobs import call_as_job
from nanomorph.project.image_records import present_paths
from nanomorph.workflows.segment import (
    DIFFERENCE_NAMES,
    DIFFERENCE_RGB,
    FALSE_NEGATIVE,
    FALSE_POSITIVE,
    WIRE_LABEL,
    accept_prediction,
    difference_labels,
    compare_with_truth,
    predict_project,
    stored_prediction,
    train_project_segmenter,
)
from napari.utils.notifications import show_info, show_warning
from napari_nanomorph.layer_mode import LayerChoice, NoProjectBanner, layer_planes, user_layers
from napari_nanomorph.layers import ROLE_KEY, find_layer, overlay_placement, place
from napari_nanomorph.mask_layer import controller_for
from napari_nanomorph.signals import listen
from napari_nanomorph.widgets.base import NanomorphDock
from napari_nanomorph.mask_layer import WIRE_COLOR
from napari_nanomorph.widgets.legend import Legend
from napari_nanomorph.widgets.liveplot import LivePlot
from napari_nanomorph.widgets.table import ImageTable
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
)

DIFFERENCE_COLOURS = {None: "transparent", 0: "transparent",
                      FALSE_POSITIVE: DIFFERENCE_RGB[FALSE_POSITIVE],
                      FALSE_NEGATIVE: DIFFERENCE_RGB[FALSE_NEGATIVE]}
METRIC_COLUMNS = ("image", "group", "training image", "Dice", "IoU", "classical Dice",
                  "classical IoU")
DICE_EXPLAINED = (
    "Dice = 2·|predicted ∩ mask| / (|predicted| + |mask|) of the wire class, 1 = perfect. "
    "The curve's validation Dice is measured during training on bands held out of the training "
    "images; this table scores whole images against their stored masks. Images the model "
    "learnt from are marked and left out of the mean.")


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


def by_group(per_group: list[dict]) -> str:
    """The mean Dice of each group (movie or folder) when there are several, weakest first:
    a run the model does not transfer to stands out."""
    if len(per_group) < 2:
        return ""
    ranked = sorted(per_group, key=lambda g: g["dice_mean"])
    return " By group: " + "; ".join(f"{g['group']} {g['dice_mean']:.3f} ({g['n_images']})"
                                     for g in ranked) + "."


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
            CheckBox(name="physical_scale", label="one pixel size (nm) when calibrated",
                     value=True,
                     tooltip="train at the training images' median pixel size and segment "
                             "every calibrated image resampled to it, so a wire looks the "
                             "same at any magnification (off: every image at its own pixels)"),
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
        self.tta_box = CheckBox(text="8 views (flips and turns)", value=False)
        self.tta_box.native.setToolTip(
            "average each prediction over the 8 flips and quarter turns: about 8× the time; "
            "+0.006 mean Dice measured on the HRTEM frames, +0.017 on their diagonal run")
        self.tta_box.changed.connect(self._tta_changed)
        self.legend = Legend("overlays", [
            (WIRE_COLOR[WIRE_LABEL], "predicted wire"),
            *[(DIFFERENCE_RGB[k], DIFFERENCE_NAMES[k]) for k in (FALSE_POSITIVE,
                                                                  FALSE_NEGATIVE)]])
        self.metrics = ImageTable(METRIC_COLUMNS)
        self.metrics.image_clicked.connect(
            lambda image_id: self.session.set_current(self.session.project.images.get(image_id)))
        self.metrics_note = QLabel("")
        self.metrics_note.setWordWrap(True)
        self.metrics_note.setToolTip(DICE_EXPLAINED)
        dice_help = QLabel(DICE_EXPLAINED)
        dice_help.setWordWrap(True)
        dice_help.setStyleSheet("color: gray;")
        self.image_choice = LayerChoice(napari_viewer, "image", "image layer:")
        model_file_button = QPushButton("Model file…")
        model_file_button.setToolTip("a segmenter saved by nanomorph (Segment step or "
                                     "nanomorph segment train)")
        model_file_button.clicked.connect(self.choose_model_file)
        self.train_button.setToolTip("train on the checked images' masks")
        self.banner = NoProjectBanner(
            self, "<i>Predict this image</i> segments the chosen Image layer with a model file "
                  "into a Labels layer (<i>Predict all images</i>: every Image layer); "
                  "<i>Train</i> learns from every Image layer that has a mask layer and saves "
                  "the model to a file you choose. A project also keeps training sets, models "
                  "and scores.",
            layer_only=[self.image_choice, model_file_button],
            project_only=[self.training_list, self.model_box, self.accept_button, self.metrics])

        layout = self.scrolling_layout()
        layout.addWidget(self.banner)
        layout.addWidget(self.image_choice)
        layout.addWidget(model_file_button)
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
        options = QHBoxLayout()
        options.addWidget(self.contour_box.native)
        options.addWidget(self.tta_box.native)
        layout.addLayout(options)
        layout.addWidget(self.legend)
        layout.addWidget(self.metrics_note)
        layout.addWidget(dice_help)
        layout.addWidget(self.metrics, 1)

        self.remember(self.settings_form, "segment")
        listen(self, self.session.project_changed, lambda _p: self.refresh())
        listen(self, self.session.images_changed, self.refresh)
        listen(self, self.session.masks_changed, lambda _ids: self._fill_training_list())
        listen(self, self.session.models_changed, self._fill_models)
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
        masked = project.masks.latest_versions()
        for record in self.session.records():
            if record.id not in masked:
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
                           physical_scale=v["physical_scale"],
                           device=(self.session.project.settings.get("device")
                                   if self.session.project is not None else None),
                           time_limit_s=v["time_limit_min"] * 60 or None)

    def train(self) -> None:
        project, ids = self.session.project, self.training_ids()
        if project is None:
            self._train_on_layers()
            return
        if not ids:
            show_warning("no training images: paint or import masks first")
            return
        self.masks.save_now()
        if not self.guarded(self.config):
            return
        config = self.config()
        self.history = []

        def done(result) -> None:
            segmenter, file = result
            self.segmenter, self.model_file = segmenter, file
            self.predictions = {}
            self._fill_models()
            self.model_box.setCurrentIndex(self.model_box.findData(file))
            best = max((h["val_dice"] for h in segmenter.history), default=float("nan"))
            scale = (f"; at {segmenter.pixel_size_nm:.4g} nm/px"
                     if segmenter.pixel_size_nm else "")
            self.status.setText(f"saved {file}: best validation Dice {best:.3f} "
                                f"(epoch {segmenter.best_epoch}; "
                                f"{STOPPED[segmenter.stop_reason]}{scale})")

        self.run_job(
            lambda token: train_project_segmenter(project, ids, config, cancel=token),
            name="Train segmenter", on_progress=self._epoch_done, on_done=done, notify_done=True)

    def _epoch_done(self, event) -> None:
        """An epoch's losses and Dice: into the live plot and the status line."""
        if isinstance(event.payload, dict) and "epoch" in event.payload:
            self.history.append(event.payload)
            self._plot_history(self.history)
            p = event.payload
            self.status.setText(f"epoch {p['epoch']}: train loss {p['train_loss']:.3f}, "
                                f"validation Dice {p['val_dice']:.3f}")

    def _train_on_layers(self, path: str | None = None) -> None:
        """Train on every Image layer that has a mask layer (no project) and save the model to
        a file (asked for when ``path`` is None)."""
        from nanomorph.workflows.segment import train_file_segmenter
        from napari_nanomorph.layer_mode import paired_mask

        pairs = [(image, paired_mask(self.viewer, image))
                 for image in user_layers(self.viewer, "image")]
        pairs = [(image, mask) for image, mask in pairs
                 if mask is not None and np.asarray(mask.data).any()]
        if not pairs:
            show_warning("nothing to learn from: an Image layer needs a mask layer of its shape "
                         "(Mask step: auto-mask, Accept, then correct it)")
            return
        if not self.guarded(self.config):
            return
        images = layer_planes(self, [image for image, _ in pairs])
        masks = layer_planes(self, [mask for _, mask in pairs])
        if len(images) < len(pairs) or len(masks) < len(pairs):
            return
        if path is None:
            from qtpy.QtWidgets import QFileDialog

            path, _ = QFileDialog.getSaveFileName(self, "Save the segmenter as", "segmenter.pt",
                                                  "Segmenter (*.pt)")
            if not path:
                return
        names = [name for name, _, _ in images]
        images = [data for _, data, _ in images]
        masks = [data.astype(np.uint8) for _, data, _ in masks]
        config, self.history = self.config(), []

        def done(segmenter) -> None:
            self.segmenter, self.model_file = segmenter, path
            self.status.setText(f"saved {path} (trained on {len(pairs)} image layers, best "
                                f"epoch {segmenter.best_epoch}); press Predict")

        self.run_job(lambda token: train_file_segmenter(images, masks, names, config, path,
                                                        cancel=token),
                     name="Train segmenter", on_progress=self._epoch_done, on_done=done,
                     notify_done=True)

    def _plot_history(self, history: list[dict]) -> None:
        self.plot.show_data(list(history))

    # ------------------------------------------------------------------ prediction
    def predict_current(self) -> None:
        if self.session.project is None:
            layer = self.image_choice.layer
            if layer is None:
                show_warning("no Image layer to segment: open an image first")
                return
            self._predict_layers([layer])
            return
        record = self.session.current
        if record is None:
            show_warning("no current image: pick one in the Images dock")
            return
        self._predict([record.id])

    def predict_all(self) -> None:
        if self.session.project is None:
            layers = user_layers(self.viewer, "image")
            if not layers:
                show_warning("no Image layer to segment: open images first")
                return
            self._predict_layers(layers)
            return
        records = self.session.records()
        present = present_paths(records)
        self._predict([r.id for r in records if r.path in present])

    def choose_model_file(self) -> None:
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "A nanomorph segmenter", "",
                                              "Segmenter (*.pt);;All files (*)")
        if path:
            self.load_model_file(path)

    def load_model_file(self, path: str) -> None:
        """Load a segmenter from a file (no project needed; in the job runner).

        Parameters
        ----------
        path : str
            A model file saved by nanomorph.
        """
        from nanomorph.segment import load_segmenter

        def loaded(segmenter) -> None:
            self.segmenter, self.model_file = segmenter, path
            self.status.setText(f"model {os.path.basename(path)}: best epoch "
                                f"{segmenter.best_epoch}; press Predict this image")

        self.run_job(lambda _t: call_as_job(load_segmenter, path), name="Load segmenter",
                     on_done=loaded)

    def _predict_layers(self, layers: list) -> None:
        """Segment Image layers (no project) into ``<name> prediction`` Labels layers."""
        from nanomorph.workflows.arrays import analyse_arrays

        if self.segmenter is None:
            show_warning("no segmenter yet: choose a model file (Model file…), or make a "
                         "project from these layers to train one")
            return
        segmenter, tta = self.segmenter, self.tta_box.value
        items = layer_planes(self, layers)
        by_name = {layer.name: layer for layer in layers}

        def done(results) -> None:
            for name, prediction in results.items():
                image, title = by_name[name], f"{name} prediction"
                existing = next((lay for lay in self.viewer.layers if lay.name == title), None)
                if existing is not None:
                    existing.data = prediction.labels
                    continue
                self.viewer.add_labels(prediction.labels, name=title, scale=image.scale,
                                       translate=image.translate, units=image.units,
                                       opacity=0.6)
            show_info(f"segmented {len(results)} of {len(items)} image layers")

        self.run_job(lambda token: analyse_arrays(
            items, lambda pixels, _px: segmenter.predict(pixels, tta=tta), cancel=token),
            name="Segment image layers", on_done=done)

    def _predict(self, image_ids: list[int]) -> None:
        if self.segmenter is None:
            show_warning("no segmenter yet: train one or choose a saved model")
            return
        project, segmenter, file = self.session.project, self.segmenter, self.model_file
        tta = self.tta_box.value
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
                self._load_and_show(current, labels, probability)

        def done(results) -> None:
            self._score(results)

        self.run_job(
            lambda token: predict_project(project, image_ids, segmenter, file, tta=tta,
                                          cancel=token),
            name="Segment images", on_progress=progressed, on_done=done)

    def _score(self, results: dict) -> None:
        project, file = self.session.project, self.model_file
        trained = next((m["config"].get("images", []) for m in project.models.list("segmenter")
                        if m["file"] == file), [])
        self.run_job(lambda token: compare_with_truth(project, results, training_ids=trained,
                                                      cancel=token),
                     name="Score predictions", on_done=self._fill_metrics)

    def _fill_metrics(self, table: dict) -> None:
        self.metrics.set_rows([
            (row["image_id"], [row["image"], row["group"],
                               "yes" if row["trained_on"] else "no",
                               round(row["dice"], 3), round(row["iou"], 3),
                               round(row["classical_dice"], 3), round(row["classical_iou"], 3)])
            for row in table["rows"]])
        if not table["rows"]:
            self.metrics_note.setText("No predicted image has a mask to compare with.")
            return
        m, held = table["means"], table["held_out"]
        over = (f"Mean over the {held} held-out image{'s' * (held != 1)} with masks"
                if held else f"No held-out image has a mask: mean over the "
                             f"{len(table['rows'])} training images (memory, not accuracy)")
        self.metrics_note.setText(
            f"{over}: Dice {m['dice']:.3f} (IoU {m['iou']:.3f}) vs the best classical "
            f"auto-mask ({table['classical_method']}) Dice {m['classical_dice']:.3f} "
            f"(IoU {m['classical_iou']:.3f}).{by_group(table['per_group'])}")

    def _show_current(self, record) -> None:
        for role in ("prediction", "probability", "difference"):
            layer = find_layer(self.viewer, role)
            if layer is not None:
                self.viewer.layers.remove(layer)
        if record is not None and self.model_file is not None:
            self._load_and_show(record, self.predictions.get(record.id), None)

    def _load_and_show(self, record, labels, probability) -> None:
        """Read what the overlays need (the stored prediction when ``labels`` is None, the
        image's mask) in the job runner, then draw them if the image is still current."""
        project, file, tta = self.session.project, self.model_file, self.tta_box.value

        def load():
            predicted = labels if labels is not None else stored_prediction(project, file,
                                                                            record, tta)
            return predicted, project.masks.read(record.id) if predicted is not None else None

        def show(loaded) -> None:
            predicted, truth = loaded
            current = self.session.current
            if predicted is not None and current is not None and current.id == record.id:
                self._show_prediction(record, predicted, probability, truth)

        self.run_job(lambda _t: call_as_job(load), name="Load prediction", on_done=show)

    def _show_prediction(self, record, labels: np.ndarray, probability, truth) -> None:
        """Prediction (Labels, contour option), probability (Image) and the difference to the
        stored mask ``truth`` (false positives violet, false negatives teal; see the legend)."""
        from napari.utils.colormaps import DirectLabelColormap

        placement = overlay_placement(self.viewer, record)
        self._set_layer("prediction", labels, "labels", placement, opacity=0.55,
                        name="predicted mask")
        if probability is not None:
            self._set_layer("probability", probability, "image", placement, opacity=0.6,
                            colormap="magma", contrast_limits=(0, 255),
                            name="nanowire probability", blending="additive", visible=False)
        if truth is not None and truth.shape == labels.shape:
            diff = difference_labels(labels == WIRE_LABEL, truth == WIRE_LABEL)
            layer = self._set_layer("difference", diff, "labels", placement, opacity=0.8,
                                    name="difference to mask (FP violet, FN teal)")
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
            place(layer, placement["scale"], placement["units"])
        return layer

    def _tta_changed(self, _on: bool) -> None:
        """Plain and 8-view predictions are kept apart: show the kind now chosen."""
        self.predictions = {}
        self._show_current(self.session.current)

    def _contour_changed(self, contours: bool) -> None:
        layer = find_layer(self.viewer, "prediction")
        if layer is not None:
            layer.contour = 2 if contours else 0

    def accept_current(self) -> None:
        """Copy the current image's prediction into its editable mask (a new mask version),
        in the job runner."""
        from nanomorph.errors import NanomorphError

        record, project, file = self.session.current, self.session.project, self.model_file
        tta = self.tta_box.value
        labels = self.predictions.get(record.id) if record is not None else None
        if record is None or (labels is None and file is None):
            show_warning("no prediction for this image: press 'Predict this image' first")
            return

        def accept():
            chosen = labels if labels is not None else stored_prediction(project, file, record,
                                                                         tta)
            if chosen is None:
                raise NanomorphError(f"{record.name}: no prediction for this image: press "
                                     "'Predict this image' first")
            accept_prediction(project, record.id, chosen, file)
            return chosen

        def done(chosen) -> None:
            show_info(f"{record.name}: the prediction is now its mask")
            current = self.session.current
            if current is not None and current.id == record.id:
                self.masks.show(chosen.copy(), record)  # painting must not edit the prediction

        self.run_job(lambda _t: call_as_job(accept), name="Accept prediction", on_done=done,
                     cancellable=False)
