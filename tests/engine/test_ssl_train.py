"""Pretraining runs: a tiny run that learns, its files, its record and encoder in a project,
bit-exact resume after a cancel or a damaged checkpoint, and bad input.

One tiny run (32 images of 64² or so, mixed sizes, dtypes and formats, plus an unreadable
file; batch 16, 64-px views, 2 epochs = 4 steps) is shared by the module's tests.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from nanomorph.encoders import get_encoder_spec
from nanomorph.encoders import registry
from nanomorph.errors import InvalidParameterError, JobCancelled, NanomorphError
from nanomorph.jobs import CancelToken, run_job
from nanomorph.project.store import Project
from nanomorph.ssl import PretrainConfig, pretrain
from nanomorph.workflows.pretrain import ProjectRunLog, register_project_encoders
from nanomorph.ssl.checkpoint import checkpoint_steps
from nanomorph.ssl.runs import CHECKPOINT_DIR, read_losses

# Barlow Twins with a small projector at a high rate: its loss falls within two epochs for
# every seed tried (0-5: first-epoch mean 5.6-9.6, second 1.1-4.0)
TINY = PretrainConfig(method="barlow", backbone="lite0", epochs=2, batch_size=16,
                      image_size_px=64, projector_dims=(64, 16), learning_rate=1e-2,
                      checkpoint_every=1, seed=0)
SHAPES = ((64, 64), (56, 72), (72, 60))
# One torch thread: on a busy 2-core machine two threads contending with other processes made a
# step up to 10 times slower; a resumed run must use the thread count of the uninterrupted one.
THREADS = 1


def write_micrographs(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` small wire-like micrographs: sizes from ``SHAPES``, uint8 / uint16 / float32,
    TIFF and PNG, bright or dark wires on noise."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        rows, cols = SHAPES[i % len(SHAPES)]
        yy, xx = np.mgrid[:rows, :cols]
        image = rng.normal(0, 0.1, (rows, cols))
        for _ in range(rng.integers(1, 10)):
            angle, centre = rng.uniform(0, np.pi), rng.uniform(0, cols)
            distance = np.abs((xx - centre) * np.sin(angle) - (yy - rows / 2) * np.cos(angle))
            image += np.exp(-distance ** 2 / rng.uniform(1, 6))
        image = image if i % 4 else -image
        kind = i % 3
        if kind == 0:
            path = folder / f"img{i:02d}.tif"
            tifffile.imwrite(path, image.astype(np.float32))
        elif kind == 1:
            path = folder / f"img{i:02d}.png"
            iio.imwrite(path, np.clip(40000 + 8000 * image, 0, 65535).astype(np.uint16))
        else:
            path = folder / f"img{i:02d}.tif"
            tifffile.imwrite(path, np.clip(100 + 50 * image, 0, 255).astype(np.uint8))
        paths.append(path)
    return paths


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch):
    """Registrations of these tests stay in these tests."""
    monkeypatch.setattr(registry, "_REGISTRY", registry.EncoderRegistry(registry._builtin_specs()))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(project, result, events, images): the tiny run, inside a project, uninterrupted."""
    folder = tmp_path_factory.mktemp("ssl")
    images = write_micrographs(folder / "images", 32)
    broken = folder / "images" / "broken.tif"
    broken.write_bytes(b"not a tiff")
    project = Project.create(folder / "project")
    run_job(project.images.add(images))
    events = []
    job = pretrain([*images, broken], project.folder / "models" / "ssl" / "tiny", TINY,
                   log=ProjectRunLog(project), threads=THREADS)
    with pytest.MonkeyPatch.context() as patch:  # the module's registrations stay here
        patch.setattr(registry, "_REGISTRY",
                      registry.EncoderRegistry(registry._builtin_specs()))
        result = run_job(job, events.append)
    yield project, result, events, images
    project.close()


def _steps(result) -> list[float]:
    return [loss for _step, _epoch, loss in result.losses]


