"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real third-party micrographs in ../shared/data (skips when that folder is absent)."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real data not available: {SHARED_DATA} is absent")
    return SHARED_DATA
