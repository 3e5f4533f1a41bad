"""Content hashes: the project knows images by the SHA-256 of their file bytes."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable

CHUNK_BYTES = 1 << 20


def sha256_file(path: str | bytes | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks (constant memory).

    Parameters
    ----------
    path : str, bytes or os.PathLike
        The file.

    Returns
    -------
    str
        64 hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes.

    Parameters
    ----------
    data : bytes
        The content.

    Returns
    -------
    str
        64 hex digits.
    """
    return hashlib.sha256(data).hexdigest()


class FileMemo:
    """What was computed from a file, kept while its size, modification time and inode stay the
    same (git's rule: a file rewritten with the same size within the same nanosecond would be
    missed), for the newest ``kept`` files; safe to share between threads.

    Parameters
    ----------
    kept : int
        How many files are remembered (the oldest are forgotten first).
    """

    def __init__(self, kept: int):
        self.kept = kept
        self._values: dict[tuple, object] = {}
        self._lock = threading.Lock()

    def get(self, path: str, stat: os.stat_result, compute: Callable[[], object]):
        """The value for ``path`` in the state ``stat``, computed when not remembered (an
        exception from ``compute`` is not remembered).

        Parameters
        ----------
        path : str
            The file.
        stat : os.stat_result
            Its state now (the caller's ``os.stat``, taken before reading it).
        compute : callable
            Takes no argument; gives the value.

        Returns
        -------
        object
            The value.
        """
        key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)
        with self._lock:
            if key in self._values:
                return self._values[key]
        value = compute()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.kept:
                del self._values[next(iter(self._values))]
        return value
