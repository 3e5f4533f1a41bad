"""Training pairs and classes: PAIRS.csv, the --foreground rules, and refused masks (wrong size,
unusable values, no foreground)."""

from __future__ import annotations

import numpy as np
import pytest

from nanomorph.errors import InvalidParameterError, NanomorphError
from nanomorph.io.mask_files import write_mask_png
from nanomorph.segment.classes import SegmentClasses, classes_from_masks
from nanomorph.segment.pairs import prepare_pairs, read_pair, read_pairs_csv

LABELLED = np.array([[0, 127, 255], [0, 127, 0]], np.uint8)


def test_two_valued_masks_give_background_and_nanowire():
    classes = classes_from_masks([np.array([[0, 255]], np.uint8), np.zeros((1, 2), np.uint8)])
    assert classes.names == ("background", "nanowire") and classes.values == ((0,), (255,))
    assert classes.is_binary and classes.nanowire == 1
    labels = classes.labels_of(np.array([[0, 255, 7]]))
    assert labels.tolist() == [[0, 1, 0]]  # a value of no class is background
    assert classes.mask_values(labels).tolist() == [[0, 255, 0]]


def test_multi_valued_masks_give_one_class_per_value():
    classes = classes_from_masks([LABELLED])
    assert classes.names == ("background", "value 127", "value 255")
    assert classes.values == ((0,), (127,), (255,)) and classes.nanowire == 1
    labels = classes.labels_of(LABELLED)
    assert labels.tolist() == [[0, 1, 2], [0, 1, 0]]
    assert np.array_equal(classes.mask_values(labels), LABELLED)
    assert classes_from_masks([LABELLED], nanowire_value=255).nanowire == 2
    with pytest.raises(InvalidParameterError, match="value 9"):
        classes_from_masks([LABELLED], nanowire_value=9)


def test_foreground_values_and_nonzero_give_two_classes():
    wire = classes_from_masks([LABELLED], "127")
    assert wire.values == ((0,), (127,))
    assert wire.labels_of(LABELLED).tolist() == [[0, 1, 0], [0, 1, 0]]  # droplet: background
    both = classes_from_masks([LABELLED], "nonzero")
    assert both.values == ((0,), (127, 255)) and both.is_binary
    with pytest.raises(InvalidParameterError, match="no pixel of the mask holds 99"):
        classes_from_masks([LABELLED], (99,))


def test_foreground_classes_for_scoring():
    multi = classes_from_masks([LABELLED])
    assert multi.foreground_classes((127,)) == (1,)
    assert multi.foreground_classes((127, 255)) == (1, 2)
    assert multi.foreground_classes("nonzero") == (1, 2)
    with pytest.raises(InvalidParameterError, match="no class for the mask values 3"):
        multi.foreground_classes((3,))
    binary = classes_from_masks([LABELLED], "127")
    assert binary.foreground_classes((255,)) == (1,)  # two classes: always the nanowire class
    assert SegmentClasses.from_json(multi.as_json()) == multi


def test_a_mask_of_another_size_is_refused_naming_both_shapes():
    with pytest.raises(InvalidParameterError) as info:
        prepare_pairs([np.zeros((64, 80))], [np.zeros((64, 81), np.uint8)], names=["m.png"])
    assert "64 × 81" in str(info.value) and "64 × 80" in str(info.value)
    assert info.value.path == "m.png"


def test_a_gray_image_given_as_mask_is_refused():
    gray = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) % 200
    with pytest.raises(InvalidParameterError, match="200 distinct values"):
        prepare_pairs([np.zeros((64, 64))], [gray])
    with pytest.raises(InvalidParameterError, match="negative"):
        prepare_pairs([np.zeros((2, 2))], [np.array([[0, -1], [1, 1]])])


def test_zero_masks_are_refused_unless_another_mask_has_foreground():
    empty = np.zeros((32, 32), np.uint8)
    with pytest.raises(InvalidParameterError, match="the mask has no foreground") as info:
        prepare_pairs([np.ones((32, 32))], [empty], names=["a.png"])
    assert info.value.path == "a.png"
    with pytest.raises(InvalidParameterError, match="in all 2 masks"):
        prepare_pairs([np.ones((32, 32))] * 2, [empty, empty])
    wire = empty.copy()
    wire[10:20] = 255
    pairs, classes = prepare_pairs([np.ones((32, 32))] * 2, [empty, wire])
    assert classes.is_binary and [p.labels.sum() for p in pairs] == [0, 320]


def test_info_bar_rows_are_cut_off_image_and_mask():
    image, mask = np.ones((40, 30)), np.full((40, 30), 255, np.uint8)
    pairs, _ = prepare_pairs([image], [mask], databar_rows=[8])
    assert pairs[0].image.shape == pairs[0].labels.shape == (32, 30)


def test_pairs_csv_resolves_relative_paths_and_checks_columns(tmp_path):
    (tmp_path / "sub").mkdir()
    csv = tmp_path / "sub" / "pairs.csv"
    csv.write_text("image,mask\na.png,masks/a.png\n\n/abs/b.tif,b_mask.png\n")
    assert read_pairs_csv(csv) == [(str(tmp_path / "sub" / "a.png"),
                                    str(tmp_path / "sub" / "masks" / "a.png")),
                                   ("/abs/b.tif", str(tmp_path / "sub" / "b_mask.png"))]
    csv.write_text("path,label\na.png,x\n")
    with pytest.raises(NanomorphError, match="image,mask"):
        read_pairs_csv(csv)
    csv.write_text("image,mask\na.png,\n")
    with pytest.raises(NanomorphError, match="line 2 needs both"):
        read_pairs_csv(csv)
    csv.write_text("image,mask\n")
    with pytest.raises(NanomorphError, match="lists no image"):
        read_pairs_csv(csv)


def test_read_pair_checks_the_mask_against_its_image(tmp_path):
    image, mask = tmp_path / "image.png", tmp_path / "mask.png"
    write_mask_png(image, np.arange(48 * 64, dtype=np.uint8).reshape(48, 64))
    write_mask_png(mask, np.zeros((48, 60), bool))
    with pytest.raises(InvalidParameterError, match="48 × 60 pixels but its image is 48 × 64"):
        read_pair(image, mask)
    write_mask_png(mask, np.ones((48, 64), bool))
    data, values, bar, _ = read_pair(image, mask)
    assert data.shape == values.shape == (48, 64) and bar == 0
    with pytest.raises(NanomorphError, match="no such file"):
        read_pair(tmp_path / "absent.png", mask)
