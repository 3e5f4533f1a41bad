"""Dice and IoU of bool masks (nanomorph.masks.overlap)."""

from __future__ import annotations

import numpy as np
import pytest

from nanomorph.errors import InvalidParameterError
from nanomorph.masks.overlap import dice, iou


def test_known_overlaps():
    a = np.array([[1, 1, 0, 0]], bool)
    b = np.array([[0, 1, 1, 0]], bool)
    assert dice(a, b) == pytest.approx(0.5)  # 2·1 / (2 + 2)
    assert iou(a, b) == pytest.approx(1 / 3)  # 1 / 3
    assert dice(a, a) == iou(a, a) == 1.0
    assert dice(a, ~a) == iou(a, ~a) == 0.0


def test_both_empty_is_a_perfect_match_and_one_empty_is_none():
    empty = np.zeros((3, 3), bool)
    assert dice(empty, empty) == iou(empty, empty) == 1.0
    assert dice(empty, ~empty) == iou(empty, ~empty) == 0.0


def test_dice_and_iou_agree_and_accept_label_arrays():
    rng = np.random.default_rng(0)
    a, b = rng.random((50, 50)) > 0.6, rng.random((50, 50)) > 0.5
    d, j = dice(a, b), iou(a, b)
    assert d == pytest.approx(2 * j / (1 + j))
    assert dice(a.astype(np.uint8) * 255, b) == pytest.approx(d)


def test_different_shapes_are_refused():
    with pytest.raises(InvalidParameterError, match="different shapes"):
        dice(np.zeros((2, 2)), np.zeros((2, 3)))
