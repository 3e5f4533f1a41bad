"""Batch analysis on Dask: the same table as without Dask, a scheduler that does not answer,
a worker killed mid-run, and tasks that fail as a whole."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from nanomorph.batch.config import BatchConfig
from nanomorph.batch.inputs import BatchItem
from nanomorph.batch.results import LOG_FILE
from nanomorph.batch.cluster import batch_client
from nanomorph.batch.runner import _task_results, run_batch
from nanomorph.errors import NanomorphError
from nanomorph.masks import params_for
from tests.engine.test_batch import comparable, make_images, run, trained_classifier


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_threads_cluster_gives_the_table_of_a_run_without_dask(tmp_path):
    make_images(tmp_path / "images", 10, (64, 64))
    plain = run([tmp_path / "images"], tmp_path / "plain")
    with batch_client(workers=2, processes=False) as client:
        assert len(client.nthreads()) == min(2, os.cpu_count())
        dask = run([tmp_path / "images"], tmp_path / "dask", client=client)
    assert comparable(dask.rows) == comparable(plain.rows)


def test_an_existing_scheduler_runs_the_batch(tmp_path):
    from distributed import LocalCluster

    make_images(tmp_path / "images", 3, (64, 64))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster:
        with batch_client(cluster.scheduler_address) as client:
            summary = run([tmp_path / "images"], tmp_path / "out", client=client)
    assert summary.counts["ok"] == 3


@pytest.mark.slow
def test_worker_processes_give_the_same_table_with_a_classifier(tmp_path, classifier):
    make_images(tmp_path / "images", 12, (64, 64))
    config = BatchConfig(classifier=str(classifier), write_masks=True)
    plain = run([tmp_path / "images"], tmp_path / "plain", config)
    with batch_client(workers=2) as client:
        dask = run([tmp_path / "images"], tmp_path / "dask", config, client=client)
    assert comparable(dask.rows) == comparable(plain.rows)
    assert all(r["label"] for r in dask.rows)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return trained_classifier(tmp_path_factory)


def test_a_scheduler_that_does_not_answer_is_a_clear_error_within_10_s():
    for address in (f"tcp://127.0.0.1:{free_port()}", "tcp://localhost"):
        started = time.monotonic()
        with pytest.raises(NanomorphError) as caught:
            with batch_client(address):
                pass
        assert time.monotonic() - started < 10
        assert caught.value.path == address and "\n" not in str(caught.value)
    assert "no Dask scheduler answers" in caught.value.reason or "address" in caught.value.reason


def test_a_listener_that_is_no_scheduler_is_refused_within_10_s():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(NanomorphError, match="no Dask scheduler answers"):
            with batch_client(address):
                pass
        assert time.monotonic() - started < 10


def test_a_task_whose_workers_died_gives_error_rows_and_other_failures_stop():
    from distributed import KilledWorker

    class Failed:
        def __init__(self, exc):
            self.exc = exc

        def result(self):
            raise self.exc

    items = [BatchItem(0, "a.png", "a"), BatchItem(1, "b.png", "b")]
    rows = _task_results(Failed(KilledWorker("task", "worker", 3)), items, BatchConfig())
    assert [r["status"] for r, _ in rows] == ["error", "error"]
    assert "died" in rows[0][0]["error"]
    with pytest.raises(NanomorphError, match="install nanomorph on every Dask worker"):
        _task_results(Failed(ModuleNotFoundError("No module named 'nanomorph'")), items,
                      BatchConfig())


@pytest.mark.slow
def test_a_worker_killed_mid_run_has_its_tasks_rerun_without_duplicates(tmp_path):
    make_images(tmp_path / "images", 40, (160, 160))
    config = BatchConfig(mask_params=params_for("ridge"))
    plain = run([tmp_path / "images"], tmp_path / "plain", config, images_per_task=2)
    with batch_client(workers=2) as client:
        pids = client.run(os.getpid)
        job = run_batch([str(tmp_path / "images")], tmp_path / "dask", config, client=client,
                        images_per_task=2)
        assert next(job).done == 1  # tasks are running on both workers
        victim = next(iter(pids.values()))
        os.kill(victim, signal.SIGKILL)
        events = list_progress(job)
        summary = events[-1]
        assert len(events) == 40 and victim not in client.run(os.getpid).values()
    rows = summary.rows
    assert comparable(rows) == comparable(plain.rows)
    assert len({r["path"] for r in rows}) == 40 and all(r["status"] == "ok" for r in rows)
    keys = [line.split(b'"key": "')[1][:64]
            for line in (tmp_path / "dask" / LOG_FILE).read_bytes().splitlines()]
    assert len(keys) == len(set(keys)) == 40


def list_progress(job) -> list:
    """Drive ``job`` to its end: its progress events, then its return value."""
    events = []
    while True:
        try:
            events.append(next(job))
        except StopIteration as stop:
            return events + [stop.value]
