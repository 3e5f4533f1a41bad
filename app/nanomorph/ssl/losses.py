"""The two self-supervised objectives of Lu et al. 2022, on projections of two views.

- SimCLR (Chen et al. 2020): NT-Xent, the normalised temperature-scaled cross-entropy. The 2N
  projections are L2-normalised; each one must pick its partner view among the 2N − 1 others
  by cosine similarity / τ (τ = 0.1 in the paper).
- Barlow Twins (Zbontar et al. 2021): the projections are batch-normalised per dimension (zero
  mean, unit variance over the batch, no affine), their cross-correlation matrix C (D × D)
  between the two views is pushed to the identity: Σᵢ (1 − Cᵢᵢ)² + λ Σᵢ≠ⱼ Cᵢⱼ²
  (λ = 0.005 in the paper).

Both take ``z1, z2`` of shape (N, D), row i of ``z1`` and of ``z2`` being two views of image i,
and return a scalar tensor; they compute in float32 whatever the projections' dtype (mixed
precision), as the cross-correlation of float16 values is not accurate enough.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nanomorph.errors import InvalidParameterError

BN_EPS = 1e-5  # BatchNorm1d's, which the Barlow Twins code normalises with


def nt_xent_loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """NT-Xent loss of SimCLR: mean over the 2N views of −log softmax(similarity / τ) of the
    view's partner, over the 2N − 1 other views.

    Parameters
    ----------
    z1, z2 : Tensor, shape (N, D)
        Projections of the first and second views (N >= 2).
    temperature : float
        τ > 0.

    Returns
    -------
    Tensor, float32, scalar
        Between 0 (every view picks its partner with certainty) and about log(2N − 1) (no
        preference) and above (partners less alike than the others).

    Raises
    ------
    InvalidParameterError
        For a temperature that is not positive.
    """
    _check_pair(z1, z2)
    if not temperature > 0:
        raise InvalidParameterError(f"the temperature must be > 0, got {temperature}")
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    n = len(z1)
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device),
                                float("-inf"))
    partners = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, partners)


def cross_correlation(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """Cross-correlation of the batch-normalised projections: C = z̃1ᵀ z̃2 / N, where z̃ is z
    standardised per dimension over the batch (biased variance, eps 1e-5).

    Parameters
    ----------
    z1, z2 : torch.Tensor, shape (N, D)
        Projections of the two views.

    Returns
    -------
    torch.Tensor, shape (D, D)
        C.
    """
    _check_pair(z1, z2)
    return _batch_norm(z1.float()).T @ _batch_norm(z2.float()) / len(z1)


def barlow_twins_terms(z1: torch.Tensor, z2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms of the Barlow Twins loss.

    Parameters
    ----------
    z1, z2 : torch.Tensor, shape (N, D)
        Projections of the two views.

    Returns
    -------
    invariance : torch.Tensor
        Σᵢ (1 − Cᵢᵢ)² of the cross-correlation C (:func:`cross_correlation`), float32 scalar.
    redundancy : torch.Tensor
        Σᵢ≠ⱼ Cᵢⱼ², float32 scalar.
    """
    c = cross_correlation(z1, z2)
    diagonal = torch.diagonal(c)
    invariance = (1 - diagonal).pow(2).sum()
    redundancy = c.pow(2).sum() - diagonal.pow(2).sum()
    return invariance, redundancy


def barlow_twins_loss(z1: torch.Tensor, z2: torch.Tensor, lambd: float = 0.005) -> torch.Tensor:
    """Barlow Twins loss: invariance + λ · redundancy (see :func:`barlow_twins_terms`).

    Parameters
    ----------
    z1, z2 : Tensor, shape (N, D)
        Projections of the first and second views (N >= 2).
    lambd : float
        λ >= 0, the weight of the off-diagonal (redundancy) term.

    Returns
    -------
    Tensor, float32, scalar
        0 when C is the identity.

    Raises
    ------
    InvalidParameterError
        For a negative λ.
    """
    if not lambd >= 0:
        raise InvalidParameterError(f"the Barlow Twins weight λ must be >= 0, got {lambd}")
    invariance, redundancy = barlow_twins_terms(z1, z2)
    return invariance + lambd * redundancy


def _batch_norm(z: torch.Tensor) -> torch.Tensor:
    mean = z.mean(dim=0)
    variance = z.var(dim=0, unbiased=False)
    return (z - mean) / torch.sqrt(variance + BN_EPS)


def _check_pair(z1: torch.Tensor, z2: torch.Tensor) -> None:
    if z1.ndim != 2 or z1.shape != z2.shape or len(z1) < 2:
        raise InvalidParameterError(f"expected two projections of the same shape (N, D) with "
                                    f"N >= 2, got {tuple(z1.shape)} and {tuple(z2.shape)}")
