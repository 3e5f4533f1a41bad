"""What a pretraining run computes (:class:`PretrainConfig`) and what it gives
(:class:`PretrainResult`); see :mod:`nanomorph.ssl.train` for the run itself."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nanomorph.errors import InvalidParameterError
from nanomorph.io.records import JsonRecord

if TYPE_CHECKING:
    from nanomorph.encoders.spec import EncoderSpec

METHODS = ("barlow", "simclr")
PROJECTOR_DIMS = {"barlow": (2048, 2048, 2048), "simclr": (2048, 128)}
# Fields a resumed run may change: they do not change what is computed.
RESUMABLE_CHANGES = ("checkpoint_every",)


@dataclass(frozen=True)
class PretrainConfig(JsonRecord):
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
        """This configuration with every ``None`` replaced by its default for a device.

        Parameters
        ----------
        device : str
            A resolved torch device.

        Returns
        -------
        PretrainConfig
            Fully resolved (stored with the run).

        Raises
        ------
        InvalidParameterError
            For an unknown backbone.
        """
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


    @classmethod
    def from_json(cls, fields: dict) -> "PretrainConfig":
        """The configuration :meth:`as_json` wrote.

        Parameters
        ----------
        fields : dict
            Field name → value (lists for tuples).

        Returns
        -------
        PretrainConfig
            The configuration.
        """
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
        """Mean loss per epoch.

        Returns
        -------
        list of (int, float)
            (epoch, mean loss of its steps) for every epoch with steps.
        """
        return epoch_means(self.losses)


def epoch_means(losses: list[tuple[int, int, float]]) -> list[tuple[int, float]]:
    """Mean loss per epoch.

    Parameters
    ----------
    losses : list of (int, int, float)
        (step, epoch, loss) rows.

    Returns
    -------
    list of (int, float)
        (epoch, mean loss), in epoch order.
    """
    sums: dict[int, list[float]] = {}
    for _step, epoch, loss in losses:
        sums.setdefault(epoch, []).append(loss)
    return [(epoch, sum(values) / len(values)) for epoch, values in sums.items()]


def saved_config(folder: str | os.PathLike) -> PretrainConfig | None:
    """The resolved configuration of the run in a folder.

    Parameters
    ----------
    folder : str or os.PathLike
        A run folder.

    Returns
    -------
    PretrainConfig or None
        None when the folder holds no run.
    """
    from nanomorph.ssl.runs import read_config

    saved = read_config(Path(folder))
    return None if saved is None else PretrainConfig.from_json(saved["config"])
