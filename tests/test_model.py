"""The model's shapes, its K = 1 reduction to a VAE, and its stacked-vs-looped equivalence."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Dirichlet, kl_divergence
from torch.nn import functional as F

from mvae import MVAE, Config, mixture_loss
from mvae.model import parameter_count
from mvae.objective import dirichlet_kl

SMALL_MLP = dict(latent_dim=6, hidden_dim=32)
SMALL_CONV = dict(dataset="cifar10", latent_dim=8, conv_channels=[4, 4, 8, 8, 8])


@pytest.mark.parametrize("K", [1, 3])
@pytest.mark.parametrize("arch", [SMALL_MLP, SMALL_CONV])
def test_shapes(K: int, arch: dict) -> None:
    config = Config(components=K, **arch)
    model = MVAE(config)
    C, H, W = config.image_shape
    x = torch.rand(5, C, H, W)
    out = model(x)
    d = config.latent_dim
    assert out.mu.shape == out.var.shape == out.z.shape == (K, 5, d)
    assert out.alpha.shape == out.w.shape == (K, 5)
    assert out.decoded.shape == (K, 5, C * H * W)
    assert (out.var > 0).all() and (out.alpha > 0).all()
    torch.testing.assert_close(out.w.sum(0), torch.ones(5))
    assert model.reconstruct(x).shape == (5, C, H, W)
    assert model.reconstruct_components(x).shape == (K, 5, C, H, W)
    assert model.latent_means(x).shape == (K, 5, d)
    samples = model.sample(3)
    assert samples.shape == (3, C, H, W) and samples.min() >= 0 and samples.max() <= 1
    terms = mixture_loss(out, x, config)
    assert terms.loss.dim() == 0 and torch.isfinite(terms.loss)


def test_k1_loss_is_the_standard_vae_elbo() -> None:
    """With one component the objective must be exactly -ELBO of a plain VAE."""
    torch.manual_seed(0)
    model = MVAE(Config(components=1, **SMALL_MLP))
    x = torch.rand(8, 1, 28, 28)
    torch.manual_seed(1)
    terms = mixture_loss(model(x), x, model.config)

    # Hand-written VAE on the same parameters and the same noise.
    heads = model.encoder(x)[0]
    d = 6
    mu, var = heads[:, :d], F.softplus(heads[:, d:2 * d]) + 1e-6
    torch.manual_seed(1)
    eps = torch.randn(1, 8, d)[0]
    z = mu + var.sqrt() * eps
    logits = model.decoder(z.unsqueeze(0))[0]
    rec = F.binary_cross_entropy(torch.sigmoid(logits), x.flatten(1), reduction="none").sum(1)
    kl = 0.5 * (mu ** 2 + var - var.log() - 1).sum(1)
    torch.testing.assert_close(terms.loss, (rec + kl).mean(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(terms.reconstruction, rec.mean(), rtol=1e-5, atol=1e-4)
    assert float(terms.kl_dirichlet) == 0.0 and float(terms.dhsic) == 0.0


def test_dirichlet_kl_matches_closed_form_and_torch() -> None:
    torch.manual_seed(0)
    alpha = torch.rand(4, 10, dtype=torch.float64) * 3 + 0.05  # (K, B)
    prior = 0.7
    ours = dirichlet_kl(alpha, prior)
    a = alpha.T
    b = torch.full_like(a, prior)
    a0, b0 = a.sum(-1), b.sum(-1)
    closed = (torch.lgamma(a0) - torch.lgamma(a).sum(-1) - torch.lgamma(b0)
              + torch.lgamma(b).sum(-1)
              + ((a - b) * (torch.digamma(a) - torch.digamma(a0).unsqueeze(-1))).sum(-1))
    torch.testing.assert_close(ours, closed)
    torch.testing.assert_close(ours, kl_divergence(Dirichlet(a), Dirichlet(b)))


@pytest.mark.parametrize("sampler", ["dirichlet", "gamma"])
def test_gradient_reaches_the_dirichlet_concentrations(sampler: str) -> None:
    torch.manual_seed(0)
    model = MVAE(Config(components=3, weight_sampler=sampler, **SMALL_MLP))
    x = torch.rand(16, 1, 28, 28)
    out = model(x)
    out.alpha.retain_grad()
    # Only the reconstruction, through w: proves the sample itself is reparameterised.
    mixture_loss(out, x, model.config).reconstruction.backward()
    assert out.alpha.grad is not None and out.alpha.grad.abs().sum() > 0
    alpha_row = model.encoder.head.weight.grad[:, :, 2 * 6]
    assert alpha_row.abs().sum() > 0


def test_stacked_components_equal_separate_networks() -> None:
    """The batched K-component pass computes exactly what K independent MLPs would."""
    torch.manual_seed(0)
    model = MVAE(Config(components=3, **SMALL_MLP))
    x = torch.rand(7, 1, 28, 28)
    heads = model.encoder(x)
    z = torch.randn(3, 7, 6)
    decoded = model.decoder(z)
    for k in range(3):
        torch.testing.assert_close(heads[k], model.encoder.component(x, k))
        torch.testing.assert_close(decoded[k], model.decoder.component(z[k], k))


@pytest.mark.parametrize("switches", [
    dict(reconstruction="expected"), dict(kl_reduction="mean"), dict(normalize_alpha=True),
    dict(dirichlet_prior=0.25), dict(likelihood="gaussian"), dict(beta=0.0),
])
def test_switches_change_the_loss_and_stay_finite(switches: dict) -> None:
    torch.manual_seed(0)
    base = Config(components=3, **SMALL_MLP)
    model = MVAE(base)
    x = torch.rand(16, 1, 28, 28)
    torch.manual_seed(1)
    ref = mixture_loss(model(x), x, base)
    alt_config = base.replace(**switches)
    alt_model = MVAE(alt_config)
    alt_model.load_state_dict(model.state_dict())
    torch.manual_seed(1)
    alt = mixture_loss(alt_model(x), x, alt_config)
    assert torch.isfinite(alt.loss)
    assert not torch.isclose(alt.loss, ref.loss), f"{switches} had no effect on the loss"


def test_mixture_bernoulli_likelihood_equals_direct_formula() -> None:
    """The log-space mixture likelihood equals BCE on the explicitly mixed mean."""
    torch.manual_seed(0)
    config = Config(components=3, **SMALL_MLP)
    model = MVAE(config)
    x = torch.rand(8, 1, 28, 28)
    out = model(x)
    terms = mixture_loss(out, x, config)
    direct = F.binary_cross_entropy(out.mixture_mean, x.flatten(1), reduction="none").sum(1)
    torch.testing.assert_close(terms.reconstruction, direct.mean(), rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("arch", [SMALL_MLP, SMALL_CONV])
def test_components_share_no_weights(arch: dict) -> None:
    """Perturbing component 0's parameters leaves component 1's codes and outputs untouched."""
    config = Config(components=2, **arch)
    torch.manual_seed(0)
    model = MVAE(config).eval()
    C, H, W = config.image_shape
    x = torch.rand(4, C, H, W)
    mu_before = model.encode(x)[0]
    out_before = model.decode(mu_before)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".stacks.0." in name:      # component 0's own convolution stack
                p.add_(0.5)
            elif ".stacks." not in name:  # stacked (K, ...) linear weights: slice 0
                p[0].add_(0.5)
    mu_after = model.encode(x)[0]
    out_after = model.decode(mu_after)
    torch.testing.assert_close(mu_after[1], mu_before[1])
    torch.testing.assert_close(out_after[1], out_before[1])
    assert not torch.allclose(out_after[0], out_before[0])


def test_beta_moves_the_encoder_gradients_by_beta_times_the_dhsic_gradient() -> None:
    """The penalty's whole effect on the encoders is beta x grad dHSIC, and at the paper's
    beta = 1 it is a tiny fraction of the ELBO's gradient (the measured "no-op")."""
    config = Config(components=3, latent_dim=4, hidden_dim=16, device="cpu")
    torch.manual_seed(0)
    model = MVAE(config).double()  # float64: the difference of two gradients is exact enough
    x = torch.rand(128, 1, 28, 28, dtype=torch.float64)

    def encoder_grad(beta: float, only_dhsic: bool = False) -> torch.Tensor:
        model.zero_grad()
        torch.manual_seed(1)  # the same z and w draws every time
        terms = mixture_loss(model(x), x, config.replace(beta=beta))
        (terms.dhsic if only_dhsic else terms.loss).backward()
        return torch.cat([p.grad.flatten() for p in model.encoder.parameters()])

    elbo, with_1, with_100 = encoder_grad(0.0), encoder_grad(1.0), encoder_grad(100.0)
    penalty = encoder_grad(1.0, only_dhsic=True)
    assert penalty.norm() > 0
    torch.testing.assert_close(with_1 - elbo, penalty, rtol=1e-6, atol=1e-12)
    torch.testing.assert_close(with_100 - elbo, 100 * penalty, rtol=1e-6, atol=1e-10)
    assert penalty.norm() / elbo.norm() < 1e-2


def test_parameter_count_matches_the_layer_arithmetic_and_scales_with_k() -> None:
    """The paper's MNIST MLP by hand: encoder 784-500-500 -> (mu, log var) 2x20 plus one
    concentration, decoder 20-500-500-784, each layer weights + biases; K components share
    nothing, so K times that."""
    def dense(n_in: int, n_out: int) -> int:
        return n_in * n_out + n_out

    encoder = dense(784, 500) + dense(500, 500) + dense(500, 2 * 20) + dense(500, 1)
    decoder = dense(20, 500) + dense(500, 500) + dense(500, 784)
    for k in (1, 4):
        config = Config(components=k, latent_dim=20, hidden_dim=500, hidden_layers=2)
        assert parameter_count(config) == k * (encoder + decoder)
    conv = Config(components=3, **SMALL_CONV)
    assert parameter_count(conv) == sum(p.numel() for p in MVAE(conv).parameters())
