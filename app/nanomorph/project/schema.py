"""The project database schema and its migrations.

The schema version lives in SQLite's ``PRAGMA user_version``. ``MIGRATIONS[v]`` upgrades a
database from version ``v - 1`` to ``v``; opening a project runs the missing steps in one
transaction after copying the old file to ``project.sqlite.bak-v<old>``. A database newer than
this nanomorph is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE settings (            -- JSON values
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE images (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL UNIQUE,
    path          BLOB NOT NULL,   -- os.fsencode(absolute path): exact, also for non-UTF-8 names
    name          TEXT NOT NULL,   -- file name for display and filtering
    size_bytes    INTEGER NOT NULL,
    format        TEXT NOT NULL,
    shape         TEXT NOT NULL,   -- JSON list
    dtype         TEXT NOT NULL,
    file_pixel_y  REAL, file_pixel_x REAL, file_unit TEXT,  -- as read from the file
    user_pixel_y  REAL, user_pixel_x REAL, user_unit TEXT,  -- the user's override, if any
    added_at      REAL NOT NULL
);
CREATE TABLE classes (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    position INTEGER NOT NULL,
    color    TEXT
);
CREATE TABLE labels (
    image_id   INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    class_id   INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    updated_at REAL NOT NULL
);
CREATE TABLE masks (
    image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    file       TEXT NOT NULL,      -- relative to the project's masks/ folder
    sha256     TEXT NOT NULL,      -- of the mask file
    source     TEXT NOT NULL,      -- painted, import, auto:<method>, predicted:<model>
    created_at REAL NOT NULL,
    PRIMARY KEY (image_id, version)
);
CREATE TABLE models (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,      -- classifier, segmenter, encoder
    name       TEXT NOT NULL,
    file       TEXT NOT NULL,      -- relative to the project's models/ folder
    config     TEXT NOT NULL,      -- JSON
    created_at REAL NOT NULL
);
CREATE TABLE predictions (
    image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    result     TEXT NOT NULL,      -- JSON
    created_at REAL NOT NULL,
    PRIMARY KEY (image_id, model_id)
);
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    config      TEXT NOT NULL,     -- JSON
    status      TEXT NOT NULL,     -- running, done, failed, cancelled
    result      TEXT,              -- JSON
    started_at  REAL NOT NULL,
    finished_at REAL
);
"""

# v2: per-image analysis results (percolation, skeleton metrics) with the parameters used and the
# mask version they were computed from, so an edited mask marks them stale.
_V2 = """
CREATE TABLE analyses (
    image_id     INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,    -- percolation, network
    params       TEXT NOT NULL,    -- JSON
    mask_version INTEGER,          -- the mask version analysed (NULL: not from a stored mask)
    result       TEXT NOT NULL,    -- JSON
    created_at   REAL NOT NULL,
    PRIMARY KEY (image_id, kind)
);
"""

# v3: the frames of a movie or stack as images. A frame record keeps its movie's path; ``frame``
# is its 0-based index there (NULL for a whole file), ``time_s`` its time from the movie's start
# (NULL when the file records no frame interval) and ``movie`` the movie's name, the split group
# that keeps a movie's frames together.
_V3 = """
ALTER TABLE images ADD COLUMN frame INTEGER;
ALTER TABLE images ADD COLUMN time_s REAL;
ALTER TABLE images ADD COLUMN movie TEXT;
CREATE INDEX images_by_movie ON images(movie, frame)
"""


# v4: folders of numbered frames. A frame may be a file of its own, so the page a frame is read
# from in its file is ``page`` (NULL for a file of its own or a whole file); ``frame`` stays its
# index in its movie. The frames of movie files stored before are read from the page ``frame``.
_V4 = """
ALTER TABLE images ADD COLUMN page INTEGER;
UPDATE images SET page = frame WHERE frame IS NOT NULL
"""


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run SQL statements inside the caller's transaction (``executescript`` would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _to_v1(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V1)


def _to_v2(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V2)


def _to_v3(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V3)


def _to_v4(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V4)


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _to_v1,
    2: _to_v2,
    3: _to_v3,
    4: _to_v4,
}
SCHEMA_VERSION = max(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version of a project database.

    Parameters
    ----------
    conn : sqlite3.Connection
        An open database.

    Returns
    -------
    int
        SQLite's ``user_version`` (0 for a new file).
    """
    return conn.execute("PRAGMA user_version").fetchone()[0]


def pending_migrations(current: int) -> list[int]:
    """Versions to apply, in order, to bring a database up to date.

    Parameters
    ----------
    current : int
        The database's schema version.

    Returns
    -------
    list of int
        Empty when it is current.
    """
    return [v for v in sorted(MIGRATIONS) if v > current]


def apply_migrations(conn: sqlite3.Connection, current: int) -> None:
    """Upgrade a database to SCHEMA_VERSION in one transaction (all or nothing).

    Parameters
    ----------
    conn : sqlite3.Connection
        Open with ``isolation_level=None``.
    current : int
        Its schema version now.
    """
    steps = pending_migrations(current)
    if not steps:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for version in steps:
            MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version = {int(version)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
