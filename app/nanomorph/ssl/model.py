"""The network that learns: an encoder (the backbone, kept; :mod:`nanomorph.ssl.backbones`)
and a projector head (dropped).

The projector is an MLP on the embedding: ``Linear → BatchNorm1d → ReLU`` for every layer but
the last, then a plain ``Linear`` (Barlow Twins' head, SimCLR v2's with BatchNorm). Its
widths are ``projector_dims``, e.g. (2048, 2048, 2048) for Barlow Twins (the paper's 8192
scaled down to CPU-sized runs) and (2048, 128) for SimCLR.

Inputs are gray levels in [0, 1], (N, 3, S, S); the model normalises them with the backbone's
own mean / std (those its registry spec preprocesses with), so the saved encoder sees at
inference exactly the numbers it saw in training.
"""

from __future__ import annotations

import torch
from torch import nn

from nanomorph.errors import InvalidParameterError


class Projector(nn.Sequential):
    """MLP head ``in_dim → dims[0] → … → dims[-1]`` (see the module docstring).

    Parameters
    ----------
    in_dim : int
        The backbone's embedding size.
    dims : tuple of int
        Widths of the layers.
    """

    def __init__(self, in_dim: int, dims: tuple[int, ...]):
        if not dims or min(dims) < 1:
            raise InvalidParameterError(f"the projector needs at least one layer width >= 1, "
                                        f"got {dims}")
        layers, width = [], in_dim
        for out in dims[:-1]:
            layers += [nn.Linear(width, out, bias=False), nn.BatchNorm1d(out), nn.ReLU(inplace=True)]
            width = out
        layers.append(nn.Linear(width, dims[-1], bias=False))
        super().__init__(*layers)


class SSLModel(nn.Module):
    """Backbone + projector; ``forward`` maps views in [0, 1] to projections.

    Parameters
    ----------
    backbone : nn.Module
        A registry network with ``embed(x) -> (N, embedding_dim)``.
    projector_dims : tuple of int
        Widths of the projector's layers.
    mean, std : (float, float, float)
        The backbone's input normalisation per channel.
    seed : int
        Seed of the projector's initialisation (the global random state is untouched).
    freeze_batchnorm : bool
        Keep the backbone's BatchNorm layers in evaluation mode, so that training uses and
        keeps their running statistics (their scale and shift still learn).
    """

    def __init__(self, backbone: nn.Module, projector_dims: tuple[int, ...], mean, std,
                 seed: int = 0, freeze_batchnorm: bool = False):
        super().__init__()
        self.backbone = backbone
        self.freeze_batchnorm = freeze_batchnorm
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.projector = Projector(backbone.embedding_dim, tuple(projector_dims))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)

    def train(self, mode: bool = True) -> "SSLModel":
        """Training or eval mode; with ``freeze_batchnorm`` the backbone's BatchNorm layers stay in
        eval mode (their statistics do not move).

        Parameters
        ----------
        mode : bool
            True for training.

        Returns
        -------
        SSLModel
            ``self``.
        """
        super().train(mode)
        if self.freeze_batchnorm:
            for module in self.backbone.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def forward(self, views: torch.Tensor) -> torch.Tensor:
        """Projections of views.

        Parameters
        ----------
        views : torch.Tensor, shape (N, 3, S, S)
            Gray levels in [0, 1].

        Returns
        -------
        torch.Tensor, shape (N, projector_dims[-1])
            The projections.
        """
        return self.projector(self.backbone.embed((views - self.mean) / self.std))
