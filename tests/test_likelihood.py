"""The IWAE log-likelihood against brute-force integrals on tiny models, and its bound behaviour."""

from __future__ import annotations

import math

import pytest
import torch

from mvae import MVAE, Config
from mvae.likelihood import iwae_log_likelihood, sample_log_dirichlet
from mvae.objective import mixture_loss

TINY = dict(latent_dim=1, hidden_dim=8, hidden_layers=1, device="cpu", beta=0.0)


def _model(K: int, **extra) -> MVAE:
    """A random tiny model whose decoder depends gently on z: its posterior stays broad, so a few
    thousand samples from the (untrained) encoder already pin log p(x) down to ~0.01 nats."""
    torch.manual_seed(0)
    model = MVAE(Config(components=K, **TINY, **extra)).double().eval()
    with torch.no_grad():
        model.decoder.head.weight.mul_(0.1)
    return model


def _images(n: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return (torch.rand(n, 1, 28, 28, generator=g, dtype=torch.float64) < 0.3).double()


def _bernoulli_log_lik(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """sum_j x_j log p_j + (1 - x_j) log(1 - p_j): written out, not via mvae."""
    return (x * p.log() + (1 - x) * (1 - p).log()).sum(-1)


@pytest.mark.slow
def test_k1_matches_quadrature_over_the_latent() -> None:
    model, x = _model(1), _images()
    grid = torch.linspace(-9, 9, 6001, dtype=torch.float64)
    with torch.no_grad():
        p = torch.sigmoid(model.decode(grid.view(1, -1, 1)))[0]  # (G, D)
    log_joint = torch.stack([_bernoulli_log_lik(xi.flatten(), p) for xi in x])  # (B, G)
    log_joint = log_joint - 0.5 * grid ** 2 - 0.5 * math.log(2 * math.pi)
    exact = torch.logsumexp(log_joint, -1) + math.log(float(grid[1] - grid[0]))
    torch.manual_seed(2)
    estimate = iwae_log_likelihood(model, x, samples=4000)
    torch.testing.assert_close(estimate, exact, atol=0.02, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize("prior", [1.0, 0.25])
def test_k2_matches_brute_force_sampling_from_the_prior(prior: float) -> None:
    """The encoder's concentrations are pinned at 0.2, below the prior's: the importance ratio
    Dir(w; prior) / Dir(w; a) then stays bounded (with a > prior it is unbounded at the simplex's
    edges and the estimate converges slowly, a property of the estimator, not an error)."""
    model, x = _model(2, dirichlet_prior=prior), _images(2)
    with torch.no_grad():
        model.encoder.head.weight[..., 2].zero_()
        model.encoder.head.bias[..., 2] = math.log(math.expm1(0.2))  # softplus^-1(0.2)
    torch.manual_seed(3)
    n = 200_000
    z = torch.randn(2, n, 1, dtype=torch.float64)
    w = torch.distributions.Dirichlet(torch.full((n, 2), prior, dtype=torch.float64)).sample()
    with torch.no_grad():
        p = (w.T.unsqueeze(-1) * torch.sigmoid(model.decode(z))).sum(0)  # (n, D)
    brute = torch.stack([torch.logsumexp(_bernoulli_log_lik(xi.flatten(), p), 0) - math.log(n)
                         for xi in x])
    torch.manual_seed(4)
    estimate = iwae_log_likelihood(model, x, samples=4000)
    torch.testing.assert_close(estimate, brute, atol=0.05, rtol=0)


@pytest.mark.slow
def test_one_sample_is_the_elbo_and_more_samples_tighten_the_bound() -> None:
    model, x = _model(3), _images(4)
    torch.manual_seed(5)
    with torch.no_grad():
        elbo = -torch.stack([mixture_loss(model(x), x, model.config).loss
                             for _ in range(3000)]).mean()
    torch.manual_seed(6)
    single = torch.stack([iwae_log_likelihood(model, x, samples=1).mean() for _ in range(3000)])
    assert abs(float(single.mean() - elbo)) < 4 * float(single.std()) / math.sqrt(3000) + 0.05
    torch.manual_seed(7)
    s10, s1000 = (float(iwae_log_likelihood(model, x, samples=s).mean()) for s in (10, 1000))
    assert float(elbo) < s10 < s1000


def test_log_dirichlet_draws_survive_tiny_concentrations() -> None:
    alpha = torch.tensor([[1e-3, 0.25], [1e-3, 0.25], [1e-3, 0.5]], dtype=torch.float64)
    torch.manual_seed(0)
    log_w = sample_log_dirichlet(alpha, 20_000)  # (S, K=3, B=2)
    assert torch.isfinite(log_w).all()
    torch.testing.assert_close(torch.logsumexp(log_w, 1), torch.zeros(20_000, 2,
                                                                      dtype=torch.float64))
    mean = log_w.exp().mean(0)  # E[w] = alpha / sum(alpha)
    torch.testing.assert_close(mean, alpha / alpha.sum(0), atol=0.01, rtol=0)
