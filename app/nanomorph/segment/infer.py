"""Tiled inference: any image size in bounded memory, tiles blended with a linear ramp.

Tiling
------
Tiles of ``tile_px`` (512) squared overlap by at least ``overlap_px`` (64): along each axis
``ceil((n - overlap) / (tile - overlap))`` tiles, spread evenly from the first pixel to the
last. An image smaller than a tile gets a tile of its own size rounded up to a multiple of 32
(the encoder's stride) and is padded by reflection to it; the padding is cut off the result.

Blending
--------
Each tile's class probabilities are weighted by a separable linear ramp that rises from
1 / (overlap + 1) at the tile's edge to 1 at ``overlap_px`` inside it, and the weighted sum is
divided by the sum of the weights. Pixels near a tile's edge, where the network sees less
context, count less; a network whose output is the same wherever a pixel lies in the tile would
give exactly the untiled result (tested).

Memory
------
Tiles go through the network a row of tiles at a time. Probabilities are accumulated in float32
for one row of tiles only (K × tile_px × width); rows that no later tile touches are final and
leave as a strip (:func:`iter_probability_strips`). The results are uint8: class indices and,
optionally, probabilities × 255 of the foreground classes. Gray levels are mapped to [0, 1]
tile by tile, so the image is never copied in float: a 10,000 × 10,000 uint8 image needs its
own 100 MB, 100 MB of labels, 100 MB per probability map and about 40 MB of accumulators
(measured: ``tests/benchmarks/test_bench_segment.py``).

Out of memory
-------------
A batch of tiles that does not fit on the device is split in halves until it does
(:class:`TileForward`); when a single tile does not fit, a NanomorphError says to choose a
smaller tile or another device.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from nanomorph.errors import NanomorphError
from nanomorph.jobs import Job, Progress, check_cancel, run_job
from nanomorph.segment.gray import intensity_window, to_unit
from nanomorph.segment.scale import (
    resample_factor,
    resample_image,
    resample_probabilities,
    scaled_shape,
)

STRIDE_PX = 32


@dataclass(frozen=True)
class SegmentPrediction:
    """The result of segmenting one image.

    Attributes
    ----------
    labels : ndarray of uint8, shape (rows, cols)
        Class index of each pixel (0 = background).
    probabilities : ndarray of uint8, shape (K - 1, rows, cols), or None
        Probability × 255 of each foreground class (class k in channel k - 1).
    """

    labels: np.ndarray
    probabilities: np.ndarray | None


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """First pixels of the tiles along one axis.

    Parameters
    ----------
    length : int
        The axis' length in pixels (at least ``tile``).
    tile : int
        Tile side in pixels.
    overlap : int
        Pixels shared by neighbouring tiles (at least).

    Returns
    -------
    list of int
        Ascending; the last tile ends at ``length``.
    """
    if length <= tile:
        return [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def blend_ramp(length: int, overlap: int) -> np.ndarray:
    """Blending weights of a tile along one axis.

    Parameters
    ----------
    length : int
        Tile side in pixels.
    overlap : int
        Overlap in pixels.

    Returns
    -------
    ndarray of float32, shape (length,)
        Rising linearly from 1 / (overlap + 1) at both ends to 1.
    """
    distance = np.minimum(np.arange(length) + 1, length - np.arange(length))
    return np.minimum(1.0, distance / (overlap + 1.0)).astype(np.float32)


def tile_shape(shape: tuple[int, int], tile_px: int) -> tuple[int, int]:
    """The tile used for an image.

    Parameters
    ----------
    shape : (int, int)
        The image's shape.
    tile_px : int
        The segmenter's tile side.

    Returns
    -------
    (int, int)
        ``tile_px``, or the image rounded up to a multiple of 32 where it is smaller.
    """
    return tuple(min(tile_px, -(-n // STRIDE_PX) * STRIDE_PX) for n in shape)


def iter_probability_strips(forward: Callable[[np.ndarray], np.ndarray], image: np.ndarray,
                            window: tuple[float, float], n_classes: int, *, tile_px: int = 512,
                            overlap_px: int = 64, batch_size: int = 4, cancel=None
                            ) -> Iterator[tuple[int, np.ndarray]]:
    """Blended class probabilities of ``image``, strip by strip from the top.

    Parameters
    ----------
    forward : callable
        (B, 1, h, w) float32 gray levels in [0, 1] → (B, K, h, w) float32 probabilities
        (:class:`TileForward`).
    image : ndarray, shape (rows, cols)
        Gray levels, any real dtype.
    window : (float, float)
        Gray levels mapped to 0 and 1 (:func:`nanomorph.segment.gray.intensity_window`).
    n_classes : int
        K.
    tile_px, overlap_px : int
        Tile side and least overlap in pixels (``overlap_px < tile_px``).
    batch_size : int
        Tiles given to ``forward`` at once.
    cancel : CancelToken, optional
        Checked before each row of tiles.

    Yields
    ------
    (first_row, probabilities)
        ``probabilities``: float32 (K, n, cols) for image rows first_row … first_row + n - 1;
        consecutive strips cover the image.
    """
    rows, cols = image.shape
    tile_rows, tile_cols = tile_shape((rows, cols), tile_px)
    overlap = min(overlap_px, min(tile_rows, tile_cols) // 2)
    if rows < tile_rows or cols < tile_cols:
        image = np.pad(image, ((0, max(0, tile_rows - rows)), (0, max(0, tile_cols - cols))),
                       mode="reflect")
    starts_y = tile_starts(image.shape[0], tile_rows, overlap)
    starts_x = tile_starts(image.shape[1], tile_cols, overlap)
    weight = blend_ramp(tile_rows, overlap)[:, None] * blend_ramp(tile_cols, overlap)[None, :]
    total = np.zeros((n_classes, tile_rows, image.shape[1]), np.float32)
    weights = np.zeros((tile_rows, image.shape[1]), np.float32)
    for index, y0 in enumerate(starts_y):
        check_cancel(cancel)
        for first in range(0, len(starts_x), batch_size):
            group = starts_x[first:first + batch_size]
            tiles = np.stack([to_unit(image[y0:y0 + tile_rows, x0:x0 + tile_cols], window)
                              for x0 in group])[:, None]
            for x0, probabilities in zip(group, forward(tiles)):
                total[:, :, x0:x0 + tile_cols] += probabilities * weight
                weights[:, x0:x0 + tile_cols] += weight
        done = starts_y[index + 1] - y0 if index + 1 < len(starts_y) else tile_rows
        final = min(done, rows - y0)
        if final > 0:
            yield y0, total[:, :final, :cols] / weights[:final, :cols]
        total[:, :tile_rows - done] = total[:, done:]
        total[:, tile_rows - done:] = 0.0
        weights[:tile_rows - done] = weights[done:]
        weights[tile_rows - done:] = 0.0


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception means that torch (or numpy) ran out of memory on a device.

    Parameters
    ----------
    exc : BaseException
        The exception.

    Returns
    -------
    bool
        True for CUDA/MPS out-of-memory errors and MemoryError.
    """
    import torch

    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text
                                              or "can't allocate memory" in text)


