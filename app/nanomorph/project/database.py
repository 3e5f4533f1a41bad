"""The project database connection that the repositories share.

One SQLite connection per open project writes, guarded by a lock, so the GUI thread and worker
threads can use a project at the same time. Reads outside a write go through a pool of
read-only connections (WAL: a reader sees the last commit and never waits for a writer), so
the GUI thread reading the models does not wait 0.7 s while a worker stores 100,000
predictions; a read inside a write block of the same thread sees that transaction. Every write
is a ``BEGIN IMMEDIATE`` transaction (it holds SQLite's write lock from its first statement,
so what it reads — e.g. the next mask version — no other writer changes before it commits),
committed when its block ends (``synchronous=FULL``: durable the moment the call returns) and
rolled back on error. A database another connection keeps locked is retried (``BUSY_RETRIES``
times, each waiting up to the connection's busy timeout); no sqlite3 exception reaches a
caller: they become :class:`ProjectError`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from nanomorph.errors import ProjectError, ProjectReadOnlyError

BUSY_RETRIES = 3


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
        # called after each commit (the store's periodic backup)
        self.after_commit: Callable[[], None] | None = None
        self._local = threading.local()  # per thread: the depth of its ``write`` blocks
        # read-only connections: all of them (closed with the project) and those not in use;
        # a pool, not one per thread: job threads come and go (a thread-local reader was
        # opened anew for every job and never closed)
        self._readers: list[sqlite3.Connection] = []
        self._idle_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._path = None if read_only else conn.execute("PRAGMA database_list").fetchone()[2]

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
        ProjectError
            When another program keeps the database locked, or the database fails.
        """
        if self.read_only:
            raise ProjectReadOnlyError(
                "the project is open read-only (its folder cannot be written): the change was "
                "not saved", self.folder)
        with self.lock:
            self._begin()
            self._local.writing = getattr(self._local, "writing", 0) + 1
            try:
                yield self.conn
            except sqlite3.DatabaseError as exc:
                self._rollback()
                raise _project_error(exc, self.folder) from exc
            except BaseException:
                self._rollback()
                raise
            finally:
                self._local.writing -= 1
            try:
                self.conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self._rollback()
                raise _project_error(exc, self.folder) from exc
        if self.after_commit is not None:
            self.after_commit()

    def _begin(self) -> None:
        for attempt in range(BUSY_RETRIES):
            try:
                self._connection().execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or attempt == BUSY_RETRIES - 1:
                    raise _project_error(exc, self.folder) from exc
                time.sleep(0.05 * (attempt + 1))

    def _rollback(self) -> None:
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.DatabaseError:
            pass  # no transaction left to undo (SQLite already rolled it back)

    def _connection(self) -> sqlite3.Connection:
        if self.conn is None:
            raise ProjectError("the project was closed", self.folder)
        return self.conn

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

        Raises
        ------
        ProjectError
            When the database cannot be read (damaged, locked, closed).
        """
        reader = self._take_reader()
        if reader is not None:
            try:
                return self._fetch(reader, sql, params)
            finally:
                with self._readers_lock:
                    if reader in self._readers:  # not closed with the project meanwhile
                        self._idle_readers.append(reader)
        with self.lock:
            return self._fetch(self._connection(), sql, params)

    def _fetch(self, conn: sqlite3.Connection, sql: str, params: Iterable) -> list[sqlite3.Row]:
        try:
            cur = conn.execute(sql, tuple(params))
            cur.row_factory = sqlite3.Row
            return cur.fetchall()
        except sqlite3.DatabaseError as exc:
            raise _project_error(exc, self.folder) from exc

    def _take_reader(self) -> sqlite3.Connection | None:
        """An idle read-only connection (opened when none is); None inside this thread's own
        write, for a project open read-only (one connection to a snapshot), or when a reader
        cannot be opened."""
        if self._path is None or getattr(self._local, "writing", 0):
            return None
        with self._readers_lock:
            self._connection()  # a closed project raises here
            if self._idle_readers:
                return self._idle_readers.pop()
        try:
            reader = sqlite3.connect(f"{Path(self._path).as_uri()}?mode=ro", uri=True,
                                     timeout=10, isolation_level=None, check_same_thread=False)
        except sqlite3.DatabaseError:
            self._path = None  # e.g. the WAL cannot be shared: the write connection reads
            return None
        with self._readers_lock:
            if self.conn is None:
                reader.close()
                self._connection()
            self._readers.append(reader)
        return reader

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
            with self._readers_lock:  # first: a reader's snapshot would keep the WAL
                for reader in self._readers:
                    reader.close()
                self._readers.clear()
                self._idle_readers.clear()
            if checkpoint:
                try:
                    self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.DatabaseError:
                    pass  # another process holds the database; its WAL stays valid
            self.conn.close()
            self.conn = None


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _project_error(exc: sqlite3.DatabaseError, folder: Path) -> ProjectError:
    """A sqlite3 error as the one-line error a user reads."""
    if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
        return ProjectError("the project is busy: another program kept its database locked; "
                            "the change was not saved, try again", folder)
    if isinstance(exc, sqlite3.IntegrityError):
        return ProjectError(f"the change conflicts with what the project holds ({exc}); it "
                            "was not saved", folder)
    return ProjectError(f"the project database failed ({exc}); the change was not saved",
                        folder)


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
