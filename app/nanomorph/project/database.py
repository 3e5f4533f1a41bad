"""The project database connection that the repositories share.

One SQLite connection per open project, guarded by a lock, so the GUI thread and worker threads
can use a project at the same time. Every write is a transaction committed when its block ends
(``synchronous=FULL``: durable the moment the call returns) and rolled back on error.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from nanomorph.errors import ProjectReadOnlyError


class Database:
    """The connection of one open project.

    Parameters
    ----------
    conn : sqlite3.Connection
        Opened with ``isolation_level=None`` (transactions are explicit) and
        ``check_same_thread=False``.
    folder : Path
        The project folder (named in error messages).
    read_only : bool
        Whether writes are refused with :class:`~nanomorph.errors.ProjectReadOnlyError`.
    """

    def __init__(self, conn: sqlite3.Connection, folder: Path, read_only: bool):
        self.conn: sqlite3.Connection | None = conn
        self.folder = folder
        self.read_only = read_only
        self.lock = threading.RLock()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), committed on exit, rolled back on error.

        Yields
        ------
        sqlite3.Connection
            The connection, inside the transaction.

        Raises
        ------
        ProjectReadOnlyError
            When the project is open read-only.
        """
        if self.read_only:
            raise ProjectReadOnlyError(
                "the project is open read-only (its folder cannot be written): the change was "
                "not saved", self.folder)
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        """Rows of a read-only statement.

        Parameters
        ----------
        sql : str
            One SQL statement with ``?`` placeholders.
        params : iterable
            The placeholders' values.

        Returns
        -------
        list of sqlite3.Row
            Rows addressable by column name.
        """
        with self.lock:
            cur = self.conn.execute(sql, tuple(params))
            cur.row_factory = sqlite3.Row
            return cur.fetchall()

    def close(self, checkpoint: bool) -> None:
        """Close the connection (once), first folding the WAL into the database file when
        ``checkpoint``.

        Parameters
        ----------
        checkpoint : bool
            Run ``PRAGMA wal_checkpoint(TRUNCATE)`` first (writers only).
        """
        with self.lock:
            if self.conn is None:
                return
            if checkpoint:
                try:
                    self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.DatabaseError:
                    pass  # another process holds the database; its WAL stays valid
            self.conn.close()
            self.conn = None


class Repository:
    """Base of the project's repositories: the shared :class:`Database` and the project's
    change events.

    Parameters
    ----------
    db : Database
        The open project's connection.
    events : ProjectEvents
        Emitted after each committed change.
    """

    def __init__(self, db: Database, events):
        self._db = db
        self._events = events
