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
        return {r["image_id"]: {"params": json.loads(r["params"]),
                                "result": json.loads(r["result"]),
                                "mask_version": r["mask_version"],
                                "stale": r["mask_version"] != r["latest"],
                                "created_at": r["created_at"]} for r in rows}
