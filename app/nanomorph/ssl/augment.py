"""Two random views of each micrograph, the augmentations of Lu et al. 2022 (torch only).

Every view of a gray image (H, W) in [0, 1] is made by, in this order:

1. a random resized crop covering ``crop_scale`` (25–50 %) of the image's area, aspect ratio
   log-uniform in ``crop_ratio`` (3/4–4/3), resized to ``size_px`` × ``size_px`` with an
   anti-aliased bilinear filter (torch's ``interpolate(antialias=True)``);
2. a random element of the dihedral group: a rotation by k·90° (k uniform in 0–3) and a
   horizontal flip with probability 0.5 (micrographs have no up or left);
3. with probability ``jitter_p`` (0.8) a gray-level jitter, the gray analogue of colour jitter:
   brightness (gray levels × b), contrast (blend with the view's mean, × c) and gamma (x^g),
   factors uniform in 1 ± ``brightness``, 1 ± ``contrast``, and log-uniform in
   [1 / (1 + ``gamma``), 1 + ``gamma``]; clipped to [0, 1];
4. with probability ``blur_p`` (0.5) a Gaussian blur, σ uniform in ``blur_sigma_224`` (0.1–2 px
   at 224 px, SimCLR's) scaled by ``size_px`` / 224.

All random numbers come from the :class:`torch.Generator` the caller passes, drawn in a fixed
order, so a view is a function of the image and the generator's seed: training seeds it from
(seed, epoch, step) (:func:`step_generator`), which makes a resumed run see the very views an
uninterrupted one would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from nanomorph.errors import InvalidParameterError

BLUR_REFERENCE_PX = 224
_CROP_ATTEMPTS = 10


@dataclass(frozen=True)
class Augmentation:
    """Parameters of the two-view augmentation (see the module docstring).

    Attributes
    ----------
    size_px : int
        Side of each view in pixels.
    crop_scale : (float, float)
        Range of the crop's area as a fraction of the image's.
    crop_ratio : (float, float)
        Range of the crop's width / height.
    jitter_p, brightness, contrast, gamma : float
        Probability and strengths of the gray-level jitter.
    blur_p : float
        Probability of the blur.
    blur_sigma_224 : (float, float)
        Range of the blur's σ in pixels of a 224-px view.
    """

    size_px: int = 96
    crop_scale: tuple[float, float] = (0.25, 0.5)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    gamma: float = 0.4
    blur_p: float = 0.5
    blur_sigma_224: tuple[float, float] = (0.1, 2.0)

    def __post_init__(self) -> None:
        low, high = self.crop_scale
        if not (isinstance(self.size_px, int) and self.size_px >= 16):
            raise InvalidParameterError(f"the image size must be >= 16 px, got {self.size_px!r}")
        if not 0 < low <= high <= 1:
            raise InvalidParameterError(f"the crop scale must satisfy 0 < low <= high <= 1, got "
                                        f"{self.crop_scale}")

    def views(self, images: list[torch.Tensor],
              generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Two augmented views of each image.

        Parameters
        ----------
        images : list of Tensor, float, shape (H_i, W_i)
            Gray levels in [0, 1]; sizes may differ.
        generator : torch.Generator
            The source of every random choice (CPU generator).

        Returns
        -------
        (Tensor, Tensor), float32, shape (B, 3, size_px, size_px)
            The first and the second view of each image, gray levels in [0, 1] repeated over
            three channels (an expanded view of one channel, no copy).
        """
        first = torch.stack([self.view(image, generator) for image in images])
        second = torch.stack([self.view(image, generator) for image in images])
        return first.expand(-1, 3, -1, -1), second.expand(-1, 3, -1, -1)

    def view(self, image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One augmented view of a gray image.

        Parameters
        ----------
        image : torch.Tensor, shape (H, W)
            Gray levels in [0, 1].
        generator : torch.Generator
            The random source of this view.

        Returns
        -------
        torch.Tensor, shape (1, size_px, size_px)
            The view.
        """
        x = random_resized_crop(image, self.size_px, self.crop_scale, self.crop_ratio, generator)
        k = int(torch.randint(4, (1,), generator=generator))
        x = torch.rot90(x, k, dims=(-2, -1))
        if _uniform(generator) < 0.5:
            x = torch.flip(x, dims=(-1,))
        if _uniform(generator) < self.jitter_p:
            x = self._jitter(x, generator)
        if _uniform(generator) < self.blur_p:
            low, high = (s * self.size_px / BLUR_REFERENCE_PX for s in self.blur_sigma_224)
            x = gaussian_blur(x, low + (high - low) * _uniform(generator))
        return x

    def _jitter(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        brightness = 1 + self.brightness * (2 * _uniform(generator) - 1)
        contrast = 1 + self.contrast * (2 * _uniform(generator) - 1)
        gamma = math.exp(math.log(1 + self.gamma) * (2 * _uniform(generator) - 1))
        x = (x * brightness).clamp(0, 1)
        x = ((x - x.mean()) * contrast + x.mean()).clamp(0, 1)
        return x.pow(gamma)


def random_resized_crop(image: torch.Tensor, size_px: int, scale: tuple[float, float],
                        ratio: tuple[float, float], generator: torch.Generator) -> torch.Tensor:
    """A random crop resized to a square (torchvision's rule: 10 tries, then the central crop of
    the closest ratio).

    Parameters
    ----------
    image : torch.Tensor, shape (H, W)
        Gray levels.
    size_px : int
        Side of the result.
    scale : (float, float)
        Range of the crop's area, fraction of the image's.
    ratio : (float, float)
        Range of its width / height.
    generator : torch.Generator
        The random source.

    Returns
    -------
    torch.Tensor of float32, shape (1, size_px, size_px)
        The crop.
    """
    rows, cols = image.shape
    top, left, height, width = 0, 0, rows, cols
    for _ in range(_CROP_ATTEMPTS):
        area = rows * cols * (scale[0] + (scale[1] - scale[0]) * _uniform(generator))
        log_ratio = math.log(ratio[0]) + math.log(ratio[1] / ratio[0]) * _uniform(generator)
        w = round(math.sqrt(area * math.exp(log_ratio)))
        h = round(math.sqrt(area / math.exp(log_ratio)))
        if 0 < w <= cols and 0 < h <= rows:
            top = int(torch.randint(rows - h + 1, (1,), generator=generator))
            left = int(torch.randint(cols - w + 1, (1,), generator=generator))
            height, width = h, w
            break
    else:
        side = round(math.sqrt(rows * cols * scale[1]))
        height, width = min(rows, side), min(cols, side)
        top, left = (rows - height) // 2, (cols - width) // 2
    crop = image[top:top + height, left:left + width].float()[None, None]
    return F.interpolate(crop, size=(size_px, size_px), mode="bilinear", antialias=True,
                         align_corners=False)[0].clamp(0, 1)


def gaussian_blur(x: torch.Tensor, sigma_px: float) -> torch.Tensor:
    """A separable Gaussian blur (kernel radius ⌈3σ⌉, reflected borders).

    Parameters
    ----------
    x : torch.Tensor, shape (C, H, W)
        Images.
    sigma_px : float
        Standard deviation σ in pixels.

    Returns
    -------
    torch.Tensor, shape (C, H, W)
        Blurred.
    """
    radius = max(1, math.ceil(3 * sigma_px))
    radius = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (offsets / sigma_px) ** 2)
    kernel = kernel / kernel.sum()
    y = F.pad(x[None], (radius, radius, radius, radius), mode="reflect")
    channels = x.shape[0]
    y = F.conv2d(y, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    y = F.conv2d(y, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)
    return y[0]


def step_generator(seed: int, *keys: int) -> torch.Generator:
    """A CPU generator seeded from several numbers, e.g. (seed, epoch, step): independent streams
    for different keys (numpy's SeedSequence mixing), the same stream for the same keys.

    Parameters
    ----------
    seed : int
        The run's seed.
    *keys : int
        Further numbers (epoch, step …).

    Returns
    -------
    torch.Generator
        Seeded.
    """
    state = np.random.SeedSequence([seed, *keys]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def _uniform(generator: torch.Generator) -> float:
    return float(torch.rand((), generator=generator))
