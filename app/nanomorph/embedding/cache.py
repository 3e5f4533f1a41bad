"""The embedding cache: each embedding is computed once per (image content, encoder, preprocessing).

One SQLite file, ``<folder>/embeddings.sqlite`` (a project's ``cache/``, or any folder), WAL
journal::

    embeddings(sha256, encoder_key, preprocess_key, dim, vector)   vector: float32 bytes
    file_hashes(path, size, mtime_ns, sha256)                      path: file-system bytes

- ``sha256`` is the image file's content hash (the project's image id); ``encoder_key`` is
  ``EncoderSpec.key()`` (name and weights id); ``preprocess_key`` is ``PreprocessSpec.key()``.
- ``put_many`` writes one batch in one transaction, so what a cancelled or crashed job finished
  is kept (``synchronous=NORMAL``: a power cut may lose the last batch, never corrupt the file).
- ``file_hashes`` remembers the SHA-256 of a file with its size and modification time, so a
  re-run does not read every image again (git's rule: a file rewritten with the same size
  within the same nanosecond would be missed).
- Always safe to delete: a missing file is created empty; a damaged one is replaced (with a
  warning).

Why one SQLite file rather than one ``.npy`` per image: a re-run looks every embedding up in
one query instead of opening a file per image (``get_many``: 0.44 ms per 100 embeddings of
1280 floats, measured by ``tests/benchmarks/test_bench_embedding.py``, where a re-run of 48
images with nothing changed took 1.0 ms against 0.8–4.6 s for the first run, depending on the
machine's load), and a batch is committed atomically without temporary files.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from nanomorph.errors import NanomorphError
from nanomorph.io.hashing import sha256_file

FILE_NAME = "embeddings.sqlite"
_QUERY_CHUNK = 500  # rows looked up, or read, at a time
_SCAN_FROM = 2_000  # hashes wanted from which an encoder's rows are all read in order
_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    sha256 TEXT NOT NULL, encoder_key TEXT NOT NULL, preprocess_key TEXT NOT NULL,
    dim INTEGER NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (encoder_key, preprocess_key, sha256)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_hashes (
    path BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL) WITHOUT ROWID;
"""


