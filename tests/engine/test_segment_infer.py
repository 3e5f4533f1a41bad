"""Tiled inference: tiles cover the image, the blend reproduces an untiled prediction, small
images, bounded memory on a large image, out-of-memory retries."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from nanomorph.errors import NanomorphError
from nanomorph.segment.classes import SegmentClasses
from nanomorph.segment.infer import (
    TileForward,
    blend_ramp,
    iter_probability_strips,
    predict_image,
    tile_starts,
)
from nanomorph.segment.model import build_network
from nanomorph.segment.segmenter import Segmenter
from tests.engine.test_segment_model import tiny_encoder_spec

REPO = Path(__file__).resolve().parents[2]
BINARY = SegmentClasses(("background", "nanowire"), ((0,), (255,)))


def tiny_segmenter(tile_px: int = 512, overlap_px: int = 64) -> Segmenter:
    """An untrained segmenter on the tiny test encoder: fast, and enough to test the plumbing."""
    spec = tiny_encoder_spec()
    torch.manual_seed(0)
    net = build_network(spec, 2, "cpu", widths=(4,) * 5).eval()
    return Segmenter(net=net, device="cpu", classes=BINARY, encoder_name=spec.name,
                     encoder_weights_id=spec.weights_id, decoder_widths=(4,) * 5,
                     percentiles=(0.5, 99.5), tile_px=tile_px, overlap_px=overlap_px)


def pointwise(tiles: np.ndarray) -> np.ndarray:
    """A 'network' whose output at a pixel depends on that pixel only: two classes."""
    p = 0.5 + 0.5 * np.sin(7.0 * tiles)
    return np.concatenate([1 - p, p], axis=1).astype(np.float32)


@pytest.mark.parametrize("length,tile,overlap", [(1000, 256, 32), (257, 256, 32), (256, 256, 0),
                                                 (4000, 512, 64)])
def test_tiles_cover_the_axis_with_at_least_the_overlap(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0 and starts[-1] + tile == length
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:]))
    assert len(starts) == max(1, -(-(length - overlap) // (tile - overlap)))


def test_blend_ramp_rises_from_the_edges():
    ramp = blend_ramp(10, 3)
    assert ramp.tolist() == pytest.approx([0.25, 0.5, 0.75, 1, 1, 1, 1, 0.75, 0.5, 0.25])
    assert blend_ramp(5, 0).tolist() == [1.0] * 5


@pytest.mark.parametrize("shape", [(300, 457), (64, 1000), (1000, 70)])
def test_blended_tiles_equal_the_untiled_result(shape):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 4000, shape).astype(np.uint16)
    window = (100.0, 3900.0)
    strips = list(iter_probability_strips(pointwise, image, window, 2, tile_px=128,
                                          overlap_px=32, batch_size=3))
    assert [y0 for y0, _ in strips] == sorted({y0 for y0, _ in strips})
    tiled = np.concatenate([s for _, s in strips], axis=1)
    unit = np.clip((image.astype(np.float32) - 100) / 3800, 0, 1)
    assert tiled.shape == (2, *shape)
    np.testing.assert_allclose(tiled, pointwise(unit[None, None])[0], atol=1e-5)


def test_tiled_network_prediction_matches_one_big_tile_in_the_interior():
    """The real network sees less context near tile edges; blending keeps the interior close."""
    segmenter = tiny_segmenter(tile_px=128, overlap_px=32)
    image = np.random.default_rng(2).normal(100, 20, (384, 384)).astype(np.float32)
    image[150:230] -= 60
    forward = TileForward(segmenter.net, "cpu", 4)
    window = (0.0, 200.0)
    tiled = np.concatenate([s for _, s in iter_probability_strips(
        forward, image, window, 2, tile_px=128, overlap_px=32)], axis=1)
    whole = np.concatenate([s for _, s in iter_probability_strips(
        forward, image, window, 2, tile_px=384, overlap_px=32)], axis=1)
    interior = (slice(None), slice(32, -32), slice(32, -32))
    assert np.abs(tiled - whole)[interior].mean() < 0.02


@pytest.mark.parametrize("shape", [(40, 50), (1, 1), (7, 300)])
def test_an_image_smaller_than_a_tile_is_padded_and_cropped_back(shape):
    segmenter = tiny_segmenter()
    image = np.random.default_rng(3).integers(0, 255, shape).astype(np.uint8)
    prediction = predict_image(segmenter, image)
    assert prediction.labels.shape == shape and prediction.labels.dtype == np.uint8
    assert prediction.probabilities.shape == (1, *shape)
    assert prediction.probabilities.dtype == np.uint8


def test_prediction_labels_are_the_argmax_of_the_blended_probabilities():
    segmenter = tiny_segmenter(tile_px=128, overlap_px=32)
    image = np.random.default_rng(4).integers(0, 255, (200, 300)).astype(np.uint8)
    prediction = segmenter.predict(image, databar_rows=0)
    p = prediction.probabilities[0].astype(int)
    decided = np.abs(p - 127.5) > 1  # away from the rounding tie
    assert np.array_equal((p > 127)[decided], (prediction.labels == 1)[decided])
    assert segmenter.predict(image, probabilities=False).probabilities is None


def test_info_bar_rows_are_background():
    segmenter = tiny_segmenter()
    image = np.random.default_rng(5).integers(0, 255, (120, 90)).astype(np.uint8)
    segmenter.net.decoder.head.bias.data = torch.tensor([-50.0, 50.0])  # all nanowire
    prediction = segmenter.predict(image, databar_rows=20)
    assert (prediction.labels[:100] == 1).all() and (prediction.labels[100:] == 0).all()
    assert (prediction.probabilities[0, 100:] == 0).all()


class _RefusesBigBatches(torch.nn.Module):
    """Raises torch's out-of-memory error for batches above ``limit`` tiles."""

    def __init__(self, net, limit: int):
        super().__init__()
        self.net, self.limit, self.calls = net, limit, []

    def forward(self, x):
        self.calls.append(len(x))
        if len(x) > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.net(x)