class TileForward:
    """Tiles through a segmentation network on its device: probabilities as numpy.

    Runs in ``torch.inference_mode`` (float16 autocast on CUDA) and halves its batch when the
    device runs out of memory.

    Parameters
    ----------
    net : SegmentationNet
        In eval mode, on ``device``.
    device : str
    batch_size : int
    dihedral : bool
        Test-time augmentation: each tile also in its 7 other flips and quarter turns, the
        probabilities turned back and averaged (8 × the forward passes).
    """

    def __init__(self, net, device: str, batch_size: int, dihedral: bool = False):
        self.net = net
        self.device = device
        self.batch_size = max(1, int(batch_size))
        self.dihedral = dihedral

    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        out, first = [], 0
        while first < len(tiles):
            chunk = tiles[first:first + self.batch_size]
            try:
                out.append(self._probabilities(chunk))
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                self._shrink(exc, chunk.shape[-2:])
                continue
            first += len(chunk)
        return np.concatenate(out)

    def _probabilities(self, chunk: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode(), _autocast(self.device):
            x = torch.from_numpy(np.ascontiguousarray(chunk)).to(self.device)
            if not self.dihedral:
                return torch.softmax(self.net(x).float(), dim=1).cpu().numpy()
            total = None
            for flip in (False, True):
                flipped = torch.flip(x, dims=(-1,)) if flip else x
                for turns in range(4):
                    view = torch.rot90(flipped, turns, dims=(-2, -1))
                    p = torch.softmax(self.net(view).float(), dim=1)
                    p = torch.rot90(p, -turns, dims=(-2, -1))
                    p = torch.flip(p, dims=(-1,)) if flip else p
                    total = p if total is None else total + p
            return (total / 8).cpu().numpy()

    def _shrink(self, exc: BaseException, tile: tuple[int, int]) -> None:
        release_device_memory(self.device)
        if self.batch_size == 1:
            raise NanomorphError(
                f"not enough memory on {self.device} for one {tile[0]} × {tile[1]} tile: choose "
                "a smaller tile or another device") from exc
        self.batch_size //= 2


def release_device_memory(device: str) -> None:
    """Hand cached blocks back to the device after running out of memory.

    Parameters
    ----------
    device : str
        A torch device.
    """
    import torch

    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def _autocast(device: str):
    """float16 autocast on CUDA; nothing elsewhere (mixed precision only on CUDA)."""
    import contextlib

    import torch

    if device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def predict_job(segmenter, image: np.ndarray, *, batch_size: int = 4, probabilities: bool = True,
                databar_rows: int | None = None, tta: bool = False,
                pixel_size_nm: float | None = None, cancel=None) -> Job[SegmentPrediction]:
    """Segment one image (a job: progress per strip of tiles).

    Parameters
    ----------
    segmenter : nanomorph.segment.segmenter.Segmenter
    image : ndarray, shape (rows, cols)
        Gray levels, any real dtype and size.
    batch_size : int
        Tiles per forward pass (halved on out-of-memory).
    probabilities : bool
        Also return the foreground classes' probabilities (uint8, K - 1 maps).
    databar_rows : int, optional
        Info-bar rows at the bottom (background in the result); found from the pixels when the
        segmenter crops info bars and this is None.
    tta : bool
        Average the predictions of each tile's 8 flips and quarter turns (8 × the time).
    pixel_size_nm : float, optional
        The image's pixel size: when the segmenter has a working pixel size too, the image is
        resampled to it, segmented, and the result resampled back to its pixels
        (:mod:`nanomorph.segment.scale`).
    cancel : CancelToken, optional

    Returns
    -------
    SegmentPrediction

    Raises
    ------
    NanomorphError
        For an array that is not one 2-D gray image, or not enough memory for one tile.
    """
    from nanomorph.masks.databar import find_databar_rows

    image = np.asarray(image)
    if image.ndim != 2 or min(image.shape) < 1:
        raise NanomorphError(f"expected one 2-D gray image, got shape {image.shape}")
    bar = 0
    if segmenter.crop_databar:
        bar = find_databar_rows(image) if databar_rows is None else int(databar_rows)
    scanned = image[:image.shape[0] - bar] if 0 < bar < image.shape[0] else image
    factor = resample_factor(pixel_size_nm, segmenter.pixel_size_nm)
    if factor != 1.0:
        resampled = yield from predict_job(
            segmenter, resample_image(scanned, scaled_shape(scanned.shape, factor)),
            batch_size=batch_size, databar_rows=0, tta=tta, cancel=cancel)
        labels = np.zeros(image.shape, np.uint8)
        maps = np.zeros((resampled.probabilities.shape[0], *image.shape), np.uint8)
        labels[:len(scanned)], maps[:, :len(scanned)] = resample_probabilities(
            resampled.probabilities, scanned.shape)
        return SegmentPrediction(labels, maps if probabilities else None)
    n_classes = len(segmenter.classes)
    labels = np.zeros(image.shape, np.uint8)
    maps = np.zeros((n_classes - 1, *image.shape), np.uint8) if probabilities else None
    forward = TileForward(segmenter.net.eval(), segmenter.device, batch_size, dihedral=tta)
    strips = iter_probability_strips(
        forward, scanned, intensity_window(scanned, segmenter.percentiles), n_classes,
        tile_px=segmenter.tile_px, overlap_px=segmenter.overlap_px, batch_size=batch_size,
        cancel=cancel)
    for y0, strip in strips:
        y1 = y0 + strip.shape[1]
        labels[y0:y1] = strip.argmax(axis=0)
        if maps is not None:
            np.multiply(strip[1:], 255.0, out=strip[1:])
            maps[:, y0:y1] = np.rint(strip[1:])
        yield Progress(y1, scanned.shape[0], f"segmented {y1} of {scanned.shape[0]} rows")
    return SegmentPrediction(labels, maps)


def predict_image(segmenter, image: np.ndarray, **options) -> SegmentPrediction:
    """:func:`predict_job` run to completion.

    Parameters
    ----------
    segmenter : Segmenter
        The model.
    image : ndarray, 2-D
        Gray levels.
    **options
        As :func:`predict_job`.

    Returns
    -------
    SegmentPrediction
        Labels (and probabilities).
    """
    return run_job(predict_job(segmenter, image, **options))
