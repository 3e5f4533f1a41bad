"""Encoders ready for inference, kept per (encoder, device) so repeated jobs do not rebuild them.

A network is built once per process for each (``EncoderSpec.key()``, device), put in eval mode
without gradients, and kept (the four most recently used). On CUDA and on the CPU the network
and its inputs use the channels-last memory layout (cuDNN's fast path for convolutions; on the
CPU measured faster, ``CHANNELS_LAST_DEVICES`` below); on Apple MPS they stay contiguous.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from nanomorph.errors import NanomorphError

MAX_MODELS = 4
# On the CPU: EfficientNet-Lite0, batch 16 at 224², torch 2.13, 2 threads, 10.1 ms per image
# in channels-last vs 20.2 ms contiguous (tests/benchmarks/test_bench_embedding.py::
# test_channels_last_on_cpu). CUDA: NVIDIA's advice for convolutions (not measured here).
CHANNELS_LAST_DEVICES = ("cuda", "cpu")

_models: OrderedDict = OrderedDict()
_lock = threading.Lock()


def uses_channels_last(device: str) -> bool:
    """Whether networks and inputs on ``device`` use the channels-last layout."""
    return device.split(":")[0] in CHANNELS_LAST_DEVICES


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


def stack_inputs(arrays: list[np.ndarray]) -> np.ndarray:
    """Concatenate encoder inputs (T_i, 3, S, S) into one batch (B, 3, S, S) whose memory is
    channels-last (B, S, S, 3): one copy, and none more on the way into the network."""
    return np.concatenate([a.transpose(0, 2, 3, 1) for a in arrays]).transpose(0, 3, 1, 2)


def embed_inputs(module, inputs: np.ndarray, device: str, embedding_dim: int) -> np.ndarray:
    """Embeddings of a batch of encoder inputs.

    Parameters
    ----------
    module : torch.nn.Module
        From :func:`loaded_encoder`.
    inputs : ndarray, float32, shape (B, 3, S, S)
        Any memory layout (:func:`stack_inputs` gives the channels-last one, copied least).
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
