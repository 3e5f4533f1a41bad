"""JSON records of the engine's settings dataclasses (what project rows, model files, run folders
and batch tables store)."""

from __future__ import annotations

import dataclasses


class JsonRecord:
    """Mixin for dataclasses whose fields are plain values, tuples and nested dataclasses:
    :meth:`as_json` gives them as a JSON-ready dict."""

    def as_json(self) -> dict:
        """The fields by name, in their order; tuples become lists and nested dataclasses dicts.

        Returns
        -------
        dict
            Serialisable with :func:`json.dumps`.
        """
        return _plain(dataclasses.asdict(self))


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