def test_out_of_memory_halves_the_batch_and_gives_the_same_result():
    segmenter = tiny_segmenter()
    tiles = np.random.default_rng(6).random((6, 1, 64, 64), dtype=np.float32)
    expected = TileForward(segmenter.net, "cpu", 6)(tiles)
    refusing = _RefusesBigBatches(segmenter.net, limit=2)
    forward = TileForward(refusing, "cpu", 8)
    np.testing.assert_allclose(forward(tiles), expected, atol=1e-5)
    assert forward.batch_size == 2 and refusing.calls[:3] == [6, 4, 2]
    with pytest.raises(NanomorphError, match="not enough memory on cpu for one 64 × 64 tile"):
        TileForward(_RefusesBigBatches(segmenter.net, limit=0), "cpu", 4)(tiles)


def test_other_errors_are_not_taken_for_out_of_memory():
    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        TileForward(Broken(), "cpu", 4)(np.zeros((2, 1, 32, 32), np.float32))


_MEMORY_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from tests.engine.test_segment_infer import tiny_segmenter

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    side = int(sys.argv[1])
    segmenter = tiny_segmenter()
    segmenter.predict(np.zeros((1024, 1024), np.uint8))  # warm-up: the tiles' peak
    image = np.random.default_rng(0).integers(0, 255, (side, side), dtype=np.uint8)
    before = status("VmRSS:")
    prediction = segmenter.predict(image)
    print(json.dumps({"before": before, "peak": status("VmHWM:"),
                      "labels": prediction.labels.shape[0]}))
""")


def peak_memory(side: int) -> dict:
    """Peak resident memory (VmHWM) of a fresh process that segments a side² uint8 image."""
    done = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(side)], check=True,
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.slow
def test_memory_grows_with_the_outputs_only():
    """3000² uint8 (9 MP): the image, labels and one probability map are 27 MB, accumulators
    12 MB; the peak may grow by at most 0.09 × 2 GB (the 10,000² bound scaled by area)."""
    result = peak_memory(3000)
    assert result["labels"] == 3000
    growth = result["peak"] - result["before"]
    assert growth < 0.09 * 2 * 1024 ** 3, f"peak grew by {growth / 2 ** 20:.0f} MiB"
    assert result["peak"] < 2 * 1024 ** 3


def test_dihedral_tta_averages_views_turned_back_into_place():
    segmenter = tiny_segmenter(tile_px=128, overlap_px=32)
    net = segmenter.net
    tiles = np.random.default_rng(5).random((2, 1, 64, 96)).astype(np.float32)
    averaged = TileForward(net, "cpu", 4, dihedral=True)(tiles)
    plain = TileForward(net, "cpu", 4)
    views = []
    for flip in (False, True):
        flipped = tiles[..., ::-1] if flip else tiles
        for turns in range(4):
            p = plain(np.ascontiguousarray(np.rot90(flipped, turns, axes=(-2, -1))))
            p = np.rot90(p, -turns, axes=(-2, -1))
            views.append(p[..., ::-1] if flip else p)
    assert averaged.shape == (2, 2, 64, 96)
    assert np.allclose(averaged, np.mean(views, axis=0), atol=1e-5)
    assert not np.allclose(averaged, plain(tiles), atol=1e-3)  # the views do differ
    image = (tiles[0, 0] * 255).astype(np.uint8)
    with_tta = predict_image(segmenter, image, tta=True, databar_rows=0)
    assert with_tta.labels.shape == image.shape
