"""The files of a results folder: the record log that makes a run resumable, and the tables.

```
DIR/batch.json            the run: inputs, parameters, model hashes, counts (rewritten atomically)
DIR/batch-records.jsonl   one JSON line per finished image, appended and fsynced as results arrive
DIR/results.csv           one row per input image, in input order (written atomically at the end)
DIR/results.parquet       the same table (in both, bytes of file names that are not UTF-8 as \\xNN)
DIR/masks/, overlays/     ``--write-masks`` / ``--write-overlays``
```

Resuming
--------
A record holds the image's row and the (path, size, modification time, SHA-256) of every file
the row depends on (image, mask, ground truth). Its key is the SHA-256 of the run's
configuration key (parameters, model hashes, version: :meth:`BatchConfig.key`), the image path
and those content hashes. A later run finds an image's record from the files' size and
modification time (git's rule, as the embedding cache), without reading them, and reuses the
row when the key matches. Only rows with status ``ok`` are recorded: failed images are tried
again. A record is one line written with one ``write`` and fsynced, so a kill loses at most the
line being written; a torn last line is ignored (and the next append starts on a new line). A
record written twice (a task that ran again after its worker died) is one row in the table:
rows are made per input, by key.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path

from nanomorph.errors import NanomorphError, display_path

RUN_FILE = "batch.json"
LOG_FILE = "batch-records.jsonl"
CSV_FILE = "results.csv"
PARQUET_FILE = "results.parquet"
MASKS_FOLDER = "masks"
OVERLAYS_FOLDER = "overlays"

# Column order of the tables: these first (those present), then any others in first-seen order.
LEADING_COLUMNS = ("path", "sha256", "status", "error", "shape", "method", "eps", "min_samples",
                   "margin", "percolates", "spans_x", "spans_y", "n_clusters", "noise_pixels",
                   "foreground_pixels", "foreground_fraction", "largest_cluster_fraction",
                   "seconds", "label", "confidence", "class_margin", "probabilities", "consistency",
                   "dice", "iou", "databar_rows", "polarity", "mask_source", "mask_path",
                   "mask_sha256", "truth_sha256")
TRAILING_COLUMNS = ("mask_file", "overlay_file", "params", "config_sha256", "segmenter_sha256",
                    "classifier_sha256")


class OutputError(NanomorphError):
    """An output file could not be written (a full disk, no permission): the run stops, and
    what was already recorded stays."""


def output_error(exc: OSError, path) -> OutputError:
    """The one-line error for a file that could not be written.

    Parameters
    ----------
    exc : OSError
        What went wrong.
    path : str or os.PathLike
        The file.

    Returns
    -------
    OutputError
        To raise.
    """
    what = ("the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
            else exc.strerror or str(exc))
    return OutputError(f"cannot write the results ({what}); the images finished so far are "
                       "recorded: make room and run the same command again to go on", path)


@contextlib.contextmanager
def writing(path):
    """Turn an OSError raised while writing a file into an :class:`OutputError`.

    Parameters
    ----------
    path : str or os.PathLike
        The file being written.

    Yields
    ------
    None
        Inside the block.

    Raises
    ------
    OutputError
        For an OSError inside the block.
    """
    try:
        yield
    except OSError as exc:
        raise output_error(exc, path) from None


def record_key(config_key: str, path: str, sha256s: Iterable[str],
               frame: int | None = None) -> str:
    """The key of one image's record.

    Parameters
    ----------
    config_key : str
        :meth:`BatchConfig.key` of the run.
    path : str
        The image.
    sha256s : iterable of str
        Content hashes of the files its result depends on.
    frame : int, optional
        The frame of a movie or stack: its frames share the file and its hash, and each has
        its own record (without it, a resumed run gave every frame the last frame's row).

    Returns
    -------
    str
        Hex SHA-256.
    """
    frame_line = [] if frame is None else [f"frame {frame}"]
    text = "\n".join([config_key, os.fsdecode(path), *sha256s, *frame_line])
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def file_state(path: str) -> tuple[int, int] | None:
    """Size and modification time of a file.

    Parameters
    ----------
    path : str
        The file.

    Returns
    -------
    (int, int) or None
        (size, mtime in ns), None when it cannot be stat'ed.
    """
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


class RecordLog:
    """The append-only record log of a results folder (module docstring).

    Parameters
    ----------
    folder : path-like
        The results folder (must exist).

    Raises
    ------
    OutputError
        When the log cannot be opened for writing, or another batch run writes to it.
    """

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / LOG_FILE
        self._rows: dict[str, dict] = {}
        self._hashes: dict[tuple[str, int, int], str] = {}
        with writing(self.path):
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            self._lock()
            self._load()
        except BaseException:
            os.close(self._fd)
            raise

    def __len__(self) -> int:
        return len(self._rows)

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputError("another nanomorph batch is writing to this results folder",
                              self.path.parent) from None

    def _load(self) -> None:
        with open(self.path, "rb") as file:
            data = file.read()
        for line in data.splitlines():
            try:
                record = json.loads(line.decode("utf-8", "surrogateescape"))
                key, row = record["key"], record["row"]
                files = [(str(p), int(size), int(mtime), str(sha))
                         for p, size, mtime, sha in record["files"]]
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a kill, or not ours
            self._rows[key] = row
            for path, size, mtime, sha in files:
                self._hashes[(path, size, mtime)] = sha
        if data and not data.endswith(b"\n"):
            self._append(b"\n")

    def find(self, config_key: str, files: list[str], frame: int | None = None) -> dict | None:
        """The recorded row of an image.

        Parameters
        ----------
        config_key : str
            :meth:`BatchConfig.key` of the run.
        files : list of str
            The files its result depends on, image first.
        frame : int, optional
            The image's frame in a movie or stack.

        Returns
        -------
        dict or None
            None when it has none for ``config_key`` or a file changed since.
        """
        hashes = []
        for path in files:
            state = file_state(path)
            sha = None if state is None else self._hashes.get((path, *state))
            if sha is None:
                return None
            hashes.append(sha)
        return self._rows.get(record_key(config_key, files[0], hashes, frame))

    def add(self, config_key: str, results: list[tuple[dict, list]]) -> None:
        """Record finished images (one write, fsynced); rows whose status is not ``ok`` are not
        recorded.

        Parameters
        ----------
        config_key : str
            :meth:`BatchConfig.key` of the run.
        results : list of (dict, list)
            (row, [(path, size, mtime_ns, sha256)…]) pairs.
        """
        lines = []
        for row, files in results:
            if row.get("status") != "ok":
                continue
            key = record_key(config_key, files[0][0], [f[3] for f in files], row.get("frame"))
            lines.append(json.dumps({"key": key, "files": [list(f) for f in files], "row": row},
                                    ensure_ascii=False))
            self._rows[key] = row
            for path, size, mtime, sha in files:
                self._hashes[(path, size, mtime)] = sha
        if lines:
            self._append(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))

    def _append(self, data: bytes) -> None:
        """Write ``data`` at the end and fsync; a full disk leaves at most a torn last line."""
        with writing(self.path):
            self._write(data)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)

    def close(self) -> None:
        """Release the log's lock and file (a second call does nothing)."""
        os.close(self._fd)

    def __enter__(self) -> RecordLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def table_columns(rows: list[dict]) -> list[str]:
    """The columns of a results table.

    Parameters
    ----------
    rows : list of dict
        The rows.

    Returns
    -------
    list of str
        :data:`LEADING_COLUMNS` first, then the others in first-seen order.
    """
    present = list(dict.fromkeys(key for row in rows for key in row))
    leading = [c for c in LEADING_COLUMNS if c in present]
    trailing = [c for c in TRAILING_COLUMNS if c in present]
    middle = [c for c in present if c not in leading and c not in trailing]
    return leading + middle + trailing


def write_tables(folder: str | os.PathLike, rows: list[dict]) -> tuple[Path, Path]:
    """Write ``results.csv`` and ``results.parquet`` (atomically: temporary file, fsync, rename).

    Parameters
    ----------
    folder : str or os.PathLike
        The results folder.
    rows : list of dict
        One per image.

    Returns
    -------
    (Path, Path)
        The CSV and Parquet files.

    Raises
    ------
    OutputError
        When a table cannot be written (the previous one, if any, stays whole).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from nanomorph.io.atomic import atomic_write_bytes, csv_text

    folder = Path(folder)
    columns = table_columns(rows)
    full = [{c: _text(row.get(c)) for c in columns} for row in rows]
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(full), buffer)
    paths = folder / CSV_FILE, folder / PARQUET_FILE
    for path, data in zip(paths, (csv_text(full, columns).encode("utf-8"), buffer.getvalue())):
        with writing(path):
            atomic_write_bytes(path, data)
    return paths


def _text(value):
    """Text as UTF-8 can hold it: bytes of file names that are not valid UTF-8 as ``\\xNN``."""
    return display_path(value) if isinstance(value, str) else value


def read_table(folder: str | os.PathLike) -> list[dict]:
    """The rows of a results folder's ``results.parquet``.

    Parameters
    ----------
    folder : str or os.PathLike
        The results folder.

    Returns
    -------
    list of dict
        One per image.

    Raises
    ------
    NanomorphError
        When the folder holds no readable results table.
    """
    import pyarrow.parquet as pq

    path = Path(folder) / PARQUET_FILE
    try:
        return pq.read_table(path).to_pylist()
    except FileNotFoundError:
        raise NanomorphError(f"no {PARQUET_FILE} here: not the output folder of "
                             "nanomorph batch", folder) from None
    except (OSError, ValueError) as exc:
        raise NanomorphError(f"the results table cannot be read ({exc})", path) from None


def write_run_file(folder: str | os.PathLike, run: dict) -> None:
    """Write a run's ``batch.json`` (atomically).

    Parameters
    ----------
    folder : str or os.PathLike
        The results folder.
    run : dict
        The run's configuration and summary.
    """
    from nanomorph.io.atomic import atomic_write_bytes

    path = Path(folder) / RUN_FILE
    with writing(path):
        atomic_write_bytes(path, json.dumps(run, indent=2, ensure_ascii=False).encode("utf-8"))


def read_run_file(folder: str | os.PathLike) -> dict:
    """The ``batch.json`` of a results folder.

    Parameters
    ----------
    folder : str or os.PathLike
        The results folder.

    Returns
    -------
    dict
        The run's configuration and summary.

    Raises
    ------
    NanomorphError
        When the folder has none, or it cannot be read.
    """
    path = Path(folder) / RUN_FILE
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise NanomorphError(f"no {RUN_FILE} here: not the output folder of nanomorph batch",
                             folder) from None
    except (OSError, ValueError) as exc:
        raise NanomorphError(f"{RUN_FILE} cannot be read ({exc})", path) from None

