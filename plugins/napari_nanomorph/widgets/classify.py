"""The Classify dock: label images by morphology with buttons or number keys, and watch a
classifier on frozen encoder embeddings sort every other image.

Embeddings are computed once per image in the background (cached in the project). After each
label the linear head retrains and predicts all unlabelled images in a background job
(milliseconds on cached embeddings); predictions fill the table and the image browser's badges.
Keys (while this dock is shown): 1–9 label the current image with that class, 0 removes its
label, N jumps to the least certain unlabelled image.
"""

from __future__ import annotations

from collections.abc import Mapping

from nanomorph import defaults
from nanomorph.errors import NanomorphError
from nanomorph.explore.consistency import consistency
from nanomorph.jobs import call_as_job
from nanomorph.workflows.classify import (
    live_predictions,
    prediction_records,
    project_embeddings,
    store_live_model,
    train_and_predict,
)
from nanomorph.workflows.consistency import class_connectivity, percolation_verdicts
from napari.utils.notifications import show_info, show_warning
from napari_nanomorph.layer_mode import NoProjectBanner
from napari_nanomorph.signals import listen, single_shot
from napari_nanomorph.widgets.base import NanomorphDock
from napari_nanomorph.widgets.table import ImageTable
from qtpy.QtCore import Qt
from qtpy.QtGui import QKeySequence, QShortcut
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
)

TABLE_COLUMNS = ("image", "your label", "prediction", "confidence", "margin", "connectivity")
RETRAIN_DELAY_MS = 30  # merges quick key presses into one retraining
SPREADING_SETTING = "classify.semi_supervised"  # the project setting of the check box


