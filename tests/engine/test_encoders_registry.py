"""The encoder registry: built-ins, plug-ins through the ``nanomorph.encoders`` entry points
(loaded lazily, broken ones skipped with a warning), and saved encoder files."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import warnings

import pytest
import torch

from nanomorph.encoders import (
    ENTRY_POINT_GROUP,
    EncoderSpec,
    PreprocessSpec,
    get_encoder_spec,
    list_encoders,
    load_encoder_from_path,
    save_encoder,
)
from nanomorph.encoders import registry
from nanomorph.errors import InvalidParameterError, NanomorphError

PLUGIN_SPEC = EncoderSpec(name="plugin-encoder", description="from an entry point",
                          builder=lambda: None, embedding_dim=8, feature_channels=(8,),
                          preprocess=PreprocessSpec(), weights_id="test:1")


def plugin_factory() -> EncoderSpec:
    return dataclasses.replace(PLUGIN_SPEC, name="plugin-factory")


def not_a_spec() -> str:
    return "oops"


def _entry_point(name: str, target: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name=name, value=f"{__name__}:{target}",
                                         group=ENTRY_POINT_GROUP)


@pytest.fixture
def plugins(monkeypatch):
    """A fresh registry whose entry points are the given ones; returns the call counter."""
    calls = []

    def install(*entry_points):
        def fake_entry_points(**kwargs):
            calls.append(kwargs)
            return list(entry_points) if kwargs.get("group") == ENTRY_POINT_GROUP else []

        monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
        monkeypatch.setattr(registry, "_REGISTRY",
                            registry.EncoderRegistry(registry._builtin_specs()))
        return calls

    return install


def test_default_encoder_is_efficientnet_lite0_with_imagenet_weights():
    spec = get_encoder_spec()
    assert spec.name == "efficientnet-lite0" and spec.embedding_dim == 1280
    assert spec.weights_id == "imagenet:efficientnet-lite0-57934424"
    assert spec.key() == "efficientnet-lite0@imagenet:efficientnet-lite0-57934424"
    assert spec.feature_channels == (16, 24, 40, 112, 1280)
    assert spec.preprocess.mean == pytest.approx((0.498,) * 3, abs=1e-3)
    assert spec.preprocess.std == pytest.approx((0.502,) * 3, abs=1e-3)


def test_random_resnets_are_registered_but_not_offered():
    offered = [s.name for s in list_encoders()]
    every = [s.name for s in list_encoders(include_hidden=True)]
    assert "efficientnet-lite0" in offered and "resnet18-random" not in offered
    assert {"resnet18-random", "resnet50-random"} <= set(every)
    assert get_encoder_spec("resnet50-random").embedding_dim == 2048


def test_unknown_name_lists_the_registered_ones():
    with pytest.raises(InvalidParameterError, match="unknown encoder 'nope'.*efficientnet-lite0"):
        get_encoder_spec("nope")


def test_entry_points_load_lazily_as_specs_or_factories(plugins):
    calls = plugins(_entry_point("a", "PLUGIN_SPEC"), _entry_point("b", "plugin_factory"))
    assert calls == []  # nothing loaded before the registry is asked
    assert get_encoder_spec("plugin-encoder") is PLUGIN_SPEC
    assert get_encoder_spec("plugin-factory").weights_id == "test:1"
    assert [s.name for s in list_encoders()][-2:] == ["plugin-encoder", "plugin-factory"]
    assert len(calls) == 1  # loaded once


def test_broken_entry_points_warn_by_name_and_the_rest_load(plugins):
    plugins(_entry_point("missing", "no_such_attribute"),
            importlib.metadata.EntryPoint("gone", "no_such_module_xyz:spec", ENTRY_POINT_GROUP),
            _entry_point("wrong-type", "not_a_spec"),
            _entry_point("good", "PLUGIN_SPEC"),
            _entry_point("twice", "PLUGIN_SPEC"))
    with pytest.warns(RuntimeWarning) as caught:
        names = [s.name for s in list_encoders()]
    messages = " | ".join(str(w.message) for w in caught)
    for name in ("'missing'", "'gone'", "'wrong-type'", "'twice'"):
        assert name in messages
    assert "not an EncoderSpec" in messages and "already taken" in messages
    assert names == ["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2",
                     "plugin-encoder"]


def test_entry_points_failing_altogether_leave_the_builtins(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("metadata damaged")

    monkeypatch.setattr(importlib.metadata, "entry_points", broken)
    monkeypatch.setattr(registry, "_REGISTRY", registry.EncoderRegistry(registry._builtin_specs()))
    with pytest.warns(RuntimeWarning, match="metadata damaged"):
        assert get_encoder_spec().name == "efficientnet-lite0"


def test_register_encoder_refuses_a_taken_name_unless_replacing(plugins):
    plugins()
    spec = dataclasses.replace(PLUGIN_SPEC, name="mine")
    registry.register_encoder(spec)
    with pytest.raises(InvalidParameterError, match="already registered"):
        registry.register_encoder(spec)
    registry.register_encoder(dataclasses.replace(spec, weights_id="test:2"), replace=True)
    assert get_encoder_spec("mine").weights_id == "test:2"


def test_specs_are_hashable_and_accepted_as_they_are():
    assert get_encoder_spec(PLUGIN_SPEC) is PLUGIN_SPEC
    assert len({PLUGIN_SPEC, dataclasses.replace(PLUGIN_SPEC)}) == 1


# ---------------------------------------------------------------------------- saved encoders
@pytest.fixture
def trained_resnet():
    spec = get_encoder_spec("resnet18-random")
    module = spec.builder()
    with torch.no_grad():
        module.layer4[1].conv2.weight.mul_(0.5)  # stands for pretraining
    preprocess = dataclasses.replace(spec.preprocess, mode="tiles", tiles_per_side=3)
    spec = dataclasses.replace(spec, name="resnet18-barlow", description="pretrained here",
                               preprocess=preprocess)
    return spec, module


def test_save_and_load_round_trip_by_file_and_by_run_folder(tmp_path, trained_resnet):
    spec, module = trained_resnet
    saved = save_encoder(tmp_path / "encoder.pt", spec, module)
    for path in (tmp_path / "encoder.pt", tmp_path, str(tmp_path)):
        loaded = get_encoder_spec(path)
        assert (loaded.name, loaded.description) == ("resnet18-barlow", "pretrained here")
        assert loaded.weights_id == saved.weights_id and loaded.weights_id.startswith("sha256:")
        assert loaded.weights_id != "random:seed=0"
        assert loaded.preprocess == spec.preprocess and loaded.preprocess.tiles_per_side == 3
        assert loaded.embedding_dim == 512 and loaded.feature_channels == spec.feature_channels
    rebuilt = load_encoder_from_path(tmp_path).builder().eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        assert torch.equal(rebuilt.embed(x), module.eval().embed(x))
    assert all(torch.equal(v, module.state_dict()[k]) for k, v in rebuilt.state_dict().items())


def test_the_weights_id_follows_the_weights(tmp_path, trained_resnet):
    spec, module = trained_resnet
    first = save_encoder(tmp_path / "a.pt", spec, module)
    again = save_encoder(tmp_path / "b.pt", spec, module)
    with torch.no_grad():
        module.fc.bias.add_(1.0)
    changed = save_encoder(tmp_path / "c.pt", spec, module)
    assert first.weights_id == again.weights_id != changed.weights_id


def test_paths_without_an_encoder_are_refused_clearly(tmp_path, trained_resnet):
    with pytest.raises(NanomorphError, match="no saved encoder in this folder"):
        get_encoder_spec(tmp_path)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(NanomorphError, match="cannot read the weights file"):
        get_encoder_spec(garbage)
    plain = tmp_path / "plain.pt"
    torch.save({"conv1.weight": torch.zeros(1)}, plain)
    with pytest.raises(NanomorphError, match="not a nanomorph encoder file"):
        get_encoder_spec(plain)
    spec, module = trained_resnet
    newer = tmp_path / "newer.pt"
    save_encoder(newer, spec, module)
    payload = torch.load(newer, weights_only=True)
    torch.save({**payload, "format_version": 99}, newer)
    with pytest.raises(NanomorphError, match="newer nanomorph"):
        get_encoder_spec(newer)


def test_mismatched_weights_fail_when_built(tmp_path, trained_resnet):
    spec, module = trained_resnet
    path = tmp_path / "encoder.pt"
    save_encoder(path, spec, module)
    payload = torch.load(path, weights_only=True)
    payload["spec"]["architecture"] = "resnet50"
    torch.save(payload, path)
    with pytest.raises(NanomorphError, match="do not fit the resnet50 network"):
        get_encoder_spec(path).builder()


def test_networks_nanomorph_cannot_rebuild_are_not_saved(tmp_path):
    with pytest.raises(NanomorphError, match="cannot be saved"):
        save_encoder(tmp_path / "x.pt", PLUGIN_SPEC, torch.nn.Linear(2, 2))
    assert not list(tmp_path.iterdir())


def test_loading_runs_no_code_from_the_file(tmp_path):
    class Evil:
        def __reduce__(self):
            return (warnings.warn, ("code ran",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "nanomorph-encoder", "spec": Evil()}, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NanomorphError, match="cannot read the weights file"):
            get_encoder_spec(path)
