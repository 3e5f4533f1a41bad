"""Training: it learns synthetic wires, is reproducible, reports progress, keeps the best
checkpoint when cancelled, and survives running out of memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nanomorph.errors import InvalidParameterError, JobCancelled, NanomorphError
from nanomorph.jobs import CancelToken, run_job
from nanomorph.masks.overlap import dice
from nanomorph.segment.pairs import prepare_pairs
from nanomorph.segment.train import TrainConfig, _Stepper, train_segmenter
from nanomorph.synthetic import generate_morphology
from tests.engine.test_segment_model import TINY, tiny_encoder_spec

FAST = dict(encoder=TINY, decoder_widths=(4,) * 5, patch_px=64, batch_size=2,
            steps_per_epoch=3, tile_px=128, overlap_px=16, threads=2)


def synthetic(seed: int):
    """A 256² TEM image of wires about 5 px wide, with its exact mask."""
    return generate_morphology("dispersed", shape=(256, 256), pixel_size_nm=2.5,
                               contrast="tem", seed=seed)


@pytest.fixture(scope="module")
def tiny_pairs():
    tiny_encoder_spec()
    images = [synthetic(s) for s in (1, 2)]
    return prepare_pairs([s.image for s in images], [s.mask for s in images])


def losses(events) -> list[float]:
    """Each batch's loss (from the messages, 3 decimals) and each epoch's mean loss."""
    return [float(e.message.rsplit("loss ", 1)[1]) if e.payload is None
            else e.payload["train_loss"] for e in events]


def test_learns_synthetic_wires_and_segments_a_held_out_image():
    """Lite0 frozen, 2 training images, 5 epochs of 20 batches: Dice > 0.8 on a third."""
    train = [synthetic(s) for s in (11, 12)]
    pairs, classes = prepare_pairs([s.image for s in train], [s.mask for s in train])
    config = TrainConfig(epochs=5, steps_per_epoch=20, patch_px=128, batch_size=8,
                         patience=5, threads=2, seed=0)
    segmenter = run_job(train_segmenter(pairs, classes, config))
    held_out = synthetic(13)
    prediction = segmenter.predict(held_out.image)
    score = dice(prediction.labels == classes.nanowire, held_out.mask)
    assert score > 0.8, f"Dice {score:.3f}"
    assert segmenter.history[-1]["train_loss"] < segmenter.history[0]["train_loss"]


def test_the_same_seed_gives_the_same_losses(tiny_pairs):
    pairs, classes = tiny_pairs
    runs = [losses(list(train_segmenter(pairs, classes, TrainConfig(epochs=2, seed=seed,
                                                                    **FAST))))
            for seed in (7, 7, 8)]
    assert len(runs[0]) == 8
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_the_same_seed_gives_the_same_model_whether_or_not_the_encoder_was_loaded(tiny_pairs):
    """Building an ImageNet encoder draws random initial weights (then overwritten): that must
    not shift the decoder's seeded initialisation (it did when an earlier job, e.g. computing
    embeddings, had not yet loaded the encoder)."""
    from nanomorph.embedding import clear_model_cache

    pairs, classes = tiny_pairs
    config = TrainConfig(epochs=1, seed=3, **{**FAST, "encoder": "efficientnet-lite0"})
    clear_model_cache()
    fresh = losses(list(train_segmenter(pairs, classes, config)))
    cached = losses(list(train_segmenter(pairs, classes, config)))
    assert fresh == cached


def test_progress_per_batch_and_a_payload_per_epoch(tiny_pairs):
    pairs, classes = tiny_pairs
    events = []
    segmenter = run_job(train_segmenter(pairs, classes, TrainConfig(epochs=3, **FAST)),
                        events.append)
    batches = [e for e in events if e.payload is None]
    epochs = [e.payload for e in events if e.payload is not None]
    assert [e.done for e in batches] == list(range(1, 10)) and batches[0].total == 9
    assert [list(p) for p in epochs] == [["epoch", "train_loss", "val_loss", "val_dice",
                                          "seconds"]] * 3
    assert [p["epoch"] for p in epochs] == [1, 2, 3]
    assert all(0 <= p["val_dice"] <= 1 and p["val_loss"] > 0 for p in epochs)
    assert segmenter.history == epochs
    best = max(epochs, key=lambda p: p["val_dice"])
    assert segmenter.best_epoch == best["epoch"] and segmenter.stop_reason == "epochs"
    assert not segmenter.net.training


def test_threads_are_set_for_the_run_and_restored(tiny_pairs):
    pairs, classes = tiny_pairs
    before = torch.get_num_threads()
    seen = []
    job = train_segmenter(pairs, classes, TrainConfig(epochs=1, **{**FAST, "threads": 1}))
    for _ in job:
        seen.append(torch.get_num_threads())
    assert set(seen) == {1} and torch.get_num_threads() == before


def test_cancel_mid_epoch_returns_the_best_checkpoint(tiny_pairs):
    pairs, classes = tiny_pairs
    token = CancelToken()
    snapshots = {}

    def remember(segmenter):
        snapshots[len(segmenter.history)] = {
            k: v.clone() for k, v in segmenter.net.decoder.state_dict().items()}

    def progressed(event):
        if event.payload is None and event.done == 7:  # first batch of epoch 3
            token.cancel()

    segmenter = run_job(train_segmenter(pairs, classes, TrainConfig(epochs=10, patience=10,
                                                                    **FAST),
                                        cancel=token, on_epoch=remember), progressed)
    assert segmenter.stop_reason == "cancelled"
    assert len(segmenter.history) == 2  # epoch 3 was lost, no more
    best = max(segmenter.history, key=lambda h: h["val_dice"])["epoch"]
    assert segmenter.best_epoch == best
    for name, value in segmenter.net.decoder.state_dict().items():
        assert torch.equal(value, snapshots[best][name]), name


def test_cancel_before_the_first_epoch_ends_raises(tiny_pairs):
    pairs, classes = tiny_pairs
    token = CancelToken()
    job = train_segmenter(pairs, classes, TrainConfig(epochs=2, **FAST), cancel=token)
    next(job)
    token.cancel()
    with pytest.raises(JobCancelled):
        for _ in job:
            pass


def test_early_stopping_and_time_limit(tiny_pairs):
    pairs, classes = tiny_pairs
    patient = run_job(train_segmenter(pairs, classes, TrainConfig(
        epochs=30, patience=1, learning_rate=1e-9, **FAST)))
    assert patient.stop_reason == "early stopping" and len(patient.history) < 30
    limited = run_job(train_segmenter(pairs, classes, TrainConfig(
        epochs=30, time_limit_s=1e-3, **FAST)))
    assert limited.stop_reason == "time limit" and len(limited.history) == 1


def test_without_validation_the_last_epoch_is_kept(tiny_pairs):
    pairs, classes = tiny_pairs
    segmenter = run_job(train_segmenter(pairs, classes, TrainConfig(
        epochs=2, val_fraction=0, **FAST)))
    assert segmenter.best_epoch == 2
    assert [h["val_dice"] for h in segmenter.history] == [None, None]


def test_whole_pairs_can_be_held_out(tiny_pairs):
    pairs, classes = tiny_pairs
    segmenter = run_job(train_segmenter(pairs, classes, TrainConfig(
        epochs=1, val_pairs=(1,), **FAST)))
    assert segmenter.history[0]["val_dice"] is not None
    with pytest.raises(InvalidParameterError, match="at least one pair for training"):
        run_job(train_segmenter(pairs, classes, TrainConfig(epochs=1, val_pairs=(0, 1),
                                                            **FAST)))


def test_out_of_memory_halves_the_batch(tiny_pairs, monkeypatch):
    pairs, classes = tiny_pairs
    original, sizes = _Stepper._step, []

    def step(self, images, labels):
        sizes.append(len(images))
        if len(images) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB")
        return original(self, images, labels)

    monkeypatch.setattr(_Stepper, "_step", step)
    config = TrainConfig(epochs=1, **{**FAST, "batch_size": 8})
    segmenter = run_job(train_segmenter(pairs, classes, config))
    assert sizes[:3] == [8, 4, 2] and set(sizes[3:]) == {2}
    assert len(segmenter.history) == 1

    monkeypatch.setattr(_Stepper, "_step", lambda *a: (_ for _ in ()).throw(
        torch.OutOfMemoryError("out of memory")))
    with pytest.raises(NanomorphError, match="not enough memory on cpu to train on one"):
        run_job(train_segmenter(pairs, classes, config))


def test_two_classes_train_and_predict(tiny_pairs):
    image = synthetic(3)
    mask = np.where(image.mask > 0, 127, 0).astype(np.uint8)
    mask[:20] = 255  # a second labelled class
    pairs, classes = prepare_pairs([image.image], [mask])
    assert len(classes) == 3
    segmenter = run_job(train_segmenter(pairs, classes, TrainConfig(epochs=1, **FAST)))
    prediction = segmenter.predict(image.image)
    assert prediction.probabilities.shape == (2, 256, 256)
    assert set(np.unique(classes.mask_values(prediction.labels))) <= {0, 127, 255}
