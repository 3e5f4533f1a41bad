"""`nanomorph pretrain`: a run on a folder or in a project, what it prints, its encoder used by
`embed --encoder RUN`, Ctrl-C then --resume, and the exit codes of bad command lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from nanomorph.cli import main
from nanomorph.encoders import registry
from nanomorph.jobs import run_job
from nanomorph.project.store import Project
from tests.engine.test_ssl_train import write_micrographs

# SimCLR's projector (2048, 128) keeps checkpoints small; 32 images, batch 16, 64-px views:
# 2 steps per epoch
TINY = ["--method", "simclr", "--batch-size", "16", "--image-size", "64", "--device", "cpu"]


@pytest.fixture(autouse=True)
def one_thread_and_fresh_registry(monkeypatch):
    """One torch thread (much faster than two contending ones on a busy CI machine), and the
    registrations of these tests kept to them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setattr(registry, "_REGISTRY", registry.EncoderRegistry(registry._builtin_specs()))
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("micrographs")
    write_micrographs(folder, 32)
    return folder


def pretrain(capsys, *args):
    code = main(["pretrain", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_run_on_a_folder_prints_its_folder_and_its_encoder_works_in_embed(image_folder,
                                                                              tmp_path, capsys):
    (image_folder / "broken.tif").write_bytes(b"not an image")
    try:
        run = tmp_path / "run1"
        code, out, err = pretrain(capsys, "--images", image_folder, "--out", run,
                                  "--epochs", "1", *TINY)
    finally:
        (image_folder / "broken.tif").unlink()
    assert code == 2  # done, but one image could not be read
    assert f"error: {image_folder / 'broken.tif'}: " in err
    assert f"run folder: {run}" in out and f"--encoder {run}" in out
    assert {p.name for p in run.iterdir()} >= {"config.json", "loss.csv", "checkpoints",
                                               "encoder.pt"}
    npz = tmp_path / "emb.npz"
    assert main(["embed", str(image_folder / "img00.tif"), "--out", str(npz), "--encoder",
                 str(run)]) == 0
    with np.load(npz) as data:
        assert data["encoder"].item() == "ssl:run1" and data["embeddings"].shape == (1, 1280)


def test_in_a_project_a_bare_name_is_a_run_of_the_project(image_folder, tmp_path, capsys):
    project = Project.create(tmp_path / "project")
    run_job(project.images.add(sorted(image_folder.glob("img*"))))
    project.close()
    code, out, err = pretrain(capsys, "--images", tmp_path / "project", "--out", "first",
                              "--epochs", "1", "--json", *TINY)
    assert code == 0, err
    record = json.loads(out)
    folder = tmp_path / "project" / "models" / "ssl" / "first"
    assert record["folder"] == str(folder) and record["encoder_name"] == "ssl:first"
    assert record["steps"] == 2 and record["method"] == "simclr" and record["skipped"] == []
    assert record["image_size_px"] == 64 and record["device"] == "cpu"
    with Project.open(tmp_path / "project") as project:
        assert [r["status"] for r in project.runs.list("pretrain")] == ["done"]


def test_bad_command_lines_exit_1_with_one_clear_line(image_folder, tmp_path, capsys):
    few = tmp_path / "few"
    few.mkdir()
    for path in sorted(image_folder.glob("img*"))[:5]:
        (few / path.name).write_bytes(path.read_bytes())
    cases = [
        (["--images", few, "--out", tmp_path / "a", *TINY],
         "only 5 images for a batch of 16: lower --batch-size"),
        (["--images", few, "--out", tmp_path / "b", "--backbone", "resnet18", "--init",
          "imagenet"], "no ImageNet weights for resnet18"),
        (["--out", tmp_path / "c"], "--images"),
        (["--images", tmp_path / "nowhere", "--out", tmp_path / "d"],
         "not a folder of images or a nanomorph project"),
        (["--out", tmp_path / "e", "--resume"], "no pretraining run to resume"),
    ]
    for args, message in cases:
        code, out, err = pretrain(capsys, *args)
        assert code == 1 and message in err and err.startswith("error: "), (args, err)
        assert len(err.strip().splitlines()) == 1
    assert main(["pretrain", "--method", "byol", "--images", str(few), "--out", "x"]) == 1
    assert not (tmp_path / "a").exists()


@pytest.mark.slow
def test_ctrl_c_keeps_a_checkpoint_and_resume_finishes_the_run(image_folder, tmp_path):
    """A real Ctrl-C (SIGINT) to a real process, then ``--resume`` (about 10 s)."""
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [str(Path(sys.executable).parent / "nanomorph"), "pretrain", "--out", str(run)]
    process = subprocess.Popen(
        [*command, "--images", str(image_folder), "--epochs", "10", "--checkpoint-every", "1",
         *TINY], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "checkpoints" / "step-000001.pt").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "cancelled: the checkpoint of step" in err and f"--out {run} --resume" in err
    done = sorted(int(line.split(",")[0]) for line in
                  (run / "loss.csv").read_text().splitlines()[1:])
    assert 1 <= done[-1] < 20 and not (run / "encoder.pt").exists()
    finished = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True,
                              timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"run folder: {run}" in finished.stdout
    assert len((run / "loss.csv").read_text().splitlines()) == 1 + 20
    assert (run / "encoder.pt").is_file()
