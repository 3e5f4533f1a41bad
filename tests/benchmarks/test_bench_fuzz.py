"""The large fuzz run of the README's Reliability section: 6,000 mutants of every readable
format (the real native files of ../shared/data when present) and 600 of the model files."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA
from tests.support.fuzz import fuzz_loaders, fuzz_readers, model_seeds, reader_seeds

pytestmark = pytest.mark.bench


def test_bench_fuzz(tmp_path, record):
    formats = SHARED_DATA / "microscope_formats"
    seeds = reader_seeds(tmp_path / "seeds", formats if formats.is_dir() else None)
    readers = fuzz_readers(seeds, 6000, tmp_path, seed=20261204)
    loaders = fuzz_loaders(model_seeds(tmp_path / "models"), 600, tmp_path, seed=20261204)
    record("fuzz", {
        "reader_seeds": len(seeds), "reader_mutants": readers.tried,
        "reader_seconds": round(readers.seconds, 1), "reader_outcomes": dict(readers.outcomes),
        "reader_hangs": len(readers.hangs), "reader_tracebacks": len(readers.tracebacks),
        "truncated_reported_readable": len(readers.truncated_readable),
        "model_mutants": loaders.tried, "model_seconds": round(loaders.seconds, 1),
        "model_outcomes": dict(loaders.outcomes), "model_hangs": len(loaders.hangs),
        "model_tracebacks": len(loaders.tracebacks)})
    assert not readers.hangs and not readers.tracebacks and not readers.truncated_readable
    assert not loaders.hangs and not loaders.tracebacks
