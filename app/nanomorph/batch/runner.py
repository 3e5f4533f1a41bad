"""Running a batch: chunks of images as Dask tasks, results recorded as they arrive.

:func:`run_batch` is a job (``nanomorph.jobs``): it yields one ``Progress`` per finished image
(payload: the image's row) and returns a :class:`BatchSummary`. The CLI drives it with a
terminal progress bar, the GUI's "Run on all images" with its job runner. With ``client=None``
the chunks run one after the other in the calling process; with a Dask client they run as tasks
on its workers (a local cluster or yours: :mod:`.cluster`). Both give the same table (only the
``seconds`` column differs).

Tasks and chunks
----------------
The input list is cut into fixed chunks of :func:`default_chunk_size` images (16 for large
batches; fewer for small ones, so that at least 32 tasks spread over the workers). A task
analyses one chunk; its images are embedded as one batch. Chunk boundaries depend only on the
number of images, so every image is always analysed in the same company: batched embeddings
(and so confidences) are bit-identical between a local run, a cluster run and a resumed run. A
chunk with any image not recorded yet runs whole. At most a few tasks per worker thread are in
flight, so a batch of millions of images does not flood the scheduler.

Failures
--------
An image that fails becomes an error row (:mod:`.pipeline`). A worker that dies (killed, out
of memory) has its tasks rerun by Dask elsewhere; a chunk whose workers died three times gives
error rows. A task that fails as a whole (nanomorph missing on a worker) and an output that
cannot be written (:class:`~.results.OutputError`, e.g. a full disk) stop the run with one
line; what was recorded stays.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path

from nanomorph.batch.config import BatchConfig
from nanomorph.batch.inputs import BatchItem, collect_items, single_project
from nanomorph.batch.pipeline import error_row, process_chunk
from nanomorph.batch.results import (
    MASKS_FOLDER,
    OVERLAYS_FOLDER,
    OutputError,
    RecordLog,
    RunRows,
    write_run_file,
    write_tables,
    writing,
)
from nanomorph.errors import JobCancelled, NanomorphError, display_path
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel

MAX_IMAGES_PER_TASK = 16
MIN_TASKS = 32
TASKS_PER_THREAD = 4


@dataclass
class BatchSummary:
    """What a batch run produced.

    Attributes
    ----------
    rows : sequence of dict
        One per input image, in input order (the table's rows), read back from the record log
        when asked (:class:`~nanomorph.batch.results.RunRows`).
    tables : (Path, Path)
        ``results.csv`` and ``results.parquet``.
    computed, reused : int
        Images analysed by this run, and rows taken from an earlier run's records.
    seconds : float
        Wall time of the run.
    counts : dict
        ``images``, ``ok``, ``no mask``, ``error`` and ``percolates`` (rows whose network
        percolates).
    """

    rows: Sequence[dict]
    tables: tuple[Path, Path]
    computed: int
    reused: int
    seconds: float
    counts: dict = field(init=False)

    def __post_init__(self) -> None:
        counts = Counter()
        for row in self.rows:
            counts[row["status"]] += 1
            counts["percolates"] += row["status"] == "ok" and bool(row.get("percolates"))
        self.counts = {"images": len(self.rows), "ok": counts["ok"],
                       "no mask": counts["no mask"],
                       "error": len(self.rows) - counts["ok"] - counts["no mask"],
                       "percolates": counts["percolates"]}


def default_chunk_size(n_images: int) -> int:
    """Images per Dask task: enough for :data:`MIN_TASKS` tasks, at most
    :data:`MAX_IMAGES_PER_TASK` (it depends on the number of images only).

    Parameters
    ----------
    n_images : int
        Images of the run.

    Returns
    -------
    int
        At least 1.
    """
    return max(1, min(MAX_IMAGES_PER_TASK, math.ceil(n_images / MIN_TASKS)))


def run_batch(inputs: list, out_dir: str | os.PathLike, config: BatchConfig, *, client=None,
              images_per_task: int | None = None, frames_folders: bool = False,
              frame_interval_s: float | None = None,
              cancel: CancelToken | None = None) -> Job[BatchSummary]:
    """Analyse images and write the results table (a job).

    Parameters
    ----------
    inputs : list of path-like
        Image files, folders of images, or one project folder (:mod:`.inputs`).
    out_dir : path-like
        The results folder (created when missing; a folder of an earlier run is resumed).
    config : BatchConfig
        The per-image steps.
    client : distributed.Client, optional
        Run the chunks as tasks of this client (:func:`.cluster.batch_client`); None runs
        them here.
    images_per_task : int, optional
        Images per task (default :func:`default_chunk_size`).
    frames_folders : bool
        Each input folder is a movie of numbered frames: one row per frame file, with its
        ``frame`` and ``time_s`` (see :func:`.inputs.collect_items`).
    frame_interval_s : float, optional
        Seconds between the frames of those folders; None takes ``time_s`` from the files'
        acquisition stamps when they give it (:func:`.inputs.collect_items`), else empty.
    cancel : CancelToken, optional
        Checked after each chunk; what finished is recorded.

    Yields
    ------
    Progress
        One per image, as its row is ready (``payload``: the row); rows of an earlier run
        first.

    Returns
    -------
    BatchSummary

    Raises
    ------
    NanomorphError
        Bad inputs or models (before any work), a failed task; :class:`OutputError` when an
        output cannot be written.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    inputs = list(inputs)
    project = single_project(inputs)
    items = collect_items(inputs, config, frames_folders=frames_folders,
                          frame_interval_s=frame_interval_s)
    models = _model_hashes(config)
    key = config.key(models)
    _make_folders(out_dir, config)
    size = images_per_task or default_chunk_size(len(items))
    run = _run_record(inputs, project, items, config, key, models, client, size)
    with RecordLog(out_dir) as log, _project_run(project, out_dir, run) as project_run:
        write_run_file(out_dir, run)
        keys = [log.find(key, item.files(), item.frame) for item in items]
        entries: list = [None if k is None else log.place(k) for k in keys]
        reused = len(items) - keys.count(None)
        for done, found in enumerate(k for k in keys if k is not None):
            yield Progress(done + 1, len(items), "recorded by an earlier run",
                           payload=log.row(found))
        del keys
        computed = yield from _compute(entries, items, size, config, client, out_dir, log, key,
                                       cancel)
        rows = RunRows(log.path, entries, _run_columns(config, key, models))
        tables = write_tables(out_dir, rows)
        summary = BatchSummary(rows, tables, computed, reused, time.perf_counter() - started)
        run.update(finished=_now(), seconds=round(summary.seconds, 3), counts=summary.counts,
                   computed=computed, reused=reused)
        write_run_file(out_dir, run)
        project_run["result"] = {"out": str(out_dir.absolute()), **summary.counts}
    return summary


def _compute(entries: list, items: list[BatchItem], size: int, config: BatchConfig, client,
             out_dir: Path, log: RecordLog, key: str, cancel) -> Job[int]:
    """Analyse every chunk that holds an image without a row (a job: one Progress per image
    that gets its row); records the rows, fills ``entries`` (where a row is in the log, or the
    row itself when it is not recorded: a failed image), and returns how many images it
    analysed."""
    chunks = [range(start, min(start + size, len(items)))
              for start in range(0, len(items), size)]
    pending = [c for c in chunks if any(entries[i] is None for i in c)]
    done, computed = len(entries) - entries.count(None), 0
    results = (_run_on_dask(client, pending, items, config, out_dir) if client is not None
               else _run_here(pending, items, config, out_dir))
    with contextlib.closing(results):
        for chunk, chunk_results in results:
            recorded = log.add(key, chunk_results)
            for index, (row, _files), row_key in zip(chunk, chunk_results, recorded):
                first = entries[index] is None
                entries[index] = row if row_key is None else log.place(row_key)
                computed += 1
                if first:
                    done += 1
                    yield Progress(done, len(items), _describe(row), payload=row)
            check_cancel(cancel)
    return computed


# -- execution -----------------------------------------------------------------------------------
def _run_here(chunks: list[range], items: list[BatchItem], config: BatchConfig, out_dir: Path):
    """(chunk, results) for each chunk, computed in this process, in order (torch with one
    thread, as on a Dask worker)."""
    from nanomorph.batch.models import one_torch_thread

    with one_torch_thread(bool(config.model_files())):
        for chunk in chunks:
            yield chunk, process_chunk([items[i] for i in chunk], config, str(out_dir))


def _run_on_dask(client, chunks: list[range], items: list[BatchItem], config: BatchConfig,
                 out_dir: Path):
    """(chunk, results) for each chunk as its Dask task finishes; at most
    :data:`TASKS_PER_THREAD` tasks per worker thread in flight."""
    from distributed import as_completed

    threads = sum(client.nthreads().values())
    window = max(2 * TASKS_PER_THREAD, TASKS_PER_THREAD * threads)
    token = uuid.uuid4().hex[:8]
    waiting = iter(chunks)
    in_flight: dict = {}

    def submit(chunk: range):
        future = client.submit(process_chunk, [items[i] for i in chunk], config, str(out_dir),
                               key=f"nanomorph-batch-{token}-{chunk.start}", pure=False)
        in_flight[future] = chunk
        return future

    finished = as_completed([submit(chunk) for chunk in islice(waiting, window)],
                            loop=client.loop)
    try:
        for future in finished:
            chunk = in_flight.pop(future)
            results = _task_results(future, [items[i] for i in chunk], config)
            future.release()
            following = next(waiting, None)
            if following is not None:
                finished.add(submit(following))
            yield chunk, results
    finally:
        if in_flight:
            client.cancel(list(in_flight))


def _task_results(future, items: list[BatchItem], config: BatchConfig) -> list:
    """A finished task's results; error rows when its workers kept dying."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        reason = NanomorphError("the Dask workers analysing it died (out of memory, or killed) "
                                "three times")
        return [(error_row(item, config, reason), []) for item in items]
    except NanomorphError:
        raise
    except Exception as exc:  # noqa: BLE001 - a task that failed as a whole stops the run
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        hint = (": install nanomorph on every Dask worker" if isinstance(exc, ImportError)
                else "")
        raise NanomorphError(f"a Dask task failed ({detail}){hint}") from None


# -- bookkeeping ---------------------------------------------------------------------------------
def _model_hashes(config: BatchConfig) -> dict[str, str]:
    """SHA-256 of the model files, after loading each once here (a bad file stops the run
    before any work, and the calling process keeps it for a run without Dask)."""
    from nanomorph.batch.models import cached_classifier, cached_segmenter
    from nanomorph.io.hashing import sha256_file

    if config.classifier:
        cached_classifier(config.classifier)
    if config.segmenter:
        cached_segmenter(config.segmenter, config.device)
    return {name: sha256_file(path) for name, path in config.model_files().items()}


def _make_folders(out_dir: Path, config: BatchConfig) -> None:
    folders = [out_dir]
    folders += [out_dir / MASKS_FOLDER] if config.write_masks else []
    folders += [out_dir / OVERLAYS_FOLDER] if config.write_overlays else []
    for folder in folders:
        if folder.exists() and not folder.is_dir():
            raise OutputError("the output folder is a file", folder)
        with writing(folder):
            folder.mkdir(parents=True, exist_ok=True)


def _run_columns(config: BatchConfig, key: str, models: dict[str, str]) -> dict:
    """The columns every row of a run shares: parameters, their hash, the model hashes."""
    return {"params": json.dumps(config.as_json(), sort_keys=True), "config_sha256": key,
            **{f"{name}_sha256": sha for name, sha in models.items()}}


def _run_record(inputs, project, items, config, key, models, client, size) -> dict:
    """The content of ``batch.json``."""
    from nanomorph import __version__

    return {
        "nanomorph": __version__, "started": _now(), "finished": None,
        "inputs": [display_path(p) for p in inputs], "project": project,
        "n_images": len(items), "config": config.as_json(), "config_sha256": key,
        "models": {name: {"path": path, "sha256": models[name]}
                   for name, path in config.model_files().items()},
        "scheduler": client.scheduler.address if client is not None else "in-process",
        "workers": len(client.nthreads()) if client is not None else 0,
        "images_per_task": size,
    }


@contextlib.contextmanager
def _project_run(folder: str | None, out_dir: Path, run: dict):
    """Record the run in the run history of the input project ``folder`` (when there is one
    and it is writable); yields a dict whose ``result`` is stored when the run ends."""
    from nanomorph.project import Project

    from nanomorph.errors import ProjectLockedError

    outcome: dict = {}
    run_id = None
    if folder:
        try:
            with Project.open(folder) as project:
                if not project.read_only:
                    run_id = project.runs.start("batch", {"out": str(out_dir.absolute()),
                                                         "config": run["config"]})
        except ProjectLockedError:
            pass  # another program writes to the project: the run is not recorded there
    status = "failed"
    try:
        yield outcome
        status = "done"
    except (GeneratorExit, JobCancelled):
        status = "cancelled"
        raise
    finally:
        if run_id is not None:
            with Project.open(folder) as project:
                project.runs.finish(run_id, status, outcome.get("result"))


def _describe(row: dict) -> str:
    name = display_path(os.path.basename(row["path"]))
    if row["status"] != "ok":
        return f"{name}: failed"
    return f"{name}: {'percolates' if row['percolates'] else 'does not percolate'}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
