"""The run history of a project: every training, pretraining and batch job, with its
configuration, how it ended and its result."""

from __future__ import annotations

import json
import time

from nanomorph.project.database import Repository


class RunRepository(Repository):
    """The project's run history (``project.runs``)."""

    def start(self, kind: str, config: dict) -> int:
        """Record the start of a job.

        Parameters
        ----------
        kind : str
            E.g. ``segment-train``, ``pretrain``, ``batch``.
        config : dict
            JSON-ready settings of the run.

        Returns
        -------
        int
            The run's id.
        """
        with self._db.write() as c:
            run_id = c.execute("INSERT INTO runs(kind, config, status, started_at)"
                               " VALUES (?, ?, ?, ?)",
                               (kind, json.dumps(config), "running", time.time())).lastrowid
        self._events.runs.emit(run_id, "running")
        return run_id

    def finish(self, run_id: int, status: str, result: dict | None = None) -> None:
        """Record how a run ended.

        Parameters
        ----------
        run_id : int
            From :meth:`start`.
        status : str
            ``done``, ``failed`` or ``cancelled``.
        result : dict, optional
            JSON-ready outcome.
        """
        with self._db.write() as c:
            c.execute("UPDATE runs SET status = ?, result = ?, finished_at = ? WHERE id = ?",
                      (status, json.dumps(result), time.time(), run_id))
        self._events.runs.emit(run_id, status)

    def list(self, kind: str | None = None) -> list[dict]:
        """Recorded runs.

        Parameters
        ----------
        kind : str, optional
            Only this kind.

        Returns
        -------
        list of dict
            Oldest first: ``id``, ``kind``, ``config`` (dict), ``status``, ``result`` (dict or
            None), ``started_at``, ``finished_at``.
        """
        sql = "SELECT * FROM runs" + (" WHERE kind = ?" if kind else "") + " ORDER BY id"
        return [{**dict(r), "config": json.loads(r["config"]),
                 "result": json.loads(r["result"]) if r["result"] else None}
                for r in self._db.query(sql, (kind,) if kind else ())]
