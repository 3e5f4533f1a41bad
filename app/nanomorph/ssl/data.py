"""The unlabelled images of a pretraining run, in memory, and the order they are seen in.

Each image is read once (:func:`nanomorph.io.read_image`, first page of a stack), its SEM info
bar cut off (:func:`nanomorph.masks.databar_rows_of`), its gray levels mapped to [0, 1] between
the 0.5 and 99.5 percentiles (:func:`nanomorph.io.intensity.normalise_percentiles`, any dtype and
bit depth), and shrunk, with an anti-aliased filter, until its short side is
``ceil(size_px / sqrt(min_crop_scale))``, the side of the smallest crop at full view size
(192 px for 96-px views of crops covering ≥ 25 % of the image): no detail a view can show is
lost, and 10,000 images of 1024² take about 0.8 GB at 96 px (float16). Smaller images are kept
as they are. A file that cannot be read, or smaller than ``MIN_SIDE_PX``, is skipped with its
reason.

Order: epoch e visits the images in the permutation ``numpy.random.default_rng([seed, e])``,
``batch_size`` at a time; the last incomplete batch is dropped (a batch of fewer images would
change the loss's scale), so an epoch is ``n_images // batch_size`` steps.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from nanomorph.errors import InvalidParameterError, NanomorphError
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel

MIN_SIDE_PX = 16


@dataclass
class ImageSet:
    """Gray images ready for augmentation.

    Attributes
    ----------
    images : list of torch.Tensor, float16, shape (H_i, W_i)
        Gray levels in [0, 1].
    paths : list of str or [str, int]
        The file of each image (``[path, page]`` for a page of a movie).
    skipped : list of (str, str)
        (path, reason) of each file that was left out.
    """

    images: list
    paths: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)


def load_images(paths: list[str], size_px: int, min_crop_scale: float, *,
                cancel: CancelToken | None = None) -> Job[ImageSet]:
    """Read and prepare the images (a job: one Progress per file; see the module docstring).

    Parameters
    ----------
    paths : list of str or [str, int]
        Image files, or ``[path, page]`` for one page of a movie.
    size_px : int
        Side of the training views.
    min_crop_scale : float
        Smallest crop area as a fraction of the image's (0.25).
    cancel : CancelToken, optional

    Yields
    ------
    Progress
        One per file.

    Returns
    -------
    ImageSet
        The prepared images; unreadable files are listed in ``skipped``.
    """
    from nanomorph.io import read_image

    keep_side = math.ceil(size_px / math.sqrt(min_crop_scale))
    images, kept, skipped = [], [], []
    for index, ref in enumerate(paths):
        check_cancel(cancel)
        path, page = (ref, 0) if isinstance(ref, str) else ref
        try:
            images.append(prepare_plane(read_image(path, page=page), keep_side))
            kept.append(ref)
        except NanomorphError as exc:
            skipped.append((path, exc.reason))
        yield Progress(index + 1, len(paths), f"read {os.path.basename(path)}")
    return ImageSet(images, kept, skipped)


def prepare_plane(image, keep_side_px: int):
    """Gray levels in [0, 1] of a micrograph's first plane, info bar cut, short side shrunk to
    ``keep_side_px`` when longer.

    Parameters
    ----------
    image : MicroscopeImage
        The micrograph.
    keep_side_px : int
        Largest short side kept (crops are taken from it).

    Returns
    -------
    torch.Tensor of float16, shape (H, W)
        The prepared image.

    Raises
    ------
    NanomorphError
        For an image smaller than ``MIN_SIDE_PX`` a side.
    """
    import torch
    import torch.nn.functional as F

    from nanomorph.io.intensity import normalise_percentiles
    from nanomorph.masks import databar_rows_of

    plane = image.plane(0)
    bar = databar_rows_of(image)
    if 0 < bar < plane.shape[0]:
        plane = plane[:-bar]
    if min(plane.shape) < MIN_SIDE_PX:
        raise NanomorphError(f"too small for pretraining ({plane.shape[1]} × {plane.shape[0]} px;"
                             f" at least {MIN_SIDE_PX} px a side)", image.path)
    unit = torch.from_numpy(normalise_percentiles(plane))
    factor = keep_side_px / min(plane.shape)
    if factor < 1:
        size = tuple(max(1, round(n * factor)) for n in plane.shape)
        unit = F.interpolate(unit[None, None], size=size, mode="bilinear", antialias=True,
                             align_corners=False)[0, 0].clamp(0, 1)
    return unit.to(torch.float16)


def steps_per_epoch(n_images: int, batch_size: int) -> int:
    """Steps of one epoch (the last incomplete batch dropped).

    Parameters
    ----------
    n_images : int
        Images of the run.
    batch_size : int
        Images per step.

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    InvalidParameterError
        When there are fewer images than one batch (or fewer than 2 in a batch).
    """
    if batch_size < 2:
        raise InvalidParameterError(f"the batch size must be >= 2 (the losses compare the "
                                    f"images of a batch), got {batch_size}")
    if n_images < batch_size:
        raise InvalidParameterError(f"only {n_images} images for a batch of {batch_size}: lower "
                                    "--batch-size (or add images)")
    return n_images // batch_size


def batch_indices(n_images: int, batch_size: int, seed: int, epoch: int, index: int) -> np.ndarray:
    """Image indices of one batch (see the module docstring): a function of (seed, epoch, index)
    only, so a resumed run sees the same batches.

    Parameters
    ----------
    n_images : int
        Images of the run.
    batch_size : int
        Images per step.
    seed : int
        The run's seed.
    epoch : int
        Epoch, from 0.
    index : int
        Step within the epoch, from 0.

    Returns
    -------
    ndarray of int, shape (batch_size,)
        Indices into the run's images.
    """
    order = np.random.default_rng([seed, epoch]).permutation(n_images)
    return order[index * batch_size:(index + 1) * batch_size]
