"""Self-supervised pretraining on a user's own micrographs: a job (DESIGN.md, "The job protocol").

What one run does
-----------------
1. The images are read once and kept in memory (:mod:`nanomorph.ssl.data`); unreadable files
   are skipped with their reason (``PretrainResult.skipped``).
2. Each step takes ``batch_size`` images (order: a permutation per epoch), makes two views of
   each (:mod:`nanomorph.ssl.augment`), passes both through backbone + projector
   (:mod:`nanomorph.ssl.model`) and minimises the Barlow Twins or the NT-Xent loss
   (:mod:`nanomorph.ssl.losses`): AdamW, a linear warm-up over ``warmup_fraction`` of the
   steps then a cosine decay to zero; the backbone's learning rate is ``backbone_lr_scale`` ×
   the projector's (0.1 from ImageNet weights, which a full rate would wash out; 1 from
   scratch). From ImageNet weights the backbone's BatchNorm statistics stay frozen
   (``freeze_batchnorm``, see below); from scratch they are learnt.
3. A checkpoint every ``checkpoint_every`` steps, at the end of every epoch of at least that
   many steps (shorter epochs, as a few dozen images make, would write one every step or two)
   and at the end (:mod:`nanomorph.ssl.checkpoint`), with ``loss.csv``; the backbone is saved as
   ``encoder.pt`` (:func:`nanomorph.encoders.saved.save_encoder`), with the preprocessing of
   the backbone's registry entry (mean / std as trained; 224-px whole images, as the ImageNet
   encoder is used).
4. With a project: a run record (``Project.start_run("pretrain", …)`` / ``finish_run`` with
   ``done``, ``cancelled`` or ``failed``), and the encoder as the project's model and registry
   name ``ssl:<run name>`` (:mod:`nanomorph.ssl.runs`).

Progress, cancel and resume
---------------------------
One :class:`~nanomorph.jobs.Progress` per step: ``done`` / ``total`` steps, ``payload``
``{"step", "epoch", "loss"}`` (steps and epochs counted from 1), plus ``"epoch_loss"`` (the
epoch's mean) on an epoch's last step, for a live loss plot. The cancel token is checked
before every step; a cancel (or closing the generator) writes a checkpoint of the steps done,
records the run as cancelled and raises :class:`~nanomorph.errors.JobCancelled`; a
KeyboardInterrupt inside a step (a second Ctrl-C) records it as cancelled too but keeps only
the last checkpoint, as the step's state may be half updated. Any other exception records the
run as failed and leaves the last checkpoint.

``resume=True`` continues the run in the folder from its newest readable checkpoint, with the
folder's configuration and image list (``images`` is not needed). The batches and their
augmentations are functions of (seed, epoch, step) only, and the checkpoint holds model,
projector, optimizer, scheduler, gradient scaler, random states and the step, so a resumed
run computes, on the same device and thread count, the very losses an uninterrupted run
computes.

BatchNorm statistics
--------------------
A BatchNorm layer in training mode replaces its running means and variances by those of what
it sees: here, augmented 25–50 % crops at the training size, in batches of a few dozen. On the
benchmark of ``tests/benchmarks/test_bench_ssl.py`` (Barlow Twins from the ImageNet Lite0, 200
steps, BatchNorm in training mode) the convolutions moved by 0.8 % (median relative change),
yet 1-shot accuracy fell from 0.93 to 0.72: those weights with the ImageNet statistics gave
0.93 again, the ImageNet weights with the run's statistics 0.70, and statistics recomputed on
whole images of the run ("precise BN") 0.79–0.80 for either. The statistics, not the weights,
did the harm; so from ImageNet weights they stay frozen (the layers' scale and shift still
learn), as in fine-tuning with small batches: the same run then gives 0.93 (K = 1) to 0.97
(K = 8), on a par with ImageNet. From scratch there is nothing to keep, and the run's own
statistics beat recomputed ones (0.75 vs 0.68 at K = 1).

Devices
-------
``device`` as :func:`nanomorph.device.select_device`. CUDA runs in mixed precision (bfloat16
autocast, or float16 with a gradient scaler where bfloat16 is missing); the CPU and MPS in
float32. Defaults that depend on the device are resolved once and stored in the run's
configuration: views of 224 px and batches of 64 on CUDA, 96 px and 32 elsewhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nanomorph.errors import InvalidParameterError, JobCancelled, NanomorphError
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel

if TYPE_CHECKING:
    from nanomorph.encoders.registry import EncoderSpec

METHODS = ("barlow", "simclr")
PROJECTOR_DIMS = {"barlow": (2048, 2048, 2048), "simclr": (2048, 128)}
# Fields a resumed run may change: they do not change what is computed.
RESUMABLE_CHANGES = ("checkpoint_every",)


@dataclass(frozen=True)
class PretrainConfig:
    """What a pretraining run computes; ``None`` fields are resolved by :meth:`resolved`.

    Attributes
    ----------
    method : str
        ``barlow`` (Barlow Twins) or ``simclr``.
    backbone : str
        ``lite0``, ``resnet18`` or ``resnet50`` (:data:`nanomorph.ssl.backbones.BACKBONES`).
    init : str or None
        ``imagenet`` or ``scratch``; default ``imagenet`` for lite0, else ``scratch``.
    epochs : int
        Passes over the images.
    batch_size : int or None
        Images per step (two views each); default 64 on CUDA, 32 elsewhere.
    image_size_px : int or None
        Side of the views; default 224 on CUDA, 96 elsewhere.
    seed : int
        Seed of the data order, the augmentations and the random initialisations.
    learning_rate : float
        Peak AdamW learning rate of the projector.
    backbone_lr_scale : float or None
        The backbone's learning rate / the projector's; default 0.1 from ImageNet, 1 from scratch.
    weight_decay : float
        AdamW's decoupled weight decay.
    warmup_fraction : float
        Fraction of the steps with a linear warm-up.
    temperature : float
        NT-Xent temperature τ (SimCLR).
    barlow_lambda : float
        Weight λ of the redundancy term (Barlow Twins).
    projector_dims : tuple of int or None
        Projector widths; default (2048, 2048, 2048) for Barlow Twins, (2048, 128) for SimCLR.
    freeze_batchnorm : bool or None
        Keep the backbone's BatchNorm statistics as they start (see "BatchNorm statistics");
        default True from ImageNet, False from scratch.
    crop_scale : (float, float)
        Range of the crops' area, fraction of the image.
    checkpoint_every : int
        Steps between checkpoints (one is also written at the end of every epoch of at least
        this many steps, and at the end).
    """

    method: str = "barlow"
    backbone: str = "lite0"
    init: str | None = None
    epochs: int = 100
    batch_size: int | None = None
    image_size_px: int | None = None
    seed: int = 0
    learning_rate: float = 1e-3
    backbone_lr_scale: float | None = None
    weight_decay: float = 1e-5
    warmup_fraction: float = 0.1
    temperature: float = 0.1
    barlow_lambda: float = 0.005
    projector_dims: tuple[int, ...] | None = None
    freeze_batchnorm: bool | None = None
    crop_scale: tuple[float, float] = (0.25, 0.5)
    checkpoint_every: int = 50

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidParameterError(f"unknown method {self.method!r}: choose "
                                        f"{' or '.join(METHODS)}")
        for name in ("epochs", "checkpoint_every"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise InvalidParameterError(f"{name} must be a whole number >= 1, got "
                                            f"{getattr(self, name)!r}")
        if self.batch_size is not None and not (isinstance(self.batch_size, int)
                                                and self.batch_size >= 2):
            raise InvalidParameterError(f"the batch size must be >= 2 (the losses compare the "
                                        f"images of a batch), got {self.batch_size!r}")
        if self.image_size_px is not None and not (isinstance(self.image_size_px, int)
                                                   and self.image_size_px >= 16):
            raise InvalidParameterError(f"the image size must be >= 16 px, got "
                                        f"{self.image_size_px!r}")
        if not (self.learning_rate > 0 and 0 <= self.warmup_fraction < 1 and self.seed >= 0):
            raise InvalidParameterError("the learning rate must be > 0, the warm-up fraction in "
                                        "[0, 1) and the seed >= 0")

    def resolved(self, device: str) -> "PretrainConfig":
        """This configuration with every ``None`` replaced by its default for ``device``."""
        from nanomorph.ssl.backbones import base_encoder_spec

        base_encoder_spec(self.backbone)  # an unknown backbone fails here
        on_gpu = device.startswith("cuda")
        init = self.init or ("imagenet" if self.backbone == "lite0" else "scratch")
        return dataclasses.replace(
            self, init=init,
            batch_size=self.batch_size or (64 if on_gpu else 32),
            image_size_px=self.image_size_px or (224 if on_gpu else 96),
            backbone_lr_scale=(self.backbone_lr_scale if self.backbone_lr_scale is not None
                               else 0.1 if init == "imagenet" else 1.0),
            projector_dims=tuple(self.projector_dims or PROJECTOR_DIMS[self.method]),
            freeze_batchnorm=(self.freeze_batchnorm if self.freeze_batchnorm is not None
                              else init == "imagenet"))

    def as_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_json(cls, fields: dict) -> "PretrainConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


@dataclass
class PretrainResult:
    """What a finished run gives.

    Attributes
    ----------
    run_name : str
    folder : Path
        The run folder.
    encoder : EncoderSpec
        The pretrained encoder (name ``ssl:<run name>``), as loaded from ``encoder_path``.
    encoder_path : Path
    config : PretrainConfig
        Resolved.
    losses : list of (int, int, float)
        (step, epoch, loss) of every step, from step 1 (also those before a resume).
    duration_s : float
        Training seconds over all sessions of the run.
    device : str
    skipped : list of (str, str)
        (path, reason) of the images left out.
    notes : list of str
        What a user should know (damaged checkpoints set aside, images missing on resume).
    resumed_from_step : int or None
    """

    run_name: str
    folder: Path
    encoder: EncoderSpec
    encoder_path: Path
    config: PretrainConfig
    losses: list[tuple[int, int, float]]
    duration_s: float
    device: str
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    resumed_from_step: int | None = None

    def epoch_losses(self) -> list[tuple[int, float]]:
        """(epoch, mean loss of its steps) for every epoch with steps."""
        return epoch_means(self.losses)


def epoch_means(losses: list[tuple[int, int, float]]) -> list[tuple[int, float]]:
    """(epoch, mean loss) of (step, epoch, loss) rows, in epoch order."""
    sums: dict[int, list[float]] = {}
    for _step, epoch, loss in losses:
        sums.setdefault(epoch, []).append(loss)
    return [(epoch, sum(values) / len(values)) for epoch, values in sums.items()]


def saved_config(folder: str | os.PathLike) -> PretrainConfig | None:
    """The resolved configuration of the run in ``folder``, or None when it holds none."""
    from nanomorph.ssl.runs import read_config

    saved = read_config(Path(folder))
    return None if saved is None else PretrainConfig.from_json(saved["config"])


def pretrain(images: list[str] | None, folder: str | os.PathLike,
             config: PretrainConfig | None = None, *, run_name: str | None = None,
             project=None, resume: bool = False, device: str | None = None,
             threads: int | None = None,
             cancel: CancelToken | None = None) -> Job[PretrainResult]:
    """Pretrain an encoder on unlabelled images (a job: yields Progress, returns PretrainResult).

    Parameters
    ----------
    images : list of path-like, or None
        Image files (any size, bit depth and format nanomorph reads); not needed to resume.
    folder : path-like
        The run folder (created); see :mod:`nanomorph.ssl.runs`.
    config : PretrainConfig, optional
        Default ``PretrainConfig()``; to resume, None takes the folder's, and a given one must
        equal it (``checkpoint_every`` may change).
    run_name : str, optional
        Default: the folder's name; the encoder is ``ssl:<run name>``.
    project : Project, optional
        Where the run is recorded and the encoder registered.
    resume : bool
        Continue the run in ``folder`` (see the module docstring).
    device : str, optional
        ``auto``/``cpu``/``cuda``/``mps``.
    threads : int, optional
        torch CPU threads while the job runs (restored after it; None leaves them as they
        are). On a busy machine one thread can be several times faster than two contending.
    cancel : CancelToken, optional

    Raises
    ------
    InvalidParameterError
        A bad configuration, fewer images than a batch, a folder that holds another run (without
        ``resume``) or none (with it), a configuration differing from the run's on resume.
    NanomorphError
        No checkpoint of the run can be read; weights that cannot be loaded; no image readable.
    JobCancelled
        When cancelled (a checkpoint of the steps done is kept).
    """
    from nanomorph.device import select_device

    device = select_device(device)
    if threads is not None and threads < 1:
        raise InvalidParameterError(f"threads must be at least 1, got {threads}")
    with _cpu_threads(threads):
        return (yield from _pretrain(images, Path(folder).absolute(), config, run_name, project,
                                     resume, device, cancel))


def _pretrain(images, folder: Path, config, run_name, project, resume: bool, device: str,
              cancel):
    from nanomorph.ssl import runs
    from nanomorph.ssl.backbones import build_backbone

    run_name = runs.check_run_name(run_name or folder.name)
    saved = runs.read_config(folder)
    if resume:
        if saved is None:
            raise InvalidParameterError("no pretraining run to resume in this folder (no "
                                        f"{runs.CONFIG_FILE}): leave out --resume to start one",
                                        folder)
        config = _resume_config(PretrainConfig.from_json(saved["config"]), config, device)
        images = saved["images"]
    else:
        if saved is not None:
            raise InvalidParameterError("this folder already holds a pretraining run: add "
                                        "--resume to continue it, or choose another --out",
                                        folder)
        if not images:
            raise InvalidParameterError("no images to pretrain on")
        config = (config or PretrainConfig()).resolved(device)
    # built before the images are read: missing ImageNet weights fail at once
    backbone = build_backbone(config.backbone, config.init, config.seed)
    loaded = yield from _load(images, config, cancel)
    notes = []
    if resume and len(loaded.paths) != len(images):
        notes.append(f"{len(images) - len(loaded.paths)} of the run's images could not be read "
                     "again: the batches differ from those of an uninterrupted run")
    trainer = _Trainer(config, backbone, loaded, device, folder)  # checks the batch size
    folder.mkdir(parents=True, exist_ok=True)
    if not resume:
        runs.write_config(folder, _run_description(run_name, config, loaded, project))
    resumed_from = trainer.restore(notes) if resume else None
    for note in notes:
        yield Progress(trainer.step, trainer.total_steps, note)
    return (yield from _record(trainer, run_name, project, resumed_from, notes, cancel))


def _resume_config(saved: "PretrainConfig", given: "PretrainConfig | None",
                   device: str) -> "PretrainConfig":
    if given is None:
        return saved
    given = given.resolved(device)
    differing = [f.name for f in dataclasses.fields(saved) if f.name not in RESUMABLE_CHANGES
                 and getattr(saved, f.name) != getattr(given, f.name)]
    if differing:
        was = ", ".join(f"{name}={getattr(saved, name)!r}" for name in differing)
        raise InvalidParameterError(f"the run was started with {was}: resume it with the same "
                                    "settings, or start a new run (another --out)")
    return dataclasses.replace(saved, checkpoint_every=given.checkpoint_every)


def _load(images, config: PretrainConfig, cancel):
    from nanomorph.ssl.data import load_images

    loaded = yield from load_images([os.fspath(p) for p in images], config.image_size_px,
                                    config.crop_scale[0], cancel=cancel)
    if not loaded.paths:
        raise NanomorphError(f"none of the {len(images)} images could be read (first: "
                             f"{loaded.skipped[0][0]}: {loaded.skipped[0][1]})")
    return loaded


def _run_description(run_name: str, config: PretrainConfig, loaded, project) -> dict:
    from nanomorph import __version__

    return {"format": "nanomorph-ssl-run", "run": run_name, "config": config.as_json(),
            "images": loaded.paths, "skipped": [list(s) for s in loaded.skipped],
            "project": None if project is None else str(project.folder),
            "created_at": time.time(), "created_by": f"nanomorph {__version__}"}


def _record(trainer: "_Trainer", run_name: str, project, resumed_from, notes, cancel):
    """Train and finish the run, with a run record in the project when there is one."""
    run_id = None
    if project is not None:
        run_id = project.start_run("pretrain", {
            "run": run_name, "folder": os.path.relpath(trainer.folder, project.folder),
            **trainer.config.as_json(), "n_images": len(trainer.data.paths),
            "resumed_from_step": resumed_from})
    try:
        yield from trainer.train(cancel)
        result = _finish(trainer, run_name, project, resumed_from, notes)
    except (JobCancelled, GeneratorExit):  # between steps: the state is whole, keep it
        _close_run(project, run_id, "cancelled", trainer,
                   final_checkpoint=trainer.save_checkpoint())
        raise
    except KeyboardInterrupt:  # inside a step: its state may be torn, the last checkpoint stays
        _close_run(project, run_id, "cancelled", trainer,
                   final_checkpoint=trainer.last_checkpoint)
        raise
    except BaseException as exc:
        _close_run(project, run_id, "failed", trainer, error=str(exc) or type(exc).__name__)
        raise
    _close_run(project, run_id, "done", trainer, encoder=result.encoder_path,
               encoder_name=result.encoder.name, weights_id=result.encoder.weights_id,
               final_checkpoint=trainer.last_checkpoint)
    return result


def _close_run(project, run_id, status: str, trainer: "_Trainer", **result) -> None:
    """``finish_run`` with the trainer's summary and ``result`` (paths relative to the
    project); nothing without a project."""
    if run_id is None:
        return
    for key, value in result.items():
        if isinstance(value, Path):
            result[key] = os.path.relpath(value, project.folder)
    project.finish_run(run_id, status, {**trainer.summary(), **result})


def _finish(trainer: "_Trainer", run_name: str, project, resumed_from, notes) -> PretrainResult:
    """Save the final checkpoint and the encoder; register it in the project."""
    from nanomorph.encoders.registry import register_encoder
    from nanomorph.encoders.saved import ENCODER_FILE, save_encoder
    from nanomorph.ssl import runs

    config = trainer.config
    trainer.save_checkpoint()
    base = trainer.base_spec
    spec = dataclasses.replace(
        base, name=runs.encoder_name(run_name), offered=True, weights_id="",
        description=f"{'Barlow Twins' if config.method == 'barlow' else 'SimCLR'} on "
                    f"{len(trainer.data.paths)} images, {config.backbone} from {config.init}, "
                    f"{config.epochs} epochs (run {run_name})")
    path = trainer.folder / ENCODER_FILE
    spec = save_encoder(path, spec, trainer.model.backbone)
    if project is not None:
        runs.record_finished(project, run_name, path, config.as_json())
        register_encoder(spec, replace=True)
    return PretrainResult(run_name, trainer.folder, spec, path, config, trainer.losses,
                          trainer.elapsed_s, trainer.device, trainer.data.skipped, notes,
                          resumed_from)


class _Trainer:
    """The model, optimizer and schedule of a run, its step counter and loss history."""

    def __init__(self, config: PretrainConfig, backbone, data, device: str, folder: Path):
        import torch

        from nanomorph.ssl.augment import Augmentation
        from nanomorph.ssl.data import steps_per_epoch
        from nanomorph.ssl.backbones import base_encoder_spec
        from nanomorph.ssl.model import SSLModel

        self.config, self.data, self.device, self.folder = config, data, device, folder
        self.base_spec = base_encoder_spec(config.backbone)
        self.augmentation = Augmentation(size_px=config.image_size_px,
                                         crop_scale=tuple(config.crop_scale))
        self.steps_per_epoch = steps_per_epoch(len(data.paths), config.batch_size)
        self.total_steps = config.epochs * self.steps_per_epoch
        preprocess = self.base_spec.preprocess
        self.model = SSLModel(backbone, config.projector_dims, preprocess.mean, preprocess.std,
                              seed=config.seed, freeze_batchnorm=config.freeze_batchnorm)
        self.model.to(torch.device(device))
        self.memory_format = (torch.channels_last if device.split(":")[0] in ("cuda", "cpu")
                              else torch.contiguous_format)
        self.model.to(memory_format=self.memory_format)
        self.optimizer = torch.optim.AdamW(
            [{"params": self.model.backbone.parameters(),
              "lr": config.learning_rate * config.backbone_lr_scale},
             {"params": self.model.projector.parameters(), "lr": config.learning_rate}],
            weight_decay=config.weight_decay)
        warmup = max(1, round(config.warmup_fraction * self.total_steps))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(step, warmup, self.total_steps))
        self.autocast_dtype = _autocast_dtype(device)
        self.scaler = torch.amp.GradScaler(device.split(":")[0],
                                           enabled=self.autocast_dtype == torch.float16)
        self.step = 0
        self.losses: list[tuple[int, int, float]] = []
        self.previous_s = 0.0
        self.session_start = time.perf_counter()
        self.last_checkpoint: Path | None = None

    @property
    def checkpoint_folder(self) -> Path:
        from nanomorph.ssl.runs import CHECKPOINT_DIR

        return self.folder / CHECKPOINT_DIR

    @property
    def elapsed_s(self) -> float:
        return self.previous_s + time.perf_counter() - self.session_start

    def train(self, cancel):
        """Run the remaining steps (a job; see the module docstring)."""
        config = self.config
        while self.step < self.total_steps:
            check_cancel(cancel)
            epoch, index = divmod(self.step, self.steps_per_epoch)
            loss = self._train_step(epoch, index)
            self.step += 1
            self.losses.append((self.step, epoch + 1, loss))
            payload = {"step": self.step, "epoch": epoch + 1, "loss": loss}
            epoch_end = index + 1 == self.steps_per_epoch
            if epoch_end:
                payload["epoch_loss"] = epoch_means(self.losses)[-1][1]
            if self.step % config.checkpoint_every == 0 or (
                    epoch_end and self.steps_per_epoch >= config.checkpoint_every):
                self.save_checkpoint()
            yield Progress(self.step, self.total_steps,
                           f"epoch {epoch + 1}/{config.epochs}, loss {loss:.4g}", payload)

    def _train_step(self, epoch: int, index: int) -> float:
        import torch

        from nanomorph.ssl.augment import step_generator
        from nanomorph.ssl.data import batch_indices

        config = self.config
        chosen = batch_indices(len(self.data.images), config.batch_size, config.seed, epoch,
                               index)
        first, second = self.augmentation.views([self.data.images[i] for i in chosen],
                                                step_generator(config.seed, epoch, index))
        self.model.train()
        with self._autocast():
            z1 = self.model(self._to_device(first))
            z2 = self.model(self._to_device(second))
        loss = self._loss(z1, z2)
        if not torch.isfinite(loss):
            raise NanomorphError(f"the loss became {loss.item()} at step {self.step + 1}: lower "
                                 "the learning rate")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return float(loss.detach())

    def _loss(self, z1, z2):
        from nanomorph.ssl.losses import barlow_twins_loss, nt_xent_loss

        if self.config.method == "barlow":
            return barlow_twins_loss(z1, z2, self.config.barlow_lambda)
        return nt_xent_loss(z1, z2, self.config.temperature)

    def _to_device(self, views):
        import torch

        return views.to(torch.device(self.device)).contiguous(memory_format=self.memory_format)

    def _autocast(self):
        import torch

        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.autocast_dtype)

    def save_checkpoint(self) -> Path | None:
        """Write a checkpoint of the steps done (and ``loss.csv``) unless the newest one
        already holds them; returns the newest checkpoint (None before any step)."""
        from nanomorph.ssl.checkpoint import checkpoint_path, rng_states, save_checkpoint
        from nanomorph.ssl.runs import write_losses

        if self.step == 0:
            return self.last_checkpoint
        if self.last_checkpoint != checkpoint_path(self.checkpoint_folder, self.step):
            self.last_checkpoint = save_checkpoint(self.checkpoint_folder, {
                "step": self.step, "elapsed_s": self.elapsed_s,
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                "rng": rng_states(), "losses": [list(row) for row in self.losses]})
            write_losses(self.folder, self.losses)
        return self.last_checkpoint

    def restore(self, notes: list[str]) -> int | None:
        """Load the newest readable checkpoint (notes on damaged ones are appended); returns
        its step, or None when the run has none (it starts from step 0)."""
        from nanomorph.ssl.checkpoint import checkpoint_path, load_latest, set_rng_states

        state, damaged = load_latest(self.checkpoint_folder)
        notes += damaged
        if state is None:
            notes.append("the run had no checkpoint yet: it starts from the first step")
            return None
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.scaler.load_state_dict(state["scaler"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise NanomorphError(f"the checkpoint does not fit this run's network "
                                 f"({' '.join(str(exc).split())[:160]})",
                                 checkpoint_path(self.checkpoint_folder, state["step"])) from None
        set_rng_states(state["rng"])
        self.step = int(state["step"])
        self.losses = [(int(s), int(e), float(v)) for s, e, v in state["losses"]]
        self.previous_s = float(state["elapsed_s"])
        self.session_start = time.perf_counter()
        self.last_checkpoint = checkpoint_path(self.checkpoint_folder, self.step)
        return self.step

    def summary(self) -> dict:
        """The run record's result: loss curve (epoch means), steps, training seconds (all
        sessions, and this one), device."""
        return {"loss_curve": [[e, v] for e, v in epoch_means(self.losses)],
                "final_loss": self.losses[-1][2] if self.losses else None,
                "steps": self.step, "total_steps": self.total_steps,
                "duration_s": round(self.elapsed_s, 3),
                "session_s": round(time.perf_counter() - self.session_start, 3),
                "device": self.device}


def lr_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning rate / peak after ``step`` steps: a linear warm-up over ``warmup_steps``, then a
    cosine decay reaching zero at ``total_steps``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


@contextlib.contextmanager
def _cpu_threads(threads: int | None):
    """torch's intra-op CPU threads set to ``threads`` inside (left as they are for None)."""
    import torch

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _autocast_dtype(device: str):
    """bfloat16 on CUDA (float16 where the GPU lacks it), None (float32) elsewhere."""
    import torch

    if not device.startswith("cuda"):
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
