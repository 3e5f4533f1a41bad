"""Pretraining run folders, and their encoders in a project.

A run folder (``PROJECT/models/ssl/<run name>/`` inside a project, else any folder)::

    config.json        the run's configuration, resolved (image size, batch, …), and its images
    checkpoints/       step-000050.pt …: the two newest checkpoints (nanomorph.ssl.checkpoint)
    loss.csv           step,epoch,loss: one row per step, up to the newest checkpoint
    encoder.pt         the pretrained encoder (nanomorph.encoders.saved), written at the end

``--encoder RUN`` (the folder) or ``--encoder RUN/encoder.pt`` uses the encoder anywhere. In a
project a finished run is also a model of kind ``encoder`` named ``ssl:<run name>`` and, once
:func:`nanomorph.workflows.pretrain.register_project_encoders` ran, a registry name.
All files are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from nanomorph.errors import InvalidParameterError, NanomorphError

CONFIG_FILE = "config.json"
LOSS_FILE = "loss.csv"
CHECKPOINT_DIR = "checkpoints"
ENCODER_PREFIX = "ssl:"
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def encoder_name(run_name: str) -> str:
    """The registry name of a run's encoder.

    Parameters
    ----------
    run_name : str
        The run's name.

    Returns
    -------
    str
        ``ssl:<run name>``.
    """
    return f"{ENCODER_PREFIX}{run_name}"


def check_run_name(name: str) -> str:
    """Check that a name can name a run.

    Parameters
    ----------
    name : str
        Letters, digits, ``.``, ``_``, ``-``; 100 at most, starting with a letter or digit.

    Returns
    -------
    str
        ``name``.

    Raises
    ------
    InvalidParameterError
        For any other name.
    """
    if not _RUN_NAME.match(name):
        raise InvalidParameterError(f"{name!r} cannot name a run: use letters, digits, '.', '_' "
                                    "and '-' (no '/'), starting with a letter or digit")
    return name


def write_config(folder: Path, config: dict) -> None:
    """Write a run's ``config.json`` (atomically).

    Parameters
    ----------
    folder : Path
        The run folder.
    config : dict
        JSON-ready description.
    """
    from nanomorph.io.atomic import atomic_write_bytes

    atomic_write_bytes(folder / CONFIG_FILE, json.dumps(config, indent=1).encode())


def read_config(folder: Path) -> dict | None:
    """A run's ``config.json``.

    Parameters
    ----------
    folder : Path
        The run folder.

    Returns
    -------
    dict or None
        None when the folder holds none.

    Raises
    ------
    NanomorphError
        When it exists but cannot be read.
    """
    path = folder / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NanomorphError(f"the run's configuration cannot be read ({exc})", path) from None


def write_losses(folder: Path, losses: list[tuple[int, int, float]]) -> None:
    """Write a run's ``loss.csv`` atomically.

    Parameters
    ----------
    folder : Path
        The run folder.
    losses : list of (int, int, float)
        (step, epoch, loss), steps from 1.
    """
    from nanomorph.io.atomic import atomic_write_bytes

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(("step", "epoch", "loss"))
    writer.writerows((step, epoch, repr(loss)) for step, epoch, loss in losses)
    atomic_write_bytes(folder / LOSS_FILE, text.getvalue().encode())


def read_losses(folder: Path) -> list[tuple[int, int, float]]:
    """The rows of a run's ``loss.csv``.

    Parameters
    ----------
    folder : Path
        The run folder.

    Returns
    -------
    list of (int, int, float)
        (step, epoch, loss).
    """
    with open(folder / LOSS_FILE, newline="", encoding="utf-8") as file:
        return [(int(r["step"]), int(r["epoch"]), float(r["loss"])) for r in csv.DictReader(file)]
