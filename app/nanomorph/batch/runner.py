"""Running a batch: chunks of images as Dask tasks, results recorded as they arrive.

:func:`run_batch` is a job (``nanomorph.jobs``): it yields one ``Progress`` per finished image
(payload: the image's row) and returns a :class:`BatchSummary`. The CLI drives it with a
terminal progress bar, the GUI's "Run on all images" with its job runner. With ``client=None``
the chunks run one after the other in the calling process; with a Dask client they run as tasks
on its workers. Both give the same table (only the ``seconds`` column differs).

Where the work runs
-------------------
- On this machine (default): :func:`batch_client` starts a ``LocalCluster`` of one worker
  process per core (``--workers N`` caps it), one thread each; torch gets one thread per worker.
- On a cluster: start a scheduler and workers on machines that share the images' file system
  and have nanomorph installed (the same version: results are keyed by it), then give the
  scheduler's address with ``--scheduler`` (or ``client=Client(address)``)::

      dask scheduler                                  # prints tcp://HOST:8786
      dask worker tcp://HOST:8786 --nworkers 8 --nthreads 1     # on each machine
      nanomorph batch /data/images --out /data/results --scheduler tcp://HOST:8786

  On SLURM, dask-jobqueue starts the workers as jobs and gives the address::

      from dask_jobqueue import SLURMCluster
      cluster = SLURMCluster(cores=8, processes=8, memory="32GB", walltime="02:00:00")
      cluster.scale(jobs=4); print(cluster.scheduler_address)

  On Kubernetes, the Dask Helm chart (``helm install dask dask/dask``, worker image with
  nanomorph installed) or dask-kubernetes' ``KubeCluster`` expose the scheduler at
  ``tcp://<scheduler service>:8786``. An address where no scheduler answers stops the run
  within 10 s (:func:`batch_client`).

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
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Iterator
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
    write_run_file,
    write_tables,
    writing,
)
from nanomorph.errors import JobCancelled, NanomorphError, display_path
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel

MAX_IMAGES_PER_TASK = 16
MIN_TASKS = 32
CONNECT_TIMEOUT_S = 4.0
TASKS_PER_THREAD = 4
SCHEDULER_HELP = ("start one with `dask scheduler` (and workers with `dask worker ADDRESS`), "
                  "or leave out --scheduler to run on this machine")


@dataclass
class BatchSummary:
    """What a batch run produced.

    Attributes
    ----------
    rows : list of dict
        One per input image, in input order (the table's rows).
    tables : (Path, Path)
        ``results.csv`` and ``results.parquet``.
    computed, reused : int
        Images analysed by this run, and rows taken from an earlier run's records.
    seconds : float
        Wall time of the run.
    """

    rows: list[dict]
    tables: tuple[Path, Path]
    computed: int
    reused: int
    seconds: float
    counts: dict = field(init=False)

    def __post_init__(self) -> None:
        ok = [r for r in self.rows if r["status"] == "ok"]
        self.counts = {"images": len(self.rows), "ok": len(ok),
                       "error": len(self.rows) - len(ok),
                       "percolates": sum(bool(r.get("percolates")) for r in ok)}


def default_chunk_size(n_images: int) -> int:
    """Images per Dask task: enough for :data:`MIN_TASKS` tasks, at most
    :data:`MAX_IMAGES_PER_TASK` (it depends on the number of images only)."""
    return max(1, min(MAX_IMAGES_PER_TASK, math.ceil(n_images / MIN_TASKS)))


@contextlib.contextmanager
def batch_client(scheduler: str | None = None, workers: int | None = None, *,
                 processes: bool = True) -> Iterator:
    """A Dask client for :func:`run_batch`, closed (with its cluster) on exit.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); None starts a LocalCluster.
    workers : int, optional
        LocalCluster worker processes: ``min(cores, workers)`` (default: one per core), one
        thread each.
    processes : bool
        LocalCluster workers as processes (threads in this process when False: for tests).

    Raises
    ------
    NanomorphError
        When no scheduler answers at ``scheduler`` (within about 10 s).
    """
    from distributed import Client, LocalCluster

    if scheduler:
        client = _connect(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    cores = os.cpu_count() or 1
    n_workers = min(cores, workers) if workers else cores
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    try:
        client = Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _connect(address: str):
    """A client connected to the scheduler at ``address``; a NanomorphError naming the address
    when it is malformed or nothing answers (a TCP probe first, then the Dask handshake)."""
    from distributed import Client
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
        host, port = parse_host_port(location) if scheme in ("tcp", "tls", "ws", "wss") else (
            None, None)
    except ValueError as exc:
        raise NanomorphError(f"not a Dask scheduler address ({exc}); addresses look like "
                             "tcp://host:8786", address) from None
    if host is not None:
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as exc:
            why = "no answer" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
            raise NanomorphError(f"no Dask scheduler answers at this address ({why}): "
                                 f"{SCHEDULER_HELP}", address) from None
    try:
        return Client(address, timeout=f"{CONNECT_TIMEOUT_S + 1}s", set_as_default=False)
    except Exception as exc:  # noqa: BLE001 - whatever answered, it is no usable scheduler
        detail = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise NanomorphError(f"no Dask scheduler answers at this address ({detail}): "
                             f"{SCHEDULER_HELP}", address) from None


def run_batch(inputs: list, out_dir: str | os.PathLike, config: BatchConfig, *, client=None,
              images_per_task: int | None = None,
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
        Run the chunks as tasks of this client (:func:`batch_client`); None runs them here.
    images_per_task : int, optional
        Images per task (default :func:`default_chunk_size`).
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
    items = collect_items(inputs, config)
    models = _model_hashes(config)
    key = config.key(models)
    _make_folders(out_dir, config)
    size = images_per_task or default_chunk_size(len(items))
    run = _run_record(inputs, project, items, config, key, models, client, size)
    with RecordLog(out_dir) as log, _project_run(project, out_dir, run) as project_run:
        write_run_file(out_dir, run)
        rows: list[dict | None] = [log.find(key, item.files()) for item in items]
        reused = sum(row is not None for row in rows)
        chunks = [range(start, min(start + size, len(items)))
                  for start in range(0, len(items), size)]
        pending = [c for c in chunks if any(rows[i] is None for i in c)]
        for done, row in enumerate(r for r in rows if r is not None):
            yield Progress(done + 1, len(items), "recorded by an earlier run", payload=row)
        done, computed = reused, 0
        results = (_run_on_dask(client, pending, items, config, out_dir) if client is not None
                   else _run_here(pending, items, config, out_dir))
        for chunk, chunk_results in results:
            log.add(key, chunk_results)
            for index, (row, _files) in zip(chunk, chunk_results):
                newly_done = rows[index] is None
                rows[index] = row
                computed += 1
                done += newly_done
                if newly_done:
                    yield Progress(done, len(items), _describe(row), payload=row)
            check_cancel(cancel)
        table = [{**row, **_run_columns(config, key, models)} for row in rows]
        tables = write_tables(out_dir, table)
        summary = BatchSummary(table, tables, computed, reused, time.perf_counter() - started)
        run.update(finished=_now(), seconds=round(summary.seconds, 3), counts=summary.counts,
                   computed=computed, reused=reused)
        write_run_file(out_dir, run)
        project_run["result"] = {"out": str(out_dir.absolute()), **summary.counts}
    return summary


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
    from nanomorph.project.hashing import sha256_file

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

    outcome: dict = {}
    run_id = None
    if folder:
        with Project.open(folder) as project:
            if not project.read_only:
                run_id = project.start_run("batch", {"out": str(out_dir.absolute()),
                                                     "config": run["config"]})
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
                project.finish_run(run_id, status, outcome.get("result"))


def _describe(row: dict) -> str:
    name = display_path(os.path.basename(row["path"]))
    if row["status"] != "ok":
        return f"{name}: failed"
    return f"{name}: {'percolates' if row['percolates'] else 'does not percolate'}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
