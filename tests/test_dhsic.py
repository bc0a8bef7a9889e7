"""mvae.dhsic against two independent oracles (hyppo, and a literal loop) and its behaviour.

hyppo's ``dHsic.statistic`` with ``compute_kernel=None`` takes precomputed Gram matrices as its
positional arguments and evaluates the same V-statistic with its own loop (its ``bias`` flag is
unused by ``statistic``), so it checks our vectorised formula; the literal loop below checks the
kernel and the bandwidth too. Every test uses fixed seeds and runs on the CPU in well under a
second.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hyppo.d_variate import dHsic
from scipy.spatial.distance import pdist
from scipy.special import gamma as gamma_function
from scipy.stats import chi
from sklearn.metrics.pairwise import rbf_kernel
from torch.autograd.gradcheck import GradcheckError

from mvae.dhsic import (
    ESTIMATORS,
    authors_dhsic,
    dhsic,
    dhsic_estimate,
    dhsic_from_grams,
    gaussian_gram,
    latent_bandwidth,
    median_bandwidth,
)


def _random_variables(K: int, n: int, d: int, seed: int,
                      dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(K, n, d) mildly dependent variables: a shared part plus noise, so dHSIC is not ~0."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(n, d, generator=g, dtype=torch.float64)
    z = torch.stack([0.5 * base + torch.randn(n, d, generator=g, dtype=torch.float64)
                     for _ in range(K)])
    return z.to(dtype)


def _numpy_bandwidth(x: np.ndarray) -> float:
    """Pfister's median heuristic written independently with scipy and numpy's median."""
    return float(np.sqrt(0.5 * np.median(pdist(x, "sqeuclidean"))))


# --- Oracle 1: hyppo -------------------------------------------------------------------------

@pytest.mark.parametrize(("K", "n"), [(2, 60), (3, 101), (4, 200)])
def test_matches_hyppo_on_the_same_gram_matrices(K: int, n: int) -> None:
    z = _random_variables(K, n, 5, seed=K)
    grams = gaussian_gram(z, median_bandwidth(z))
    oracle = dHsic(compute_kernel=None).statistic(*[g.numpy() for g in grams])
    assert oracle > 1e-4  # a non-trivial value, so the relative comparison means something
    assert float(dhsic(z)) == pytest.approx(oracle, rel=1e-6)
    assert float(dhsic_from_grams(grams)) == pytest.approx(oracle, rel=1e-6)
    assert float(dhsic(list(z))) == pytest.approx(oracle, rel=1e-6)


# --- Oracle 2: the formula written literally --------------------------------------------------

def test_literal_formula_with_loops() -> None:
    """Kernel, bandwidth and statistic written with explicit loops over samples and variables."""
    z = _random_variables(3, 6, 2, seed=0).numpy()
    K, n = z.shape[0], z.shape[1]
    grams = np.empty((K, n, n))
    for j in range(K):
        h = _numpy_bandwidth(z[j])
        for a in range(n):
            for b in range(n):
                sq = sum((z[j, a, c] - z[j, b, c]) ** 2 for c in range(z.shape[2]))
                grams[j, a, b] = np.exp(-sq / (2 * h * h))
    t1 = sum(np.prod([grams[j, a, b] for j in range(K)]) for a in range(n) for b in range(n))
    t2 = np.prod([sum(grams[j, a, b] for a in range(n) for b in range(n)) / n**2
                  for j in range(K)])
    t3 = sum(np.prod([sum(grams[j, a, b] for b in range(n)) / n for j in range(K)])
             for a in range(n))
    literal = t1 / n**2 + t2 - 2 / n * t3
    assert literal > 1e-4
    zt = torch.from_numpy(z)
    np.testing.assert_allclose(gaussian_gram(zt, median_bandwidth(zt)).numpy(), grams,
                               rtol=1e-12, atol=1e-14)
    assert float(dhsic(zt)) == pytest.approx(literal, rel=1e-10)


# --- The bandwidth ----------------------------------------------------------------------------

@pytest.mark.parametrize(("n", "even_pairs"), [(7, False), (8, True), (50, False), (52, True)])
def test_bandwidth_is_pfisters_median_heuristic(n: int, even_pairs: bool) -> None:
    assert (n * (n - 1) // 2 % 2 == 0) == even_pairs
    x = np.random.default_rng(n).normal(size=(n, 3))
    expected = _numpy_bandwidth(x)
    got = median_bandwidth(torch.from_numpy(x))
    assert got.shape == () and got.dtype == torch.float64
    assert float(got) == pytest.approx(expected, rel=1e-10)
    if even_pairs:
        # The two middle values differ, so taking either one alone (as the R package's C++
        # helper does with the upper one) would fail the comparison above.
        pairs = np.sort(pdist(x, "sqeuclidean"))
        m = len(pairs)
        upper = np.sqrt(0.5 * pairs[m // 2])
        assert abs(upper - expected) > 1e-8 * expected
    batched = median_bandwidth(torch.from_numpy(np.stack([x, 2 * x, x + 5])))
    assert batched.shape == (3,)
    np.testing.assert_allclose(batched.numpy(), [expected, 2 * expected, expected], rtol=1e-10)


def test_bandwidth_falls_back_to_one_when_points_coincide() -> None:
    same = torch.ones(2, 10, 3)  # all points equal: median distance 0
    mostly_same = torch.zeros(10, 2)
    mostly_same[0] = 1.0  # 9 of 45 pairs non-zero: the median is still 0
    np.testing.assert_array_equal(median_bandwidth(same).numpy(), [1.0, 1.0])
    assert float(median_bandwidth(mostly_same)) == 1.0
    assert torch.isfinite(dhsic(same)) and float(dhsic(same)) == pytest.approx(0.0, abs=1e-7)


def test_bandwidth_float32_and_large_offsets() -> None:
    """float32 stays float32, and a large common offset does not wreck the distances."""
    x = _random_variables(2, 64, 4, seed=5)
    ref = median_bandwidth(x)
    shifted = median_bandwidth((x + 1000.0).float())
    assert shifted.dtype == torch.float32
    np.testing.assert_allclose(shifted.double().numpy(), ref.numpy(), rtol=1e-4)
    value64 = float(dhsic(x))
    value32 = dhsic((x + 1000.0).float())
    assert value32.dtype == torch.float32
    assert float(value32) == pytest.approx(value64, rel=1e-3)


# --- Behaviour --------------------------------------------------------------------------------

def test_near_zero_for_independent_and_positive_for_dependent() -> None:
    g = torch.Generator().manual_seed(0)
    n = 300
    independent = [torch.randn(n, 2, generator=g) for _ in range(3)]
    z1 = torch.randn(n, 2, generator=g)
    dependent = [z1, z1 + 0.1 * torch.randn(n, 2, generator=g), z1**2]
    low, high = float(dhsic(independent)), float(dhsic(dependent))
    assert high > 0.05, high
    assert abs(low) < high / 20, (low, high)


def test_gradient_reaches_the_codes_but_not_the_bandwidth() -> None:
    z = _random_variables(3, 40, 4, seed=1).requires_grad_(True)
    h = median_bandwidth(z)
    assert not h.requires_grad and h.grad_fn is None
    (grad,) = torch.autograd.grad(dhsic(z), z)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    # Same gradient as with the bandwidth frozen to the same values ...
    (frozen,) = torch.autograd.grad(dhsic(z, bandwidth=h.clone()), z)
    torch.testing.assert_close(grad, frozen, rtol=1e-12, atol=1e-14)
    # ... and a differentiable median would give a different one, so the check has teeth.
    rows, cols = torch.triu_indices(40, 40, offset=1)
    d2 = ((z.unsqueeze(2) - z.unsqueeze(1)) ** 2).sum(-1)[:, rows, cols]
    h_live = torch.sqrt(0.5 * torch.quantile(d2, 0.5, dim=-1))
    torch.testing.assert_close(h_live.detach(), h, rtol=1e-10, atol=0)
    (through,) = torch.autograd.grad(dhsic_from_grams(gaussian_gram(z, h_live)), z)
    assert (through - grad).abs().max() > 1e-6 * grad.abs().max()


def test_gradient_matches_finite_differences() -> None:
    z = _random_variables(3, 8, 2, seed=6).requires_grad_(True)
    bandwidth = median_bandwidth(z)
    assert torch.autograd.gradcheck(lambda t: dhsic(t, bandwidth=bandwidth), (z,))
    parts = [p.detach().clone().requires_grad_(True) for p in (z[0, :, :1], z[1], z[2])]
    hs = torch.stack([median_bandwidth(p) for p in parts])
    assert torch.autograd.gradcheck(lambda *ps: dhsic(list(ps), bandwidth=hs), tuple(parts))
    # With the median heuristic live, finite differences also see the bandwidth move while the
    # analytical gradient (by design) does not: the two must disagree.
    with pytest.raises(GradcheckError):
        torch.autograd.gradcheck(lambda t: dhsic(t), (z,))


def test_list_input_with_different_dimensions() -> None:
    g = torch.Generator().manual_seed(2)
    parts = [torch.randn(30, d, generator=g, dtype=torch.float64) for d in (1, 3, 5)]
    parts[2][:, 0] += parts[0][:, 0]  # some dependence, so the value is not ~0
    by_hand = torch.stack([gaussian_gram(p, median_bandwidth(p)) for p in parts])
    assert float(dhsic(parts)) == pytest.approx(float(dhsic_from_grams(by_hand)), rel=1e-12)
    same = _random_variables(3, 30, 4, seed=3)
    assert float(dhsic(same)) == pytest.approx(float(dhsic(list(same))), rel=1e-12)
    assert float(dhsic(same)) == pytest.approx(float(dhsic(tuple(same))), rel=1e-12)


def test_fixed_bandwidths() -> None:
    z = _random_variables(2, 20, 3, seed=4)
    fixed = gaussian_gram(z, torch.tensor([0.7, 0.7], dtype=torch.float64))
    assert float(dhsic(z, bandwidth=0.7)) == pytest.approx(float(dhsic_from_grams(fixed)))
    assert float(dhsic(list(z), bandwidth=0.7)) == pytest.approx(float(dhsic_from_grams(fixed)))
    per_variable = torch.tensor([0.5, 2.0], dtype=torch.float64)
    by_hand = torch.stack([gaussian_gram(z[0], 0.5), gaussian_gram(z[1], 2.0)])
    expected = float(dhsic_from_grams(by_hand))
    assert float(dhsic(z, bandwidth=per_variable)) == pytest.approx(expected, rel=1e-12)
    assert float(dhsic(list(z), bandwidth=per_variable)) == pytest.approx(expected, rel=1e-12)
    assert float(dhsic(z, bandwidth=per_variable)) != pytest.approx(float(dhsic(z)), rel=1e-3)


def test_single_variable_is_exactly_zero() -> None:
    z = _random_variables(1, 20, 3, seed=7).requires_grad_(True)
    value = dhsic(z)
    assert value.shape == () and float(value.detach()) == 0.0
    value.backward()  # attached to the graph, with a zero gradient
    assert z.grad is not None and float(z.grad.abs().sum()) == 0.0
    assert float(dhsic([torch.randn(5, 2)])) == 0.0


def test_bad_inputs_raise_value_error() -> None:
    with pytest.raises(ValueError, match="same number of samples"):
        dhsic([torch.randn(5, 2), torch.randn(6, 2)])
    with pytest.raises(ValueError, match="at least one variable"):
        dhsic([])
    with pytest.raises(ValueError, match="at least one variable"):
        dhsic(torch.randn(0, 5, 2))
    with pytest.raises(ValueError, match=r"\(K, n, d\)"):
        dhsic(torch.randn(5, 2))
    with pytest.raises(ValueError, match=r"\(n, d_k\)"):
        dhsic([torch.randn(5, 2), torch.randn(5)])
    with pytest.raises(ValueError, match="bandwidth"):
        dhsic(torch.randn(3, 5, 2), bandwidth=torch.ones(2))
    with pytest.raises(ValueError, match="bandwidth"):
        dhsic([torch.randn(5, 2)] * 3, bandwidth=torch.ones(4))
    with pytest.raises(ValueError, match="at least 2 samples"):
        median_bandwidth(torch.randn(1, 3))
    with pytest.raises(ValueError, match=r"\(K, n, n\)"):
        dhsic_from_grams(torch.rand(2, 4, 5))


def test_traces_as_one_graph_without_data_dependent_shapes() -> None:
    """A proxy for CUDA-graph capture on a CPU-only runner: ``fullgraph=True`` makes any graph
    break (a host read such as ``.item()``, boolean masking, data-dependent control flow) an error.
    """
    torch._dynamo.reset()
    compiled = torch.compile(dhsic, fullgraph=True, backend="aot_eager", dynamic=False)
    z = _random_variables(3, 32, 4, seed=8).requires_grad_(True)
    value = compiled(z)
    (grad,) = torch.autograd.grad(value, z)
    (eager_grad,) = torch.autograd.grad(dhsic(z), z)
    assert float(value.detach()) == pytest.approx(float(dhsic(z).detach()), rel=1e-12)
    torch.testing.assert_close(grad, eager_grad)


# --- The authors' estimator (dhsic_estimator: authors) ----------------------------------------

def _authors_gamma(d: int) -> float:
    """The kernel coefficient of the authors' code, from its formula with scipy's gamma
    function: g = 1 / (2 h^2), h = 2 Gamma((d + 1) / 2) / Gamma(d / 2)."""
    h = 2 * gamma_function(0.5 * (d + 1)) / gamma_function(0.5 * d)
    return 1.0 / (2.0 * h**2)


@pytest.mark.parametrize(("K", "n", "d"), [(2, 60, 5), (3, 101, 20), (4, 128, 20)])
def test_authors_estimator_matches_hyppo_with_the_fixed_bandwidth(K: int, n: int, d: int) -> None:
    """hyppo builds its own RBF kernels (sklearn's pairwise_kernels) at the given gamma and its
    own V-statistic; the authors' estimator is its square root."""
    z = _random_variables(K, n, d, seed=10 + K)
    statistic = dHsic(compute_kernel="gaussian", gamma=_authors_gamma(d)).statistic(
        *[v.numpy() for v in z])
    assert statistic > 1e-4
    oracle = np.sqrt(statistic)
    assert float(authors_dhsic(z)) == pytest.approx(oracle, rel=1e-9)
    assert float(authors_dhsic(list(z))) == pytest.approx(oracle, rel=1e-9)
    assert float(dhsic_estimate(z, "authors")) == pytest.approx(oracle, rel=1e-9)
    # Not the median estimator, nor its square root: the bandwidth and the root both matter.
    assert float(authors_dhsic(z)) != pytest.approx(float(dhsic(z)), rel=1e-2)
    assert float(authors_dhsic(z)) != pytest.approx(float(dhsic(z)) ** 0.5, rel=1e-2)


def test_authors_estimator_gives_each_variable_the_bandwidth_of_its_dimension() -> None:
    g = torch.Generator().manual_seed(12)
    parts = [torch.randn(40, d, generator=g, dtype=torch.float64) for d in (1, 3, 20)]
    parts[2][:, 0] += 2 * parts[0][:, 0]
    kernels = [rbf_kernel(p.numpy(), gamma=_authors_gamma(p.shape[1])) for p in parts]
    oracle = np.sqrt(dHsic(compute_kernel=None).statistic(*kernels))
    assert oracle > 1e-3
    assert float(authors_dhsic(parts)) == pytest.approx(oracle, rel=1e-9)


@pytest.mark.parametrize("d", [1, 2, 5, 20, 50, 256, 512])
def test_latent_bandwidth_is_the_mean_distance_of_two_prior_draws(d: int) -> None:
    """h(d) = sqrt(2) E|x| for x ~ N(0, I_d), the mean of a chi distribution with d degrees of
    freedom (scipy.stats), and the authors' gamma-function formula where that does not
    overflow (Gamma(d / 2) is inf beyond d = 342)."""
    h = latent_bandwidth(d)
    assert h == pytest.approx(np.sqrt(2) * chi(d).mean(), rel=1e-10)
    if d <= 300:
        assert 1 / (2 * h * h) == pytest.approx(_authors_gamma(d), rel=1e-10)
    for bad in (0, -3, 2.0, True):
        with pytest.raises(ValueError, match="latent_bandwidth"):
            latent_bandwidth(bad)


def test_authors_estimator_gradient_matches_finite_differences() -> None:
    """The bandwidth is a constant of d, so the whole estimator is a smooth function of the
    codes (above V = 0) and gradcheck covers it end to end, tensor and list input alike."""
    z = _random_variables(3, 8, 2, seed=13).requires_grad_(True)
    assert float(authors_dhsic(z).detach()) > 1e-3
    assert torch.autograd.gradcheck(authors_dhsic, (z,))
    parts = tuple(p.detach().clone().requires_grad_(True)
                  for p in (z[0, :, :1], z[1], torch.cat([z[2], z[0]], dim=1)))
    assert torch.autograd.gradcheck(lambda *ps: authors_dhsic(list(ps)), parts)
    (grad,) = torch.autograd.grad(authors_dhsic(z), z)
    assert grad.abs().sum() > 0


def test_authors_estimator_is_finite_where_the_statistic_is_zero() -> None:
    """Identical samples give V = 0 exactly: the value is ~0 and the gradient zero, not NaN
    (an unclamped square root would give 0 * inf); one variable gives exactly 0."""
    same = torch.ones(3, 10, 4, dtype=torch.float64, requires_grad=True)
    value = authors_dhsic(same)
    assert 0 <= float(value.detach()) < 1e-150
    (grad,) = torch.autograd.grad(value, same)
    assert torch.isfinite(grad).all() and float(grad.abs().sum()) == 0.0
    single = _random_variables(1, 20, 3, seed=14).requires_grad_(True)
    assert float(authors_dhsic(single).detach()) == 0.0
    value32 = authors_dhsic(_random_variables(4, 64, 20, seed=15, dtype=torch.float32))
    assert value32.dtype == torch.float32 and torch.isfinite(value32)


def test_the_default_estimator_is_the_median_one_unchanged() -> None:
    """``median`` is exactly dhsic() (bit for bit), which the hyppo and literal-loop tests above
    pin to Pfister's statistic; the config's default and the library's names agree."""
    from mvae.config import DHSIC_ESTIMATORS, Config

    z = _random_variables(4, 128, 20, seed=16, dtype=torch.float32)
    assert torch.equal(dhsic_estimate(z), dhsic(z))
    assert torch.equal(dhsic_estimate(z, "median"), dhsic(z))
    assert Config().dhsic_estimator == "median" == ESTIMATORS[0]
    assert DHSIC_ESTIMATORS == ESTIMATORS
    with pytest.raises(ValueError, match="unknown dHSIC estimator 'mean'"):
        dhsic_estimate(z, "mean")


def test_the_loss_uses_the_configured_estimator() -> None:
    """mixture_loss's dhsic term is dhsic() under the default config (bit for bit) and
    authors_dhsic() under ``dhsic_estimator: authors``, at beta > 0 and at beta = 0 alike."""
    from mvae import MVAE, Config
    from mvae.objective import mixture_loss

    x = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for beta in (1.0, 0.0):
        for estimator, oracle in (("median", dhsic), ("authors", authors_dhsic)):
            config = Config(components=3, latent_dim=4, hidden_dim=16, device="cpu", beta=beta,
                            dhsic_estimator=estimator)
            torch.manual_seed(0)
            out = MVAE(config)(x)
            terms = mixture_loss(out, x, config)
            assert torch.equal(terms.dhsic.detach(), oracle(out.z).detach())
            assert terms.dhsic.requires_grad == (beta > 0)


def test_authors_estimator_traces_as_one_graph() -> None:
    """As for dhsic: no host reads or data-dependent shapes, so a CUDA graph can capture it."""
    torch._dynamo.reset()
    compiled = torch.compile(authors_dhsic, fullgraph=True, backend="aot_eager", dynamic=False)
    z = _random_variables(3, 32, 4, seed=17).requires_grad_(True)
    value = compiled(z)
    (grad,) = torch.autograd.grad(value, z)
    (eager_grad,) = torch.autograd.grad(authors_dhsic(z), z)
    assert float(value.detach()) == pytest.approx(float(authors_dhsic(z).detach()), rel=1e-12)
    torch.testing.assert_close(grad, eager_grad)
