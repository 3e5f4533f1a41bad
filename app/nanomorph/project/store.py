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
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from nanomorph import __version__
from nanomorph.errors import ProjectError
from nanomorph.project.database import Database
from nanomorph.project.events import ProjectEvents
from nanomorph.project.images import ImageRepository
from nanomorph.project.labels import LabelRepository
from nanomorph.project.masks import MaskRepository
from nanomorph.project.models import ModelRepository
from nanomorph.project.results import ResultRepository
from nanomorph.project.runs import RunRepository
from nanomorph.project.schema import SCHEMA_VERSION, apply_migrations, schema_version
from nanomorph.project.settings import SettingsRepository

DB_NAME = "project.sqlite"
SUBFOLDERS = ("masks", "models", "cache", "logs")


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
    probe = os.path.join(folder, f".nanomorph-write-test-{os.getpid()}")
    try:
        with open(probe, "wb"):
            pass
    except OSError:
        return False
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
        self.events = ProjectEvents()
        self.images = ImageRepository(self._db, self.events)
        self.masks = MaskRepository(self._db, self.events, folder / "masks", self.images)
        self.labels = LabelRepository(self._db, self.events)
        self.models = ModelRepository(self._db, self.events)
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

        project = cls._connect(folder, read_only=False)
        classes = default_class_set()
        project.labels.set_classes([c.name for c in classes], [c.color for c in classes])
        with project._db.write() as c:
            c.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                          [("name", name or folder.name), ("created_at", repr(time.time())),
                           ("created_by", f"nanomorph {__version__}")])
        return project

    @classmethod
    def open(cls, folder: str | os.PathLike, read_only: bool = False) -> "Project":
        """Open an existing project, migrating its schema if it is older than this nanomorph.

        Parameters
        ----------
        folder : path-like
            The project folder.
        read_only : bool
            Open without writing. A folder that cannot be written is opened read-only anyway.

        Returns
        -------
        Project
            The open project.

        Raises
        ------
        ProjectError
            When the folder holds no project, its database cannot be read, was written by a
            newer nanomorph, or needs an upgrade that cannot be written.
        """
        folder = Path(folder).absolute()
        if not is_project(folder):
            raise ProjectError(f"not a nanomorph project (no {DB_NAME})", folder)
        read_only = read_only or not folder_is_writable(folder)
        return cls._connect(folder, read_only)

    @classmethod
    def open_or_create(cls, folder: str | os.PathLike, name: str | None = None) -> "Project":
        """:meth:`open` the project in ``folder``, or :meth:`create` one there.

        Parameters
        ----------
        folder : path-like
            The project folder.
        name : str, optional
            Display name of a new project.

        Returns
        -------
        Project
            Open for writing (unless the folder is read-only).
        """
        return cls.open(folder) if is_project(folder) else cls.create(folder, name)

    @classmethod
    def _connect(cls, folder: Path, read_only: bool) -> "Project":
        db = folder / DB_NAME
        try:
            if read_only:
                conn = _connect_read_only(db)
            else:
                for sub in SUBFOLDERS:
                    (folder / sub).mkdir(exist_ok=True)
                conn = sqlite3.connect(db, timeout=10, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            version = schema_version(conn)
        except sqlite3.DatabaseError as e:
            raise ProjectError(f"the project database cannot be read ({e})", db) from e
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
        return cls(folder, conn, read_only)

    def close(self) -> None:
        """Fold the WAL into the database file and close (a second call does nothing)."""
        self._db.close(checkpoint=not self.read_only)

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


def _connect_read_only(db: Path) -> sqlite3.Connection:
    """Open read-only; ``immutable=1`` when the WAL side files cannot be created either."""
    uri = db.absolute().as_uri()
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False,
                               isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False,
                               isolation_level=None)


def _backup_before_migration(conn: sqlite3.Connection, db: Path, version: int) -> None:
    """Keep a copy of a populated database before its schema is upgraded."""
    if version == 0:
        return
    backup = db.with_name(f"{DB_NAME}.bak-v{version}")
    target = sqlite3.connect(backup)
    with target:
        conn.backup(target)
    target.close()
