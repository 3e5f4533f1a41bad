"""The self-supervised losses on inputs whose values can be checked by hand."""

from __future__ import annotations

import math

import pytest
import torch

from nanomorph.errors import InvalidParameterError
from nanomorph.ssl.losses import (
    barlow_twins_loss,
    barlow_twins_terms,
    cross_correlation,
    nt_xent_loss,
)


def _hadamard(n: int) -> torch.Tensor:
    h = torch.ones(1, 1)
    while len(h) < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)])
    return h


def test_barlow_twins_of_identical_decorrelated_views_is_zero():
    # columns 1..4 of an 8 x 8 Hadamard matrix: zero mean, unit variance, mutually orthogonal,
    # so the cross-correlation of a view with itself is exactly the identity
    z = _hadamard(8)[:, 1:5] * 3.0 + 2.0  # scale and offset vanish in the batch normalisation
    c = cross_correlation(z, z)
    assert torch.allclose(c, torch.eye(4), atol=1e-5)
    invariance, redundancy = barlow_twins_terms(z, z)
    assert invariance.item() == pytest.approx(0.0, abs=1e-8)
    assert redundancy.item() == pytest.approx(0.0, abs=1e-8)
    assert barlow_twins_loss(z, z).item() == pytest.approx(0.0, abs=1e-8)


def test_barlow_twins_terms_count_what_they_should():
    z = _hadamard(8)[:, 1:5]
    # the second view's dimension 0 is the negative of the first's: C00 = -1 → (1 - (-1))² = 4
    flipped = z.clone()
    flipped[:, 0] *= -1
    invariance, redundancy = barlow_twins_terms(z, flipped)
    assert invariance.item() == pytest.approx(4.0, abs=1e-4)
    assert redundancy.item() == pytest.approx(0.0, abs=1e-6)
    # two identical dimensions: C01 = C10 = 1 off the diagonal, weighted by lambda
    redundant = z.clone()
    redundant[:, 1] = redundant[:, 0]
    invariance, redundancy = barlow_twins_terms(redundant, redundant)
    assert invariance.item() == pytest.approx(0.0, abs=1e-4)
    assert redundancy.item() == pytest.approx(2.0, abs=1e-4)
    assert barlow_twins_loss(redundant, redundant, lambd=0.5).item() == pytest.approx(1.0, abs=1e-4)


def test_barlow_twins_of_independent_views_is_large():
    generator = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(2, 256, 16, generator=generator)
    invariance, _ = barlow_twins_terms(z1, z2)
    assert invariance.item() > 0.8 * 16  # each C_ii ≈ 0: (1 - 0)² per dimension


def test_nt_xent_of_aligned_orthogonal_pairs_is_low_and_of_random_pairs_high():
    n = 8
    aligned = torch.eye(n)  # view i of both branches: the same unit vector, orthogonal to others
    low = nt_xent_loss(aligned, aligned.clone(), temperature=0.1).item()
    # partner at cosine 1, the 2n - 2 others at 0: -log(e^10 / (e^10 + 14))
    assert low == pytest.approx(-math.log(math.exp(10) / (math.exp(10) + 2 * n - 2)), rel=1e-4)
    assert low < 1e-3
    generator = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(2, n, 32, generator=generator)
    high = nt_xent_loss(z1, z2, temperature=0.1).item()
    assert high > 1.0 > low
    # no preference at all (every similarity equal): exactly log(2n - 1)
    same = torch.ones(n, 4)
    assert nt_xent_loss(same, same).item() == pytest.approx(math.log(2 * n - 1), rel=1e-5)


def test_losses_compute_in_float32_for_half_precision_projections():
    z = _hadamard(8)[:, 1:5].to(torch.bfloat16)
    assert barlow_twins_loss(z, z).dtype == torch.float32
    assert nt_xent_loss(z, z).dtype == torch.float32


@pytest.mark.parametrize("loss", [nt_xent_loss, barlow_twins_loss])
def test_losses_refuse_mismatched_or_single_projections(loss):
    with pytest.raises(InvalidParameterError, match="same shape"):
        loss(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(InvalidParameterError, match="N >= 2"):
        loss(torch.zeros(1, 3), torch.zeros(1, 3))


def test_loss_parameters_are_checked():
    z = torch.randn(4, 3)
    with pytest.raises(InvalidParameterError, match="temperature"):
        nt_xent_loss(z, z, temperature=0)
    with pytest.raises(InvalidParameterError, match="λ"):
        barlow_twins_loss(z, z, lambd=-1)
