"""Model files loaded once per process: each Dask worker loads the classifier and the segmenter
of a run at its first task and keeps them for the next ones.

The cache is keyed by the file's real path, modification time and size (and the device), so
a model file replaced between two runs is loaded again. It keeps the :data:`MAX_MODELS` most
recently used models. The encoder networks behind them have their own per-process cache
(:mod:`nanomorph.embedding.models`).

Torch runs with ONE thread in batch work: inside a Dask worker (set when the worker loads its
first model), so that worker processes and threads do not compete for the cores, and in a run
without Dask (:func:`one_torch_thread`), because torch's arithmetic depends on its thread count
(confidences differed by 1e-8 between 1 and 2 threads): with one thread everywhere, a local run
and a cluster run give the same table.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator

from nanomorph.errors import NanomorphError

MAX_MODELS = 4

_models: OrderedDict = OrderedDict()
_lock = threading.Lock()


def cached_classifier(path: str):
    """The classifier of a file, loaded once per process.

    Parameters
    ----------
    path : str
        A classifier file.

    Returns
    -------
    FewShotClassifier
        Fitted.

    Raises
    ------
    NanomorphError
        The file is no classifier, or its classifier was not trained on image embeddings.
    """
    from nanomorph.fewshot.head import FewShotClassifier

    def load():
        model = FewShotClassifier.load(path, own_preprocess=True)
        if model.encoder is None:
            raise NanomorphError("this classifier was not trained on image embeddings", path)
        return model

    return _cached(("classifier", None), path, load)


def cached_segmenter(path: str, device: str | None):
    """The segmenter of a file on a device, loaded once per process.

    Parameters
    ----------
    path : str
        A segmenter file.
    device : str or None
        ``auto``/``cpu``/``cuda``/``mps``.

    Returns
    -------
    Segmenter
        In eval mode.

    Raises
    ------
    NanomorphError
        When the file cannot be read as a segmenter.
    """
    from nanomorph.segment.modelfile import load_segmenter

    return _cached(("segmenter", device), path, lambda: load_segmenter(path, device))


def _cached(kind: tuple, path: str, load: Callable[[], object]):
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise NanomorphError(f"the model file cannot be read ({exc.strerror or exc})",
                             path) from None
    key = (*kind, os.path.realpath(path), stat.st_mtime_ns, stat.st_size)
    with _lock:
        if key in _models:
            _models.move_to_end(key)
            return _models[key]
        _limit_torch_threads()
        _models[key] = load()
        while len(_models) > MAX_MODELS:
            _models.popitem(last=False)
        return _models[key]


def _limit_torch_threads() -> None:
    """In a Dask worker, give torch one thread (module docstring)."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return
    import torch

    torch.set_num_threads(1)


@contextlib.contextmanager
def one_torch_thread(active: bool = True) -> Iterator[None]:
    """Run torch with one thread inside the block, as a Dask worker does; the previous setting
    comes back after it.

    Parameters
    ----------
    active : bool
        False leaves the threads as they are.

    Yields
    ------
    None
        Inside the block.
    """
    if not active:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
