"""Rotating backups of a project's database, and restoring one.

A backup is a consistent copy made with SQLite's online backup API (a writer may be working at
the same time), written under ``backups/`` as ``project-<time>.sqlite`` by a temporary file
renamed into place. A project makes one when it is opened for writing and then at most every
``INTERVAL_S`` seconds after a change; the newest ``KEEP`` are kept. Restoring never deletes
anything: the damaged database (and its WAL) is moved aside as ``project.sqlite.damaged-<time>``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from nanomorph.errors import ProjectError
from nanomorph.project.paths import DB_NAME

FOLDER = "backups"
PREFIX, SUFFIX = "project-", ".sqlite"
KEEP = 5
INTERVAL_S = 600.0


def backup_database(conn: sqlite3.Connection, project_folder: str | os.PathLike) -> Path:
    """Write a backup of an open database and drop the oldest beyond ``KEEP``.

    Parameters
    ----------
    conn : sqlite3.Connection
        The project's open connection.
    project_folder : str or os.PathLike
        The project folder.

    Returns
    -------
    Path
        The backup written.
    """
    folder = Path(project_folder) / FOLDER
    folder.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() % 1_000_000_000:09d}"
    target = folder / f"{PREFIX}{stamp}{SUFFIX}"
    partial = folder / f".{target.name}.tmp"
    copy = sqlite3.connect(partial)
    try:
        conn.backup(copy)
    finally:
        copy.close()
    with open(partial, "rb") as f:
        os.fsync(f.fileno())
    os.replace(partial, target)
    for old in list_backups(project_folder)[:-KEEP]:
        (folder / old).unlink(missing_ok=True)
    return target


def list_backups(project_folder: str | os.PathLike) -> list[str]:
    """The project's backups.

    Parameters
    ----------
    project_folder : str or os.PathLike
        The project folder.

    Returns
    -------
    list of str
        File names in ``backups/``, oldest first.
    """
    folder = Path(project_folder) / FOLDER
    if not folder.is_dir():
        return []
    return sorted(n for n in os.listdir(folder) if n.startswith(PREFIX) and n.endswith(SUFFIX))


def restore_backup(project_folder: str | os.PathLike, name: str | None = None) -> str:
    """Put a backup in place of the project's database (the newest sound one by default).

    Parameters
    ----------
    project_folder : str or os.PathLike
        The project folder (not open in any program).
    name : str, optional
        A name from :func:`list_backups`.

    Returns
    -------
    str
        The backup restored.

    Raises
    ------
    ProjectError
        When there is no sound backup (or ``name`` is none), or the folder cannot be written.
    """

    folder = Path(project_folder)
    names = list_backups(folder)
    if name is not None and name not in names:
        raise ProjectError(f"no backup named {name!r} (backups: {', '.join(names) or 'none'})",
                           folder)
    candidates = [name] if name is not None else names[::-1]
    chosen = next((n for n in candidates if _sound(folder / FOLDER / n)), None)
    if chosen is None:
        raise ProjectError("no sound backup to restore" + (
            f" ({name} fails SQLite's integrity check)" if name else ""), folder)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        for suffix in ("", "-wal", "-shm"):
            current = folder / f"{DB_NAME}{suffix}"
            if current.exists():
                os.replace(current, folder / f"{DB_NAME}.damaged-{stamp}{suffix}")
        partial = folder / f".{DB_NAME}.restore.tmp"
        with open(folder / FOLDER / chosen, "rb") as source, open(partial, "wb") as target:
            target.write(source.read())
            target.flush()
            os.fsync(target.fileno())
        os.replace(partial, folder / DB_NAME)
    except OSError as exc:
        raise ProjectError(f"the backup could not be restored ({exc.strerror or exc})",
                           folder) from None
    return chosen


def _sound(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False
