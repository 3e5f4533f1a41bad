"""The embedding job: image files to one embedding each, through the cache, in batches.

Steps: hash each file (SHA-256 of its bytes; remembered by the cache per size and mtime), take
what the cache holds, then for each batch of the others read the image (first page of a stack),
preprocess it (``nanomorph.encoders.preprocess``), run the encoder on the batch's crops, average
each image's crops, and store the batch in the cache before yielding its progress event. Reading
and preprocessing run on the calling thread (no DataLoader workers): the GUI's worker thread or
the CLI. A file that cannot be read or hashed is reported in ``failed`` and skipped; the rest of
its batch is embedded.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from nanomorph import defaults
from nanomorph.embedding.cache import EmbeddingCache
from nanomorph.encoders.preprocess import PreprocessSpec
from nanomorph.errors import InvalidParameterError, NanomorphError
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel

HASH_PROGRESS_INTERVAL_S = 0.25


@dataclass
class EmbeddingResult:
    """Embeddings of the images that worked, in input order.

    Attributes
    ----------
    embeddings : ndarray, shape (N, D)
        float32, or the dtype asked of :func:`embed_images`.
    paths, sha256s : list of str
        File and content hash of each row.
    failed : list of (str, str)
        (path, reason) of each image that could not be embedded, in input order.
    encoder : str
        The encoder's name; ``encoder_key`` adds its weights id.
    encoder_key : str
    preprocess : PreprocessSpec
    from_cache : int
        Rows taken from the cache (the others were computed by this job).
    notes : dict of str to list of str
        Per path, what reading and preprocessing noted (images computed by this job only).
    """

    embeddings: np.ndarray
    paths: list[str]
    sha256s: list[str]
    failed: list[tuple[str, str]]
    encoder: str
    encoder_key: str
    preprocess: PreprocessSpec
    from_cache: int = 0
    notes: dict[str, list[str]] = field(default_factory=dict)


def embed_images(items: Iterable, *, encoder=defaults.ENCODER, device: str | None = None,
                 batch_size: int = 16, cache: EmbeddingCache | str | os.PathLike | None = None,
                 preprocess: PreprocessSpec | None = None, dtype=np.float32,
                 cancel: CancelToken | None = None) -> Job[EmbeddingResult]:
    """Embed image files with an encoder (a job: yields Progress, returns EmbeddingResult).

    Parameters
    ----------
    items : iterable
        Paths, or ``(path, sha256)`` pairs when the content hashes are known (a project's
        images), which skips hashing, or ``(path, sha256, page)`` for one frame of a movie (its
        sha256 the project's frame key).
    encoder : str, path-like or EncoderSpec
        Registry name, saved encoder path, or spec (``nanomorph.encoders.get_encoder_spec``).
    device : str, optional
        ``auto``/``cpu``/``cuda``/``mps`` (``nanomorph.device.select_device``).
    batch_size : int
        Images per batch (one progress event and one cache commit each); the network sees at
        most this many crops at a time (an image gives one crop, or its tiles in ``tiles``
        mode).
    cache : EmbeddingCache or folder, optional
        Where embeddings are looked up and stored; None computes everything.
    preprocess : PreprocessSpec, optional
        Overrides the encoder's own preprocessing.
    dtype : numpy dtype
        Of the returned matrix: float32, or float16 for half the memory (100,000 × 1,280
        values: 256 MB instead of 512 MB; the cache keeps float32).
    cancel : CancelToken, optional
        Checked between batches; what finished is in the cache.

    Yields
    ------
    Progress
        One after the cache lookup, one per batch (``payload["failed"]``: the batch's
        (path, reason) pairs), and a few per second while files are hashed.

    Raises
    ------
    JobCancelled
        When ``cancel`` is set.
    InvalidParameterError, NanomorphError
        For an unknown encoder or device, a bad batch size, an encoder that cannot be built.
    """
    from nanomorph.device import select_device
    from nanomorph.encoders.registry import get_encoder_spec

    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise InvalidParameterError(
            f"the batch size must be a whole number >= 1, got {batch_size!r}")
    spec = get_encoder_spec(encoder)
    preprocess = spec.preprocess if preprocess is None else preprocess
    device = select_device(device)
    items = [_as_item(item) for item in items]
    own_cache = cache is not None and not isinstance(cache, EmbeddingCache)
    if own_cache:
        cache = EmbeddingCache(cache)
    try:
        return (yield from _embed(items, spec, preprocess, device, batch_size, cache, dtype,
                                  cancel))
    finally:
        if own_cache:
            cache.close()


def _embed(items, spec, preprocess, device, batch_size, cache, dtype, cancel):
    total = len(items)
    hashes, failed = yield from _hash_all(items, cache, cancel)
    keys = (spec.key(), preprocess.key())
    vectors = cache.get_many(hashes.values(), *keys, dtype=dtype) if cache is not None else {}
    indices_of: dict[str, list[int]] = {}  # content hash -> items with that content
    for index, sha in hashes.items():
        indices_of.setdefault(sha, []).append(index)
    from_cache = sum(len(indices_of[sha]) for sha in vectors)
    pending = [sha for sha in indices_of if sha not in vectors]
    done = from_cache + len(failed)
    yield Progress(done, total, f"{from_cache} of {total} embeddings from the cache")
    notes: dict[str, list[str]] = {}
    for start in range(0, len(pending), batch_size):
        check_cancel(cancel)
        batch = pending[start:start + batch_size]
        computed, batch_failed = _embed_batch(
            [_batch_entry(sha, items[indices_of[sha][0]]) for sha in batch], spec, preprocess,
            device, batch_size, notes)
        if cache is not None and computed:
            cache.put_many(computed, *keys)
        vectors.update(computed)
        for sha, reason in batch_failed.items():
            failed.update(dict.fromkeys(indices_of[sha], reason))
        done += sum(len(indices_of[sha]) for sha in batch)
        yield Progress(done, total, f"embedded {len(computed)} of {len(batch)} images",
                       payload={"failed": [(items[indices_of[sha][0]][0], reason)
                                           for sha, reason in batch_failed.items()]})
    return _result(items, hashes, vectors, failed, spec, preprocess, from_cache, notes, dtype)


def _batch_entry(sha: str, item: tuple[str, str | None, int]) -> tuple[str, str, int]:
    path, _known, page = item
    return sha, path, page


def _as_item(item) -> tuple[str, str | None, int]:
    """(path, known sha256 or None, page) of an item of ``embed_images``."""
    if isinstance(item, (tuple, list)) and len(item) in (2, 3):
        page = item[2] if len(item) == 3 and item[2] is not None else 0
        return os.fsdecode(os.fspath(item[0])), item[1], page
    return os.fsdecode(os.fspath(item)), None, 0


def _hash_all(items, cache, cancel):
    """Content hashes {index: sha256} of the items, and {index: reason} for files that cannot
    be read (a job: yields Progress a few times per second while hashing)."""
    from nanomorph.io.hashing import sha256_file

    hashes, failed = {}, {}
    last_yield = time.monotonic()
    for index, (path, known, _page) in enumerate(items):
        if known:
            hashes[index] = known
            continue
        try:
            hashes[index] = cache.file_sha256(path) if cache is not None else sha256_file(path)
        except OSError as exc:
            failed[index] = _unreadable_reason(path, exc)
        if time.monotonic() - last_yield > HASH_PROGRESS_INTERVAL_S:
            check_cancel(cancel)
            yield Progress(0, len(items), f"checking files ({index + 1} of {len(items)})")
            last_yield = time.monotonic()
    return hashes, failed


def _unreadable_reason(path: str, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError) or os.path.isdir(path):
        return "this is a folder, not an image file"
    if isinstance(exc, PermissionError):
        return "permission denied: the file cannot be read"
    return f"the file cannot be read ({exc.strerror or exc})"


def _embed_batch(batch: list[tuple[str, str, int]], spec, preprocess: PreprocessSpec,
                 device: str, max_crops: int,
                 notes: dict) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Embed one batch of (sha256, path, page): ({sha256: (D,) float32}, {sha256: reason});
    the network sees at most ``max_crops`` crops at a time (tiles make more crops than images);
    what reading and preprocessing note is added to ``notes[path]``."""
    from nanomorph.embedding.models import loaded_encoder, stack_inputs
    from nanomorph.encoders.preprocess import preprocess_image
    from nanomorph.io import read_image

    inputs, owners, failed = [], [], {}
    for sha, path, page in batch:
        try:
            image = read_image(path, page=page)
            prepared = preprocess_image(image, preprocess)
        except NanomorphError as exc:
            failed[sha] = exc.reason
            continue
        inputs.append(prepared.inputs)
        owners.append((sha, len(prepared.inputs)))
        image_notes = [*image.metadata.get("notes", []), *prepared.notes]
        if image_notes:
            notes[path] = image_notes
    if not inputs:
        return {}, failed
    encoder = loaded_encoder(spec, device)
    crops = [image[t:t + 1] for image in inputs for t in range(len(image))]
    embeddings = np.concatenate([encoder.embed(stack_inputs(crops[i:i + max_crops]))
                                 for i in range(0, len(crops), max_crops)])
    computed, start = {}, 0
    for sha, count in owners:
        computed[sha] = embeddings[start:start + count].mean(axis=0)
        start += count
    return computed, failed


def _result(items, hashes, vectors, failed, spec, preprocess, from_cache, notes,
            dtype) -> EmbeddingResult:
    rows = [i for i in range(len(items)) if i in hashes and hashes[i] in vectors]
    embeddings = _matrix([hashes[i] for i in rows], vectors, spec.embedding_dim, dtype)
    return EmbeddingResult(
        embeddings=embeddings,
        paths=[items[i][0] for i in rows],
        sha256s=[hashes[i] for i in rows],
        failed=[(items[i][0], failed[i]) for i in sorted(failed)],
        encoder=spec.name,
        encoder_key=spec.key(),
        preprocess=preprocess,
        from_cache=from_cache,
        notes=notes,
    )


def _matrix(shas: list[str], vectors: dict, dim: int, dtype) -> np.ndarray:
    """One row of ``dtype`` per hash. Rows that are, in order, all the rows of one array (the
    cache's answer when every image was cached) are that array, not a copy; else the matrix is
    filled row by row (np.stack took 2.4 s for 100,000 rows here), each vector dropped from
    ``vectors`` after its last row so that the embeddings are not held twice."""
    if not shas:
        return np.zeros((0, dim), dtype)
    first = vectors[shas[0]]
    base = first.base
    if (isinstance(base, np.ndarray) and base.ndim == 2 and len(base) == len(shas)
            and base.dtype == dtype and base.flags.c_contiguous):
        start = base.__array_interface__["data"][0]
        addresses = np.fromiter((vectors[sha].__array_interface__["data"][0] for sha in shas),
                                np.int64, len(shas))
        if np.array_equal(addresses, start + base.strides[0] * np.arange(len(shas))):
            return base
    uses = Counter(shas)
    matrix = np.empty((len(shas), len(first)), dtype)
    for row, sha in enumerate(shas):
        matrix[row] = vectors[sha]
        uses[sha] -= 1
        if not uses[sha]:
            del vectors[sha]
    return matrix


def embed_plane(plane: np.ndarray, *, encoder=defaults.ENCODER,
                device: str | None = None) -> np.ndarray:
    """The embedding of one 2-D array (e.g. a region drawn inside a micrograph), with the
    encoder's preprocessing except the info-bar cut (a region holds none).

    Parameters
    ----------
    plane : ndarray, shape (rows, cols)
        Gray levels.
    encoder : str, path-like or EncoderSpec
        As for :func:`embed_images`.
    device : str, optional
        ``auto``/``cpu``/``cuda``/``mps``.

    Returns
    -------
    ndarray of float32, shape (embedding_dim,)
        Comparable with :func:`embed_images`'s embeddings of the same encoder.

    Raises
    ------
    InvalidParameterError, NanomorphError
        For an array that is not 2-D, an unknown encoder or device.
    """
    from dataclasses import replace

    from nanomorph.device import select_device
    from nanomorph.embedding.models import loaded_encoder
    from nanomorph.encoders.preprocess import preprocess_plane
    from nanomorph.encoders.registry import get_encoder_spec

    spec = get_encoder_spec(encoder)
    prepared = preprocess_plane(plane, replace(spec.preprocess, crop_databar=False))
    return loaded_encoder(spec, select_device(device)).embed(prepared.inputs).mean(axis=0)
