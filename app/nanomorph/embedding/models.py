"""Encoders ready for inference, kept per (encoder, device) so repeated jobs do not rebuild them.

A network is built once per process for each (``EncoderSpec.key()``, device), put in eval mode
without gradients, and kept (the four most recently used). On CUDA the network and its inputs
use the channels-last memory layout (cuDNN's fast path for convolutions); on the CPU they stay
contiguous, which measured faster here (``CHANNELS_LAST_ON_CPU`` below).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from nanomorph.errors import NanomorphError

MAX_MODELS = 4
# EfficientNet-Lite0, batch 16 at 224², torch 2.13 CPU, 2 threads (tests/benchmarks/
# test_bench_embedding.py::test_channels_last_on_cpu): CHANNELS_LAST_NOTE
CHANNELS_LAST_ON_CPU = False

_models: OrderedDict = OrderedDict()
_lock = threading.Lock()


def uses_channels_last(device: str) -> bool:
    """Whether networks and inputs on ``device`` use the channels-last layout."""
    return device.startswith("cuda") or (device == "cpu" and CHANNELS_LAST_ON_CPU)


def loaded_encoder(spec, device: str):
    """The network of ``spec`` on ``device`` (a resolved torch device string), in eval mode.

    Built with ``spec.builder()`` the first time, then taken from the in-process cache.
    """
    import torch

    key = (spec.key(), device)
    with _lock:
        if key in _models:
            _models.move_to_end(key)
            return _models[key]
        module = spec.builder()
        module.eval().requires_grad_(False)
        module.to(device=torch.device(device))
        if uses_channels_last(device):
            module.to(memory_format=torch.channels_last)
        _models[key] = module
        while len(_models) > MAX_MODELS:
            _models.popitem(last=False)
        return module


def clear_model_cache() -> None:
    """Forget every built network (frees their memory; the next job rebuilds)."""
    with _lock:
        _models.clear()


def embed_inputs(module, inputs: np.ndarray, device: str, embedding_dim: int) -> np.ndarray:
    """Embeddings of a batch of encoder inputs.

    Parameters
    ----------
    module : torch.nn.Module
        From :func:`loaded_encoder`.
    inputs : ndarray, float32, shape (B, 3, S, S)
    device : str
    embedding_dim : int
        What the encoder's spec promises; another length raises NanomorphError.

    Returns
    -------
    ndarray, float32, shape (B, embedding_dim)
    """
    import torch

    with torch.inference_mode():
        x = torch.from_numpy(inputs).to(torch.device(device))
        if uses_channels_last(device):
            x = x.contiguous(memory_format=torch.channels_last)
        out = module.embed(x).float().cpu().numpy()
    if out.shape != (len(inputs), embedding_dim):
        raise NanomorphError(f"the encoder gave embeddings of shape {out.shape}, expected "
                             f"({len(inputs)}, {embedding_dim})")
    return out
