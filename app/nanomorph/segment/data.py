"""Training data: held-out regions for validation, random patches, augmentation.

Validation
----------
With ``val_pairs`` given, those pairs are held out whole. Otherwise every pair lends a band
along one side, ``val_fraction`` of its height or width, to validation and trains on the rest:
one mask is enough, and every image's look is in both halves. The side chosen holds every
foreground class of the mask if a side does (a band without wire cannot score a wire class: any
false positive would give it Dice 0), and among those its class proportions come closest to the
whole mask's (ties: bottom, top, right, left), so that a band of empty background does not
decide early stopping.

Patches
-------
Native resolution, ``patch_px`` square. Each patch comes from a training region drawn with
probability proportional to its area; its centre is a pixel of a randomly chosen foreground
class present in the region with probability ``foreground_fraction`` (thin wires on a wide
background still reach the loss), else anywhere. Regions smaller than the window are padded by
reflection.

Augmentation (:class:`Augmentation`), all drawn from one ``numpy.random.Generator``
------------------------------------------------------------------------------------------------
- scale: the patch covers ``patch_px × s`` source pixels, s log-uniform in ``scale_range``
  (anti-aliased bilinear for gray levels, nearest for labels): wires thinner or thicker than in
  the masks, as at another magnification;
- rotation by a random angle (bilinear / nearest), then one of the 8 flips and 90° rotations:
  wires and lattice fringes run in every direction;
- gray levels (in [0, 1]): contrast × c around 0.5, brightness + b, gamma g, Gaussian noise of
  standard deviation n, clipped to [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nanomorph.errors import InvalidParameterError
from nanomorph.io.records import JsonRecord
from nanomorph.segment.gray import intensity_window, to_unit
from nanomorph.segment.pairs import TrainingPair

# Foreground pixels kept per class and region to draw patch centres from.
MAX_CENTRES = 20_000
_SIDES = ("bottom", "top", "right", "left")


@dataclass(frozen=True)
class Augmentation(JsonRecord):
    """Random changes applied to every training patch (module docstring).

    Attributes
    ----------
    scale_range : (float, float)
        Source pixels per patch pixel, drawn log-uniformly.
    rotation : bool
        Rotate by a random angle (wires and lattice fringes run in any direction).
    dihedral : bool
        Random flips and 90° rotations.
    contrast_range, gamma_range : (float, float)
        Drawn log-uniformly.
    brightness : float
        Shift drawn uniformly in ±brightness (gray levels in [0, 1]).
    noise_sd : float
        Largest standard deviation of added Gaussian noise (drawn uniformly from 0).
    """

    scale_range: tuple[float, float] = (0.5, 3.0)
    rotation: bool = True
    dihedral: bool = True
    contrast_range: tuple[float, float] = (0.7, 1.4)
    gamma_range: tuple[float, float] = (0.7, 1.4)
    brightness: float = 0.1
    noise_sd: float = 0.04

    def __post_init__(self) -> None:
        for name in ("scale_range", "contrast_range", "gamma_range"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise InvalidParameterError(f"{name} needs 0 < low <= high, got {low}, {high}")
        if self.brightness < 0 or self.noise_sd < 0:
            raise InvalidParameterError("brightness and noise must not be negative")


@dataclass(frozen=True)
class Region:
    """Part of a training pair: gray levels already in [0, 1] and class labels.

    Attributes
    ----------
    name : str
    unit : ndarray of float32, shape (rows, cols)
        Gray levels mapped to [0, 1] by the whole image's intensity window.
    labels : ndarray of uint8, shape (rows, cols)
    """

    name: str
    unit: np.ndarray
    labels: np.ndarray


def split_validation(pairs: list[TrainingPair], percentiles: tuple[float, float], *,
                     val_fraction: float = 0.2,
                     val_pairs: tuple[int, ...] | None = None
                     ) -> tuple[list[Region], list[Region]]:
    """Training and validation regions of the pairs (module docstring).

    Parameters
    ----------
    pairs : list of TrainingPair
    percentiles : (float, float)
        The encoder's intensity percentiles (each image's window comes from the whole image).
    val_fraction : float
        Band of each pair held out, as a fraction of its height or width (0: no validation).
    val_pairs : tuple of int, optional
        Indices of pairs held out whole instead; at least one pair must remain for training.

    Returns
    -------
    train, validation : list of Region

    Raises
    ------
    InvalidParameterError
        For a fraction outside [0, 1), or held-out pairs that are out of range or leave none for
        training.
    """
    if val_pairs:
        held = set(val_pairs)
        if not held <= set(range(len(pairs))) or len(held) >= len(pairs):
            raise InvalidParameterError(f"validation pairs must be among 1..{len(pairs)} and "
                                        "leave at least one pair for training")
        regions = [_region(p, p.image, p.labels, percentiles) for p in pairs]
        return ([r for i, r in enumerate(regions) if i not in held],
                [r for i, r in enumerate(regions) if i in held])
    if not 0 <= val_fraction < 1:
        raise InvalidParameterError(f"the validation fraction must lie in [0, 1), not "
                                    f"{val_fraction}")
    train, validation = [], []
    for pair in pairs:
        window = intensity_window(pair.image, percentiles)
        unit = to_unit(pair.image, window)
        kept, held = _band_split(pair.labels, val_fraction)
        train.append(Region(pair.name, unit[kept], pair.labels[kept]))
        if held is not None:
            validation.append(Region(f"{pair.name} ({_side(held)} band)", unit[held],
                                     pair.labels[held]))
    return train, validation


def _region(pair: TrainingPair, image, labels, percentiles) -> Region:
    return Region(pair.name, to_unit(image, intensity_window(image, percentiles)), labels)


def _band_split(labels: np.ndarray, fraction: float):
    """(training slices, validation slices or None): the band whose class proportions are
    closest to the whole mask's."""
    rows, cols = labels.shape
    whole = (slice(None), slice(None))
    band_rows, band_cols = round(rows * fraction), round(cols * fraction)
    if fraction == 0 or min(band_rows, band_cols) < 1 or min(rows - band_rows,
                                                              cols - band_cols) < 1:
        return whole, None
    n_classes = int(labels.max()) + 1
    overall = np.bincount(labels.ravel(), minlength=n_classes) / labels.size
    candidates = {
        "bottom": ((slice(0, rows - band_rows), slice(None)),
                   (slice(rows - band_rows, rows), slice(None))),
        "top": ((slice(band_rows, rows), slice(None)), (slice(0, band_rows), slice(None))),
        "right": ((slice(None), slice(0, cols - band_cols)),
                  (slice(None), slice(cols - band_cols, cols))),
        "left": ((slice(None), slice(band_cols, cols)), (slice(None), slice(0, band_cols))),
    }

    def rank(side: str) -> tuple[int, float]:
        band = np.bincount(labels[candidates[side][1]].ravel(), minlength=n_classes)
        missing = int(np.count_nonzero((band[1:] == 0) & (overall[1:] > 0)))
        return missing, float(np.abs(band / band.sum() - overall).sum())

    return candidates[min(_SIDES, key=rank)]


