"""The project store: one folder per project, opened as a :class:`Project`.

```
project.sqlite   images (by content hash), calibration overrides, classes, labels, mask index,
                 models, predictions, run history; WAL journal, schema version + migrations
masks/           lossless mask files named by image hash and version
models/          trained classifiers, segmenters, encoders
cache/           embeddings, thumbnails (always safe to delete)
logs/            nanomorph.log (full tracebacks of failed jobs)
```

A :class:`Project` is a small facade over repositories, one per kind of record:
``project.images``, ``.masks``, ``.labels`` (with the classes), ``.models`` (with predictions),
``.results``, ``.settings`` and ``.runs``; ``project.events`` says what changed.

Every edit is committed as it is made (``synchronous=FULL``), so it survives a crash of the
process the moment the call returns; files are written atomically (:mod:`nanomorph.io.atomic`).

Opening checks before it trusts anything: one program writes at a time (:mod:`.lock`); a
database that is empty, not SQLite, fails ``PRAGMA quick_check`` or has no nanomorph schema is
refused with :class:`~nanomorph.errors.ProjectDamagedError` and left untouched (restore a
backup, :mod:`.backups`); temporary files of interrupted writes are removed; a backup is made.
Names the database stores are validated before they become paths (:mod:`.paths`).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from nanomorph import __version__
from nanomorph.errors import ProjectDamagedError, ProjectError
from nanomorph.project import backups, lock
from nanomorph.project.database import Database
from nanomorph.project.events import ProjectEvents
from nanomorph.project.images import ImageRepository
from nanomorph.project.labels import LabelRepository
from nanomorph.project.masks import MaskRepository
from nanomorph.project.models import ModelRepository
from nanomorph.project.paths import DB_NAME
from nanomorph.project.results import ResultRepository
from nanomorph.project.runs import RunRepository
from nanomorph.project.schema import SCHEMA_VERSION, apply_migrations, schema_version
from nanomorph.project.settings import SettingsRepository

SUBFOLDERS = ("masks", "models", "cache", "logs")
SQLITE_HEADER = b"SQLite format 3\x00"
# where interrupted atomic writes may have left temporary files (.<name>.<random>.tmp)
TEMPORARY_FILE_FOLDERS = ("", "masks", "models", "cache", "backups")


def is_project(path: str | os.PathLike) -> bool:
    """Whether a folder holds a nanomorph project.

    Parameters
    ----------
    path : path-like
        A folder.

    Returns
    -------
    bool
        True when it holds ``project.sqlite``.
    """
    return os.path.isfile(os.path.join(path, DB_NAME))


def folder_is_writable(folder: str | os.PathLike) -> bool:
    """Whether files can really be created in a folder (tries it: permission bits lie for root).

    Parameters
    ----------
    folder : path-like
        An existing folder.

    Returns
    -------
    bool
        True when a file could be created (and was removed again).
    """
    try:
        fd, probe = tempfile.mkstemp(prefix=".nanomorph-write-test-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


class Project:
    """An open project. Use :meth:`create`, :meth:`open` or :meth:`open_or_create`.

    Safe to share between the GUI thread and worker threads: every database access goes
    through one connection guarded by a lock.

    Parameters
    ----------
    folder : Path
        The project folder.
    conn : sqlite3.Connection
        The open database (see :meth:`open`).
    read_only : bool
        Whether edits are refused.

    Attributes
    ----------
    events : ProjectEvents
        Emitted after each committed change.
    images, masks, labels, models, results, settings, runs
        The repositories (see the module docstring).
    """

    def __init__(self, folder: Path, conn: sqlite3.Connection, read_only: bool):
        self.folder = folder
        self.read_only = read_only
        self._db = Database(conn, folder, read_only)
        self._db.after_commit = self._backup_when_due
        self._lock_key: str | None = None
        self._snapshot: str | None = None  # temporary copy a read-only session reads
        self._last_backup = 0.0
        self.events = ProjectEvents()
        self.images = ImageRepository(self._db, self.events)
        self.masks = MaskRepository(self._db, self.events, folder / "masks", self.images)
        self.labels = LabelRepository(self._db, self.events)
        self.models = ModelRepository(self._db, self.events, folder / "models")
        self.results = ResultRepository(self._db, self.events)
        self.settings = SettingsRepository(self._db, self.events)
        self.runs = RunRepository(self._db, self.events)

    @classmethod
    def create(cls, folder: str | os.PathLike, name: str | None = None) -> "Project":
        """Create a new project with the default morphology classes.

        Parameters
        ----------
        folder : path-like
            Created if missing; must not hold a project.
        name : str, optional
            Display name; the folder's name by default.

        Returns
        -------
        Project
            Open for writing.

        Raises
        ------
        ProjectError
            When the folder holds a project, cannot be created or is read-only.
        """
        folder = Path(folder).absolute()
        if is_project(folder):
            raise ProjectError("a project already exists here", folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ProjectError(f"cannot create the project folder ({e.strerror})", folder) from e
        if not folder_is_writable(folder):
            raise ProjectError("cannot create a project here: the folder is read-only", folder)
        from nanomorph.project.classsets import default_class_set

        project = cls._connect(folder, read_only=False, new=True)
        classes = default_class_set()
        project.labels.set_classes([c.name for c in classes], [c.color for c in classes])
        with project._db.write() as c:
            c.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                          [("name", name or folder.name), ("created_at", repr(time.time())),
                           ("created_by", f"nanomorph {__version__}")])
        return project

    @classmethod
    def open(cls, folder: str | os.PathLike, read_only: bool = False,
             backup: bool = True) -> "Project":
        """Open an existing project, migrating its schema if it is older than this nanomorph.

        Parameters
        ----------
        folder : path-like
            The project folder.
        read_only : bool
            Open without writing. A folder that cannot be written is opened read-only anyway.
        backup : bool
            Back the database up now (see :mod:`~nanomorph.project.backups`); False leaves it
            to the caller (the app calls :meth:`backup` on a worker: 0.2 s for a 100,000-frame
            project).

        Returns
        -------
        Project
            The open project.

        Raises
        ------
        ProjectLockedError
            When another program has the project open for writing.
        ProjectDamagedError
            When the database is damaged (it is left as it is; restore a backup).
        ProjectError
            When the folder holds no project, its database was written by a newer nanomorph,
            or needs an upgrade that cannot be written.
        """
        folder = Path(folder).absolute()
        if not is_project(folder):
            raise ProjectError(f"not a nanomorph project (no {DB_NAME})", folder)
        read_only = read_only or not folder_is_writable(folder)
        return cls._connect(folder, read_only, backup=backup)

    @classmethod
    def open_or_create(cls, folder: str | os.PathLike, name: str | None = None,
                       backup: bool = True) -> "Project":
        """:meth:`open` the project in ``folder``, or :meth:`create` one there.

        Parameters
        ----------
        folder : path-like
            The project folder.
        name : str, optional
            Display name of a new project.
        backup : bool
            As for :meth:`open`.

        Returns
        -------
        Project
            Open for writing (unless the folder is read-only).
        """
        return cls.open(folder, backup=backup) if is_project(folder) else cls.create(folder, name)

    @classmethod
    def _connect(cls, folder: Path, read_only: bool, new: bool = False,
                 backup: bool = True) -> "Project":
        key, first = (None, False) if read_only else lock.acquire(folder)
        try:
            project = cls._checked_connection(folder, read_only, new)
        except BaseException:
            if key is not None:
                lock.release(key)
            raise
        project._lock_key = key
        if first:  # no other open project of this program may be writing a temporary file
            _remove_temporary_files(folder)
        if not read_only:
            if not new and backup:
                project.backup()
            elif not new:  # the caller backs up now, elsewhere: not again at the first commit
                project._last_backup = time.monotonic()
        return project

    @classmethod
    def _checked_connection(cls, folder: Path, read_only: bool, new: bool) -> "Project":
        db = folder / DB_NAME
        if not new:
            _check_database_file(db)
        snapshot = None
        try:
            if read_only:
                conn, snapshot = _connect_read_only(db)
            else:
                for sub in SUBFOLDERS:
                    (folder / sub).mkdir(exist_ok=True)
                conn = sqlite3.connect(db, timeout=10, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            version = schema_version(conn)
            if not new:
                _check_database(conn, db, version)
        except sqlite3.DatabaseError as e:
            raise ProjectDamagedError(f"the project database is damaged ({e}): it was left as "
                                      f"it is; {_restore_hint(folder)}", db) from e
        if version > SCHEMA_VERSION:
            conn.close()
            raise ProjectError(
                f"this project was written by a newer nanomorph (schema {version}, this version "
                f"reads up to {SCHEMA_VERSION}): update nanomorph to open it", folder)
        if version < SCHEMA_VERSION:
            if read_only:
                conn.close()
                raise ProjectError(
                    f"this project needs an upgrade (schema {version} → {SCHEMA_VERSION}) but "
                    "its folder is read-only", folder)
            _backup_before_migration(conn, db, version)
            try:
                apply_migrations(conn, version)
            except sqlite3.DatabaseError as e:
                conn.close()
                raise ProjectError(f"the upgrade of this project (schema {version} → "
                                   f"{SCHEMA_VERSION}) failed and was undone ({e})",
                                   folder) from e
        project = cls(folder, conn, read_only)
        project._snapshot = snapshot
        return project

    def close(self) -> None:
        """Fold the WAL into the database file, close, and let other programs write (a second
        call does nothing)."""
        self._db.close(checkpoint=not self.read_only)
        if self._lock_key is not None:
            lock.release(self._lock_key)
            self._lock_key = None
        if self._snapshot is not None:
            shutil.rmtree(self._snapshot, ignore_errors=True)
            self._snapshot = None

    def backup(self) -> Path:
        """Write a backup of the database now (see :mod:`nanomorph.project.backups`).

        Returns
        -------
        Path
            The backup file.
        """
        with self._db.lock:
            path = backups.backup_database(self._db.conn, self.folder)
        self._last_backup = time.monotonic()
        return path

    def _backup_when_due(self) -> None:
        if time.monotonic() - self._last_backup >= backups.INTERVAL_S:
            self.backup()

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def name(self) -> str:
        """The project's display name."""
        rows = self._db.query("SELECT value FROM meta WHERE key = 'name'")
        return rows[0]["value"] if rows else self.folder.name

    @property
    def masks_dir(self) -> Path:
        """``<project>/masks``: the mask files."""
        return self.folder / "masks"

    @property
    def models_dir(self) -> Path:
        """``<project>/models``: trained models."""
        return self.folder / "models"

    @property
    def cache_dir(self) -> Path:
        """``<project>/cache``: embeddings, thumbnails, predictions (safe to delete)."""
        return self.folder / "cache"

    @property
    def log_path(self) -> Path:
        """``<project>/logs/nanomorph.log``: full tracebacks of failed jobs."""
        return self.folder / "logs" / "nanomorph.log"

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``.

        Returns
        -------
        str
            ``"ok"`` when the database is sound, else SQLite's first complaint.
        """
        return self._db.query("PRAGMA integrity_check")[0][0]


def _connect_read_only(db: Path) -> tuple[sqlite3.Connection, str | None]:
    """Open read-only. Where SQLite cannot create the WAL's index (a read-only folder) but a
    WAL holds commits, a temporary copy of database and WAL is opened instead, so the session
    sees every committed change; without a WAL the file is opened as immutable.

    Returns the connection and the temporary folder to remove on close (or None).
    """
    uri = db.absolute().as_uri()
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False,
                               isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn, None
    except sqlite3.OperationalError:
        pass
    wal = db.with_name(db.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        snapshot = tempfile.mkdtemp(prefix="nanomorph-readonly-")
        shutil.copy2(db, os.path.join(snapshot, db.name))
        shutil.copy2(wal, os.path.join(snapshot, wal.name))
        copy = os.path.join(snapshot, db.name)
        conn = sqlite3.connect(copy, check_same_thread=False, isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # applies the WAL
        return conn, snapshot
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False,
                           isolation_level=None), None


def _check_database_file(db: Path) -> None:
    """Refuse a database file that cannot be a project's, before SQLite touches it."""
    try:
        with open(db, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as e:
        raise ProjectError(f"the project database cannot be read ({e.strerror or e})",
                           db) from None
    if not header:
        raise ProjectDamagedError(f"the project database is empty (0 bytes): it was left as "
                                  f"it is; {_restore_hint(db.parent)}", db)
    if header != SQLITE_HEADER:
        raise ProjectDamagedError(f"this file is not an SQLite database (it was overwritten or "
                                  f"damaged): it was left as it is; {_restore_hint(db.parent)}",
                                  db)


def _check_database(conn: sqlite3.Connection, db: Path, version: int) -> None:
    """Refuse a database that fails SQLite's quick check or holds no nanomorph schema."""
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)").fetchall()]
    if problems != ["ok"]:
        conn.close()
        raise ProjectDamagedError(f"the project database is damaged (SQLite: {problems[0]}): "
                                  f"it was left as it is; {_restore_hint(db.parent)}", db)
    if version == 0:
        conn.close()
        raise ProjectDamagedError(f"the project database holds no nanomorph project (schema "
                                  f"version 0): it was left as it is; {_restore_hint(db.parent)}",
                                  db)


def _restore_hint(folder: Path) -> str:
    names = backups.list_backups(folder)
    if not names:
        return "it has no backup to restore"
    return (f"restore the last good backup ({names[-1]}) with `nanomorph restore "
            f"{folder}` or the app's Restore button")


def _remove_temporary_files(folder: Path) -> None:
    """Delete what interrupted atomic writes left behind (``.<name>.<random>.tmp``); only the
    program holding the writer lock writes such files, so none of them is in use."""
    for sub in TEMPORARY_FILE_FOLDERS:
        top = folder / sub
        if not top.is_dir():
            continue
        walker = os.walk(top) if sub else [(str(top), [], os.listdir(top))]
        for root, _dirs, files in walker:
            for name in files:
                if name.startswith(".") and name.endswith(".tmp"):
                    try:
                        os.unlink(os.path.join(root, name))
                    except OSError:
                        pass


def _backup_before_migration(conn: sqlite3.Connection, db: Path, version: int) -> None:
    """Keep a copy of a populated database before its schema is upgraded."""
    if version == 0:
        return
    backup = db.with_name(f"{DB_NAME}.bak-v{version}")
    target = sqlite3.connect(backup)
    with target:
        conn.backup(target)
    target.close()
