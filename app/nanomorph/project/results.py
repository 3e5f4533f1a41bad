"""Per-image analysis results (percolation, skeleton metrics) with the parameters used and the
mask version they were computed from, so an edited mask marks them stale."""

from __future__ import annotations

import json
import time

from nanomorph.project.database import Repository


class ResultRepository(Repository):
    """The project's analysis results (``project.results``)."""

    def save(self, image_id: int, kind: str, params: dict, result: dict,
             mask_version: int | None) -> None:
        """Store an image's latest result of one kind (replacing the previous one).

        Parameters
        ----------
        image_id : int
            The image's id.
        kind : str
            E.g. ``percolation``.
        params : dict
            The settings used (JSON-ready).
        result : dict
            The result (JSON-ready).
        mask_version : int or None
            The mask version analysed (None: not a stored mask).
        """
        with self._db.write() as c:
            c.execute("INSERT OR REPLACE INTO analyses(image_id, kind, params, mask_version,"
                      " result, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                      (image_id, kind, json.dumps(params), mask_version, json.dumps(result),
                       time.time()))
        self._events.results.emit(kind, [image_id])

    def get(self, image_id: int, kind: str) -> dict | None:
        """One image's stored result of one kind.

        Parameters
        ----------
        image_id : int
            The image's id.
        kind : str
            E.g. ``percolation``.

        Returns
        -------
        dict or None
            As an entry of :meth:`of_kind`; None when the image has none.
        """
        rows = self._db.query(
            "SELECT a.*, (SELECT max(version) FROM masks m WHERE m.image_id = a.image_id)"
            " AS latest FROM analyses a WHERE kind = ? AND image_id = ?", (kind, image_id))
        return _entry(rows[0]) if rows else None

    def of_kind(self, kind: str) -> dict[int, dict]:
        """Every stored result of one kind.

        Parameters
        ----------
        kind : str
            E.g. ``percolation``.

        Returns
        -------
        dict
            Image id → ``{"params", "result", "mask_version", "stale", "created_at"}``;
            ``stale`` is True when the image's mask changed since the result was computed.
        """
        rows = self._db.query(
            "SELECT a.*, (SELECT max(version) FROM masks m WHERE m.image_id = a.image_id)"
            " AS latest FROM analyses a WHERE kind = ?", (kind,))
        return {r["image_id"]: _entry(r) for r in rows}


def _entry(row) -> dict:
    return {"params": json.loads(row["params"]), "result": json.loads(row["result"]),
            "mask_version": row["mask_version"], "stale": row["mask_version"] != row["latest"],
            "created_at": row["created_at"]}
