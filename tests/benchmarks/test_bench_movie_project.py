"""Movies of 1,000 / 10,000 / 100,000 frames opened as projects (`make bench`), as one TIFF and
as a folder of numbered PNG frames: adding the movie (each frame hashed), then the app in a fresh
process under a heartbeat (:mod:`tests.support.gui_phases`): the window paints again after the
project opens, the first frame shows, 10 frame switches, labelling until the predictions of
every frame update, and the process's memory.

The movie is generated (64 × 64 px frames of noise and a bar whose angle turns with time; not
committed data). Computing 100,000 embeddings would take hours on this CPU, so each frame gets a
synthetic 1,280-d embedding in the project's cache (a class-dependent mean plus noise): what is
measured is everything after the encoder.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.benchmarks.test_bench_gui import run_phases

FRAME_PX = 64
SIZES = (1_000, 10_000, 100_000)


def frames(n_frames: int):
    """``n_frames`` 64 × 64 frames of noise and a bar turning with time."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:FRAME_PX, :FRAME_PX] - FRAME_PX / 2
    for i in range(n_frames):
        angle = np.pi * i / n_frames
        bar = np.abs(rows * np.cos(angle) - cols * np.sin(angle)) < 3
        yield (rng.integers(60, 120, (FRAME_PX, FRAME_PX)) + 100 * bar).astype(np.uint8)


def write_movie(path, n_frames: int) -> None:
    """An ImageJ TIFF movie of ``n_frames`` frames, 0.1 s apart."""
    import tifffile

    movie = np.empty((n_frames, FRAME_PX, FRAME_PX), np.uint8)
    for i, frame in enumerate(frames(n_frames)):
        movie[i] = frame
    tifffile.imwrite(path, movie, imagej=True, metadata={"axes": "TYX", "finterval": 0.1})


def write_frames_folder(folder, n_frames: int) -> None:
    """The same frames as PNG files ``frame_000000.png`` … in ``folder``."""
    from PIL import Image

    folder.mkdir()
    for i, frame in enumerate(frames(n_frames)):
        Image.fromarray(frame).save(folder / f"frame_{i:06d}.png")


def movie_project(folder, n_frames: int, as_folder: bool = False) -> tuple[object, dict]:
    """A project holding the movie (``frames-<n>.tif``, or the folder ``frames-<n>`` of numbered
    frames 0.1 s apart), two frames labelled per class, every frame's embedding in the cache;
    and how long writing and adding took."""
    from nanomorph import defaults
    from nanomorph.embedding import EmbeddingCache
    from nanomorph.encoders.registry import get_encoder_spec
    from nanomorph.jobs import run_job
    from nanomorph.project import Project
    from tests.support.gui_phases import movie_class

    folder.mkdir(parents=True)
    movie = folder / (f"frames-{n_frames}" if as_folder else f"frames-{n_frames}.tif")
    start = time.perf_counter()
    (write_frames_folder if as_folder else write_movie)(movie, n_frames)
    written = time.perf_counter() - start
    with Project.create(folder / "project") as project:
        start = time.perf_counter()
        result = run_job(project.images.add_numbered_frames(movie, interval_s=0.1) if as_folder
                         else project.images.add([movie]))
        added = time.perf_counter() - start
        assert len(result.added) == n_frames
        records = project.images.all()
        project.labels.set_classes(["dispersed", "network"])
        for record in (*records[:2], *records[-2:]):
            project.labels.set(record.id, movie_class(record))
        spec = get_encoder_spec(defaults.ENCODER)
        rng = np.random.default_rng(1)
        with EmbeddingCache.for_project(project) as cache:
            for begin in range(0, n_frames, 10_000):
                block = records[begin:begin + 10_000]
                vectors = rng.normal(0, 1, (len(block), spec.embedding_dim)).astype(np.float32)
                vectors[:, 0] += [3.0 if movie_class(r) == "network" else 0.0 for r in block]
                cache.put_many({r.sha256: v for r, v in zip(block, vectors)}, spec.key(),
                               spec.preprocess.key())
    return folder / "project", {"write_movie_s": round(written, 1),
                                "add_movie_s": round(added, 1)}


@pytest.mark.bench
@pytest.mark.parametrize("as_folder, step", [(False, None), (True, None), (False, "Over time")],
                         ids=["tiff", "numbered-frames-folder", "tiff-over-time-open"])
def test_movie_projects_cost_does_not_grow_with_the_frames(tmp_path, record, as_folder, step):
    """Each movie with the default step open; the TIFF also with the Over time step open
    throughout (its rows are read again at every label)."""
    results = {}
    name = ("movie_folder_projects" if as_folder else "movie_projects") + (
        "_over_time" if step else "")
    for n in SIZES:
        project, timings = movie_project(tmp_path / f"n{n}", n, as_folder)
        options = ["--movie", *([f"--step={step}"] if step else [])]
        results[n] = {**timings, **run_phases(project, *options)}
        record(name, results)  # each size as soon as it is measured
