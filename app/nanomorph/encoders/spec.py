"""What nanomorph needs to know about an encoder (:class:`EncoderSpec`), shared by the registry
and the encoder files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nanomorph.encoders.preprocess import PreprocessSpec


@dataclass(frozen=True)
class EncoderSpec:
    """What nanomorph needs to know about an encoder.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"efficientnet-lite0"``.
    description : str
        One line for menus and ``--help``.
    builder : callable
        ``builder() -> torch.nn.Module``: a new network on the CPU with its weights, having
        ``embed(x) -> (N, embedding_dim)`` and ``forward_features(x) -> list`` of maps at
        ``feature_strides`` with ``feature_channels``, for inputs (N, 3, H, W).
    embedding_dim : int
        Length of one embedding.
    feature_channels : tuple of int
        Channels of ``forward_features`` maps, one per stride.
    preprocess : PreprocessSpec
        How images become this encoder's inputs (mean/std as it was trained).
    weights_id : str
        Names the weights, e.g. ``"imagenet:efficientnet-lite0-57934424"``; with ``name`` it is
        the embedding cache's encoder key, so new weights must get a new id.
    architecture : str, optional
        Network definition (a key of ``nanomorph.encoders.weights.ARCHITECTURES``) for saving
        the encoder to a file; None for networks nanomorph cannot rebuild.
    feature_strides : tuple of int
        Strides of the ``forward_features`` maps (2, 4, 8, 16, 32).
    offered : bool
        Listed for users (False for test subjects and pretraining starting points).
    """

    name: str
    description: str
    builder: Callable[[], Any]
    embedding_dim: int
    feature_channels: tuple[int, ...]
    preprocess: PreprocessSpec
    weights_id: str
    architecture: str | None = None
    feature_strides: tuple[int, ...] = (2, 4, 8, 16, 32)
    offered: bool = True

    def key(self) -> str:
        """The embedding cache's encoder key.

        Returns
        -------
        str
            ``name@weights_id``.
        """
        return f"{self.name}@{self.weights_id}"