def test_tiny_run_learns(tiny):
    _, result, _, _ = tiny
    assert [step for step, _, _ in result.losses] == [1, 2, 3, 4]
    (first_epoch, first), (last_epoch, last) = result.epoch_losses()
    assert (first_epoch, last_epoch) == (1, 2)
    assert last < 0.8 * first
    assert result.device == "cpu" and result.config.init == "imagenet"


def test_progress_events_carry_the_loss_per_step_and_epoch(tiny):
    _, result, events, _ = tiny
    payloads = [e.payload for e in events if isinstance(e.payload, dict) and "loss" in e.payload]
    assert [p["step"] for p in payloads] == [1, 2, 3, 4]
    assert [p["epoch"] for p in payloads] == [1, 1, 2, 2]
    assert [p["loss"] for p in payloads] == _steps(result)
    assert [p.get("epoch_loss") for p in payloads][1::2] == \
        pytest.approx([loss for _, loss in result.epoch_losses()])
    assert all(e.total == 4 for e in events if e.payload)


def test_unreadable_images_are_skipped_with_their_reason(tiny):
    _, result, _, _ = tiny
    assert len(result.skipped) == 1
    path, reason = result.skipped[0]
    assert path.endswith("broken.tif") and reason


def test_run_folder_holds_config_checkpoints_losses_and_encoder(tiny):
    _, result, _, images = tiny
    folder = result.folder
    config = json.loads((folder / "config.json").read_text())
    assert config["run"] == "tiny" and config["config"]["image_size_px"] == 64
    assert config["images"] == [str(p) for p in images]  # the broken file is not listed
    assert checkpoint_steps(folder / CHECKPOINT_DIR) == [3, 4]  # the two newest
    assert read_losses(folder) == [(s, e, pytest.approx(v)) for s, e, v in result.losses]
    assert result.encoder_path == folder / "encoder.pt"


def test_the_encoder_embeds_by_path_and_by_registry_name_with_its_own_cache_key(tiny, tmp_path):
    from nanomorph.embedding import EmbeddingCache, embed_images

    project, result, _, images = tiny
    first, again = register_project_encoders(project), register_project_encoders(project)
    assert [s.key() for s in first] == [s.key() for s in again] == [result.encoder.key()]
    by_name = get_encoder_spec("ssl:tiny")
    by_folder = get_encoder_spec(result.folder)
    assert by_name.weights_id == by_folder.weights_id == result.encoder.weights_id
    assert by_name.embedding_dim == 1280 and by_name.architecture == "efficientnet-lite0"
    imagenet = get_encoder_spec("efficientnet-lite0")
    assert by_name.key() != imagenet.key()
    with EmbeddingCache(tmp_path) as cache:
        ssl = run_job(embed_images(images[:4], encoder="ssl:tiny", cache=cache))
        base = run_job(embed_images(images[:4], encoder=imagenet, cache=cache))
        assert cache.count(by_name.key()) == 4 and cache.count(imagenet.key()) == 4
    assert ssl.embeddings.shape == (4, 1280) and np.isfinite(ssl.embeddings).all()
    assert not np.allclose(ssl.embeddings, base.embeddings)


def test_the_project_records_the_run_and_the_model(tiny):
    project, result, _, _ = tiny
    run = project.runs.list("pretrain")[0]
    assert run["status"] == "done" and run["config"]["run"] == "tiny"
    assert run["result"]["encoder"] == "models/ssl/tiny/encoder.pt"
    assert run["result"]["final_checkpoint"] == "models/ssl/tiny/checkpoints/step-000004.pt"
    assert [epoch for epoch, _ in run["result"]["loss_curve"]] == [1, 2]
    assert run["result"]["device"] == "cpu" and run["result"]["duration_s"] > 0
    model = project.models.list("encoder")[0]
    assert model["name"] == "ssl:tiny" and model["file"] == "ssl/tiny/encoder.pt"


def _copy_run(result, target: Path) -> Path:
    shutil.copytree(result.folder, target)
    (target / "encoder.pt").unlink()
    return target