class Badges(Mapping):
    """Image id → (text, colour) under its thumbnail: its label (``■ network``), else its
    prediction with confidence (``network? 0.93``). Each badge is made when its row is painted,
    not for every image at each label (0.1–0.2 s on the GUI thread at 100,000 images).

    Parameters
    ----------
    labels : dict
        Image id → class name (or None).
    predictions : dict
        Image id → prediction (``label``, ``confidence``).
    colors : dict
        Class name → colour.
    """

    def __init__(self, labels: dict, predictions: dict, colors: dict):
        self._labels, self._predictions, self._colors = labels, predictions, colors

    def __getitem__(self, image_id: int) -> tuple[str, str | None]:
        label = self._labels.get(image_id)
        if label:
            return f"■ {label}", self._colors.get(label)
        pred = self._predictions[image_id]
        return f"{pred['label']}? {pred['confidence']:.2f}", self._colors.get(pred["label"])

    def __iter__(self):
        labelled = {i for i, label in self._labels.items() if label}
        yield from labelled
        yield from (i for i in self._predictions if i not in labelled)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class ClassifyWidget(NanomorphDock):
    """Labels, live predictions, label-next suggestions, saving and loading classifiers."""

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.embeddings = None
        self._embedding_job = None
        self._fit_serial = 0
        self._records: list[tuple[int, str]] | None = None  # (id, name) of the images
        self._temperature: float | None = None  # the last calibrated fit's
        self._retrain_timer = single_shot(self, RETRAIN_DELAY_MS, self.retrain)

        self.encoder = QComboBox()
        self.encoder.setToolTip("Frozen encoder that turns each image into an embedding")
        self.class_buttons = QGridLayout()
        edit_button = QPushButton("Edit classes…")
        edit_button.clicked.connect(self.edit_classes)
        self.current_label = QLabel()
        self.spreading = QCheckBox("use the unlabelled images (label spreading)")
        self.spreading.setToolTip("Let the labels spread along the nearest neighbours of all "
                                  "the project's images. Helps when every look of a class has a "
                                  "label (+0.02–0.05 on one-microscope SEM sets); harms when a "
                                  "class spans looks you have not labelled (−0.32 on a set "
                                  "mixing instruments)")
        self.spreading.toggled.connect(self._spreading_toggled)
        self.model_status = QLabel("no classifier yet: label images of two classes")
        self.model_status.setWordWrap(True)
        self.table = ImageTable(TABLE_COLUMNS)
        self.table.image_clicked.connect(self._row_clicked)
        next_button = QPushButton("Label next (least certain) [N]")
        next_button.clicked.connect(self.label_next)
        save_button = QPushButton("Save classifier…")
        save_button.clicked.connect(self.save_dialog)
        load_button = QPushButton("Load classifier…")
        load_button.clicked.connect(self.load_dialog)
        self.banner = NoProjectBanner(
            self, "Sorting images into classes from a few labels needs the images together in "
                  "a project: make one from the open Image layers (files are referenced, other "
                  "layers saved), then label here.",
            project_only=[self.encoder, edit_button, self.spreading, next_button, save_button,
                          load_button, self.table])

        top = QHBoxLayout()
        top.addWidget(QLabel("encoder"))
        top.addWidget(self.encoder, 1)
        files = QHBoxLayout()
        files.addWidget(save_button)
        files.addWidget(load_button)
        layout = self.scrolling_layout()
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addLayout(self.class_buttons)
        layout.addWidget(edit_button)
        layout.addWidget(self.current_label)
        layout.addWidget(self.spreading)
        layout.addWidget(self.model_status)
        layout.addWidget(next_button)
        layout.addWidget(self.table, 1)
        layout.addLayout(files)

        self._shortcuts = []
        self._fill_encoders()
        self.encoder.currentTextChanged.connect(self._encoder_changed)
        listen(self, self.session.encoder_changed, self._encoder_chosen_elsewhere)
        listen(self, self.session.project_changed, self._project_changed)
        listen(self, self.session.images_changed, self._images_changed)
        listen(self, self.session.labels_changed, lambda _ids: self.refresh())
        listen(self, self.session.classes_changed, self._classes_changed)
        listen(self, self.session.current_changed, self._show_current)
        listen(self, self.session.results_changed, self._verdicts_changed)
        listen(self, self.session.masks_changed, self._verdicts_changed)
        listen(self, self.session.settings_changed, lambda *_: self.refresh())
        self._project_changed(self.session.project)
        self.compute_embeddings()

    # ------------------------------------------------------------------ setup
    def _fill_encoders(self, then=None) -> None:
        """List the registry's encoders, with this project's pretraining runs (``ssl:<run>``),
        in the job runner (registering a run reads and hashes its weights); the list shows the
        session's encoder meanwhile.

        Parameters
        ----------
        then : callable, optional
            Called once the list is filled.
        """
        project = self.session.project
        if self.encoder.count() == 0:
            self.encoder.blockSignals(True)
            self.encoder.addItem(self.session.encoder)
            self.encoder.blockSignals(False)

        def fill(found) -> None:
            names, messages = found
            for message in messages:
                show_warning(message)
            self.encoder.blockSignals(True)
            self.encoder.clear()
            self.encoder.addItems(names or [defaults.ENCODER])
            self.encoder.setCurrentText(self.session.encoder)
            self.encoder.blockSignals(False)
            if then is not None:
                then()

        self.run_job(lambda _t: call_as_job(_encoder_names, project), name="List encoders",
                     on_done=fill)

    def _encoder_chosen_elsewhere(self, name: str) -> None:
        self._fill_encoders(then=lambda: self._encoder_changed(name))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._shortcuts:
            self._install_shortcuts()
        for shortcut in self._shortcuts:
            shortcut.setEnabled(True)

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override: keys 1-9 go back to napari
        super().hideEvent(event)
        for shortcut in self._shortcuts:
            shortcut.setEnabled(False)

    def _install_shortcuts(self) -> None:
        window = self.window()
        keys = [(str(n), lambda n=n: self.label_with_key(n)) for n in range(10)]
        keys.append(("N", self.label_next))
        for key, slot in keys:
            shortcut = QShortcut(QKeySequence(key), window)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)
            self._shortcuts.append(shortcut)

    def _encoder_changed(self, name: str) -> None:
        self.session.encoder = name
        self._temperature = None  # another embedding space
        self.compute_embeddings()

    @property
    def predictions(self) -> dict[int, dict]:
        return self.session.predictions

    @predictions.setter
    def predictions(self, value: dict[int, dict]) -> None:
        self.session.predictions = value

    def _project_changed(self, project) -> None:
        self._fill_encoders()
        self.embeddings, self._temperature, self._records = None, None, None
        self._percolates = None
        self.predictions = {}
        if project is not None:
            self._read_stored_predictions(project)
        with_spreading = bool(project.settings.get(SPREADING_SETTING)) if project else False
        self.spreading.blockSignals(True)
        self.spreading.setChecked(with_spreading)
        self.spreading.blockSignals(False)
        self._make_class_buttons()
        self.refresh()  # the images themselves follow with images_changed

    def _read_stored_predictions(self, project) -> None:
        """Show the live classifier's stored predictions, read in the job runner (100,000 took
        1.7 s on the GUI thread at open), unless a fit has started since: its own follow."""
        serial = self._fit_serial

        def done(stored) -> None:
            if self.session.project is project and serial == self._fit_serial and stored:
                self.predictions = stored
                self.refresh()

        self.run_job(lambda _t: call_as_job(live_predictions, project),
                     name="Read the predictions", on_done=done)

    # ------------------------------------------------------------------ classes
    def classes(self) -> list[str]:
        return self.session.project.labels.classes() if self.session.project is not None else []

    def colors(self) -> dict[str, str]:
        """The project's class colours (the one map every view uses)."""
        project = self.session.project
        return project.labels.class_colors() if project is not None else {}

    def _make_class_buttons(self) -> None:
        while self.class_buttons.count():
            self.class_buttons.takeAt(0).widget().deleteLater()
        colors = self.colors()
        for i, name in enumerate(self.classes()[:9]):
            button = QPushButton(f"{i + 1} · {name}")
            button.setStyleSheet(f"border-left: 6px solid {colors[name]};")
            button.clicked.connect(lambda _c=False, n=name: self.label_current(n))
            self.class_buttons.addWidget(button, i // 2, i % 2)
        unlabel = QPushButton("0 · unlabel")
        unlabel.clicked.connect(lambda: self.label_current(None))
        n = len(self.classes()[:9])
        self.class_buttons.addWidget(unlabel, n // 2, n % 2)
        if self.session.project is None:
            unlabel.setEnabled(False)
            unlabel.setToolTip("needs a project: Make a project from these layers (above)")

    def edit_classes(self) -> None:
        text, ok = QInputDialog.getText(self, "Classes", "Class names, separated by commas:",
                                        text=", ".join(self.classes()))
        if ok:
            self.set_classes([t.strip() for t in text.split(",") if t.strip()])

    def set_classes(self, names: list[str]) -> None:
        if self.guarded(lambda: self.session.project.labels.set_classes(names)):
            self.schedule_retrain()  # buttons and table follow the store's classes event

    # ------------------------------------------------------------------ labelling
    def label_with_key(self, number: int) -> None:
        classes = self.classes()
        if number == 0:
            self.label_current(None)
        elif number <= len(classes):
            self.label_current(classes[number - 1])

    def label_current(self, class_name: str | None) -> None:
        """Label (or unlabel) the current image; the classifier retrains in the background."""
        record = self.session.current
        if self.session.project is None:
            show_warning("labelling needs a project: Make a project from these layers (Classify "
                         "step)")
            return
        if record is None:
            show_warning("no current image: pick one in the Images dock")
            return
        if self.guarded(lambda: self.session.project.labels.set(record.id, class_name)):
            self.schedule_retrain()  # the table and badges follow the store's labels event

    def label_next(self) -> None:
        """Open the unlabelled image the classifier is least sure of (smallest margin)."""
        if not self.predictions:
            show_info("no predictions yet: label images of at least two classes first")
            return
        labelled = self.session.project.labels.all()
        predictions = self.predictions
        margin = getattr(predictions, "margin_of", None) or (lambda i: predictions[i]["margin"])
        candidates = [i for i in predictions if i not in labelled]
        if candidates:
            image_id = min(candidates, key=margin)
            self.session.set_current(self.session.project.images.get(image_id))

    def _images_changed(self) -> None:
        self._records = None
        self.refresh()  # every image shows at once, unlabelled and without prediction
        self.compute_embeddings()

    def _classes_changed(self) -> None:
        self._make_class_buttons()
        self.refresh()

    # ------------------------------------------------------------------ background work
    def compute_embeddings(self) -> None:
        project = self.session.project
        if project is None or not self.session.records():
            return
        if self._embedding_job is not None and self._embedding_job.running:
            self._embedding_job.cancel()
        encoder = self.encoder.currentText()

        def done(result) -> None:
            self.embeddings = result
            if result.failed:
                path, reason = result.failed[0]
                show_warning(f"{path}: {reason}" + (f" (and {len(result.failed) - 1} more)"
                                                   if len(result.failed) > 1 else ""))
            self.schedule_retrain()

        records = self.session.records()

        def embed(token):
            result = yield from project_embeddings(project, encoder=encoder,
                                                   device=project.settings.get("device"),
                                                   records=records, cancel=token)
            import sklearn.linear_model  # noqa: F401 - loaded here, off the GUI thread (~1-3 s)

            return result

        self._embedding_job = self.run_job(embed, name=f"Embed images ({encoder})",
                                                      on_done=done)

    def schedule_retrain(self) -> None:
        self._retrain_timer.start()

    @property
    def retrain_pending(self) -> bool:
        return self._retrain_timer.isActive()

    def _verdicts_changed(self, *_) -> None:
        self._percolates = None
        self.refresh()

    def _spreading_toggled(self, on: bool) -> None:
        project = self.session.project
        if project is not None and not project.read_only:
            project.settings.set(SPREADING_SETTING, bool(on))
        self.retrain()

    def retrain(self) -> None:
        """Fit the head on the current labels and predict the rest, in two background jobs:
        a quick fit that keeps the last confidence calibration shows the new predictions at
        once, then the calibrated fit refines the confidences and is stored."""
        project, embeddings = self.session.project, self.embeddings
        if project is None or embeddings is None:
            return
        labels = project.labels.all()
        if len(set(labels.values())) < 2:
            self.model_status.setText("no classifier yet: label images of two classes")
            return
        from nanomorph.encoders.registry import get_encoder_spec
        from nanomorph.fewshot.head import encoder_metadata

        meta = encoder_metadata(get_encoder_spec(embeddings.encoder))
        self._fit_serial += 1
        serial = self._fit_serial

        spreading = self.spreading.isChecked()

        def calibrated():
            live = train_and_predict(embeddings, labels, encoder_meta=meta,
                                     semi_supervised=spreading)
            store_live_model(project, live)
            return live

        def show(live, final: bool) -> None:
            if serial != self._fit_serial:
                return  # a newer label is being learnt
            self.predictions = live.results
            self.model_status.setText(
                f"trained on {live.n_labels} labels ({len(live.classifier.classes_)} classes), "
                f"{len(live.results)} images predicted in {live.seconds * 1e3:.0f} ms"
                + ("" if final else "; calibrating the confidences…"))
            self.refresh()
            if final:
                self._temperature = live.classifier.temperature_
            else:
                self.run_job(lambda _t: call_as_job(calibrated), name="Calibrate classifier",
                             on_done=lambda result: show(result, True))

        if self._temperature is None:
            self.run_job(lambda _t: call_as_job(calibrated), name="Train classifier",
                         on_done=lambda live: show(live, True))
        else:
            temperature = self._temperature
            self.run_job(lambda _t: call_as_job(train_and_predict, embeddings, labels,
                                                encoder_meta=meta, temperature=temperature,
                                                semi_supervised=spreading),
                         name="Train classifier", on_done=lambda live: show(live, False))

    # ------------------------------------------------------------------ display
    def refresh(self) -> None:
        """Show labels and predictions: the browser's badges now, the table now or when the
        step is next opened (:meth:`refresh_when_open`)."""
        project = self.session.project
        if project is None:
            self.table.set_rows([])
            return
        labels = project.labels.all()
        self.session.badges_changed.emit(Badges(labels, self.predictions, self.colors()))
        self._show_current(self.session.current, labels)
        self.refresh_when_open(self._fill_table)

    def _fill_table(self) -> None:
        """One row per image: its label, or its prediction with confidence and margin, and
        whether its class agrees with its percolation verdict."""
        project = self.session.project
        if project is None:
            self.table.set_rows([])
            return
        labels, colors = project.labels.all(), self.colors()
        rows, row_colors = [], []
        if self._records is None:  # read once per change of the images, not per label
            self._records = [(r.id, r.name) for r in self.session.records()]
        if self._percolates is None:  # read once per change of the results, not per label
            self._percolates = percolation_verdicts(project)
        expected = class_connectivity(project)
        for image_id, name in self._records:
            label, pred = labels.get(image_id), self.predictions.get(image_id)
            shown = pred if pred is not None and not label else None
            name_of_class = label or (shown or {}).get("label")
            rows.append((image_id, [
                name, label or "", "" if shown is None else shown["label"],
                None if shown is None else round(shown["confidence"], 3),
                None if shown is None else round(shown["margin"], 3),
                consistency(name_of_class, self._percolates.get(image_id), expected)]))
            row_colors.append(colors.get(name_of_class))
        self.table.set_rows(rows, row_colors)

    def _show_current(self, record, labels: dict | None = None) -> None:
        if record is None or self.session.project is None:
            self.current_label.setText("")
            return
        labels = self.session.project.labels.all() if labels is None else labels
        label = labels.get(record.id)
        pred = self.predictions.get(record.id)
        if label:
            text = f"<b>{record.name}</b>: labelled <b>{label}</b>"
        elif pred:
            text = (f"<b>{record.name}</b>: predicted <b>{pred['label']}</b> "
                    f"({pred['confidence']:.0%})")
        else:
            text = f"<b>{record.name}</b>: unlabelled"
        self.current_label.setText(text)

    def _row_clicked(self, image_id: int) -> None:
        self.session.set_current(self.session.project.images.get(image_id))

    # ------------------------------------------------------------------ files
    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save classifier", "classifier.npz",
                                              "nanomorph classifier (*.npz)")
        if path:
            self.save_to(path)

    def save_to(self, path: str) -> None:
        from nanomorph.fewshot.head import FewShotClassifier

        project = self.session.project
        live = [m for m in project.models.list("classifier") if m["name"] == "live"]
        if not live:
            show_warning("no classifier yet: label images of two classes first")
            return
        model = FewShotClassifier.load(project.models.path(live[0]), check_encoder=False)
        if self.guarded(lambda: model.save(path)):
            show_info(f"saved the classifier to {path}")

    def load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load classifier", "",
                                              "nanomorph classifier (*.npz)")
        if path:
            self.load_from(path)

    def load_from(self, path: str) -> None:
        """Predict every image with a saved classifier (its encoder embeds them if needed)."""
        from nanomorph.fewshot.head import FewShotClassifier

        try:
            model = FewShotClassifier.load(path)
        except NanomorphError as e:
            show_warning(str(e))
            return
        project = self.session.project
        encoder = model.encoder["source"] if model.encoder else self.encoder.currentText()

        records = self.session.records()

        def predict(token):
            embeddings = yield from project_embeddings(project, encoder=encoder,
                                                       records=records, cancel=token)
            return prediction_records(model, embeddings.ids, embeddings.matrix)

        def done(results) -> None:
            self.predictions = results
            self.model_status.setText(f"predictions of {path} ({', '.join(model.classes_)})")
            self.refresh()

        self.run_job(predict, name="Predict with a saved classifier", on_done=done)


def _encoder_names(project) -> tuple[list[str], list[str]]:
    """The encoders to offer (the project's pretraining runs registered first) and the
    warnings that registering gave (a run whose weights are damaged, say)."""
    import warnings

    from nanomorph.encoders.registry import list_encoders
    from nanomorph.workflows.pretrain import register_project_encoders

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if project is not None:
            register_project_encoders(project)
    return [spec.name for spec in list_encoders()], [str(w.message) for w in caught]
