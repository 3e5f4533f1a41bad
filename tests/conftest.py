"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The GUI tests run on PySide6, the binding the project installs (PyQt6, also installed for the
# smoke run of tests/plugin/test_qt_binding.py, would be qtpy's first choice). Set before any
# test imports qtpy; QT_API given by the caller wins, and pytest-qt follows it.
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYTEST_QT_API", os.environ["QT_API"])

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real third-party micrographs in ../shared/data (skips when that folder is absent)."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real data not available: {SHARED_DATA} is absent")
    return SHARED_DATA
