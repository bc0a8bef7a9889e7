"""mvae.dhsic against two independent oracles (hyppo, and a literal loop) and its behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hyppo.d_variate import dHsic
from scipy.spatial.distance import pdist

from mvae.dhsic import dhsic, dhsic_from_grams, gaussian_gram, median_bandwidth


def _random_variables(K: int, n: int, d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(n, d, generator=g, dtype=torch.float64)
    # Mildly dependent variables: a shared part plus noise, so the statistic is not ~0.
    return torch.stack([0.5 * base + torch.randn(n, d, generator=g, dtype=torch.float64)
                        for _ in range(K)])


@pytest.mark.parametrize(("K", "n"), [(2, 60), (3, 101), (4, 200)])
def test_matches_hyppo_on_the_same_gram_matrices(K: int, n: int) -> None:
    z = _random_variables(K, n, 5, seed=K)
    grams = gaussian_gram(z, median_bandwidth(z))
    oracle = dHsic(compute_kernel=None).statistic(*[g.numpy() for g in grams])
    ours = float(dhsic(z))
    assert ours == pytest.approx(oracle, rel=1e-6)
    assert float(dhsic_from_grams(grams)) == pytest.approx(oracle, rel=1e-6)


@pytest.mark.parametrize("n", [7, 8, 50, 51])  # odd and even numbers of pairs
def test_bandwidth_is_pfisters_median_heuristic(n: int) -> None:
    x = np.random.default_rng(n).normal(size=(n, 3))
    expected = np.sqrt(0.5 * np.median(pdist(x, "sqeuclidean")))
    got = median_bandwidth(torch.from_numpy(x))
    assert float(got) == pytest.approx(expected, rel=1e-10)
    assert not got.requires_grad
    batched = median_bandwidth(torch.from_numpy(np.stack([x, 2 * x])))
    np.testing.assert_allclose(batched.numpy(), [expected, 2 * expected], rtol=1e-10)


def test_literal_formula_with_loops() -> None:
    """A second oracle: the formula written with explicit loops over samples and variables."""
    z = _random_variables(3, 6, 2, seed=0)
    grams = gaussian_gram(z, median_bandwidth(z)).numpy()
    K, n = grams.shape[0], grams.shape[1]
    t1 = sum(np.prod([grams[j, a, b] for j in range(K)]) for a in range(n) for b in range(n))
    t2 = np.prod([sum(grams[j, a, b] for a in range(n) for b in range(n)) / n ** 2
                  for j in range(K)])
    t3 = sum(np.prod([sum(grams[j, a, b] for b in range(n)) / n for j in range(K)])
             for a in range(n))
    literal = t1 / n ** 2 + t2 - 2 / n * t3
    assert float(dhsic(z)) == pytest.approx(literal, rel=1e-10)


def test_near_zero_for_independent_and_positive_for_dependent() -> None:
    g = torch.Generator().manual_seed(0)
    n = 300
    independent = [torch.randn(n, 2, generator=g) for _ in range(3)]
    z1 = torch.randn(n, 2, generator=g)
    dependent = [z1, z1 + 0.1 * torch.randn(n, 2, generator=g), z1 ** 2]
    low, high = float(dhsic(independent)), float(dhsic(dependent))
    assert high > 0.05
    assert low < high / 20, (low, high)


def test_gradient_reaches_the_codes_only() -> None:
    z = _random_variables(3, 40, 4, seed=1).requires_grad_(True)
    value = dhsic(z)
    value.backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    assert not median_bandwidth(z).requires_grad


def test_list_input_with_different_dimensions() -> None:
    g = torch.Generator().manual_seed(2)
    parts = [torch.randn(30, d, generator=g, dtype=torch.float64) for d in (1, 3, 5)]
    grams = torch.stack([gaussian_gram(p, median_bandwidth(p)) for p in parts])
    assert float(dhsic(parts)) == pytest.approx(float(dhsic_from_grams(grams)), rel=1e-12)
    same = _random_variables(3, 30, 4, seed=3)
    assert float(dhsic(same)) == pytest.approx(float(dhsic(list(same))), rel=1e-12)


def test_fixed_bandwidth_and_edge_cases() -> None:
    z = _random_variables(2, 20, 3, seed=4)
    grams = gaussian_gram(z, torch.tensor([1.5, 1.5], dtype=torch.float64))
    assert float(dhsic(z, bandwidth=1.5)) == pytest.approx(float(dhsic_from_grams(grams)))
    assert float(dhsic(z[:1])) == 0.0
    with pytest.raises(ValueError, match="same number of samples"):
        dhsic([torch.randn(5, 2), torch.randn(6, 2)])
    with pytest.raises(ValueError):
        dhsic(torch.randn(5, 2))
    with pytest.raises(ValueError):
        dhsic([])
