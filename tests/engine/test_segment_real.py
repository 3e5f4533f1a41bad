"""The segmenter on a real HRTEM frame (../shared/data/nanowire_tem_seg; skipped when absent):
one mask and 60 training steps (about 15 s on 2 cores) beat every classical auto-mask on a
held-out frame of the same run. The full measurement (1-8 masks, other runs, TiO2) is tests/benchmarks/test_bench_segment.py.
"""

from __future__ import annotations

import pytest

from nanomorph.jobs import run_job
from nanomorph.masks import METHODS, auto_mask, params_for
from nanomorph.io.mask_files import foreground_mask
from nanomorph.masks.overlap import dice
from nanomorph.segment.evaluate import score_labels
from nanomorph.segment.pairs import prepare_pairs, read_pair
from nanomorph.segment.train import TrainConfig, train_segmenter

pytestmark = pytest.mark.slow

TRAIN, TEST = "0000045", "0000057"  # horizontal-wire run, 12 source frames apart


def best_classical_dice(image, mask) -> float:
    """The best default classical method (dark wires) against the wire class (127)."""
    truth = foreground_mask(mask, "127")
    return max(dice(auto_mask(image, params_for(m, polarity="dark")), truth) for m in METHODS)


def test_one_mask_and_60_steps_beat_the_classical_masks(shared_data):
    folder = shared_data / "nanowire_tem_seg"
    image, mask, bar, _ = read_pair(folder / "images" / f"{TRAIN}.png",
                                    folder / "masks" / f"{TRAIN}.png")
    pairs, classes = prepare_pairs([image], [mask], foreground="127", databar_rows=[bar])
    config = TrainConfig(epochs=6, steps_per_epoch=10, threads=2, seed=0)
    segmenter = run_job(train_segmenter(pairs, classes, config))
    test_image, test_mask, _, _ = read_pair(folder / "images" / f"{TEST}.png",
                                            folder / "masks" / f"{TEST}.png")
    labels = segmenter.predict(test_image, probabilities=False).labels
    learned = score_labels(segmenter, labels, test_mask, "127")["dice"]
    classical = best_classical_dice(test_image, test_mask)
    assert classical < 0.75
    assert learned > classical + 0.15, f"Dice {learned:.3f} vs classical {classical:.3f}"
