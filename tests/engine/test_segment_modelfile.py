"""Segmenter files: one file of plain values, the same predictions after a round trip, and clear
errors for files made for another encoder, other nanomorph files, damaged or newer files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nanomorph.encoders import get_encoder_spec, save_encoder
from nanomorph.errors import NanomorphError
from nanomorph.jobs import run_job
from nanomorph.segment.modelfile import load_segmenter, save_segmenter
from nanomorph.segment.pairs import prepare_pairs
from nanomorph.segment.train import TrainConfig, train_segmenter
from tests.engine.test_segment_infer import tiny_segmenter
from tests.engine.test_segment_model import tiny_encoder_spec
from tests.engine.test_segment_train import FAST, synthetic


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    segmenter = tiny_segmenter()
    segmenter.history = [{"epoch": 1, "train_loss": 0.5, "val_loss": 0.4, "val_dice": 0.7,
                          "seconds": 1.0}]
    segmenter.best_epoch, segmenter.stop_reason = 1, "epochs"
    path = tmp_path_factory.mktemp("model") / "wires.segmenter"
    save_segmenter(segmenter, path)
    return segmenter, path


def rewritten(path, tmp_path, change, checksum=True) -> str:
    """A copy of a segmenter file changed by ``change``, with its weights' checksum recomputed
    (as a crafted file would have it) unless ``checksum`` is False."""
    from nanomorph.segment.modelfile import _weights_digest

    payload = torch.load(path, weights_only=True)
    change(payload)
    if checksum and isinstance(payload.get("encoder"), dict) and "decoder" in payload:
        payload["weights_sha256"] = _weights_digest(payload["encoder"]["state_dict"],
                                                    payload["decoder"]["state_dict"])
    target = tmp_path / "changed.segmenter"
    torch.save(payload, target)
    return str(target)


def test_one_file_of_plain_values_gives_the_same_predictions(saved):
    segmenter, path = saved
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    payload = torch.load(path, weights_only=True)  # no pickled objects inside
    assert payload["format"] == "nanomorph-segmenter" and payload["encoder"]["state_dict"] == {}
    assert payload["classes"] == {"names": ["background", "nanowire"], "values": [[0], [255]],
                                  "nanowire": 1}
    assert {"nanomorph_version", "torch_version", "preprocess", "tiles", "training"} <= set(
        payload)
    loaded = load_segmenter(path, "cpu")
    assert loaded.classes == segmenter.classes and loaded.history == segmenter.history
    assert (loaded.tile_px, loaded.overlap_px, loaded.best_epoch) == (512, 64, 1)
    image = np.random.default_rng(0).integers(0, 255, (150, 170)).astype(np.uint8)
    before, after = segmenter.predict(image), loaded.predict(image)
    assert np.array_equal(before.labels, after.labels)
    assert np.array_equal(before.probabilities, after.probabilities)


def test_unfrozen_encoder_stages_travel_with_the_file(tmp_path):
    tiny_encoder_spec()
    image = synthetic(4)
    pairs, classes = prepare_pairs([image.image], [image.mask])
    config = TrainConfig(epochs=1, unfreeze_stages=2, **FAST)
    segmenter = run_job(train_segmenter(pairs, classes, config))
    path = tmp_path / "unfrozen.segmenter"
    save_segmenter(segmenter, path)
    stored = torch.load(path, weights_only=True)["encoder"]["state_dict"]
    assert set(stored) == set(segmenter.net.trained_encoder_parameters) != set()
    loaded = load_segmenter(path, "cpu")
    fresh = get_encoder_spec(segmenter.encoder_name).builder().state_dict()
    for name, value in loaded.net.encoder.state_dict().items():
        expected = stored.get(name, fresh[name])
        assert torch.equal(value, expected), name
    assert np.array_equal(loaded.predict(image.image).labels, segmenter.predict(image.image).labels)


def test_a_file_for_other_encoder_weights_is_refused(saved, tmp_path):
    _, path = saved

    def other_weights(payload):
        payload["encoder"]["weights_id"] = "sha256:0123456789abcdef"

    with pytest.raises(NanomorphError, match="made for another encoder") as info:
        load_segmenter(rewritten(path, tmp_path, other_weights))
    assert "sha256:0123456789abcdef" in str(info.value)

    def other_encoder(payload):
        payload["encoder"]["name"] = "efficientnet-lite0"
        payload["encoder"]["weights_id"] = get_encoder_spec("efficientnet-lite0").weights_id

    with pytest.raises(NanomorphError, match=r"features of \(4, 4, 4, 4, 4\) channels"):
        load_segmenter(rewritten(path, tmp_path, other_encoder))

    def unknown(payload):
        payload["encoder"]["name"] = "no-such-encoder"

    with pytest.raises(NanomorphError, match="'no-such-encoder', which is not available"):
        load_segmenter(rewritten(path, tmp_path, unknown))


def test_other_files_are_refused_with_the_reason(saved, tmp_path):
    _, path = saved
    spec = get_encoder_spec("resnet18-random")
    encoder_file = tmp_path / "encoder.pt"
    save_encoder(encoder_file, spec, spec.builder())
    with pytest.raises(NanomorphError, match="holds an image encoder .*, not a segmenter"):
        load_segmenter(encoder_file)
    damaged = tmp_path / "damaged.segmenter"
    damaged.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(NanomorphError, match="cannot read"):
        load_segmenter(damaged)
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(3)}, plain)
    with pytest.raises(NanomorphError, match="not a nanomorph segmenter file"):
        load_segmenter(plain)

    def newer(payload):
        payload["format_version"] = 99

    with pytest.raises(NanomorphError, match="newer nanomorph"):
        load_segmenter(rewritten(path, tmp_path, newer))

    def incomplete(payload):
        del payload["tiles"]

    with pytest.raises(NanomorphError, match="incomplete or damaged"):
        load_segmenter(rewritten(path, tmp_path, incomplete))

    def wrong_shapes(payload):
        payload["decoder"]["state_dict"]["head.weight"] = torch.zeros(5, 4, 1, 1)

    with pytest.raises(NanomorphError, match="do not fit"):
        load_segmenter(rewritten(path, tmp_path, wrong_shapes))

    def nan_weights(payload):
        payload["decoder"]["state_dict"]["head.weight"] *= float("nan")

    with pytest.raises(NanomorphError, match="not finite numbers"):
        load_segmenter(rewritten(path, tmp_path, nan_weights))
    with pytest.raises(NanomorphError, match="do not match their checksum"):
        load_segmenter(rewritten(path, tmp_path, nan_weights, checksum=False))

    def huge_decoder(payload):
        payload["decoder"]["widths"] = [10**9] * 5

    with pytest.raises(NanomorphError, match="decoder widths are out of range"):
        load_segmenter(rewritten(path, tmp_path, huge_decoder))
