"""The networks: EfficientNet-Lite0 with its ImageNet weights (the cat test), TensorFlow SAME
padding, feature maps for a UNet decoder, and the ResNets' torchvision layout."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nanomorph.encoders import get_encoder_spec
from nanomorph.encoders.efficientnet import Conv2dSame, same_padding
from nanomorph.encoders.weights import build_architecture, imagenet_weights_path, load_state_dict

TABBY, TIGER_CAT, EGYPTIAN_CAT = 281, 282, 285


@pytest.fixture(scope="module")
def lite0():
    return get_encoder_spec("efficientnet-lite0").builder().eval()


def test_imagenet_checkpoint_loads_strictly_with_the_lukemelas_names(lite0):
    checkpoint = load_state_dict(imagenet_weights_path())
    assert len(checkpoint) == 296
    assert list(lite0.state_dict()) == list(checkpoint)
    assert list(checkpoint)[0] == "_conv_stem.weight" and list(checkpoint)[-1] == "_fc.bias"
    for name in ("_blocks.1._expand_conv.weight", "_blocks.1._bn0.running_var",
                 "_blocks.15._project_conv.weight", "_conv_head.weight", "_bn1.weight"):
        assert torch.equal(lite0.state_dict()[name], checkpoint[name])
    assert sum(p.numel() for p in lite0.parameters()) == 4_652_008


@pytest.mark.parametrize("name,tensors,parameters", [("efficientnet-lite1", 386, 5_416_680),
                                                     ("efficientnet-lite2", 386, 6_092_072)])
def test_lite1_and_lite2_load_strictly_and_see_the_cat(name, tensors, parameters):
    from nanomorph.encoders.weights import IMAGENET_SHA256

    spec = get_encoder_spec(name)
    variant = name.rsplit("-", 1)[1]
    checkpoint = load_state_dict(imagenet_weights_path(variant))
    assert len(checkpoint) == tensors and spec.weights_id.endswith(IMAGENET_SHA256[variant][:8])
    model = spec.builder().eval()
    assert sum(p.numel() for p in model.parameters()) == parameters
    assert model.feature_channels == spec.feature_channels  # the registry's table is right
    with torch.inference_mode():
        shapes = [f.shape[1:] for f in model.forward_features(torch.zeros(1, 3, 64, 64))]
    assert shapes == [(c, 64 // s, 64 // s) for c, s in zip(spec.feature_channels,
                                                             (2, 4, 8, 16, 32))]
    assert {TABBY, TIGER_CAT, EGYPTIAN_CAT} <= set(top5(model, spec))


def test_batchnorm_and_activation_are_the_lite_ones(lite0):
    norms = [m for m in lite0.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(m.eps == 1e-3 and m.momentum == pytest.approx(0.01) for m in norms)
    assert not [m for m in lite0.modules() if isinstance(m, (torch.nn.SiLU, torch.nn.Sigmoid))]
    assert not [n for n, _ in lite0.named_modules() if "_se_" in n]  # no squeeze-excite
    assert lite0._conv_stem.out_channels == 32 and lite0._conv_head.out_channels == 1280


def test_the_cat_is_a_cat(lite0):
    """skimage's chelsea, preprocessed as TensorFlow's Lite models expect, must be a tabby,
    tiger cat or Egyptian cat: proof that the architecture and the weights agree."""
    top = top5(lite0, get_encoder_spec("efficientnet-lite0"))
    assert {TABBY, TIGER_CAT, EGYPTIAN_CAT} <= set(top)
    assert top[0] == EGYPTIAN_CAT


def top5(model, spec) -> list[int]:
    """The 5 likeliest ImageNet classes of skimage's chelsea, preprocessed as TensorFlow's Lite
    models expect at the spec's input size."""
    from PIL import Image
    from skimage.data import chelsea

    size, pre = spec.preprocess.size_px, spec.preprocess
    rgb = np.asarray(Image.fromarray(chelsea()).resize((size, size), Image.Resampling.BILINEAR))
    x = (rgb / 255.0 - np.array(pre.mean)) / np.array(pre.std)
    batch = torch.from_numpy(x.astype(np.float32)).permute(2, 0, 1)[None]
    with torch.inference_mode():
        probabilities = model(batch).softmax(dim=1)[0]
    assert probabilities.max() > 0.5
    return probabilities.topk(5).indices.tolist()


@pytest.mark.parametrize("n", range(1, 20))
@pytest.mark.parametrize("kernel, stride", [(1, 1), (3, 1), (3, 2), (5, 1), (5, 2)])
def test_same_padding_gives_ceil_size_with_the_odd_pixel_last(n, kernel, stride):
    _, _, top, bottom = same_padding((n, 7), kernel, stride)
    out = (n + top + bottom - kernel) // stride + 1
    assert out == math.ceil(n / stride)
    assert bottom - top in (0, 1)


def test_same_padding_numbers_of_tensorflow():
    assert same_padding((224, 224), 3, 2) == (0, 1, 0, 1)
    assert same_padding((225, 225), 3, 2) == (1, 1, 1, 1)
    assert same_padding((7, 9), 5, 2) == (2, 2, 2, 2)
    assert same_padding((8, 8), 5, 2) == (1, 2, 1, 2)
    conv = Conv2dSame(2, 4, 5, stride=2)
    assert conv(torch.zeros(1, 2, 7, 9)).shape == (1, 4, 4, 5)


def test_lite0_feature_maps_at_strides_2_to_32_for_odd_sizes():
    net = build_architecture("efficientnet-lite0", seed=0).eval()
    with torch.inference_mode():
        features = net.forward_features(torch.randn(2, 3, 97, 130))
        embedding = net.embed(torch.randn(2, 3, 97, 130))
    assert [f.shape[1] for f in features] == [16, 24, 40, 112, 1280] == list(net.feature_channels)
    assert [tuple(f.shape[2:]) for f in features] == [
        (math.ceil(97 / s), math.ceil(130 / s)) for s in (2, 4, 8, 16, 32)]
    assert embedding.shape == (2, 1280)


def test_embed_is_the_mean_of_the_head_features(lite0):
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        head = lite0.forward_features(x)[-1]
        assert torch.allclose(lite0.embed(x), head.mean(dim=(2, 3)), atol=1e-6)
        assert head.min() >= 0 and head.max() <= 6  # ReLU6


@pytest.mark.parametrize("arch, dim, channels, params", [
    ("resnet18", 512, (64, 64, 128, 256, 512), 11_689_512),
    ("resnet50", 2048, (64, 256, 512, 1024, 2048), 25_557_032),
])
def test_resnets_have_the_torchvision_layout(arch, dim, channels, params):
    net = build_architecture(arch, seed=0).eval()
    names = set(net.state_dict())
    assert {"conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight",
            "layer2.0.downsample.0.weight", "layer4.1.bn2.weight", "fc.weight"} <= names
    assert sum(p.numel() for p in net.parameters()) == params  # torchvision's counts
    with torch.inference_mode():
        features = net.forward_features(torch.randn(1, 3, 64, 96))
        assert net.embed(torch.randn(3, 3, 64, 96)).shape == (3, dim)
    assert tuple(f.shape[1] for f in features) == channels == net.feature_channels
    assert [tuple(f.shape[2:]) for f in features] == [(64 // s, 96 // s) for s in (2, 4, 8, 16, 32)]


def test_seeded_initialisation_is_reproducible_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_architecture("resnet18", seed=0)
    after = torch.rand(1)
    b = build_architecture("resnet18", seed=0)
    assert torch.equal(before, after)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
