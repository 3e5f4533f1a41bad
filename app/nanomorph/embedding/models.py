"""Encoders ready for inference, kept per (encoder, device) so repeated jobs do not rebuild them.

A network is built once per process for each (``EncoderSpec.key()``, device), put in eval mode
without gradients, and kept (the four most recently used). Networks nanomorph defines (those
with an ``architecture``) run in the channels-last memory layout on CUDA and on the CPU (cuDNN's
fast path for convolutions; on the CPU measured faster, see ``CHANNELS_LAST_DEVICES``); on Apple
MPS, and for plug-in networks (which may reshape with ``view``), the layout stays contiguous.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from nanomorph.errors import NanomorphError

MAX_MODELS = 4
# On the CPU (EfficientNet-Lite0, batch 16 at 224², torch 2.13, 2 threads) channels-last took
# 0.50–0.74 of the contiguous layout's time in five runs, e.g. 13.6 vs 18.5 ms per image
# (tests/benchmarks/test_bench_embedding.py::test_channels_last_on_cpu). CUDA: cuDNN's
# advice for convolutions (not measured: no GPU here).
CHANNELS_LAST_DEVICES = ("cuda", "cpu")

_models: OrderedDict = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class LoadedEncoder:
    """A network on its device, in eval mode, with the layout its inputs take.

    Attributes
    ----------
    module : torch.nn.Module
        The network.
    device : str
        A resolved torch device.
    channels_last : bool
        Whether inputs go in channels-last memory layout.
    embedding_dim : int
        Length of one embedding.
    """

    module: Any
    device: str
    channels_last: bool
    embedding_dim: int

    def embed(self, inputs: np.ndarray) -> np.ndarray:
        """Embeddings of a batch of encoder inputs.

        Parameters
        ----------
        inputs : ndarray, float32, shape (B, 3, S, S)
            Any memory layout (:func:`stack_inputs` gives the channels-last one, copied least).

        Returns
        -------
        ndarray, float32, shape (B, embedding_dim)

        Raises
        ------
        NanomorphError
            When the network gives another shape than its spec promises.
        """
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(inputs).to(torch.device(self.device))
            layout = torch.channels_last if self.channels_last else torch.contiguous_format
            out = self.module.embed(x.contiguous(memory_format=layout)).float().cpu().numpy()
        if out.shape != (len(inputs), self.embedding_dim):
            raise NanomorphError(f"the encoder gave embeddings of shape {out.shape}, expected "
                                 f"({len(inputs)}, {self.embedding_dim})")
        return out


def loaded_encoder(spec, device: str) -> LoadedEncoder:
    """The network of an encoder on a device, in eval mode.

    Built with ``spec.builder()`` the first time, then taken from the in-process cache.

    Parameters
    ----------
    spec : EncoderSpec
        The encoder.
    device : str
        A resolved torch device string.

    Returns
    -------
    LoadedEncoder
        The network and its input layout.
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
        channels_last = (spec.architecture is not None
                         and device.split(":")[0] in CHANNELS_LAST_DEVICES)
        if channels_last:
            module.to(memory_format=torch.channels_last)
        _models[key] = LoadedEncoder(module, device, channels_last, spec.embedding_dim)
        while len(_models) > MAX_MODELS:
            _models.popitem(last=False)
        return _models[key]


def clear_model_cache() -> None:
    """Forget every built network (frees their memory; the next job rebuilds)."""
    with _lock:
        _models.clear()


def stack_inputs(arrays: list[np.ndarray]) -> np.ndarray:
    """Concatenate encoder inputs into one batch whose memory is channels-last: one copy, and none
    more on the way into the network.

    Parameters
    ----------
    arrays : list of ndarray, each (T_i, 3, S, S)
        Inputs of several images (T_i tiles each).

    Returns
    -------
    ndarray, shape (B, 3, S, S)
        Backed by a (B, S, S, 3) buffer.
    """
    return np.concatenate([a.transpose(0, 2, 3, 1) for a in arrays]).transpose(0, 3, 1, 2)
