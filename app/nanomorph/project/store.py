"""The project store: one folder per project.

```
project.sqlite   images (by content hash), calibration overrides, classes, labels, mask index,
                 models, predictions, run history; WAL journal, schema version + migrations
masks/           lossless mask files named by image hash and version
models/          trained classifiers, segmenters, encoders
cache/           embeddings, thumbnails (always safe to delete)
logs/            nanomorph.log (full tracebacks of failed jobs)
```

Every edit is committed as it is made (``synchronous=FULL``), so it survives a crash of the
process the moment the call returns; files are written atomically (``atomic.py``). Images stay
where the user keeps them; the store refers to them by path and SHA-256.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nanomorph import __version__
from nanomorph.errors import NanomorphError, ProjectError, ProjectReadOnlyError, display_path
from nanomorph.io.calibration import UNCALIBRATED, Calibration
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel
from nanomorph.project.hashing import sha256_file
from nanomorph.project.schema import SCHEMA_VERSION, apply_migrations, schema_version

DB_NAME = "project.sqlite"
SUBFOLDERS = ("masks", "models", "cache", "logs")


@dataclass(frozen=True)
class ImageRecord:
    """One image of a project.

    ``calibration`` is the effective one: the user's override for this image, else the project's
    override, else what the file says (``file_calibration``), else UNCALIBRATED.
    """

    id: int
    sha256: str
    path: str
    name: str
    size_bytes: int
    format: str
    shape: tuple[int, ...]
    dtype: str
    file_calibration: Calibration
    calibration: Calibration
    added_at: float

    @property
    def exists(self) -> bool:
        return os.path.isfile(self.path)


@dataclass(frozen=True)
class AddResult:
    """Outcome of adding files: records added or already present, and per-file failures."""

    added: list[ImageRecord]
    already_present: list[ImageRecord]
    failed: list[tuple[str, str]]  # (path, reason)


def is_project(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder holding a nanomorph project database."""
    return os.path.isfile(os.path.join(path, DB_NAME))