def _side(held) -> str:
    rows, cols = held
    if rows == slice(None):
        return "right" if cols.start else "left"
    return "bottom" if rows.start else "top"


class PatchSampler:
    """Random augmented training batches from regions (module docstring).

    Parameters
    ----------
    regions : list of Region
    patch_px : int
    augmentation : Augmentation
    rng : numpy.random.Generator
        The only source of randomness: the same generator state gives the same batches.
    foreground_fraction : float
        Share of patches centred on a foreground pixel.
    """

    def __init__(self, regions: list[Region], patch_px: int, augmentation: Augmentation,
                 rng: np.random.Generator, foreground_fraction: float = 0.5):
        if not regions:
            raise InvalidParameterError("no training region to draw patches from")
        self.regions = regions
        self.patch_px = int(patch_px)
        self.augmentation = augmentation
        self.rng = rng
        self.foreground_fraction = foreground_fraction
        areas = np.array([r.labels.size for r in regions], float)
        self.weights = areas / areas.sum()
        self.centres = [self._foreground_pixels(r.labels) for r in regions]

    def _foreground_pixels(self, labels: np.ndarray) -> list[np.ndarray]:
        """Per foreground class present: (n, 2) pixel coordinates (a random subset)."""
        centres = []
        for k in range(1, int(labels.max()) + 1):
            coords = np.argwhere(labels == k)
            if len(coords) > MAX_CENTRES:
                coords = coords[self.rng.choice(len(coords), MAX_CENTRES, replace=False)]
            if len(coords):
                centres.append(coords)
        return centres

    def batch(self, size: int):
        """A batch of random augmented training patches.

        Parameters
        ----------
        size : int
            Patches in the batch.

        Returns
        -------
        images : torch.Tensor of float32, shape (size, 1, P, P)
            Gray levels in [0, 1], on the CPU.
        labels : torch.Tensor of int64, shape (size, P, P)
            Class indices.
        """
        import torch

        images, labels = zip(*(self._patch() for _ in range(size)))
        x = torch.from_numpy(np.stack(images)[:, None])
        return self._jitter_gray(x), torch.from_numpy(np.stack(labels).astype(np.int64))

    def _patch(self) -> tuple[np.ndarray, np.ndarray]:
        rng, aug, size = self.rng, self.augmentation, self.patch_px
        index = rng.choice(len(self.regions), p=self.weights)
        region, centres = self.regions[index], self.centres[index]
        scale = math.exp(rng.uniform(*np.log(aug.scale_range)))
        angle = rng.uniform(0, 2 * math.pi) if aug.rotation else 0.0
        if centres and rng.random() < self.foreground_fraction:
            coords = centres[rng.integers(len(centres))]
            centre = coords[rng.integers(len(coords))]
        else:
            centre = [rng.integers(n) for n in region.labels.shape]
        reach = size * scale * (abs(math.cos(angle)) + abs(math.sin(angle)))
        unit, labels = _window(region, centre, max(8, math.ceil(reach) + 2))
        unit, labels = _warp(unit, labels, size, scale, angle)
        if aug.dihedral:
            turns, flip = int(rng.integers(4)), bool(rng.integers(2))
            unit, labels = np.rot90(unit, turns), np.rot90(labels, turns)
            if flip:
                unit, labels = unit[:, ::-1], labels[:, ::-1]
        return np.ascontiguousarray(unit), np.ascontiguousarray(labels)

    def _jitter_gray(self, x):
        """Contrast, brightness, gamma and noise per patch (in place on (B, 1, P, P))."""
        import torch

        aug, rng, n = self.augmentation, self.rng, x.shape[0]

        def per_patch(values) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float32).view(n, 1, 1, 1)

        contrast = per_patch(np.exp(rng.uniform(*np.log(aug.contrast_range), n)))
        shift = per_patch(rng.uniform(-aug.brightness, aug.brightness, n))
        gamma = per_patch(np.exp(rng.uniform(*np.log(aug.gamma_range), n)))
        x.sub_(0.5).mul_(contrast).add_(0.5 + shift).clamp_(0.0, 1.0).pow_(gamma)
        if aug.noise_sd > 0:
            sd = per_patch(rng.uniform(0, aug.noise_sd, n))
            noise = torch.from_numpy(rng.standard_normal(x.shape, dtype=np.float32))
            x.add_(noise.mul_(sd))
        return x.clamp_(0.0, 1.0)


