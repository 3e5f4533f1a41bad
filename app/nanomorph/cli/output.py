"""How every command reports: one JSON object per line, one error line per failed input."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from nanomorph.errors import NanomorphError, display_path


def print_json(obj: dict[str, Any]) -> None:
    """Print one JSON Lines record (NaN/inf become null, as JSON has no such numbers).

    Parameters
    ----------
    obj : dict
        JSON-ready values.
    """
    print(json.dumps(_finite(obj), ensure_ascii=False), flush=True)


def report_error(path, reason: str | BaseException, *, level: str = "error") -> None:
    """Print ``error: <path>: <reason>`` on stderr (one line, also for undecodable file names).

    Parameters
    ----------
    path : str, bytes or os.PathLike
        The input that failed.
    reason : str or BaseException
        Why; a NanomorphError gives its reason.
    level : str
        The line's first word: ``error``, or ``warning`` for an input read only in part.
    """
    if isinstance(reason, NanomorphError):
        reason = reason.reason
    text = " ".join(str(reason).split()) or type(reason).__name__
    print(f"{level}: {display_path(path)}: {text}", file=sys.stderr, flush=True)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
