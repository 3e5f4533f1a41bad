"""ResNet-18 and ResNet-50 (He et al. 2016) with torchvision's layer names, for self-supervised
pretraining on micrographs (a ResNet has no pretrained weights in nanomorph; its registry entries
``resnet18-random`` / ``resnet50-random`` start from a seeded random initialisation).

Names are torchvision's (``conv1``, ``bn1``, ``layer1`` … ``layer4``, ``fc``, blocks'
``conv1``/``bn1``/…/``downsample.0``/``downsample.1``), so torchvision state dicts would load.

Shapes
------
Input (N, 3, H, W). ``forward_features`` returns the maps at strides 2, 4, 8, 16, 32: the stem
(64 channels) and ``layer1`` … ``layer4``, with (64, 64, 128, 256, 512) channels for ResNet-18
and (64, 256, 512, 1024, 2048) for ResNet-50; ``embed`` is the global average of ``layer4``,
(N, 512) or (N, 2048).
"""

from __future__ import annotations

import torch
from torch import nn

FEATURE_STRIDES = (2, 4, 8, 16, 32)
STAGE_WIDTHS = (64, 128, 256, 512)


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions (ResNet-18/34).

    Parameters
    ----------
    c_in : int
        Input channels.
    width : int
        Output channels.
    stride : int
        Stride of the first convolution.
    """

    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int):
        super().__init__()
        self.conv1 = _conv(c_in, width, 3, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv(width, width, 3)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(c_in, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output (residual added).

        Parameters
        ----------
        x : torch.Tensor, shape (N, C, H, W)
            Input maps.

        Returns
        -------
        torch.Tensor
            Output maps.
        """
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3 with the stride (torchvision's "ResNet v1.5"), 1×1 expand ×4.

    Parameters
    ----------
    c_in : int
        Input channels.
    width : int
        Channels of the 3×3 convolution (the output has 4 × width).
    stride : int
        Stride of the 3×3 convolution.
    """

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int):
        super().__init__()
        c_out = width * self.expansion
        self.conv1 = _conv(c_in, width, 1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv(width, width, 3, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv(width, c_out, 1)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output (residual added).

        Parameters
        ----------
        x : torch.Tensor, shape (N, C, H, W)
            Input maps.

        Returns
        -------
        torch.Tensor
            Output maps.
        """
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _downsample(c_in: int, c_out: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and c_in == c_out:
        return None
    return nn.Sequential(_conv(c_in, c_out, 1, stride), nn.BatchNorm2d(c_out))


class ResNet(nn.Module):
    """A ResNet (see the module docstring).

    Parameters
    ----------
    block : type
        :class:`BasicBlock` or :class:`Bottleneck`.
    depths : (int, int, int, int)
        Blocks per stage.
    num_classes : int
        Outputs of the classifier layer.
    """

    feature_strides = FEATURE_STRIDES

    def __init__(self, block: type[BasicBlock | Bottleneck], depths: tuple[int, int, int, int],
                 num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, padding=1)
        c_in, stages = 64, []
        for index, (width, depth) in enumerate(zip(STAGE_WIDTHS, depths)):
            blocks = []
            for i in range(depth):
                blocks.append(block(c_in, width, 2 if i == 0 and index > 0 else 1))
                c_in = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)
        self.feature_channels = (64, *(w * block.expansion for w in STAGE_WIDTHS))
        self.embedding_dim = c_in
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps at strides 2, 4, 8, 16, 32.

        Parameters
        ----------
        x : torch.Tensor, shape (N, 3, H, W)
            Normalised images.

        Returns
        -------
        list of torch.Tensor
            One map per stride, channels in ``feature_channels``.
        """
        stem = self.relu(self.bn1(self.conv1(x)))
        features = [stem]
        x = self.maxpool(stem)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            features.append(x)
        return features

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Global average of ``layer4``.

        Parameters
        ----------
        x : torch.Tensor, shape (N, 3, H, W)
            Normalised images.

        Returns
        -------
        torch.Tensor, shape (N, embedding_dim)
            One embedding per image.
        """
        return torch.flatten(self.avgpool(self.forward_features(x)[-1]), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Classifier logits.

        Parameters
        ----------
        x : torch.Tensor, shape (N, 3, H, W)
            Normalised images.

        Returns
        -------
        torch.Tensor, shape (N, num_classes)
            Logits.
        """
        return self.fc(self.embed(x))


def resnet18(num_classes: int = 1000) -> ResNet:
    """ResNet-18: basic blocks, (2, 2, 2, 2); 512-d embedding.

    Parameters
    ----------
    num_classes : int
        Outputs of the classifier layer.

    Returns
    -------
    ResNet
        Randomly initialised.
    """
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes)


def resnet50(num_classes: int = 1000) -> ResNet:
    """ResNet-50: bottleneck blocks, (3, 4, 6, 3); 2048-d embedding.

    Parameters
    ----------
    num_classes : int
        Outputs of the classifier layer.

    Returns
    -------
    ResNet
        Randomly initialised.
    """
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes)
