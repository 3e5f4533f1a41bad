"""Packages whose public names live in submodules that load on first use, so that
``import nanomorph.<package>`` stays light (no torch, scikit-learn or scikit-image)."""

from __future__ import annotations

import importlib
from typing import Callable


def lazy_exports(package: str, names: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` that imports ``package.<names[name]>`` the first
    time ``name`` is asked for and returns its attribute ``name``.

    Use as ``__getattr__ = lazy_exports(__name__, _LAZY)`` in the package's ``__init__``.
    """

    def __getattr__(name: str):
        if name in names:
            return getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
