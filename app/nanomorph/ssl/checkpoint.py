"""Checkpoints of a pretraining run: everything needed to continue it bit-exactly.

A checkpoint is one file ``<run>/checkpoints/step-NNNNNN.pt`` (``torch.save`` of a dict of
tensors and plain Python values, read back with ``weights_only=True``)::

    {"format": "nanomorph-ssl-checkpoint", "format_version": 1,
     "step": steps done, "elapsed_s": training seconds so far,
     "model": backbone + projector state dict, "optimizer", "scheduler", "scaler": state dicts,
     "rng": {"torch", "cuda", "numpy", "python"}: the global random states,
     "losses": [[step, epoch, loss], ...] so far}

Files are written atomically (temporary file, then rename); the two newest are kept. When the
newest cannot be read (a disk full, a copy cut short), :func:`load_latest` sets it aside as
``*.corrupt`` and takes the previous one, with a note; when none can be read it raises a
:class:`~nanomorph.errors.NanomorphError` and leaves every file where it is.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import torch

from nanomorph.errors import NanomorphError

FORMAT = "nanomorph-ssl-checkpoint"
FORMAT_VERSION = 1
KEEP = 2
_NAME = re.compile(r"^step-(\d+)\.pt$")


def checkpoint_path(folder: Path, step: int) -> Path:
    """The file of a step's checkpoint.

    Parameters
    ----------
    folder : Path
        The run's checkpoint folder.
    step : int
        Steps done.

    Returns
    -------
    Path
        ``<folder>/step-NNNNNN.pt``.
    """
    return folder / f"step-{step:06d}.pt"


def checkpoint_steps(folder: Path) -> list[int]:
    """Steps of the checkpoint files in a folder.

    Parameters
    ----------
    folder : Path
        The run's checkpoint folder.

    Returns
    -------
    list of int
        Oldest first (empty when there are none).
    """
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for m in map(_NAME.match, (p.name for p in folder.iterdir()))
                  if m)


def save_checkpoint(folder: Path, state: dict) -> Path:
    """Write a checkpoint and delete all but the ``KEEP`` newest.

    Parameters
    ----------
    folder : Path
        The run's checkpoint folder (created).
    state : dict
        Everything to resume, with its ``step``.

    Returns
    -------
    Path
        The file written.
    """
    from nanomorph.io.atomic import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **state}
    path = atomic_write(checkpoint_path(folder, state["step"]),
                        lambda f: torch.save(payload, f))
    for old in checkpoint_steps(folder)[:-KEEP]:
        checkpoint_path(folder, old).unlink(missing_ok=True)
    return path


def load_latest(folder: Path) -> tuple[dict | None, list[str]]:
    """The newest readable checkpoint of a run.

    Parameters
    ----------
    folder : Path
        The run's checkpoint folder.

    Returns
    -------
    state : dict or None
        None when there is none.
    notes : list of str
        On the damaged checkpoints set aside.

    Raises
    ------
    NanomorphError
        Checkpoints exist but none can be read.
    """
    damaged = []
    for step in reversed(checkpoint_steps(folder)):
        path = checkpoint_path(folder, step)
        try:
            payload = _read(path)
        except NanomorphError as exc:
            damaged.append((path, exc.reason))
            continue
        notes = []
        for bad, reason in damaged:
            bad.rename(bad.with_name(bad.name + ".corrupt"))
            notes.append(f"checkpoint {bad.name} is damaged ({reason}); it was renamed "
                         f"{bad.name}.corrupt and the run resumes from step {step}")
        return payload, notes
    if damaged:
        raise NanomorphError(f"no checkpoint of this run can be read ({damaged[0][0].name}: "
                             f"{damaged[0][1]}); the files were left as they are: start a new "
                             "run (another --out)", folder)
    return None, []


def _read(path: Path) -> dict:
    from nanomorph.encoders.weights import load_state_dict

    payload = load_state_dict(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise NanomorphError("not a nanomorph pretraining checkpoint", path)
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise NanomorphError("written by a newer nanomorph: update nanomorph", path)
    return payload


def rng_states() -> dict:
    """The global random states of torch (CPU and CUDA), numpy and Python.

    Returns
    -------
    dict
        Plain values (stored in checkpoints).
    """
    kind, keys, position, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [kind, keys.tolist(), int(position), int(has_gauss), float(cached)],
            "python": _as_lists(random.getstate())}


def set_rng_states(states: dict) -> None:
    """Restore the global random states.

    Parameters
    ----------
    states : dict
        From :func:`rng_states`.
    """
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    kind, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    random.setstate(_as_tuples(states["python"]))


def _as_lists(value):
    return [_as_lists(v) for v in value] if isinstance(value, tuple) else value


def _as_tuples(value):
    return tuple(_as_tuples(v) for v in value) if isinstance(value, list) else value
