"""Per-project settings: JSON values by key, restored when the project is opened again."""

from __future__ import annotations

import json
from typing import Any

from nanomorph.project.database import Repository


class SettingsRepository(Repository):
    """The project's settings (``project.settings``)."""

    def get(self, key: str, default: Any = None) -> Any:
        """A setting's value.

        Parameters
        ----------
        key : str
            The setting's name.
        default : Any
            Returned when the project has no such setting.

        Returns
        -------
        Any
            The stored JSON value, or ``default``.
        """
        rows = self._db.query("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0]["value"]) if rows else default

    def set(self, key: str, value: Any) -> None:
        """Store a setting.

        Parameters
        ----------
        key : str
            The setting's name.
        value : Any
            Any JSON-serialisable value.
        """
        with self._db.write() as c:
            c.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)",
                      (key, json.dumps(value)))
        self._events.settings.emit(key)