def test_resume_after_a_damaged_checkpoint_continues_bit_exactly(tiny, tmp_path):
    _, result, _, _ = tiny
    folder = _copy_run(result, tmp_path / "tiny")
    newest = folder / CHECKPOINT_DIR / "step-000004.pt"
    newest.write_bytes(newest.read_bytes()[:1000])  # a copy cut short
    events = []
    resumed = run_job(pretrain(None, folder, resume=True, threads=THREADS), events.append)
    assert resumed.resumed_from_step == 3
    assert any("step-000004.pt is damaged" in n for n in resumed.notes)
    assert any("damaged" in e.message for e in events)
    assert (folder / CHECKPOINT_DIR / "step-000004.pt.corrupt").is_file()
    assert _steps(resumed) == _steps(result)  # step 4 recomputed: the same loss, bit for bit
    assert resumed.encoder.weights_id == result.encoder.weights_id


def test_no_readable_checkpoint_is_a_clear_error_that_keeps_the_files(tiny, tmp_path):
    _, result, _, _ = tiny
    folder = _copy_run(result, tmp_path / "tiny")
    for path in (folder / CHECKPOINT_DIR).iterdir():
        path.write_bytes(b"garbage")
    before = sorted(p.name for p in (folder / CHECKPOINT_DIR).iterdir())
    with pytest.raises(NanomorphError, match="no checkpoint of this run can be read"):
        run_job(pretrain(None, folder, resume=True))
    assert sorted(p.name for p in (folder / CHECKPOINT_DIR).iterdir()) == before


def test_a_cancelled_run_keeps_its_checkpoint_and_resumes_bit_exactly(tiny):
    project, result, _, images = tiny
    folder = project.folder / "models" / "ssl" / "tiny-cancelled"
    token = CancelToken()

    def cancel_after_step_2(event):
        if isinstance(event.payload, dict) and event.payload.get("step") == 2:
            token.cancel()

    with pytest.raises(JobCancelled):
        run_job(pretrain(images, folder, TINY, log=ProjectRunLog(project), cancel=token,
                         threads=THREADS), cancel_after_step_2)
    run = project.runs.list("pretrain")[-1]
    assert run["status"] == "cancelled" and run["result"]["steps"] == 2
    assert checkpoint_steps(folder / CHECKPOINT_DIR)[-1] == 2
    assert not (folder / "encoder.pt").exists()
    resumed = run_job(pretrain(None, folder, resume=True, log=ProjectRunLog(project),
                               threads=THREADS))
    assert resumed.resumed_from_step == 2
    assert _steps(resumed) == _steps(result)
    assert project.runs.list("pretrain")[-1]["status"] == "done"
    assert {s.name for s in register_project_encoders(project)} == {"ssl:tiny",
                                                                   "ssl:tiny-cancelled"}


def test_a_folder_holding_a_run_needs_resume_and_the_same_settings(tiny, tmp_path):
    _, result, _, images = tiny
    with pytest.raises(InvalidParameterError, match="already holds a pretraining run.*--resume"):
        run_job(pretrain(images, result.folder, TINY))
    with pytest.raises(InvalidParameterError, match="started with method='barlow'"):
        run_job(pretrain(None, result.folder, dataclasses.replace(TINY, method="simclr"),
                         resume=True))
    with pytest.raises(InvalidParameterError, match="no pretraining run to resume"):
        run_job(pretrain(None, tmp_path / "empty", resume=True))


def test_fewer_images_than_a_batch_is_a_clear_error(tiny, tmp_path):
    _, _, _, images = tiny
    with pytest.raises(InvalidParameterError,
                       match="only 3 images for a batch of 16: lower --batch-size"):
        run_job(pretrain(images[:3], tmp_path / "run", TINY))
    assert not (tmp_path / "run").exists()


def test_no_readable_image_and_imagenet_resnet_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"")
    with pytest.raises(NanomorphError, match="none of the 1 images could be read"):
        run_job(pretrain([bad], tmp_path / "run", TINY))
    with pytest.raises(InvalidParameterError, match="no ImageNet weights for resnet18"):
        run_job(pretrain([bad], tmp_path / "run",
                         dataclasses.replace(TINY, backbone="resnet18", init="imagenet")))
