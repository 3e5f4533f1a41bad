"""Training a segmenter from a few masks: a job (DESIGN.md, "The job protocol").

What one run does
-----------------
0. When every pair has a pixel size (and ``physical_scale``), the pairs are resampled to their
   median pixel size, which the model keeps (:mod:`nanomorph.segment.scale`).
1. Validation regions are held out (:func:`nanomorph.segment.data.split_validation`): a band of
   every pair, or whole pairs.
2. The decoder (and the last ``unfreeze_stages`` encoder stages) learn from random augmented
   patches at native resolution: AdamW, a linear warm-up over the first epoch then a cosine
   decay to zero at ``epochs``, loss = cross-entropy + ``dice_weight`` × (1 − soft Dice of the
   foreground classes). An epoch is ``steps_per_epoch`` batches. An exponential moving
   average of the weights (``ema_decay``) follows the training; it is what is validated and
   kept, as it varies less from epoch to epoch on images unlike the training ones.
3. After every epoch the validation regions are segmented as a user's image would be (tiled,
   :mod:`nanomorph.segment.infer`): validation loss and Dice (pooled over the regions' pixels,
   mean over the foreground classes). The best weights by validation Dice are kept; training
   stops after ``epochs``, after ``patience`` epochs without a better Dice, or at
   ``time_limit_s``. Without validation (``val_fraction = 0``) the last epoch's weights are kept.

Progress and cancel
-------------------
One :class:`~nanomorph.jobs.Progress` per batch (``done`` / ``total`` = batches, message with
the epoch and the batch loss; the plugin's runner throttles them) and one per epoch whose
``payload`` is the epoch's history entry ``{"epoch", "train_loss", "val_loss", "val_dice",
"seconds"}`` (``val_*`` None without validation; seconds since the start) for live plots. The
cancel token is checked before every batch and every validated strip: a cancel returns the
best model so far (``stop_reason = "cancelled"``), losing at most the epoch in progress; a
cancel before the first epoch ends raises :class:`~nanomorph.errors.JobCancelled`.

Reproducibility
---------------
The decoder's initial weights come from ``torch.manual_seed(seed)`` (inside
``torch.random.fork_rng``: the caller's random state is untouched); patches and augmentation
from ``numpy.random.default_rng(seed)``; nothing else is random. On the CPU with the same
number of threads, the same seed gives the same losses.

Threads and devices
-------------------
``threads`` sets ``torch.set_num_threads`` for the run (restored afterwards; the GUI passes
cores − 1). Batches are built on the CPU in the job's thread (no DataLoader workers). Mixed
precision (float16 autocast with a gradient scaler) only on CUDA. When the device runs out of
memory the batch is halved and the step retried; at one patch a NanomorphError says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nanomorph import defaults
from nanomorph.encoders.schedule import warmup_cosine_schedule
from nanomorph.errors import InvalidParameterError, JobCancelled, NanomorphError
from nanomorph.io.records import JsonRecord
from nanomorph.jobs import Job, Progress, check_cancel
from nanomorph.segment.classes import SegmentClasses
from nanomorph.segment.data import Augmentation, PatchSampler, Region, split_validation
from nanomorph.segment.infer import (
    TileForward,
    is_out_of_memory,
    iter_probability_strips,
    release_device_memory,
)
from nanomorph.segment.model import DECODER_WIDTHS, build_network
from nanomorph.segment.pairs import TrainingPair, at_pixel_size
from nanomorph.segment.scale import working_pixel_size
from nanomorph.segment.segmenter import Segmenter

# Working memory of a training step per patch pixel (activations of the encoder and decoder,
# their gradients): 470-800 bytes measured on the CPU for Lite0 at 256-512 px patches.
TRAIN_BYTES_PER_PIXEL = 1024
# A validation Dice must beat the best by this much to count as better.
MIN_IMPROVEMENT = 1e-4
# Added to numerator and denominator of the soft Dice: an absent class predicted absent scores 1.
SOFT_DICE_EPS = 1.0


@dataclass(frozen=True)
class TrainConfig(JsonRecord):
    """Settings of one training run (module docstring).

    Attributes
    ----------
    encoder : str
        Registry name or saved-encoder path.
    unfreeze_stages : int
        Last encoder stages trained too (0: frozen encoder).
    decoder_widths : tuple of int
        Decoder channels at strides 2 … 32.
    patch_px, batch_size : int
        Training patch side (px) and patches per batch.
    epochs, steps_per_epoch : int
        Most epochs; batches per epoch.
    learning_rate, weight_decay : float
        AdamW's peak learning rate and decoupled weight decay.
    encoder_lr_factor : float
        Learning rate of unfrozen encoder stages, relative to ``learning_rate``.
    dice_weight : float
        Weight of the soft-Dice term beside cross-entropy.
    ema_decay : float
        Decay per step of the moving average of the weights that is validated, kept and
        returned (0: the raw weights).
    patience : int
        Epochs without a better validation Dice before stopping.
    val_fraction : float
        Band of each pair held out for validation (ignored when ``val_pairs`` is given).
    val_pairs : tuple of int
        Pairs (0-based indices) held out whole for validation.
    foreground_fraction : float
        Share of patches centred on a foreground pixel.
    augmentation : Augmentation
    seed : int
    threads : int or None
        torch CPU threads for the run (None: leave as is).
    device : str or None
        ``auto``/``cpu``/``cuda``/``mps`` (None: ``$NANOMORPH_DEVICE`` or auto).
    time_limit_s : float or None
        Stop after the epoch that crosses this wall time.
    tile_px, overlap_px : int
        Tiling for validation and, stored in the model, for prediction.
    crop_databar : bool
        Stored in the model: cut SEM info bars off images before predicting (the caller cuts
        them off training pairs, see :func:`nanomorph.segment.pairs.prepare_pairs`).
    physical_scale : bool
        When every pair has a pixel size, resample the pairs to their median pixel size and
        store it in the model, so that predictions resample calibrated images to it
        (:mod:`nanomorph.segment.scale`). False: every pair at its own pixels.
    """

    encoder: str = defaults.ENCODER
    unfreeze_stages: int = defaults.SEGMENT_UNFREEZE_STAGES
    decoder_widths: tuple[int, ...] = DECODER_WIDTHS
    patch_px: int = defaults.SEGMENT_PATCH_PX
    batch_size: int = defaults.SEGMENT_BATCH
    epochs: int = defaults.SEGMENT_EPOCHS
    steps_per_epoch: int = 25
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    encoder_lr_factor: float = 0.1
    dice_weight: float = 1.0
    ema_decay: float = 0.98
    patience: int = 8
    val_fraction: float = defaults.SEGMENT_VAL_FRACTION
    val_pairs: tuple[int, ...] = ()
    foreground_fraction: float = 0.5
    augmentation: Augmentation = field(default_factory=Augmentation)
    seed: int = defaults.SEED
    threads: int | None = None
    device: str | None = None
    time_limit_s: float | None = None
    tile_px: int = 512
    overlap_px: int = 64
    crop_databar: bool = True
    physical_scale: bool = True

    def __post_init__(self) -> None:
        checks = [
            (self.patch_px >= 32, f"the patch must be at least 32 px, not {self.patch_px}"),
            (self.batch_size >= 1 and self.epochs >= 1 and self.steps_per_epoch >= 1,
             "batch size, epochs and steps per epoch must be at least 1"),
            (self.learning_rate > 0, f"the learning rate must be > 0, not {self.learning_rate}"),
            (self.patience >= 1, f"patience must be at least 1 epoch, not {self.patience}"),
            (0 <= self.ema_decay < 1, f"the weight average's decay must lie in [0, 1), not "
                                      f"{self.ema_decay}"),
            (self.tile_px >= 64 and 0 <= self.overlap_px < self.tile_px // 2,
             f"tiles need at least 64 px and an overlap below half a tile, not "
             f"{self.tile_px}/{self.overlap_px}"),
            (self.time_limit_s is None or self.time_limit_s > 0, "the time limit must be > 0"),
            (self.threads is None or self.threads >= 1, "threads must be at least 1"),
        ]
        for ok, reason in checks:
            if not ok:
                raise InvalidParameterError(reason)


def train_segmenter(pairs: list[TrainingPair], classes: SegmentClasses,
                    config: TrainConfig | None = None, *, cancel=None,
                    on_epoch: Callable[[Segmenter], None] | None = None) -> Job[Segmenter]:
    """Train a segmenter (a job; module docstring).

    Parameters
    ----------
    pairs : list of TrainingPair
        From :func:`nanomorph.segment.pairs.prepare_pairs`.
    classes : SegmentClasses
        From the same call.
    config : TrainConfig, optional
    cancel : CancelToken, optional
    on_epoch : callable, optional
        Called in the job's thread after each epoch (before its Progress) with a Segmenter
        holding the current weights, in eval mode (e.g. to preview a prediction or to score
        held-out images); training resumes when it returns. Its time counts in ``seconds``.

    Yields
    ------
    Progress
        Per batch; per epoch with ``payload`` = ``{"epoch", "train_loss", "val_loss",
        "val_dice", "seconds"}``.

    Returns
    -------
    Segmenter
        The best weights by validation Dice, on the training device, in eval mode.
    """
    import torch

    config = config or TrainConfig()
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        return (yield from _train(pairs, classes, config, cancel, on_epoch))
    finally:
        torch.set_num_threads(threads)


def _train(pairs, classes: SegmentClasses, config: TrainConfig, cancel, on_epoch
           ) -> Job[Segmenter]:
    import torch

    from nanomorph.device import select_device
    from nanomorph.embedding.models import loaded_encoder
    from nanomorph.encoders import get_encoder_spec

    from nanomorph.memory import require_memory

    require_memory(config.batch_size * config.patch_px ** 2 * TRAIN_BYTES_PER_PIXEL,
                   f"training on batches of {config.batch_size} patches of {config.patch_px} px")
    start = time.perf_counter()
    working_nm = None
    if config.physical_scale:
        working_nm = working_pixel_size([pair.pixel_size_nm for pair in pairs])
        pairs = [at_pixel_size(pair, working_nm) for pair in pairs]
    device = select_device(config.device)
    spec = get_encoder_spec(config.encoder)
    rng = np.random.default_rng(config.seed)
    train_regions, val_regions = split_validation(
        pairs, spec.preprocess.percentiles, val_fraction=config.val_fraction,
        val_pairs=config.val_pairs or None)
    sampler = PatchSampler(train_regions, config.patch_px, config.augmentation, rng,
                           config.foreground_fraction)
    # the encoder is built (and cached) before the seeded block: building it draws random
    # initial weights, so the decoder's would otherwise depend on whether an earlier job had
    # already loaded the encoder
    loaded_encoder(spec, device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        net = build_network(spec, len(classes), device, widths=config.decoder_widths,
                            unfreeze_stages=config.unfreeze_stages)
    step = _Stepper(net, config, device, len(classes))
    average = weight_average(net, config.ema_decay)
    total = config.epochs * config.steps_per_epoch
    history, best, stop_reason = [], None, "epochs"
    for epoch in range(1, config.epochs + 1):
        try:
            losses = []
            net.train()
            for batch in range(1, config.steps_per_epoch + 1):
                check_cancel(cancel)
                losses.append(step(sampler))
                average.update_parameters(net)
                done = (epoch - 1) * config.steps_per_epoch + batch
                yield Progress(done, total, f"epoch {epoch}/{config.epochs}, batch {batch}/"
                                            f"{config.steps_per_epoch}, loss {losses[-1]:.3f}")
            averaged = average.module.eval()
            val_loss, val_dice = _validate(averaged, val_regions, len(classes), device, config,
                                           cancel)
            entry = {"epoch": epoch, "train_loss": float(np.mean(losses)),
                     "val_loss": val_loss, "val_dice": val_dice,
                     "seconds": round(time.perf_counter() - start, 3)}
            history.append(entry)
            if best is None or val_dice is None or val_dice > best["dice"] + MIN_IMPROVEMENT:
                best = {"dice": val_dice if val_dice is not None else -1.0, "epoch": epoch,
                        "state": _trained_state(averaged)}
            if on_epoch is not None:
                on_epoch(_segmenter(averaged, device, classes, spec, config, working_nm,
                                    history, best["epoch"], "training"))
        except JobCancelled:
            if best is None:
                raise
            stop_reason = "cancelled"
            break
        dice_text = "" if val_dice is None else f", validation Dice {val_dice:.3f}"
        yield Progress(epoch * config.steps_per_epoch, total,
                       f"epoch {epoch}/{config.epochs}: loss {entry['train_loss']:.3f}"
                       f"{dice_text}", payload=dict(entry))
        if epoch - best["epoch"] >= config.patience:
            stop_reason = "early stopping"
            break
        if config.time_limit_s is not None and entry["seconds"] >= config.time_limit_s:
            stop_reason = "time limit"
            break
    net.load_state_dict(best["state"], strict=False)
    net.eval()
    return _segmenter(net, device, classes, spec, config, working_nm, history, best["epoch"],
                      stop_reason)


def _segmenter(net, device, classes, spec, config: TrainConfig, working_nm, history, best_epoch,
               stop_reason) -> Segmenter:
    return Segmenter(
        net=net, device=device, classes=classes, encoder_name=str(config.encoder),
        encoder_weights_id=spec.weights_id, unfreeze_stages=config.unfreeze_stages,
        decoder_widths=tuple(config.decoder_widths), percentiles=spec.preprocess.percentiles,
        tile_px=config.tile_px, overlap_px=config.overlap_px, crop_databar=config.crop_databar,
        pixel_size_nm=working_nm, training=config.as_json(), history=history, best_epoch=best_epoch,
        stop_reason=stop_reason)


def _trained_tensors(net) -> dict:
    """The live tensors training changes, by their names in ``net``: the decoder's state
    (batch-norm statistics included) and the unfrozen encoder parameters."""
    tensors = {f"decoder.{k}": v for k, v in net.decoder.state_dict().items()}
    tensors.update({f"encoder.{k}": p for k, p in net.encoder.named_parameters()
                    if k in net.trained_encoder_parameters})
    return tensors


def _trained_state(net) -> dict:
    """A copy of :func:`_trained_tensors`."""
    return {k: v.detach().clone() for k, v in _trained_tensors(net).items()}


def weight_average(net, decay: float):
    """An exponential moving average of a network's weights (Polyak averaging).

    Validation, checkpoints and the returned model use the average, which wobbles less from
    epoch to epoch than the raw weights. Its n-th update moves it towards the current weights
    by ``1 - min(decay, (1 + n) / (10 + n))``, so that it follows quickly at first.

    Parameters
    ----------
    net : SegmentationNet
        The network being trained.
    decay : float
        In [0, 1); 0 keeps the raw weights.

    Returns
    -------
    torch.optim.swa_utils.AveragedModel
        Over parameters and buffers (batch-norm statistics); call ``update_parameters(net)``
        after every step; ``.module`` is the averaged network.
    """
    import torch
    from torch.optim.swa_utils import AveragedModel

    def ema(averaged, current, n_averaged):
        if not averaged.is_floating_point():
            return current
        n = int(n_averaged)
        return torch.lerp(averaged, current, 1 - min(decay, (1 + n) / (10 + n)))

    average = AveragedModel(net, avg_fn=ema, use_buffers=True)
    average.update_parameters(net)  # the first update copies: the average starts at net
    return average


class _Stepper:
    """One optimisation step on a batch from the sampler; halves the batch when the device
    runs out of memory."""

    def __init__(self, net, config: TrainConfig, device: str, n_classes: int):
        import torch

        self.net, self.config, self.device, self.n_classes = net, config, device, n_classes
        self.batch_size = config.batch_size
        groups = [{"params": list(net.decoder.parameters()), "lr": config.learning_rate}]
        encoder_params = [p for p in net.encoder.parameters() if p.requires_grad]
        if encoder_params:
            groups.append({"params": encoder_params,
                           "lr": config.learning_rate * config.encoder_lr_factor})
        self.optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
        self.schedule = warmup_cosine_schedule(self.optimizer, config.steps_per_epoch,
                                               config.epochs * config.steps_per_epoch)
        self.cuda = device.startswith("cuda")
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.cuda)

    def __call__(self, sampler: PatchSampler) -> float:
        while True:
            images, labels = sampler.batch(self.batch_size)
            try:
                loss = self._step(images, labels)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                self.optimizer.zero_grad(set_to_none=True)
                release_device_memory(self.device)
                if self.batch_size == 1:
                    raise NanomorphError(
                        f"not enough memory on {self.device} to train on one "
                        f"{sampler.patch_px}-px patch: choose a smaller patch or another "
                        "device") from exc
                self.batch_size //= 2
                continue
            self.schedule.step()
            return loss

    def _step(self, images, labels) -> float:
        import torch

        images, labels = images.to(self.device), labels.to(self.device)
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.cuda):
            logits = self.net(images)
        loss = segmentation_loss(logits.float(), labels, self.n_classes, self.config.dice_weight)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return float(loss.detach())


def segmentation_loss(logits, labels, n_classes: int, dice_weight: float):
    """Cross-entropy + ``dice_weight`` × (1 − soft Dice averaged over the foreground classes).

    Parameters
    ----------
    logits : torch.Tensor, shape (N, K, H, W)
        Class logits.
    labels : torch.Tensor of int64, shape (N, H, W)
        Class indices.
    n_classes : int
        K.
    dice_weight : float
        Weight of the soft-Dice term (0: cross-entropy only).

    Returns
    -------
    torch.Tensor
        The scalar loss.
    """
    import torch
    import torch.nn.functional as F

    loss = F.cross_entropy(logits, labels)
    if dice_weight:
        probabilities = torch.softmax(logits, dim=1)[:, 1:]
        truth = F.one_hot(labels, n_classes).permute(0, 3, 1, 2)[:, 1:].to(probabilities.dtype)
        dims = (0, 2, 3)
        dice = ((2 * (probabilities * truth).sum(dims) + SOFT_DICE_EPS)
                / (probabilities.sum(dims) + truth.sum(dims) + SOFT_DICE_EPS))
        loss = loss + dice_weight * (1 - dice.mean())
    return loss


def _validate(net, regions: list[Region], n_classes: int, device: str, config: TrainConfig,
              cancel) -> tuple[float | None, float | None]:
    """(validation loss, Dice) over the regions' pixels; (None, None) without regions.

    The loss is the training loss's (cross-entropy + weighted soft Dice); the Dice compares
    the arg-max labels with the masks, pooled over all regions, averaged over the foreground
    classes that occur in the masks or the predictions.
    """
    if not regions:
        return None, None
    forward = TileForward(net, device, max(1, config.batch_size // 2))
    counts = np.zeros((5, n_classes))  # hard ∩, hard predicted, truth, soft ∩, soft predicted
    log_loss, pixels = 0.0, 0
    for region in regions:
        for y0, strip in iter_probability_strips(forward, region.unit, (0.0, 1.0), n_classes,
                                                 tile_px=config.tile_px,
                                                 overlap_px=config.overlap_px,
                                                 batch_size=forward.batch_size, cancel=cancel):
            truth = region.labels[y0:y0 + strip.shape[1]]
            picked = np.take_along_axis(strip, truth[None].astype(np.intp), axis=0)[0]
            log_loss -= float(np.log(np.maximum(picked, 1e-6)).sum())
            pixels += truth.size
            predicted = strip.argmax(axis=0)
            for k in range(1, n_classes):
                is_k = truth == k
                counts[:, k] += (np.count_nonzero(is_k & (predicted == k)),
                                 np.count_nonzero(predicted == k), np.count_nonzero(is_k),
                                 float(strip[k][is_k].sum()), float(strip[k].sum()))
    hard_inter, hard_pred, true, soft_inter, soft_pred = counts[:, 1:]
    present = (hard_pred + true) > 0
    dice = float(np.mean(2 * hard_inter[present] / (hard_pred + true)[present])) \
        if present.any() else 1.0
    soft = (2 * soft_inter + SOFT_DICE_EPS) / (soft_pred + true + SOFT_DICE_EPS)
    return log_loss / pixels + config.dice_weight * (1 - float(soft.mean())), dice
