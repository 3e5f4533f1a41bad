"""Trained models kept in a project's ``models/`` folder, and their stored predictions."""

from __future__ import annotations

import json
import time

from pathlib import Path

from nanomorph.project.database import Repository
from nanomorph.project.paths import inside


class ModelRepository(Repository):
    """The project's model registry and predictions (``project.models``).

    Parameters
    ----------
    db : Database
        The open project's connection.
    events : ProjectEvents
        Emitted after each committed change.
    folder : Path
        The project's ``models/`` folder.
    """

    def __init__(self, db, events, folder: Path):
        super().__init__(db, events)
        self.folder = folder

    def path(self, model: dict) -> Path:
        """The file of a registered model.

        Parameters
        ----------
        model : dict
            A row of :meth:`list`.

        Returns
        -------
        Path
            Inside ``models/``.

        Raises
        ------
        ProjectError
            When the stored name leads outside ``models/``.
        """
        return inside(self.folder, model["file"], f"model {model.get('id')} ({model['name']})")

    def register(self, kind: str, name: str, file: str, config: dict) -> int:
        """Record (or update) a model.

        Parameters
        ----------
        kind : str
            ``classifier``, ``segmenter`` or ``encoder``.
        name : str
            Unique within its kind; registering it again replaces the record.
        file : str
            The model file, relative to ``models/``.
        config : dict
            JSON-ready description (classes, encoder, training settings).

        Returns
        -------
        int
            The model's id.
        """
        with self._db.write() as c:
            row = c.execute("SELECT id FROM models WHERE kind = ? AND name = ?",
                            (kind, name)).fetchone()
            if row is not None:
                c.execute("UPDATE models SET file = ?, config = ?, created_at = ? WHERE id = ?",
                          (file, json.dumps(config), time.time(), row[0]))
                model_id = row[0]
            else:
                model_id = c.execute("INSERT INTO models(kind, name, file, config, created_at)"
                                     " VALUES (?, ?, ?, ?, ?)",
                                     (kind, name, file, json.dumps(config),
                                      time.time())).lastrowid
        self._events.models.emit(kind, name)
        return model_id

    def list(self, kind: str | None = None) -> list[dict]:
        """Registered models.

        Parameters
        ----------
        kind : str, optional
            Only this kind.

        Returns
        -------
        list of dict
            Oldest first: ``id``, ``kind``, ``name``, ``file``, ``config`` (dict), ``created_at``.
        """
        sql = "SELECT * FROM models" + (" WHERE kind = ?" if kind else "") + " ORDER BY id"
        return [{**dict(r), "config": json.loads(r["config"])}
                for r in self._db.query(sql, (kind,) if kind else ())]

    def save_predictions(self, model_id: int, results: dict[int, dict]) -> None:
        """Replace a model's predictions.

        Parameters
        ----------
        model_id : int
            The model's id.
        results : dict
            Image id → JSON-ready prediction.
        """
        now = time.time()
        with self._db.write() as c:
            c.execute("DELETE FROM predictions WHERE model_id = ?", (model_id,))
            c.executemany("INSERT INTO predictions(image_id, model_id, result, created_at)"
                          " VALUES (?, ?, ?, ?)",
                          ((i, model_id, json.dumps(r), now) for i, r in results.items()))
            row = c.execute("SELECT kind, name FROM models WHERE id = ?", (model_id,)).fetchone()
        if row is not None:
            self._events.models.emit(row[0], row[1])

    def predictions(self, model_id: int) -> dict[int, dict]:
        """A model's stored predictions.

        Parameters
        ----------
        model_id : int
            The model's id.

        Returns
        -------
        dict
            Image id → prediction.
        """
        rows = self._db.query("SELECT image_id, result FROM predictions WHERE model_id = ?",
                              (model_id,))
        return {r["image_id"]: json.loads(r["result"]) for r in rows}