class EmbeddingCache:
    """Embeddings by (content SHA-256, encoder key, preprocessing key) in ``folder``.

    Parameters
    ----------
    folder : path-like
        Created when missing: a project's ``cache_dir`` or any folder.

    Raises
    ------
    NanomorphError
        When the folder or the file cannot be created or written.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.path = self.folder / FILE_NAME
        self._lock = threading.Lock()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._conn = self._connect()
        except sqlite3.DatabaseError:
            warnings.warn(f"nanomorph: the embedding cache {self.path} was damaged and has been "
                          "emptied", RuntimeWarning, stacklevel=2)
            self._remove_files()
            self._conn = self._open_or_fail()
        except OSError as exc:
            raise NanomorphError(f"cannot create the embedding cache here "
                                 f"({exc.strerror or exc})", self.folder) from None

    @classmethod
    def for_project(cls, project) -> "EmbeddingCache":
        """The embedding cache of a project (in its ``cache/`` folder).

        Parameters
        ----------
        project : Project
            The open project.

        Returns
        -------
        EmbeddingCache
            Open; close it (or use it in a ``with`` block).
        """
        return cls(project.cache_dir)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _open_or_fail(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            raise NanomorphError(f"cannot create the embedding cache ({exc})", self.path) from None

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        """Close the cache file (a second call does nothing)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "EmbeddingCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ embeddings
    def get_many(self, sha256s: Iterable[str], encoder_key: str, preprocess_key: str, *,
                 dtype=np.float32) -> dict[str, np.ndarray]:
        """Cached embeddings of some images.

        Parameters
        ----------
        sha256s : iterable of str
            Content hashes of the images.
        encoder_key : str
            :meth:`EncoderSpec.key` of the encoder.
        preprocess_key : str
            :meth:`PreprocessSpec.key` of the preprocessing.
        dtype : numpy dtype
            Of the matrix (the cache stores float32; float16 halves the memory).

        Returns
        -------
        dict
            sha256 → array (D,) of ``dtype``: the rows, in the order asked, of one matrix (a view
            per row of its bytes would keep 100,000 small buffers that the heap does not give
            back); missing ones are absent.
        """
        wanted = list(dict.fromkeys(sha256s))
        position = {sha: k for k, sha in enumerate(wanted)}
        matrix, found = None, {}
        with self._lock:
            for rows in self._stored_rows(wanted, encoder_key, preprocess_key):
                # rows not asked for, and damaged ones (a vector not of its stated length: it
                # is computed again), are left out
                rows = [row for row in rows if row[0] in position and len(row[2]) == 4 * row[1]]
                if matrix is None and rows:
                    matrix = np.empty((len(wanted), rows[0][1]), dtype)
                rows = [(sha, blob) for sha, dim, blob in rows if dim == matrix.shape[1]]
                if rows:  # one conversion per chunk: 100,000 rows one by one took 1.7 s
                    places = [position[sha] for sha, _blob in rows]
                    matrix[places] = np.frombuffer(b"".join(blob for _sha, blob in rows),
                                                   np.float32).reshape(len(rows), -1)
                    found.update((sha, matrix[place]) for (sha, _blob), place in zip(rows, places))
        return found

    def _stored_rows(self, wanted: list[str], encoder_key: str, preprocess_key: str):
        """Chunks of (sha256, dim, vector) rows of this encoder and preprocessing: looked up by
        hash, or — when more than :data:`_SCAN_FROM` are wanted — all of them read in the
        table's order, unwanted ones included (a project's cache holds little else). Read in
        order, 100,000 rows take 0.4 s; looked up 500 at a time, 2.7 s."""
        if len(wanted) > _SCAN_FROM:
            cursor = self._conn.execute(
                "SELECT sha256, dim, vector FROM embeddings WHERE encoder_key = ? AND "
                "preprocess_key = ?", (encoder_key, preprocess_key))
            while rows := cursor.fetchmany(_QUERY_CHUNK):
                yield rows
            return
        for start in range(0, len(wanted), _QUERY_CHUNK):
            chunk = wanted[start:start + _QUERY_CHUNK]
            yield self._conn.execute(
                "SELECT sha256, dim, vector FROM embeddings WHERE encoder_key = ? AND "
                f"preprocess_key = ? AND sha256 IN ({','.join('?' * len(chunk))})",
                (encoder_key, preprocess_key, *chunk)).fetchall()

    def put_many(self, vectors: dict[str, np.ndarray], encoder_key: str,
                 preprocess_key: str) -> None:
        """Store embeddings in one transaction.

        Parameters
        ----------
        vectors : dict
            sha256 → array (D,).
        encoder_key : str
            :meth:`EncoderSpec.key` of the encoder.
        preprocess_key : str
            :meth:`PreprocessSpec.key` of the preprocessing.
        """
        rows = [(sha, encoder_key, preprocess_key, int(v.size),
                 np.ascontiguousarray(v, dtype=np.float32).tobytes()) for sha, v in vectors.items()]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?)",
                                       rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def count(self, encoder_key: str | None = None) -> int:
        """Number of cached embeddings.

        Parameters
        ----------
        encoder_key : str, optional
            Only those of this encoder.

        Returns
        -------
        int
            The count.
        """
        sql, params = "SELECT COUNT(*) FROM embeddings", ()
        if encoder_key is not None:
            sql, params = sql + " WHERE encoder_key = ?", (encoder_key,)
        with self._lock:
            return int(self._conn.execute(sql, params).fetchone()[0])

    # ------------------------------------------------------------------ file hashes
    def file_sha256(self, path: str | os.PathLike) -> str:
        """SHA-256 of a file's bytes, read again only when its size or mtime changed.

        Parameters
        ----------
        path : str or os.PathLike
            The file.

        Returns
        -------
        str
            64 hex digits.

        Raises
        ------
        OSError
            When the file cannot be read (as :func:`nanomorph.io.hashing.sha256_file`).
        """
        key = os.fsencode(os.path.abspath(path))
        stat = os.stat(path)
        with self._lock:
            row = self._conn.execute("SELECT size, mtime_ns, sha256 FROM file_hashes WHERE "
                                     "path = ?", (key,)).fetchone()
        if row is not None and row[0] == stat.st_size and row[1] == stat.st_mtime_ns:
            return row[2]
        digest = sha256_file(path)
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?)",
                               (key, stat.st_size, stat.st_mtime_ns, digest))
        return digest
