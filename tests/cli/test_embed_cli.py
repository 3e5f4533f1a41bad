"""`nanomorph embed`: the npz contract, failed images, the cache, encoders by name or path, and
exit codes."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import pytest

from nanomorph.cli import main
from nanomorph.encoders import get_encoder_spec, save_encoder

NPZ_KEYS = {"embeddings", "paths", "sha256", "encoder", "weights_id", "preprocess"}


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(5)
    paths = []
    for i, shape in enumerate([(60, 80), (120, 90), (64, 64)]):
        path = tmp_path / f"image{i}.png"
        iio.imwrite(path, (rng.random(shape) * 255).astype(np.uint8))
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def saved_resnet(tmp_path_factory):
    spec = get_encoder_spec("resnet18-random")
    folder = tmp_path_factory.mktemp("run")
    save_encoder(folder / "encoder.pt", spec, spec.builder())
    return folder


def embed(capsys, *args):
    code = main(["embed", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_npz_holds_the_contract_keys_in_input_order(images, tmp_path, capsys):
    out = tmp_path / "emb.npz"
    code, stdout, err = embed(capsys, *images, "--out", out, "--device", "cpu")
    assert code == 0 and err == ""
    assert "3 embeddings of 1280 values (efficientnet-lite0, 0 from the cache), 0 failed" in stdout
    with np.load(out) as npz:
        assert set(npz.files) == NPZ_KEYS
        assert npz["embeddings"].shape == (3, 1280) and npz["embeddings"].dtype == np.float32
        assert npz["paths"].tolist() == images
        assert [len(s) for s in npz["sha256"].tolist()] == [64] * 3
        assert npz["encoder"].item() == "efficientnet-lite0"
        assert npz["weights_id"].item() == "imagenet:efficientnet-lite0-57934424"
        preprocess = json.loads(npz["preprocess"].item())
    assert preprocess["size_px"] == 224 and preprocess["mode"] == "center"
    assert preprocess["dihedral"] is True
    assert preprocess == get_encoder_spec().preprocess.as_json()


def test_failed_images_are_reported_and_the_rest_written(images, tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"nothing")
    out = tmp_path / "emb.npz"
    code, _, err = embed(capsys, images[0], broken, images[1], "--out", out, "--encoder",
                         "resnet18-random", "--batch-size", "2")
    assert code == 2
    assert err.startswith(f"error: {broken}: ") and len(err.splitlines()) == 1
    with np.load(out) as npz:
        assert npz["paths"].tolist() == images[:2] and npz["embeddings"].shape == (2, 512)


def test_every_image_failing_still_writes_an_empty_file(tmp_path, capsys):
    out = tmp_path / "emb.npz"
    code, _, err = embed(capsys, tmp_path / "missing.png", "--out", out)
    assert code == 2 and err == f"error: {tmp_path / 'missing.png'}: no such file\n"
    with np.load(out) as npz:
        assert npz["embeddings"].shape == (0, 1280) and npz["paths"].tolist() == []


def test_the_cache_makes_a_rerun_take_everything_stored(images, tmp_path, capsys):
    options = ["--cache", tmp_path / "cache", "--encoder", "resnet18-random"]
    assert embed(capsys, *images, "--out", tmp_path / "a.npz", *options)[0] == 0
    code, stdout, _ = embed(capsys, *images, "--out", tmp_path / "b.npz", *options)
    assert code == 0 and "(resnet18-random, 3 from the cache)" in stdout
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        np.testing.assert_array_equal(a["embeddings"], b["embeddings"])


def test_a_saved_encoder_by_its_run_folder(images, tmp_path, saved_resnet, capsys):
    out = tmp_path / "emb.npz"
    code, _, err = embed(capsys, *images, "--out", out, "--encoder", saved_resnet)
    assert code == 0, err
    with np.load(out) as npz:
        assert npz["encoder"].item() == "resnet18-random"
        assert npz["weights_id"].item().startswith("sha256:")
        assert npz["embeddings"].shape == (3, 512)


def test_an_unknown_encoder_is_a_bad_command_line_listing_the_names(images, tmp_path, capsys):
    code, _, err = embed(capsys, *images, "--out", tmp_path / "x.npz", "--encoder", "vgg99")
    assert code == 1 and not (tmp_path / "x.npz").exists()
    assert err.startswith("error: unknown encoder 'vgg99': choose one of efficientnet-lite0")


def test_a_folder_without_an_encoder_is_a_bad_command_line(images, tmp_path, capsys):
    code, _, err = embed(capsys, *images, "--out", tmp_path / "x.npz", "--encoder", tmp_path)
    assert code == 1 and "no saved encoder in this folder" in err


def test_cuda_on_a_machine_without_it_is_refused(images, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, _, err = embed(capsys, *images, "--out", tmp_path / "x.npz", "--device", "cuda")
    assert code == 1 and err == ("error: device 'cuda' was asked for but no CUDA GPU is "
                                 "available\n")


@pytest.mark.parametrize("args", [["--batch-size", "0"], ["--device", "tpu"], []])
def test_bad_arguments_exit_1(images, tmp_path, args, capsys):
    extra = [] if not args else ["--out", tmp_path / "x.npz"]
    assert embed(capsys, *images, *extra, *args)[0] == 1


def test_an_output_that_cannot_be_written_stops_before_embedding(images, tmp_path, capsys):
    code, _, err = embed(capsys, *images, "--out", tmp_path / "no" / "x.npz")
    assert code == 2 and err.endswith("its folder does not exist\n")
    code, _, err = embed(capsys, *images, "--out", tmp_path)
    assert code == 2 and "this is a folder" in err
