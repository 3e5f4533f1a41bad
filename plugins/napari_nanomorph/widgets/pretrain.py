"""The Pretrain dock: self-supervised pretraining (Barlow Twins or SimCLR) on the project's own
micrographs, with a live loss plot, cancel and resume, then "use as encoder" for the classifier
and the segmenter."""

from __future__ import annotations

import os

from magicgui.widgets import ComboBox, Container, LineEdit, SpinBox
from nanomorph.jobs import call_as_job
from napari.utils.notifications import show_info, show_warning
from napari_nanomorph.layer_mode import NoProjectBanner
from napari_nanomorph.widgets.base import NanomorphDock
from napari_nanomorph.widgets.liveplot import LivePlot
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton

# sensible first settings per device kind (the engine resolves None the same way)
DEFAULTS = {"cpu": {"epochs": 20, "batch_size": 32, "image_size_px": 96},
            "gpu": {"epochs": 100, "batch_size": 64, "image_size_px": 224}}


def draw_losses(figure, data: tuple[list[tuple[int, int, float]], str]) -> None:
    """The loss per step ((step, epoch, loss) triples) under the method's name."""
    losses, method = data
    ax = figure.add_subplot()
    if losses:
        ax.plot([s for s, _e, _l in losses], [loss for _s, _e, loss in losses], lw=0.8)
        ax.set(xlabel="step", ylabel="loss", title=method)


class PretrainWidget(NanomorphDock):
    """Start, watch, cancel and resume pretraining runs; use a finished run as the encoder."""

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        d = DEFAULTS["cpu"]
        self.form = Container(widgets=[
            LineEdit(name="run_name", label="run name", value="barlow-1"),
            ComboBox(name="method", choices=("barlow", "simclr"), value="barlow",
                     tooltip="Barlow Twins (λ = 0.005) or SimCLR (NT-Xent, τ = 0.1)"),
            ComboBox(name="backbone", choices=("lite0", "resnet18", "resnet50"), value="lite0"),
            ComboBox(name="init", choices=("imagenet", "scratch"), value="imagenet",
                     tooltip="start from the ImageNet weights (lite0 only) or from scratch"),
            SpinBox(name="epochs", value=d["epochs"], min=1, max=100_000),
            SpinBox(name="batch_size", label="batch size", value=d["batch_size"], min=2,
                    max=4096),
            SpinBox(name="image_size_px", label="image size (px)", value=d["image_size_px"],
                    min=32, max=1024, step=16),
            SpinBox(name="seed", value=0, min=0, max=2**31 - 1),
        ])
        self.form["backbone"].changed.connect(self._backbone_changed)
        gpu_button = QPushButton("GPU defaults")
        gpu_button.clicked.connect(lambda: self._apply_defaults("gpu"))
        cpu_button = QPushButton("CPU defaults")
        cpu_button.clicked.connect(lambda: self._apply_defaults("cpu"))
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.use_button = QPushButton("Use as encoder")
        self.use_button.clicked.connect(self.use_as_encoder)
        self.status = QLabel("Pretrain an encoder on this project's images (no labels needed).")
        self.status.setWordWrap(True)
        self.plot = LivePlot(draw_losses)
        self.losses: list[tuple[int, int, float]] = []
        self.finished_encoder: str | None = None

        defaults = QHBoxLayout()
        defaults.addWidget(cpu_button)
        defaults.addWidget(gpu_button)
        actions = QHBoxLayout()
        for b in (self.start_button, self.resume_button, self.use_button):
            actions.addWidget(b)
        self.banner = NoProjectBanner(
            self, "Pretraining learns from a project's images (no labels needed): make a "
                  "project from the open Image layers first.",
            project_only=[self.form.native, gpu_button, cpu_button, self.start_button,
                          self.resume_button, self.use_button])
        layout = self.scrolling_layout()
        layout.addWidget(self.banner)
        layout.addWidget(self.form.native)
        layout.addLayout(defaults)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)
        self.remember(self.form, "pretrain")

    def _apply_defaults(self, kind: str) -> None:
        for name, value in DEFAULTS[kind].items():
            self.form[name].value = value

    def _backbone_changed(self, backbone: str) -> None:
        if backbone != "lite0":
            self.form["init"].value = "scratch"  # only Lite0 has pretrained weights here

    def config(self):
        from nanomorph.ssl.config import PretrainConfig

        v = {w.name: w.value for w in self.form}
        return PretrainConfig(method=v["method"], backbone=v["backbone"], init=v["init"],
                              epochs=v["epochs"], batch_size=v["batch_size"],
                              image_size_px=v["image_size_px"], seed=v["seed"])

    def start(self, resume: bool) -> None:
        """Start (or resume) the run in the job runner; the loss curve updates per step."""
        from nanomorph.ssl.runs import check_run_name
        from nanomorph.workflows.pretrain import pretrain_project

        project = self.session.project
        if project is None or not self.guarded(self.config) \
                or not self.guarded(lambda: check_run_name(self.form["run_name"].value)):
            return
        run_name, config = self.form["run_name"].value, self.config()
        threads = max(1, (os.cpu_count() or 2) - 1)  # a core stays with the GUI
        self.losses = [] if not resume else self.losses

        def progressed(event) -> None:
            p = event.payload
            if isinstance(p, dict) and "loss" in p:
                self.losses.append((p["step"], p["epoch"], p["loss"]))
                if p["step"] % 5 == 0 or event.done == event.total:
                    self._plot()
                self.status.setText(f"{run_name}: epoch {p['epoch']}, step {p['step']}, "
                                    f"loss {p['loss']:.4f}")

        def done(result) -> None:
            self.losses = list(result.losses)
            self._plot()
            self.finished_encoder = result.encoder.name
            self.status.setText(f"{run_name} finished in {result.duration_s / 60:.1f} min on "
                                f"{result.device}: encoder {result.encoder.name} (press "
                                "'Use as encoder')" + "".join(f"; {n}" for n in result.notes))

        def cancelled() -> None:
            self.status.setText(f"{run_name} cancelled: its checkpoint is kept, press Resume "
                                "to continue")

        self.run_job(
            lambda token: pretrain_project(project, run_name, None if resume else config,
                                           resume=resume, device=project.settings.get("device"),
                                           threads=threads, cancel=token),
            name=f"Pretrain {run_name}", on_progress=progressed, on_done=done,
            on_cancelled=cancelled, notify_done=True)

    def _plot(self) -> None:
        self.plot.show_data((list(self.losses), self.form["method"].value))

    def use_as_encoder(self) -> None:
        """Make the finished run's encoder the one the Classify and Segment docks use (its
        weights are read and checked in the job runner first)."""
        from nanomorph.ssl.runs import encoder_name
        from nanomorph.workflows.pretrain import register_project_encoders

        project = self.session.project
        name = self.finished_encoder or encoder_name(self.form["run_name"].value)

        def use(registered) -> None:
            if name not in {spec.name for spec in registered}:
                show_warning(f"{name} is not a finished run of this project")
                return
            self.session.encoder = name
            self.session.encoder_changed.emit(name)
            show_info(f"the classifier and the segmenter now use {name}")

        self.run_job(lambda _t: call_as_job(register_project_encoders, project),
                     name="Register the encoder", on_done=use)
