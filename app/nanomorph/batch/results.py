"""The files of a results folder: the record log that makes a run resumable, and the tables.

```
DIR/batch.json            the run: inputs, parameters, model hashes, counts (rewritten atomically)
DIR/batch-records.jsonl   one JSON line per finished image, appended and fsynced as results arrive
DIR/results.csv           one row per input image, in input order (written atomically at the end,
                          row by row from the record log: memory does not grow with the rows)
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
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from nanomorph.errors import NanomorphError, display_path

RUN_FILE = "batch.json"
LOG_FILE = "batch-records.jsonl"
CSV_FILE = "results.csv"
PARQUET_FILE = "results.parquet"
MASKS_FOLDER = "masks"
OVERLAYS_FOLDER = "overlays"

# rows per Parquet row group written at a time
TABLE_BATCH_ROWS = 8192

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

    Only where each record is kept in memory (its key, offset and length), and the hashes of
    the files recorded: a record's row is read back from the file when asked, so a run over
    100,000 frames does not hold 100,000 rows.

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
        self._places: dict[str, tuple[int, int]] = {}  # key -> (offset, length) of its line
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
        return len(self._places)

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
        offset, line = 0, b"\n"
        with open(self.path, "rb") as file:
            for line in file:
                place = (offset, len(line))
                offset += len(line)
                try:
                    record = json.loads(line.decode("utf-8", "surrogateescape"))
                    key = record["key"]
                    if not isinstance(record["row"], dict):
                        continue
                    files = [(str(p), int(size), int(mtime), str(sha))
                             for p, size, mtime, sha in record["files"]]
                except (ValueError, KeyError, TypeError):
                    continue  # a line torn by a kill, or not ours
                self._places[key] = place
                for path, size, mtime, sha in files:
                    self._hashes[(path, size, mtime)] = sha
        if not line.endswith(b"\n"):
            self._append(b"\n")

    def find(self, config_key: str, files: list[str], frame: int | None = None) -> str | None:
        """The key of an image's record.

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
        str or None
            None when it has none for ``config_key`` or a file changed since.
        """
        hashes = []
        for path in files:
            state = file_state(path)
            sha = None if state is None else self._hashes.get((path, *state))
            if sha is None:
                return None
            hashes.append(sha)
        key = record_key(config_key, files[0], hashes, frame)
        return key if key in self._places else None

    def place(self, key: str) -> tuple[int, int]:
        """Where a record's line is in the log.

        Parameters
        ----------
        key : str
            A key :meth:`find` or :meth:`add` gave.

        Returns
        -------
        (int, int)
            Offset and length in bytes (what :class:`RunRows` reads the row back from).
        """
        return self._places[key]

    def row(self, key: str) -> dict:
        """A recorded row, read back from the log.

        Parameters
        ----------
        key : str
            A key :meth:`find` or :meth:`add` gave.

        Returns
        -------
        dict
            The row as it was recorded.
        """
        offset, length = self._places[key]
        return _row_of_line(os.pread(self._fd, length, offset))

    def add(self, config_key: str, results: list[tuple[dict, list]]) -> list[str | None]:
        """Record finished images (one write, fsynced); rows whose status is not ``ok`` are not
        recorded.

        Parameters
        ----------
        config_key : str
            :meth:`BatchConfig.key` of the run.
        results : list of (dict, list)
            (row, [(path, size, mtime_ns, sha256)…]) pairs.

        Returns
        -------
        list of str or None
            The key of each result's record, None for a row that was not recorded.
        """
        keys, lines = [], []
        for row, files in results:
            if row.get("status") != "ok":
                keys.append(None)
                continue
            keys.append(record_key(config_key, files[0][0], [f[3] for f in files],
                                   row.get("frame")))
            lines.append(json.dumps({"key": keys[-1], "files": [list(f) for f in files],
                                     "row": row}, ensure_ascii=False)
                         .encode("utf-8", "surrogateescape") + b"\n")
        if not lines:
            return keys
        offset = self._append(b"".join(lines))
        recorded = iter(lines)
        for key, (row, files) in zip(keys, results):
            if key is None:
                continue
            line = next(recorded)
            self._places[key] = (offset, len(line))
            offset += len(line)
            for path, size, mtime, sha in files:
                self._hashes[(path, size, mtime)] = sha
        return keys

    def _append(self, data: bytes) -> int:
        """Write ``data`` at the end and fsync; a full disk leaves at most a torn last line.
        Returns the offset it was written at (this process holds the log's lock)."""
        with writing(self.path):
            offset = os.fstat(self._fd).st_size
            self._write(data)
        return offset

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


def _row_of_line(line: bytes) -> dict:
    return json.loads(line.decode("utf-8", "surrogateescape"))["row"]


class RunRows(Sequence):
    """The rows of a run, in input order: each recorded row read back from the record log when
    asked (about 100 bytes a row in memory instead of the row), the others (failed images,
    images without a mask) as they are; every row with the run's shared columns.

    Parameters
    ----------
    log_path : path-like
        The record log.
    entries : list
        Per row: (offset, length) of its line in the log, or the row itself.
    shared : dict
        Columns every row of the run has (parameters, model hashes).
    """

    def __init__(self, log_path: str | os.PathLike, entries: list, shared: dict):
        self._path = Path(log_path)
        self._entries = entries
        self._shared = shared

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        with open(self._path, "rb") as file:
            return self._row(file, self._entries[index])

    def __iter__(self) -> Iterator[dict]:
        with open(self._path, "rb") as file:
            for entry in self._entries:
                yield self._row(file, entry)

    def _row(self, file, entry) -> dict:
        if isinstance(entry, dict):
            return {**entry, **self._shared}
        offset, length = entry
        return {**_row_of_line(os.pread(file.fileno(), length, offset)), **self._shared}


class _TableShape:
    """The columns of some rows, in first-seen order, and the Arrow type of each: what
    ``pyarrow.Table.from_pylist`` infers from a whole column, found in one pass without
    holding the rows (None is null, ints with floats are float64)."""

    def __init__(self, rows: Iterable[dict]):
        self.kinds: dict[str, set] = {}
        self.samples: dict[str, object] = {}
        for row in rows:
            for key, value in row.items():
                kinds = self.kinds.setdefault(key, set())
                if value is not None and type(value) not in kinds:
                    kinds.add(type(value))
                    self.samples.setdefault(key, value)

    def columns(self) -> list[str]:
        present = list(self.kinds)
        leading = [c for c in LEADING_COLUMNS if c in self.kinds]
        trailing = [c for c in TRAILING_COLUMNS if c in self.kinds]
        middle = [c for c in present if c not in leading and c not in trailing]
        return leading + middle + trailing

    def schema(self, columns: list[str]):
        import pyarrow as pa

        known = {frozenset(): pa.null(), frozenset({bool}): pa.bool_(),
                 frozenset({int}): pa.int64(), frozenset({float}): pa.float64(),
                 frozenset({int, float}): pa.float64(), frozenset({str}): pa.string()}
        return pa.schema([(c, known.get(frozenset(self.kinds[c])) or pa.array(
            [self.samples[c]]).type) for c in columns])


def write_tables(folder: str | os.PathLike, rows: Sequence[dict]) -> tuple[Path, Path]:
    """Write ``results.csv`` and ``results.parquet`` (atomically: temporary file, fsync, rename).

    The rows are gone through twice (their columns and types, then the tables, a row group of
    :data:`TABLE_BATCH_ROWS` at a time), so a :class:`RunRows` is never held whole.

    Parameters
    ----------
    folder : str or os.PathLike
        The results folder.
    rows : sequence of dict
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
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    from nanomorph.io.atomic import atomic_write

    folder = Path(folder)
    shape = _TableShape(rows)
    columns = shape.columns()
    schema = shape.schema(columns)

    def full_rows() -> Iterator[dict]:
        for row in rows:
            yield {c: _text(row.get(c)) for c in columns}

    def write_csv(file) -> None:
        text = io.TextIOWrapper(file, encoding="utf-8", newline="")
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(full_rows())
        text.flush()
        text.detach()

    def write_parquet(file) -> None:
        with pq.ParquetWriter(file, schema) as writer:
            batch = []
            for row in full_rows():
                batch.append(row)
                if len(batch) == TABLE_BATCH_ROWS:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    batch = []
            if batch or not len(rows):
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))

    paths = folder / CSV_FILE, folder / PARQUET_FILE
    for path, write in zip(paths, (write_csv, write_parquet)):
        with writing(path):
            atomic_write(path, write)
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

