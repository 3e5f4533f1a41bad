"""One pretraining run's model, optimizer, learning-rate schedule and steps (:class:`Trainer`);
:mod:`nanomorph.ssl.train` drives it as a job."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from nanomorph.encoders.schedule import warmup_cosine_schedule
from nanomorph.errors import NanomorphError
from nanomorph.jobs import Progress, check_cancel
from nanomorph.ssl.config import PretrainConfig, epoch_means


class Trainer:
    """The model, optimizer and schedule of a run, its step counter and loss history.

    Parameters
    ----------
    config : PretrainConfig
        Resolved.
    backbone : torch.nn.Module
        The network to pretrain (from :func:`nanomorph.ssl.backbones.build_backbone`).
    data : LoadedImages
        The run's images, in memory.
    device : str
        A torch device that exists here.
    folder : Path
        The run folder (checkpoints, ``loss.csv``).
    """

    def __init__(self, config: PretrainConfig, backbone, data, device: str, folder: Path):
        import torch

        from nanomorph.ssl.augment import Augmentation
        from nanomorph.ssl.backbones import base_encoder_spec
        from nanomorph.ssl.data import steps_per_epoch
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
        self.scheduler = warmup_cosine_schedule(
            self.optimizer, max(1, round(config.warmup_fraction * self.total_steps)),
            self.total_steps)
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
        """``<run folder>/checkpoints``."""
        from nanomorph.ssl.runs import CHECKPOINT_DIR

        return self.folder / CHECKPOINT_DIR

    @property
    def elapsed_s(self) -> float:
        """Training seconds over all sessions of the run."""
        return self.previous_s + time.perf_counter() - self.session_start

    def train(self, cancel):
        """Run the remaining steps (a job; see :mod:`nanomorph.ssl.train`).

        Parameters
        ----------
        cancel : CancelToken or None
            Checked before every step.

        Yields
        ------
        Progress
            One per step, payload ``{"step", "epoch", "loss"}`` (and ``"epoch_loss"`` at an epoch's
            end).
        """
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
        """Write a checkpoint of the steps done (and ``loss.csv``) unless the newest one already
        holds them.

        Returns
        -------
        Path or None
            The newest checkpoint (None before any step).
        """
        from nanomorph.ssl.checkpoint import (
            checkpoint_path,
            rng_states,
            save_checkpoint,
        )
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
        """Load the newest readable checkpoint.

        Parameters
        ----------
        notes : list of str
            Notes on damaged checkpoints are appended.

        Returns
        -------
        int or None
            Its step, or None when the run has none (it starts from step 0).

        Raises
        ------
        NanomorphError
            When the checkpoint does not fit this run's network.
        """
        from nanomorph.ssl.checkpoint import (
            checkpoint_path,
            load_latest,
            set_rng_states,
        )

        state, damaged = load_latest(self.checkpoint_folder)
        notes += damaged
        if state is None:
            notes.append("the run had no checkpoint yet: it starts from the first step")
            return None
        try:
            self.model.load_state_dict(state["model"])
            self._restore_schedule(state["scheduler"], int(state["step"]))
            self.optimizer.load_state_dict(state["optimizer"])
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

    def _restore_schedule(self, saved: dict, step: int) -> None:
        """Load the schedule's state (before the optimizer's). A checkpoint written before the
        schedule was torch's ``SequentialLR`` holds a ``LambdaLR`` state: the schedule is then
        caught up by stepping it ``step`` times, which gives the same learning rates."""
        if "_schedulers" in saved:
            self.scheduler.load_state_dict(saved)
            return
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "lr_scheduler.step() before optimizer.step()"
            for _ in range(step):
                self.scheduler.step()

    def summary(self) -> dict:
        """The run record's result.

        Returns
        -------
        dict
            Loss curve (epoch means), steps, training seconds (all sessions, and this one), device.
        """
        return {"loss_curve": [[e, v] for e, v in epoch_means(self.losses)],
                "final_loss": self.losses[-1][2] if self.losses else None,
                "steps": self.step, "total_steps": self.total_steps,
                "duration_s": round(self.elapsed_s, 3),
                "session_s": round(time.perf_counter() - self.session_start, 3),
                "device": self.device}


@contextlib.contextmanager
def cpu_threads(threads: int | None):
    """torch's intra-op CPU threads set to ``threads`` inside the block.

    Parameters
    ----------
    threads : int or None
        Threads while inside; None leaves them as they are.

    Yields
    ------
    None
        The previous count is restored on exit.
    """
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
