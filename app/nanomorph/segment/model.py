"""The segmentation network: a registry encoder's multi-scale features and a small UNet decoder.

Shapes
------
Input (N, 1, H, W) float32, gray levels in [0, 1] (:mod:`nanomorph.segment.gray`); the network
repeats them over three channels and applies the encoder's mean / std. The encoder's
``forward_features`` gives maps at strides 2, 4, 8, 16, 32 (EfficientNet-Lite0: 16, 24, 40, 112,
1280 channels). The decoder starts from the deepest map (1×1 convolution to ``widths[-1]``
channels), and at each shallower stride upsamples (bilinear), concatenates the encoder's map and
applies a 3×3 convolution, batch norm and ReLU down to ``widths[i]`` channels; a 1×1 convolution
gives class logits at stride 2, upsampled bilinearly to (N, K, H, W). Any H, W works (the
encoder's maps are ceil(H / s) high, the upsampling follows their sizes). Batch norm, not group
or instance norm: in eval mode it is a fixed affine map per channel, so a pixel's prediction
does not depend on the statistics of the tile it falls in, and tiles blend without seams.

Frozen and unfrozen encoders
----------------------------
By default the encoder is frozen: its weights and batch-norm statistics stay as loaded, its
forward pass runs without autograd, and it is the process-wide cached network of
:func:`nanomorph.embedding.models.loaded_encoder`. ``unfreeze_stages = k`` trains the weights of
the last k feature stages as well (on a private copy of the cached network; their batch-norm
statistics stay frozen, as batches of a few patches would estimate them badly). The memory
layout (channels-last or not) is the cached network's. Which parameters make up a
stage is found from the network itself (:func:`stage_parameter_names`), so this works for any
registry encoder.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from nanomorph.embedding.models import loaded_encoder
from nanomorph.errors import InvalidParameterError

# Decoder channels at strides 2, 4, 8, 16, 32.
DECODER_WIDTHS = (32, 32, 48, 64, 96)


def _conv_bn_relu(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class UNetDecoder(nn.Module):
    """Class logits from encoder feature maps (module docstring).

    Parameters
    ----------
    feature_channels : tuple of int
        Channels of the encoder's maps, shallowest first.
    n_classes : int
        K, background included.
    widths : tuple of int
        Decoder channels at each map's stride (as many as ``feature_channels``).
    """

    def __init__(self, feature_channels: tuple[int, ...], n_classes: int,
                 widths: tuple[int, ...] = DECODER_WIDTHS):
        super().__init__()
        if len(widths) != len(feature_channels):
            raise InvalidParameterError(f"the decoder needs one width per encoder stage "
                                        f"({len(feature_channels)}), got {len(widths)}")
        self.feature_channels = tuple(int(c) for c in feature_channels)
        self.bottom = _conv_bn_relu(feature_channels[-1], widths[-1], 1)
        self.blocks = nn.ModuleList(
            _conv_bn_relu(widths[i + 1] + feature_channels[i], widths[i], 3)
            for i in reversed(range(len(feature_channels) - 1)))
        self.head = nn.Conv2d(widths[0], n_classes, 1)

    def forward(self, features: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        """Logits from the encoder's maps.

        Parameters
        ----------
        features : list of torch.Tensor
            The encoder's maps, shallowest first.
        size : (int, int)
            Output rows and columns.

        Returns
        -------
        torch.Tensor, shape (N, K, *size)
            Class logits.
        """
        x = self.bottom(features[-1])
        for block, skip in zip(self.blocks, reversed(features[:-1])):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return F.interpolate(self.head(x), size=size, mode="bilinear", align_corners=False)


class SegmentationNet(nn.Module):
    """Encoder + decoder: (N, 1, H, W) gray levels in [0, 1] → (N, K, H, W) logits.

    Parameters
    ----------
    encoder : torch.nn.Module
        Has ``forward_features``; frozen parameters have ``requires_grad = False``, the others
        are listed in ``trained_encoder_parameters``.
    decoder : UNetDecoder
    mean, std : sequence of 3 float
        The encoder's input normalisation.
    channels_last : bool
        Feed the encoder channels-last tensors (faster on the CPU and CUDA).
    """

    def __init__(self, encoder: nn.Module, decoder: UNetDecoder, mean, std,
                 channels_last: bool):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self.channels_last = channels_last
        self.trained_encoder_parameters = frozenset(
            name for name, p in encoder.named_parameters() if p.requires_grad)

    def train(self, mode: bool = True) -> "SegmentationNet":
        """Train or eval mode for the decoder; the encoder is never switched (it stays in eval mode,
        also for other jobs sharing the cached network).

        Parameters
        ----------
        mode : bool
            True for training.

        Returns
        -------
        SegmentationNet
            ``self``.
        """
        self.training = mode
        self.decoder.train(mode)
        return self

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        """Class logits of gray images.

        Parameters
        ----------
        gray : torch.Tensor, shape (N, 1, H, W)
            Gray levels in [0, 1].

        Returns
        -------
        torch.Tensor, shape (N, K, H, W)
            Logits.
        """
        x = (gray - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.set_grad_enabled(bool(self.trained_encoder_parameters)
                                    and torch.is_grad_enabled()):
            features = self.encoder.forward_features(x)
        return self.decoder(features, tuple(gray.shape[-2:]))


def build_network(spec, n_classes: int, device: str, *, widths=DECODER_WIDTHS,
                  unfreeze_stages: int = 0) -> SegmentationNet:
    """A new segmentation network on ``device`` (the decoder randomly initialised from torch's
    global generator: seed it for reproducible results).

    Parameters
    ----------
    spec : nanomorph.encoders.EncoderSpec
    n_classes : int
    device : str
        A resolved torch device (:func:`nanomorph.device.select_device`).
    widths : tuple of int
        Decoder channels per stage.
    unfreeze_stages : int
        How many of the encoder's last feature stages to train (0 = frozen encoder).

    Returns
    -------
    SegmentationNet
        On ``device``, in training mode.

    Raises
    ------
    InvalidParameterError
        For ``unfreeze_stages`` beyond the encoder's stages.
    """
    stages = len(spec.feature_channels)
    if not 0 <= unfreeze_stages <= stages:
        raise InvalidParameterError(f"unfreeze_stages must lie in 0..{stages}, not "
                                    f"{unfreeze_stages}")
    loaded = loaded_encoder(spec, device)
    encoder = loaded.module
    if unfreeze_stages:
        encoder = copy.deepcopy(encoder)  # a private copy: the cached network stays as loaded
        names = set().union(*stage_parameter_names(encoder)[stages - unfreeze_stages:])
        for name, parameter in encoder.named_parameters():
            parameter.requires_grad_(name in names)
    decoder = UNetDecoder(tuple(spec.feature_channels), n_classes, tuple(widths))
    net = SegmentationNet(encoder, decoder, spec.preprocess.mean, spec.preprocess.std,
                          loaded.channels_last).to(torch.device(device))
    if loaded.channels_last:
        net.to(memory_format=torch.channels_last)
    return net


def stage_parameter_names(encoder: nn.Module) -> list[set[str]]:
    """The encoder's parameter names grouped by the first feature map they reach.

    Stage k holds the parameters that feature map k depends on and map k - 1 does not, found by
    autograd on a 64 × 64 input (the classifier head, which no map uses, belongs to no stage).

    Parameters
    ----------
    encoder : torch.nn.Module
        Has ``forward_features``.

    Returns
    -------
    list of set of str
        One set per ``forward_features`` map, shallowest first.
    """
    named = [(n, p) for n, p in encoder.named_parameters()]
    flags = [p.requires_grad for _, p in named]
    device = named[0][1].device
    try:
        for _, parameter in named:
            parameter.requires_grad_(True)
        features = encoder.forward_features(torch.zeros(1, 3, 64, 64, device=device))
        stages, seen = [], set()
        for feature in features:
            grads = torch.autograd.grad(feature.sum(), [p for _, p in named], allow_unused=True,
                                        retain_graph=True)
            reached = {n for (n, _), g in zip(named, grads) if g is not None}
            stages.append(reached - seen)
            seen |= reached
        return stages
    finally:
        for (_, parameter), flag in zip(named, flags):
            parameter.requires_grad_(flag)
