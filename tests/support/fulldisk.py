"""A disk that fills up under a batch run's record log (ENOSPC after some writes)."""

from __future__ import annotations

import errno


def record_log_fills_after(monkeypatch, writes: int):
    """Make ``RecordLog`` writes fail with ENOSPC once ``writes`` of them have succeeded.

    Returns a function that frees the disk again (the real writes come back).
    """
    from nanomorph.batch.results import RecordLog

    real_write, calls = RecordLog._write, []

    def write(self, data):
        calls.append(data)
        if len(calls) > writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, data)

    monkeypatch.setattr(RecordLog, "_write", write)
    return lambda: monkeypatch.setattr(RecordLog, "_write", real_write)
