"""Physical scale in segmentation: the working pixel size, resampling images, labels and
probabilities, training at the pairs' median pixel size, predicting calibrated images at the
model's, and the model file keeping it."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch

from nanomorph.errors import NanomorphError
from nanomorph.io import read_image
from nanomorph.jobs import run_job
from nanomorph.scalebar import image_pixel_size_nm
from nanomorph.segment.modelfile import load_segmenter, save_segmenter
from nanomorph.segment.pairs import at_pixel_size, prepare_pairs
from nanomorph.segment.scale import (
    SCALE_LIMITS,
    resample_factor,
    resample_image,
    resample_labels,
    resample_probabilities,
    scaled_shape,
    working_pixel_size,
)
from nanomorph.segment.train import TrainConfig, train_segmenter
from nanomorph.synthetic.samples import write_calibrated_tiff
from nanomorph.synthetic.scalebar import draw_scale_bar
from tests.engine.test_segment_infer import tiny_segmenter
from tests.engine.test_segment_modelfile import rewritten
from tests.engine.test_segment_train import FAST, synthetic


def test_the_working_pixel_size_is_the_median_when_every_image_is_calibrated():
    assert working_pixel_size([0.05, 0.054, 0.4]) == pytest.approx(0.054)
    assert working_pixel_size([0.05, None]) is None
    assert working_pixel_size([]) is None


@pytest.mark.parametrize("image_nm,working_nm,factor", [
    (None, 1.0, 1.0), (1.0, None, 1.0), (1.04, 1.0, 1.0), (0.96, 1.0, 1.0),
    (0.5, 1.0, 0.5), (0.2, 1.0, 0.2), (0.001, 1.0, SCALE_LIMITS[0]),
    (2.0, 1.0, 1.0), (100.0, 1.0, 1.0)])  # coarser images are never enlarged
def test_the_resampling_factor_shrinks_finer_images_only(image_nm, working_nm, factor):
    assert resample_factor(image_nm, working_nm) == pytest.approx(factor)


def test_images_are_resampled_linearly_and_smoothed_when_shrunk():
    flat = np.full((40, 60), 7, np.uint16)
    assert resample_image(flat, (80, 120)).shape == (80, 120)
    assert np.allclose(resample_image(flat, (13, 17)), 7.0)
    stripes = np.tile(np.array([0, 200], np.uint8), (64, 32))  # 1-px stripes along x
    shrunk = resample_image(stripes, (16, 16))
    assert shrunk.dtype == np.float32 and np.allclose(shrunk, 100.0, atol=15)  # no aliasing
    ramp = np.arange(100, dtype=np.float32)[None, :].repeat(4, 0)
    grown = resample_image(ramp, (8, 200))
    assert np.all(np.diff(grown[0]) >= 0) and grown[0, 0] < 1 and grown[0, -1] > 98
    assert scaled_shape((1024, 1000), 0.37) == (379, 370)
    assert scaled_shape((3, 3), 0.01) == (1, 1)


def test_labels_keep_their_values_and_follow_the_pixels():
    labels = np.zeros((10, 20), np.uint8)
    labels[:, 10:] = 2
    grown = resample_labels(labels, (30, 60))
    assert set(np.unique(grown)) == {0, 2} and (grown[:, :30] == 0).all()
    assert (grown[:, 30:] == 2).all()
    assert np.array_equal(resample_labels(grown, (10, 20)), labels)


def test_resampled_probabilities_give_the_argmax_with_ties_to_the_background():
    rng = np.random.default_rng(0)
    p = rng.dirichlet([1, 1, 1], size=(30, 40)).transpose(2, 0, 1)  # background, wire, droplet
    maps = np.rint(p[1:] * 255).astype(np.uint8)
    labels, same = resample_probabilities(maps, (30, 40))
    assert np.array_equal(same, maps)
    full = np.concatenate([255 - maps.astype(int).sum(0, keepdims=True), maps.astype(int)])
    decided = np.sort(full, axis=0)[-1] - np.sort(full, axis=0)[-2] > 0
    assert np.array_equal(labels[decided], full.argmax(0)[decided])
    tie = np.array([[[127]]], np.uint8)  # background 128 beats 127; 127.5 each is a tie
    assert resample_probabilities(tie, (2, 2))[0].tolist() == [[0, 0], [0, 0]]
    big, maps2 = resample_probabilities(maps, (90, 120))
    assert big.shape == (90, 120) and maps2.shape == (2, 90, 120)


def shapes_seen(segmenter) -> list:
    seen = []
    segmenter.net.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape))
    return seen


def test_a_calibrated_image_is_segmented_at_the_working_pixel_size():
    segmenter = tiny_segmenter()
    segmenter.pixel_size_nm = 1.0
    seen = shapes_seen(segmenter)
    image = np.random.default_rng(1).integers(0, 255, (100, 150)).astype(np.uint8)
    native = segmenter.predict(image, databar_rows=0)
    assert seen[-1][-2:] == (128, 160)  # the image rounded up to the stride
    finer = segmenter.predict(image, databar_rows=0, pixel_size_nm=0.5)
    assert seen[-1][-2:] == (64, 96)  # 50 × 75 rounded up
    assert finer.labels.shape == image.shape and finer.probabilities.shape == (1, 100, 150)
    assert not np.array_equal(finer.probabilities, native.probabilities)
    for same_size in (1.03, 2.0):  # about the working size, or coarser: at its own pixels
        same = segmenter.predict(image, databar_rows=0, pixel_size_nm=same_size)
        assert seen[-1][-2:] == (128, 160) and np.array_equal(same.labels, native.labels)
    segmenter.pixel_size_nm = None  # a model trained on uncalibrated pairs
    segmenter.predict(image, databar_rows=0, pixel_size_nm=0.5)
    assert seen[-1][-2:] == (128, 160)


def test_info_bar_rows_stay_background_when_resampling():
    segmenter = tiny_segmenter()
    segmenter.pixel_size_nm = 1.0
    segmenter.net.decoder.head.bias.data = torch.tensor([-50.0, 50.0])  # all nanowire
    image = np.random.default_rng(5).integers(0, 255, (120, 90)).astype(np.uint8)
    prediction = segmenter.predict(image, databar_rows=20, pixel_size_nm=0.5,
                                   probabilities=False)
    assert (prediction.labels[:100] == 1).all() and (prediction.labels[100:] == 0).all()
    assert prediction.probabilities is None


def test_pairs_are_trained_at_their_median_pixel_size():
    scenes = [synthetic(s) for s in (1, 2, 3)]
    pairs, classes = prepare_pairs([s.image for s in scenes], [s.mask for s in scenes],
                                   pixel_sizes=[2.5, 5.0, 2.0])
    resampled = at_pixel_size(pairs[2], 2.5)  # 2.0 nm/px: shrunk to 2.5
    assert resampled.image.shape == (205, 205) and resampled.labels.shape == (205, 205)
    assert resampled.pixel_size_nm == pytest.approx(2.5, rel=0.01)
    assert set(np.unique(resampled.labels)) == set(np.unique(pairs[2].labels))
    assert at_pixel_size(pairs[1], 2.5) is pairs[1]  # coarser: kept at its own pixels
    assert at_pixel_size(pairs[0], 2.5) is pairs[0] and at_pixel_size(pairs[0], None) is pairs[0]
    config = TrainConfig(epochs=1, seed=0, **FAST)
    assert run_job(train_segmenter(pairs, classes, config)).pixel_size_nm == pytest.approx(2.5)
    native = TrainConfig(epochs=1, seed=0, physical_scale=False, **FAST)
    assert run_job(train_segmenter(pairs, classes, native)).pixel_size_nm is None
    unknown, _ = prepare_pairs([s.image for s in scenes], [s.mask for s in scenes],
                               pixel_sizes=[2.5, None, 2.0])
    assert run_job(train_segmenter(unknown, classes, config)).pixel_size_nm is None


def test_the_model_file_keeps_the_working_pixel_size(tmp_path):
    segmenter = tiny_segmenter()
    segmenter.pixel_size_nm = 0.054
    path = tmp_path / "scaled.segmenter"
    save_segmenter(segmenter, path)
    assert load_segmenter(path, "cpu").pixel_size_nm == pytest.approx(0.054)
    older = rewritten(path, tmp_path, lambda p: p["preprocess"].pop("pixel_size_nm"))
    assert load_segmenter(older, "cpu").pixel_size_nm is None  # files from before it load
    bad = rewritten(path, tmp_path, lambda p: p["preprocess"].update(pixel_size_nm=-1.0))
    with pytest.raises(NanomorphError, match="working pixel size are out of range"):
        load_segmenter(bad, "cpu")


def test_an_image_gets_its_pixel_size_from_its_file_else_its_scale_bar(tmp_path):
    scene = synthetic(4)
    write_calibrated_tiff(tmp_path / "calibrated.tif", scene.image, 2.5)
    assert image_pixel_size_nm(read_image(tmp_path / "calibrated.tif")) == pytest.approx(2.5)
    barred, _ = draw_scale_bar(scene.image, 2.5, boxed=True)
    tifffile.imwrite(tmp_path / "barred.tif", barred)
    bar_size = image_pixel_size_nm(read_image(tmp_path / "barred.tif"))
    assert bar_size == pytest.approx(2.5, rel=0.03)
    tifffile.imwrite(tmp_path / "plain.tif", scene.image)
    assert image_pixel_size_nm(read_image(tmp_path / "plain.tif")) is None