def folder_is_writable(folder: str | os.PathLike) -> bool:
    """Whether files can really be created in ``folder`` (tries it: permission bits lie for root)."""
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

    The object is safe to share between the GUI thread and worker threads: every database access
    goes through one connection guarded by a lock.
    """

    def __init__(self, folder: Path, conn: sqlite3.Connection, read_only: bool):
        self.folder = folder
        self.read_only = read_only
        self._conn = conn
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ opening and closing
    @classmethod
    def create(cls, folder: str | os.PathLike, name: str | None = None) -> "Project":
        """Create a new project in ``folder`` (created if missing; must not hold a project),
        with the default morphology classes (bundle, dispersed, network, singular)."""
        folder = Path(folder).absolute()
        if is_project(folder):
            raise ProjectError("a project already exists here", folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ProjectError(f"cannot create the project folder ({e.strerror})", folder) from e
        if not folder_is_writable(folder):
            raise ProjectError("cannot create a project here: the folder is read-only", folder)
        from nanomorph.classsets import default_class_set

        project = cls._connect(folder, read_only=False)
        classes = default_class_set()
        project.set_classes([c.name for c in classes], [c.color for c in classes])
        project._set_meta("name", name or folder.name)
        project._set_meta("created_at", repr(time.time()))
        project._set_meta("created_by", f"nanomorph {__version__}")
        return project

    @classmethod
    def open(cls, folder: str | os.PathLike, read_only: bool = False) -> "Project":
        """Open an existing project, migrating its schema if it is older than this nanomorph.

        A project in a folder that cannot be written is opened read-only (``read_only`` becomes
        True, every edit raises :class:`ProjectReadOnlyError`).
        """
        folder = Path(folder).absolute()
        if not is_project(folder):
            raise ProjectError(f"not a nanomorph project (no {DB_NAME})", folder)
        read_only = read_only or not folder_is_writable(folder)
        return cls._connect(folder, read_only)

    @classmethod
    def open_or_create(cls, folder: str | os.PathLike, name: str | None = None) -> "Project":
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
        """Checkpoint the WAL into the database file and close."""
        with self._lock:
            if self._conn is None:
                return
            if not self.read_only:
                try:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.DatabaseError:
                    pass  # another process holds the database; its WAL stays valid
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ folders
    @property
    def name(self) -> str:
        return self._get_meta("name") or self.folder.name

    @property
    def masks_dir(self) -> Path:
        return self.folder / "masks"

    @property
    def models_dir(self) -> Path:
        return self.folder / "models"

    @property
    def cache_dir(self) -> Path:
        return self.folder / "cache"

    @property
    def log_path(self) -> Path:
        return self.folder / "logs" / "nanomorph.log"

    # ------------------------------------------------------------------ low level
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, committed (and fsynced) on exit, rolled back on error."""
        if self.read_only:
            raise ProjectReadOnlyError(
                "the project is open read-only (its folder cannot be written): the change was "
                "not saved", self.folder)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        with self._lock:
            cur = self._conn.execute(sql, tuple(params))
            cur.row_factory = sqlite3.Row
            return cur.fetchall()

    def _get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def _set_meta(self, key: str, value: str) -> None:
        with self._write() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result (``"ok"`` when the database is sound)."""
        return self._query("PRAGMA integrity_check")[0][0]

    # ------------------------------------------------------------------ settings
    def get_setting(self, key: str, default=None):
        rows = self._query("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0]["value"]) if rows else default

    def set_setting(self, key: str, value) -> None:
        """Store a JSON-serialisable project setting."""
        with self._write() as c:
            c.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)",
                      (key, json.dumps(value)))

    # ------------------------------------------------------------------ images
    def add_images(self, paths: Iterable, *, cancel: CancelToken | None = None) -> Job[AddResult]:
        """Add image files (a job: yields Progress, returns :class:`AddResult`).

        Each file is hashed and its header read for shape, dtype and calibration. A file whose
        content is already in the project is not added twice (if the known copy went missing,
        the record is relinked to this path). Unreadable files are reported, the rest go on.
        """
        from nanomorph.io.readers import read_info

        paths = [os.fspath(p) for p in paths]
        added, present, failed = [], [], []
        for i, path in enumerate(paths):
            check_cancel(cancel)
            try:
                record, is_new = self._add_one(path, read_info)
            except NanomorphError as e:
                failed.append((path, e.reason))
            except OSError as e:
                failed.append((path, e.strerror or str(e)))
            else:
                (added if is_new else present).append(record)
            yield Progress(i + 1, len(paths), f"added {display_path(os.path.basename(path))}")
        return AddResult(added, present, failed)

    def add_image(self, path) -> ImageRecord:
        """Add one image file and return its record (see :meth:`add_images`)."""
        from nanomorph.io.readers import read_info

        return self._add_one(os.fspath(path), read_info)[0]

    def _add_one(self, path, read_info) -> tuple[ImageRecord, bool]:
        path = os.path.abspath(path)
        info = read_info(path)
        sha = sha256_file(path)
        known = self.image_by_hash(sha)
        if known is not None:
            if not known.exists and known.path != os.fsdecode(path):
                self._set_path(known.id, path)
                known = self.image(known.id)
            return known, False
        cal = info.calibration
        py, px = cal.pixel_size if cal.calibrated else (None, None)
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO images(sha256, path, name, size_bytes, format, shape, dtype,"
                " file_pixel_y, file_pixel_x, file_unit, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sha, os.fsencode(path), display_path(os.path.basename(path)),
                 os.path.getsize(path), info.format, json.dumps(list(info.shape)),
                 str(info.dtype), py, px, cal.unit, time.time()))
        return self.image(cur.lastrowid), True

    def images(self) -> list[ImageRecord]:
        """All images in the order they were added."""
        project_cal = self.project_calibration()
        return [_record(r, project_cal) for r in self._query("SELECT * FROM images ORDER BY id")]

    def image(self, image_id: int) -> ImageRecord:
        rows = self._query("SELECT * FROM images WHERE id = ?", (image_id,))
        if not rows:
            raise ProjectError(f"no image with id {image_id} in this project", self.folder)
        return _record(rows[0], self.project_calibration())

    def image_by_hash(self, sha256: str) -> ImageRecord | None:
        rows = self._query("SELECT * FROM images WHERE sha256 = ?", (sha256,))
        return _record(rows[0], self.project_calibration()) if rows else None

    def remove_image(self, image_id: int) -> None:
        """Forget an image (its file is not touched; its labels and mask index go with it)."""
        with self._write() as c:
            c.execute("DELETE FROM images WHERE id = ?", (image_id,))

    def _set_path(self, image_id: int, path) -> None:
        with self._write() as c:
            c.execute("UPDATE images SET path = ?, name = ? WHERE id = ?",
                      (os.fsencode(path), display_path(os.path.basename(path)), image_id))

    def missing_images(self) -> list[ImageRecord]:
        """Images whose file is no longer at its recorded path."""
        return [r for r in self.images() if not r.exists]

    def relink(self, folder, *, cancel: CancelToken | None = None) -> Job[int]:
        """Find moved images under ``folder`` by content hash (a job; returns how many relinked).

        Only files whose size matches a missing image are hashed, so pointing at a large folder
        stays cheap.
        """
        missing: dict[int, list[ImageRecord]] = {}
        for r in self.missing_images():
            missing.setdefault(r.size_bytes, []).append(r)
        candidates = [p for p in _walk_files(folder) if os.path.getsize(p) in missing]
        relinked = 0
        for i, path in enumerate(candidates):
            check_cancel(cancel)
            sha = sha256_file(path)
            for record in missing.get(os.path.getsize(path), []):
                if record.sha256 == sha and not record.exists:
                    self._set_path(record.id, path)
                    relinked += 1
            yield Progress(i + 1, len(candidates), f"checked {display_path(path)}")
        return relinked

    # ------------------------------------------------------------------ calibration
    def set_image_calibration(self, image_id: int, calibration: Calibration | None) -> None:
        """Override one image's pixel size (None: back to what the file says)."""
        values = (None, None, None)
        if calibration is not None and calibration.calibrated:
            values = (*calibration.pixel_size, calibration.unit)
        with self._write() as c:
            c.execute("UPDATE images SET user_pixel_y = ?, user_pixel_x = ?, user_unit = ?"
                      " WHERE id = ?", (*values, image_id))

    def set_project_calibration(self, calibration: Calibration | None) -> None:
        """Set one pixel size for every image of the project that has no per-image override
        (None: each image falls back to its file's calibration)."""
        self.set_setting("calibration", None if calibration is None else calibration.as_json())

    def reset_calibrations(self) -> None:
        """Drop every override (per image and project-wide): each image uses its file's again."""
        with self._write() as c:
            c.execute("DELETE FROM settings WHERE key = 'calibration'")
            c.execute("UPDATE images SET user_pixel_y = NULL, user_pixel_x = NULL, user_unit = NULL")

    def project_calibration(self) -> Calibration | None:
        value = self.get_setting("calibration")
        if not value:
            return None
        return Calibration(tuple(value["pixel_size"]), value["unit"], "project")

    # ------------------------------------------------------------------ classes and labels
    def classes(self) -> list[str]:
        return [r["name"] for r in self._query("SELECT name FROM classes ORDER BY position, id")]

    def set_classes(self, names: list[str], colors: list[str] | None = None) -> None:
        """Set the class list in this order (with display colours like ``#e8a33d``). Classes
        that disappear take their labels with them."""
        names = [n.strip() for n in names]
        colors = list(colors) if colors is not None else [None] * len(names)
        if any(not n for n in names) or len(set(names)) != len(names):
            raise ProjectError("class names must be non-empty and unique", self.folder)
        with self._write() as c:
            c.execute(f"DELETE FROM classes WHERE name NOT IN ({','.join('?' * len(names))})",
                      names)
            for pos, (name, color) in enumerate(zip(names, colors)):
                c.execute("INSERT INTO classes(name, position, color) VALUES (?, ?, ?)"
                          " ON CONFLICT(name) DO UPDATE SET position = excluded.position,"
                          " color = coalesce(excluded.color, classes.color)",
                          (name, pos, color))

    def class_colors(self) -> dict[str, str | None]:
        """Class name → display colour (None when the class has none)."""
        return {r["name"]: r["color"] for r in
                self._query("SELECT name, color FROM classes ORDER BY position, id")}

    def set_label(self, image_id: int, class_name: str | None) -> None:
        """Label an image with a class of the project (None removes its label)."""
        with self._write() as c:
            if class_name is None:
                c.execute("DELETE FROM labels WHERE image_id = ?", (image_id,))
                return
            row = c.execute("SELECT id FROM classes WHERE name = ?", (class_name,)).fetchone()
            if row is None:
                raise ProjectError(f"no class named {class_name!r} in this project", self.folder)
            c.execute("INSERT OR REPLACE INTO labels(image_id, class_id, updated_at)"
                      " VALUES (?, ?, ?)", (image_id, row[0], time.time()))

    def labels(self) -> dict[int, str]:
        """image id → class name for every labelled image."""
        rows = self._query("SELECT l.image_id, c.name FROM labels l JOIN classes c"
                           " ON c.id = l.class_id")
        return {r["image_id"]: r["name"] for r in rows}

    # ------------------------------------------------------------------ masks
    def save_mask(self, image_id: int, mask, source: str = "painted") -> int:
        """Store a new version of an image's mask (lossless, atomic); returns the version.

        Parameters
        ----------
        mask : ndarray of unsigned integers, shape of the image plane
            0 = background, 1 = nanowire, further values = further classes.
        source : str
            How it was made: ``painted``, ``import``, ``auto:<method>``, ``predicted:<model>``.
        """
        from nanomorph.project.maskfiles import write_mask

        record = self.image(image_id)
        version = (self.latest_mask_version(image_id) or 0) + 1
        name = f"{record.sha256[:16]}_v{version}.tif"
        if self.read_only:
            raise ProjectReadOnlyError("the project is open read-only: the mask was not saved",
                                       self.folder)
        digest = write_mask(self.masks_dir / name, mask)
        with self._write() as c:
            c.execute("INSERT INTO masks(image_id, version, file, sha256, source, created_at)"
                      " VALUES (?, ?, ?, ?, ?, ?)",
                      (image_id, version, name, digest, source, time.time()))
        return version

    def mask(self, image_id: int, version: int | None = None):
        """The image's mask (latest version unless ``version`` is given), or None if it has none."""
        from nanomorph.project.maskfiles import read_mask

        rows = self.mask_versions(image_id)
        if version is not None:
            rows = [r for r in rows if r["version"] == version]
        if not rows:
            return None
        return read_mask(self.masks_dir / rows[-1]["file"])

    def mask_versions(self, image_id: int) -> list[dict]:
        """Every stored version of an image's mask, oldest first."""
        return [dict(r) for r in self._query(
            "SELECT version, file, sha256, source, created_at FROM masks WHERE image_id = ?"
            " ORDER BY version", (image_id,))]

    def latest_mask_version(self, image_id: int) -> int | None:
        return self._query("SELECT max(version) FROM masks WHERE image_id = ?", (image_id,))[0][0]

    # ------------------------------------------------------------------ analysis results
    def save_analysis(self, image_id: int, kind: str, params: dict, result: dict,
                      mask_version: int | None) -> None:
        """Store an image's latest ``kind`` result (e.g. ``percolation``) with its parameters and
        the mask version it analysed."""
        with self._write() as c:
            c.execute("INSERT OR REPLACE INTO analyses(image_id, kind, params, mask_version,"
                      " result, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                      (image_id, kind, json.dumps(params), mask_version, json.dumps(result),
                       time.time()))

    def analyses(self, kind: str) -> dict[int, dict]:
        """image id → ``{"params", "result", "mask_version", "stale", "created_at"}``; ``stale``
        is True when the image's mask changed since the result was computed."""
        rows = self._query(
            "SELECT a.*, (SELECT max(version) FROM masks m WHERE m.image_id = a.image_id)"
            " AS latest FROM analyses a WHERE kind = ?", (kind,))
        return {r["image_id"]: {"params": json.loads(r["params"]),
                                "result": json.loads(r["result"]),
                                "mask_version": r["mask_version"],
                                "stale": r["mask_version"] != r["latest"],
                                "created_at": r["created_at"]} for r in rows}

    # ------------------------------------------------------------------ models and predictions
    def register_model(self, kind: str, name: str, file: str, config: dict) -> int:
        """Record (or update) the model ``kind``/``name`` whose file is ``models/<file>``;
        returns its id."""
        with self._write() as c:
            row = c.execute("SELECT id FROM models WHERE kind = ? AND name = ?",
                            (kind, name)).fetchone()
            if row is not None:
                c.execute("UPDATE models SET file = ?, config = ?, created_at = ? WHERE id = ?",
                          (file, json.dumps(config), time.time(), row[0]))
                return row[0]
            cur = c.execute("INSERT INTO models(kind, name, file, config, created_at)"
                            " VALUES (?, ?, ?, ?, ?)",
                            (kind, name, file, json.dumps(config), time.time()))
        return cur.lastrowid

    def models(self, kind: str | None = None) -> list[dict]:
        sql = "SELECT * FROM models" + (" WHERE kind = ?" if kind else "") + " ORDER BY id"
        return [{**dict(r), "config": json.loads(r["config"])}
                for r in self._query(sql, (kind,) if kind else ())]

    def save_predictions(self, model_id: int, results: dict[int, dict]) -> None:
        """Replace the model's predictions with ``results`` (image id → JSON-ready dict)."""
        now = time.time()
        with self._write() as c:
            c.execute("DELETE FROM predictions WHERE model_id = ?", (model_id,))
            c.executemany("INSERT INTO predictions(image_id, model_id, result, created_at)"
                          " VALUES (?, ?, ?, ?)",
                          [(i, model_id, json.dumps(r), now) for i, r in results.items()])

    def predictions(self, model_id: int) -> dict[int, dict]:
        rows = self._query("SELECT image_id, result FROM predictions WHERE model_id = ?",
                           (model_id,))
        return {r["image_id"]: json.loads(r["result"]) for r in rows}

    # ------------------------------------------------------------------ run history
    def start_run(self, kind: str, config: dict) -> int:
        """Record the start of a job (training, batch, …); returns the run id."""
        with self._write() as c:
            cur = c.execute("INSERT INTO runs(kind, config, status, started_at) VALUES (?, ?, ?, ?)",
                            (kind, json.dumps(config), "running", time.time()))
        return cur.lastrowid

    def finish_run(self, run_id: int, status: str, result: dict | None = None) -> None:
        """Record how a run ended: ``done``, ``failed`` or ``cancelled``, with its result."""
        with self._write() as c:
            c.execute("UPDATE runs SET status = ?, result = ?, finished_at = ? WHERE id = ?",
                      (status, json.dumps(result), time.time(), run_id))

    def runs(self, kind: str | None = None) -> list[dict]:
        sql = "SELECT * FROM runs" + (" WHERE kind = ?" if kind else "") + " ORDER BY id"
        return [{**dict(r), "config": json.loads(r["config"]),
                 "result": json.loads(r["result"]) if r["result"] else None}
                for r in self._query(sql, (kind,) if kind else ())]


def _record(row: sqlite3.Row, project_cal: Calibration | None) -> ImageRecord:
    file_cal = _calibration(row["file_pixel_y"], row["file_pixel_x"], row["file_unit"], "file")
    user_cal = _calibration(row["user_pixel_y"], row["user_pixel_x"], row["user_unit"], "user")
    effective = user_cal if user_cal.calibrated else (project_cal or file_cal)
    return ImageRecord(
        id=row["id"], sha256=row["sha256"], path=os.fsdecode(bytes(row["path"])),
        name=row["name"], size_bytes=row["size_bytes"], format=row["format"],
        shape=tuple(json.loads(row["shape"])), dtype=row["dtype"], file_calibration=file_cal,
        calibration=effective, added_at=row["added_at"])


def _calibration(py, px, unit, source) -> Calibration:
    if py is None or px is None or not unit:
        return UNCALIBRATED
    return Calibration((py, px), unit, source)


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


def _walk_files(folder) -> Iterator[str]:
    from nanomorph.io.readers import SUPPORTED_SUFFIXES

    for root, _dirs, files in os.walk(folder):
        for name in files:
            if os.path.splitext(name)[1].lower() in SUPPORTED_SUFFIXES:
                yield os.path.join(root, name)

