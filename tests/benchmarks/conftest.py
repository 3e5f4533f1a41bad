"""Benchmarks (`make bench`): each measures its comparison side by side in one run and prints a
table row; results also land in bench-out/<name>.json for the README's Performance table."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import pytest

OUT = Path(__file__).resolve().parents[2] / "bench-out"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


@pytest.fixture
def record():
    """``record(name, dict)``: print and save one benchmark's results."""

    def _record(name: str, results: dict) -> None:
        OUT.mkdir(exist_ok=True)
        results = {"machine": machine(), **results}
        (OUT / f"{name}.json").write_text(json.dumps(results, indent=2))
        print(f"\n[{name}] " + json.dumps(results))

    return _record
