"""Crash-safe file writes: write a temporary file beside the target, fsync it, rename it over
the target, fsync the folder. A reader sees either the old file or the new one, never a torn one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    """The process umask, read without changing it (Linux), else set-and-restore once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes private (0600) files; the final file gets what open() would have given it
NEW_FILE_MODE = 0o666 & ~_umask()


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Write a file atomically.

    Parameters
    ----------
    path : path-like
        The final file name; its folder must exist.
    write : callable
        Called with a binary file object open for writing; it writes the whole content.

    Returns
    -------
    Path
        ``path``, now holding the new content.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), NEW_FILE_MODE)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Atomically replace a file's content.

    Parameters
    ----------
    path : str or os.PathLike
        The final file name; its folder must exist.
    data : bytes
        The whole new content.

    Returns
    -------
    Path
        ``path``, now holding ``data``.
    """
    return atomic_write(path, lambda f: f.write(data))


def csv_text(rows: list[dict], columns) -> str:
    """Rows as CSV text with a header; keys of a row outside ``columns`` are left out.

    Parameters
    ----------
    rows : list of dict
        The rows; a missing column is an empty cell.
    columns : sequence of str
        The columns, in order.

    Returns
    -------
    str
        The CSV, ``\\n`` line ends.
    """
    import csv
    import io

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(columns), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def atomic_write_csv(path: str | os.PathLike, rows: list[dict], columns=None) -> int:
    """Atomically write rows as a UTF-8 CSV file (:func:`csv_text`).

    Parameters
    ----------
    path : str or os.PathLike
        The file; its folder must exist.
    rows : list of dict
        The rows.
    columns : sequence of str, optional
        The columns; by default every key of the rows, in first-seen order.

    Returns
    -------
    int
        Rows written.
    """
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    atomic_write_bytes(path, csv_text(rows, columns).encode("utf-8"))
    return len(rows)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
