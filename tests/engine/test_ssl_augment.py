"""The two-view augmentation: shapes, ranges, the crops' area, and determinism for a seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nanomorph.errors import InvalidParameterError
from nanomorph.ssl.augment import Augmentation, gaussian_blur, random_resized_crop, step_generator
from nanomorph.ssl.data import batch_indices, steps_per_epoch


def _images() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return [torch.rand(shape, generator=generator).to(torch.float16)
            for shape in ((64, 64), (50, 90), (200, 120), (17, 300))]


def test_views_have_the_size_channels_and_range_asked_for():
    first, second = Augmentation(size_px=48).views(_images(), step_generator(0, 0, 0))
    for view in (first, second):
        assert view.shape == (4, 3, 48, 48) and view.dtype == torch.float32
        assert 0.0 <= view.min() and view.max() <= 1.0
        assert torch.equal(view[:, 0], view[:, 1]) and torch.equal(view[:, 0], view[:, 2])
    assert not torch.equal(first, second)  # two different views of each image


def test_views_are_a_function_of_the_seed_keys():
    augmentation = Augmentation(size_px=32)
    a = augmentation.views(_images(), step_generator(7, 2, 3))
    b = augmentation.views(_images(), step_generator(7, 2, 3))
    c = augmentation.views(_images(), step_generator(7, 2, 4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_crops_cover_the_asked_fraction_of_the_image():
    # a ramp whose values are the column index: the crop's value range gives its width
    columns = torch.arange(400, dtype=torch.float32).repeat(400, 1) / 400
    generator = torch.Generator().manual_seed(0)
    widths = []
    for _ in range(200):
        crop = random_resized_crop(columns, 64, (0.25, 0.5), (3 / 4, 4 / 3), generator)
        widths.append(float(crop.max() - crop.min()) * 400)
    widths = np.asarray(widths)
    # width² / ratio = area: with area in [0.25, 0.5] of 400² and ratio in [3/4, 4/3],
    # width lies in [sqrt(0.25·0.75)·400, sqrt(0.5·4/3)·400] = [173, 327] px (±2 px resampling)
    assert widths.min() > 170 and widths.max() < 330
    assert widths.std() > 20  # really random


def test_gaussian_blur_keeps_a_flat_image_and_the_mean():
    flat = torch.full((1, 32, 32), 0.3)
    assert torch.allclose(gaussian_blur(flat, 1.5), flat, atol=1e-6)
    noise = torch.rand((1, 32, 32), generator=torch.Generator().manual_seed(0))
    blurred = gaussian_blur(noise, 2.0)
    assert blurred.shape == noise.shape
    assert blurred.std() < 0.5 * noise.std()
    assert blurred.mean() == pytest.approx(noise.mean().item(), abs=0.01)


def test_batches_are_a_permutation_per_epoch():
    assert steps_per_epoch(10, 4) == 2  # the incomplete batch is dropped
    first_epoch = np.concatenate([batch_indices(10, 4, 0, 0, i) for i in range(2)])
    assert len(set(first_epoch.tolist())) == 8
    assert np.array_equal(batch_indices(10, 4, 0, 1, 0), batch_indices(10, 4, 0, 1, 0))
    assert not np.array_equal(batch_indices(10, 4, 0, 0, 0), batch_indices(10, 4, 0, 1, 0))


def test_bad_parameters_are_refused():
    with pytest.raises(InvalidParameterError, match="16 px"):
        Augmentation(size_px=8)
    with pytest.raises(InvalidParameterError, match="crop scale"):
        Augmentation(crop_scale=(0.6, 0.5))
    with pytest.raises(InvalidParameterError, match="only 3 images for a batch of 8: lower "
                                                    "--batch-size"):
        steps_per_epoch(3, 8)
