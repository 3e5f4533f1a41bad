"""Training data of the segmenter: the validation band and reproducible augmented patches."""

from __future__ import annotations

import numpy as np

from nanomorph.segment.data import Augmentation, PatchSampler, split_validation
from nanomorph.segment.pairs import TrainingPair


def pair_with_wire_along_the_left_edge() -> TrainingPair:
    """A wire stub at the left edge; every other band is background only, and the bottom one's
    class proportions would be closest to the whole mask's if wire were not required."""
    labels = np.zeros((100, 100), np.uint8)
    labels[40:60, :15] = 1
    image = np.where(labels == 1, 40, 200).astype(np.uint8)
    return TrainingPair("left-wire", image, labels)


def test_the_validation_band_holds_the_wire_when_one_side_does():
    train, validation = split_validation([pair_with_wire_along_the_left_edge()], (0.5, 99.5),
                                         val_fraction=0.2)
    assert validation[0].name == "left-wire (left band)"
    assert validation[0].labels.shape == (100, 20) and validation[0].labels.sum() == 300
    assert train[0].labels.shape == (100, 80) and not train[0].labels.any()


def test_the_band_closest_to_the_whole_mask_wins_among_those_with_wire():
    labels = np.zeros((100, 100), np.uint8)
    labels[40:60, :] = 1  # a horizontal wire: left and right bands both cross it
    pair = TrainingPair("horizontal", np.where(labels == 1, 40, 200).astype(np.uint8), labels)
    _, validation = split_validation([pair], (0.5, 99.5), val_fraction=0.2)
    assert validation[0].name == "horizontal (right band)"
    assert validation[0].labels.mean() == labels.mean()


def test_patches_repeat_with_the_generator_state_and_keep_their_labels_aligned():
    pair = pair_with_wire_along_the_left_edge()
    regions, _ = split_validation([pair], (0.5, 99.5), val_fraction=0)

    def draw(seed):
        sampler = PatchSampler(regions, 32, Augmentation(), np.random.default_rng(seed))
        return sampler.batch(4)

    (x1, y1), (x2, y2) = draw(3), draw(3)
    assert x1.shape == (4, 1, 32, 32) and y1.shape == (4, 32, 32)
    assert np.array_equal(x1.numpy(), x2.numpy()) and np.array_equal(y1.numpy(), y2.numpy())
    assert not np.array_equal(x1.numpy(), draw(4)[0].numpy())
    # dark wire pixels stay under wire labels after scaling, rotation and gray-level jitter
    wire, background = x1[:, 0][y1 == 1], x1[:, 0][y1 == 0]
    assert wire.numel() and background.numel() and wire.mean() < background.mean() - 0.3
