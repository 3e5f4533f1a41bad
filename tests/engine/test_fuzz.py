"""Mutated files never hang a reader, never raise anything but a NanomorphError, and a file cut
short is never reported readable (a small budget here; tests/benchmarks/test_bench_fuzz.py runs
the large one whose counts are in the README's Reliability section)."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA
from tests.support.fuzz import fuzz_loaders, fuzz_readers, model_seeds, reader_seeds

pytestmark = pytest.mark.slow  # about 20 s of reading mutants


def test_mutated_images_are_errors_not_hangs_or_tracebacks(tmp_path):
    formats = SHARED_DATA / "microscope_formats"
    seeds = reader_seeds(tmp_path / "seeds", formats if formats.is_dir() else None)
    report = fuzz_readers(seeds, 150, tmp_path, seed=20261204)
    assert report.tried == 150
    assert report.hangs == [] and report.tracebacks == [] and report.truncated_readable == []
    assert report.outcomes["ImageReadError"] > 30  # the mutations do break files


def test_mutated_model_files_are_errors_not_tracebacks(tmp_path):
    report = fuzz_loaders(model_seeds(tmp_path / "seeds"), 60, tmp_path, seed=7)
    assert report.tried == 60
    assert report.hangs == [] and report.tracebacks == []
    assert report.outcomes["NanomorphError"] > 20
