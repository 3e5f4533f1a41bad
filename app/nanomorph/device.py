"""Compute-device selection for torch work: ``auto`` picks cuda, then mps, then cpu.

The preference comes, in order, from an explicit argument (CLI ``--device``, a setting in the
GUI), the environment variable ``NANOMORPH_DEVICE``, and finally ``auto``.
"""

from __future__ import annotations

import os

from nanomorph.errors import InvalidParameterError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
ENV_VAR = "NANOMORPH_DEVICE"


def requested_device(preference: str | None = None) -> str:
    """The device the user asked for, without importing torch.

    Parameters
    ----------
    preference : str, optional
        An explicit choice; ``None`` falls back to ``$NANOMORPH_DEVICE`` and then ``auto``.

    Returns
    -------
    str
        ``auto``, ``cpu``, ``cuda[:N]`` or ``mps`` (lower case).

    Raises
    ------
    InvalidParameterError
        For any other name.
    """
    choice = (preference or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if choice.split(":")[0] not in DEVICE_CHOICES:
        raise InvalidParameterError(
            f"unknown device {choice!r}: choose one of {', '.join(DEVICE_CHOICES)}"
            f" (from {'the argument' if preference else ENV_VAR})"
        )
    return choice


def select_device(preference: str | None = None) -> str:
    """Resolve a device preference to a torch device that exists on this machine.

    ``auto`` returns ``cuda`` when a CUDA GPU is usable, else ``mps`` on Apple silicon, else
    ``cpu``. An explicit ``cuda``/``mps`` that is not available is refused rather than silently
    run on the CPU.

    Parameters
    ----------
    preference : str, optional
        As :func:`requested_device`.

    Returns
    -------
    str
        A torch device string.

    Raises
    ------
    InvalidParameterError
        For an unknown name, or a device this machine does not have.
    """
    choice = requested_device(preference)
    import torch

    mps_ok = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if choice == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if mps_ok else "cpu"
    if choice.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidParameterError("device 'cuda' was asked for but no CUDA GPU is available")
    if choice == "mps" and not mps_ok:
        raise InvalidParameterError("device 'mps' was asked for but Apple MPS is not available")
    return choice


def describe_device(device: str) -> str:
    """A short human label for a resolved device.

    Parameters
    ----------
    device : str
        From :func:`select_device`.

    Returns
    -------
    str
        E.g. ``cuda (NVIDIA H100)`` or ``cpu (2 threads)``.
    """
    import torch

    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    if device == "cpu":
        threads = torch.get_num_threads()
        return f"cpu ({threads} thread{'s' * (threads != 1)})"
    return device