def _window(region: Region, centre, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``size`` square around ``centre``, inside the region where it fits, else padded by
    reflection."""
    starts, pads = [], []
    for c, n in zip(centre, region.labels.shape):
        start = int(min(max(int(c) - size // 2, 0), max(n - size, 0)))
        starts.append(start)
        pads.append((0, max(0, size - n)))
    window = tuple(slice(s, s + size) for s in starts)
    unit, labels = region.unit[window], region.labels[window]
    if any(after for _, after in pads):
        unit = np.pad(unit, pads, mode="symmetric")
        labels = np.pad(labels, pads, mode="symmetric")
    return unit, labels


def _warp(unit: np.ndarray, labels: np.ndarray, size: int, scale: float, angle: float):
    """The central ``size`` square of a window, zoomed out by ``scale`` and rotated by
    ``angle`` (radians): gray levels resized anti-aliased bilinear then rotated bilinear,
    labels nearest."""
    import torch
    import torch.nn.functional as F

    side = max(size, round(unit.shape[0] / scale))
    gray = F.interpolate(torch.from_numpy(np.ascontiguousarray(unit))[None, None],
                         size=(side, side), mode="bilinear", antialias=side < unit.shape[0],
                         align_corners=False)
    picks = np.minimum(((np.arange(side) + 0.5) * labels.shape[0] / side).astype(int),
                       labels.shape[0] - 1)
    classes = torch.from_numpy(labels[picks[:, None], picks[None, :]].astype(np.float32))
    cos, sin = math.cos(angle) * size / side, math.sin(angle) * size / side
    grid = F.affine_grid(torch.tensor([[[cos, -sin, 0.0], [sin, cos, 0.0]]]), [1, 1, size, size],
                         align_corners=False)
    gray = F.grid_sample(gray, grid, mode="bilinear", padding_mode="reflection",
                         align_corners=False)[0, 0].numpy()
    classes = F.grid_sample(classes[None, None], grid, mode="nearest",
                            padding_mode="reflection", align_corners=False)[0, 0]
    return gray, classes.numpy().astype(np.uint8)
