"""Where a batch runs: a Dask LocalCluster on this machine, or an existing Dask cluster.

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

Dask's nanny gives its workers ``MALLOC_TRIM_THRESHOLD_=65536``, which slows the per-image
steps by a third (:data:`NANNY_MALLOC_TRIM`): the local cluster lifts it; for a cluster of your
own, set ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: null`` in the workers'
Dask configuration (or start them with ``--no-nanny``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator

from nanomorph.errors import NanomorphError

CONNECT_TIMEOUT_S = 4.0  # seconds for each of: the identity probe, the client's handshake
# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 (memory back to the system at
# once); the per-image steps then ran 35 % slower (77 vs 121 images/s, 256² images, measured
# with tests/benchmarks/test_bench_batch.py's images), so the local cluster keeps glibc's
# default. Memory stays flat without it (the same benchmark).
NANNY_MALLOC_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
SCHEDULER_HELP = ("start one with `dask scheduler` (and workers with `dask worker ADDRESS`), "
                  "or leave out --scheduler to run on this machine")


@contextlib.contextmanager
def batch_client(scheduler: str | None = None, workers: int | None = None, *,
                 processes: bool = True) -> Iterator:
    """A Dask client for :func:`nanomorph.batch.runner.run_batch`, closed (with its cluster)
    on exit.

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

    Yields
    ------
    distributed.Client
        Connected; closed (with a LocalCluster) when the block ends.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        client = _connect(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    import dask

    cores = os.cpu_count() or 1
    n_workers = min(cores, workers) if workers else cores
    with dask.config.set({NANNY_MALLOC_TRIM: None}):
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
    when it is malformed, or when no Dask scheduler answers within :data:`CONNECT_TIMEOUT_S`
    (checked with a bounded identity request first: a silent peer would hold the client's own
    handshake for ever)."""
    import asyncio

    from distributed import Client
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
        if scheme == "tcp":  # a refused connection fails at once rather than after retries
            socket.create_connection(parse_host_port(location),
                                     timeout=CONNECT_TIMEOUT_S).close()
        identity = asyncio.run(asyncio.wait_for(_identity(address), CONNECT_TIMEOUT_S))
        if identity.get("type") != "Scheduler":
            raise ValueError(f"a Dask {identity.get('type', 'peer')}, not a scheduler, "
                             "answers there")
        return Client(address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
    except ValueError as exc:
        raise NanomorphError(f"not a Dask scheduler address ({exc}); addresses look like "
                             "tcp://host:8786", address) from None
    except Exception as exc:  # noqa: BLE001 - whatever answered (or not), it is no scheduler
        detail = (exc.strerror if isinstance(exc, OSError) and exc.strerror
                  else " ".join(str(exc).split())[:120]) or (
            "no answer" if isinstance(exc, TimeoutError) else type(exc).__name__)
        raise NanomorphError(f"no Dask scheduler answers at this address ({detail}): "
                             f"{SCHEDULER_HELP}", address) from None


async def _identity(address: str) -> dict:
    """The scheduler's reply to an ``identity`` request."""
    from distributed.comm import connect

    comm = await connect(address, timeout=CONNECT_TIMEOUT_S)
    try:
        await comm.write({"op": "identity", "reply": True})
        reply = await comm.read()
    finally:
        comm.abort()
    return reply if isinstance(reply, dict) else {}
