"""Pretraining run folders, and their encoders in a project.

A run folder (``PROJECT/models/ssl/<run name>/`` inside a project, else any folder)::

    config.json        the run's configuration, resolved (image size, batch, …), and its images
    checkpoints/       step-000050.pt …: the two newest checkpoints (nanomorph.ssl.checkpoint)
    loss.csv           step,epoch,loss: one row per step, up to the newest checkpoint
    encoder.pt         the pretrained encoder (nanomorph.encoders.saved), written at the end

``--encoder RUN`` (the folder) or ``--encoder RUN/encoder.pt`` uses the encoder anywhere. In a
project a finished run is also a model of kind ``encoder`` named ``ssl:<run name>`` and, once
:func:`register_project_encoders` ran (as the project's runs are listed), a registry name.
All files are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import warnings
from pathlib import Path

from nanomorph.errors import InvalidParameterError, NanomorphError

CONFIG_FILE = "config.json"
LOSS_FILE = "loss.csv"
CHECKPOINT_DIR = "checkpoints"
ENCODER_PREFIX = "ssl:"
RUN_KIND = "pretrain"
MODEL_KIND = "encoder"
PROJECT_RUNS_DIR = ("models", "ssl")
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def encoder_name(run_name: str) -> str:
    """The registry name of a run's encoder: ``ssl:<run name>``."""
    return f"{ENCODER_PREFIX}{run_name}"


def check_run_name(name: str) -> str:
    """``name`` when it can name a run (letters, digits, ``.``, ``_``, ``-``; 100 at most)."""
    if not _RUN_NAME.match(name):
        raise InvalidParameterError(f"{name!r} cannot name a run: use letters, digits, '.', '_' "
                                    "and '-' (no '/'), starting with a letter or digit")
    return name


def project_run_folder(project, run_name: str) -> Path:
    """``<project>/models/ssl/<run name>``, the folder of a project's run."""
    return project.folder.joinpath(*PROJECT_RUNS_DIR, check_run_name(run_name))


def write_config(folder: Path, config: dict) -> None:
    """Write ``config.json`` (atomically)."""
    from nanomorph.project.atomic import atomic_write_bytes

    atomic_write_bytes(folder / CONFIG_FILE, json.dumps(config, indent=1).encode())


def read_config(folder: Path) -> dict | None:
    """The run's ``config.json``, or None when the folder holds none."""
    path = folder / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NanomorphError(f"the run's configuration cannot be read ({exc})", path) from None


def write_losses(folder: Path, losses: list[tuple[int, int, float]]) -> None:
    """Write ``loss.csv`` (columns step, epoch, loss; steps from 1) atomically."""
    from nanomorph.project.atomic import atomic_write_bytes

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(("step", "epoch", "loss"))
    writer.writerows((step, epoch, repr(loss)) for step, epoch, loss in losses)
    atomic_write_bytes(folder / LOSS_FILE, text.getvalue().encode())


def read_losses(folder: Path) -> list[tuple[int, int, float]]:
    """The rows of ``loss.csv`` as (step, epoch, loss)."""
    with open(folder / LOSS_FILE, newline="", encoding="utf-8") as file:
        return [(int(r["step"]), int(r["epoch"]), float(r["loss"])) for r in csv.DictReader(file)]


def register_project_encoders(project) -> list:
    """Register the encoder of every finished pretraining run of ``project`` as
    ``ssl:<run name>`` in this process's registry (idempotent: a name registered again is
    replaced by the file's current encoder).

    Returns
    -------
    list of EncoderSpec
        The registered encoders; a run whose encoder file is gone or unreadable is skipped with
        a RuntimeWarning.
    """
    from nanomorph.encoders.registry import register_encoder
    from nanomorph.encoders.saved import load_encoder_from_path

    files = {}
    for run in project.runs(RUN_KIND):
        if run["status"] == "done" and run["result"] and run["result"].get("encoder"):
            files[run["config"]["run"]] = project.folder / run["result"]["encoder"]
    specs = []
    for name, path in files.items():
        try:
            spec = load_encoder_from_path(path)
        except (NanomorphError, OSError) as exc:
            warnings.warn(f"nanomorph: the encoder of pretraining run {name!r} was not "
                          f"registered: {exc}", RuntimeWarning, stacklevel=2)
            continue
        register_encoder(spec, replace=True)
        specs.append(spec)
    return specs


def record_finished(project, run_name: str, encoder_path: Path, config: dict) -> None:
    """Record a finished run's encoder as the project's model ``ssl:<run name>``."""
    relative = os.path.relpath(encoder_path, project.models_dir)
    project.register_model(MODEL_KIND, encoder_name(run_name), relative, config)
