"""The segmentation network: shapes for any input size, frozen and unfrozen encoder stages, and a
tiny registry encoder that the other segmentation tests share for speed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nanomorph.encoders import PreprocessSpec, get_encoder_spec, register_encoder
from nanomorph.encoders.spec import EncoderSpec
from nanomorph.errors import InvalidParameterError
from nanomorph.segment.model import UNetDecoder, build_network, stage_parameter_names

TINY = "tiny-test-encoder"


class TinyEncoder(nn.Module):
    """Five stride-2 convolutions of 4 channels: maps at strides 2 … 32, like a real encoder."""

    def __init__(self):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.stages = nn.ModuleList(nn.Conv2d(3 if i == 0 else 4, 4, 3, 2, padding=1)
                                        for i in range(5))

    def forward_features(self, x):
        features = []
        for conv in self.stages:
            x = torch.relu(conv(x))
            features.append(x)
        return features

    def embed(self, x):
        return self.forward_features(x)[-1].mean(dim=(2, 3))


def tiny_encoder_spec() -> EncoderSpec:
    """Register (once per process) and return the tiny test encoder."""
    spec = EncoderSpec(name=TINY, description="test", builder=TinyEncoder, embedding_dim=4,
                       feature_channels=(4,) * 5, preprocess=PreprocessSpec(),
                       weights_id="test:tiny-1", offered=False)
    register_encoder(spec, replace=True)
    return get_encoder_spec(TINY)


@pytest.mark.parametrize("shape", [(97, 131), (32, 32), (1, 5), (256, 200)])
def test_logits_have_the_input_size_for_odd_sizes(shape):
    spec = get_encoder_spec("efficientnet-lite0")
    net = build_network(spec, 3, "cpu").eval()
    with torch.inference_mode():
        logits = net(torch.rand(2, 1, *shape))
    assert logits.shape == (2, 3, *shape)
    assert torch.isfinite(logits).all()


def test_decoder_reads_every_stage_and_checks_widths():
    decoder = UNetDecoder((16, 24, 40, 112, 1280), 2)
    features = [torch.rand(1, c, 64 // 2 ** i, 64 // 2 ** i) for i, c in
                enumerate((16, 24, 40, 112, 1280))]
    assert decoder(features, (128, 128)).shape == (1, 2, 128, 128)
    with pytest.raises(InvalidParameterError, match="one width per encoder stage"):
        UNetDecoder((16, 24), 2, widths=(8, 8, 8))


def test_frozen_encoder_is_the_shared_cached_network_and_gets_no_gradient():
    spec = get_encoder_spec("efficientnet-lite0")
    net = build_network(spec, 2, "cpu")
    assert not net.trained_encoder_parameters
    assert not any(p.requires_grad for p in net.encoder.parameters())
    net.train()
    assert not net.encoder.training  # batch-norm statistics stay as loaded
    net(torch.rand(2, 1, 64, 64)).sum().backward()
    assert all(p.grad is None for p in net.encoder.parameters())
    assert all(p.grad is not None for p in net.decoder.parameters())


def test_stages_partition_the_parameters_of_lite0():
    spec = get_encoder_spec("efficientnet-lite0")
    encoder = spec.builder()
    stages = stage_parameter_names(encoder)
    assert len(stages) == 5
    everything = {n for n, _ in encoder.named_parameters()}
    assert set().union(*stages) == everything - {"_fc.weight", "_fc.bias"}  # the head is unused
    assert sum(len(s) for s in stages) == len(set().union(*stages))  # disjoint
    assert "_conv_stem.weight" in stages[0] and "_conv_head.weight" in stages[4]
    assert "_blocks.15._project_conv.weight" in stages[4]
    assert "_blocks.10._project_conv.weight" in stages[3]
    assert all(p.requires_grad for p in encoder.parameters())  # flags restored


def test_unfreezing_trains_only_the_last_stages_on_a_private_copy():
    spec = get_encoder_spec("efficientnet-lite0")
    net = build_network(spec, 2, "cpu", unfreeze_stages=1)
    shared = build_network(spec, 2, "cpu").encoder
    assert net.encoder is not shared
    trained = net.trained_encoder_parameters
    assert "_conv_head.weight" in trained and "_blocks.4._project_conv.weight" not in trained
    net.train()
    net(torch.rand(1, 1, 64, 64)).sum().backward()
    grads = {n for n, p in net.encoder.named_parameters() if p.grad is not None}
    assert grads == trained
    assert not any(p.requires_grad for p in shared.parameters())
    with pytest.raises(InvalidParameterError, match="unfreeze_stages"):
        build_network(spec, 2, "cpu", unfreeze_stages=6)


def test_any_registry_encoder_with_forward_features_works():
    net = build_network(tiny_encoder_spec(), 4, "cpu").eval()
    with torch.inference_mode():
        out = net(torch.rand(3, 1, 45, 70))
    assert out.shape == (3, 4, 45, 70)
    assert np.isfinite(out.numpy()).all()
