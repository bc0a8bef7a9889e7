"""Reconstruction modes, the mean-image baseline and the mixture diagnostics, against direct
computations and against models built to be a blend or a mixture."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mvae import MVAE, Config
from mvae.evaluate import (
    MODES,
    component_interpolations,
    errors_by_mode,
    latent_codes,
    mean_image_sse,
    mixture_diagnostics,
    reconstruction_errors,
)

SMALL = dict(latent_dim=3, hidden_dim=16, device="cpu")


def _model(K: int) -> MVAE:
    torch.manual_seed(0)
    return MVAE(Config(components=K, **SMALL)).eval()


def test_deterministic_mode_is_the_expected_weight_mixture_of_the_posterior_means() -> None:
    model, x = _model(3), torch.rand(6, 1, 28, 28)
    d = model.config.latent_dim
    heads = [model.encoder.component(x, k) for k in range(3)]   # the looped reference path
    alpha = torch.stack([F.softplus(h[:, 2 * d]) + 1e-6 for h in heads])
    ew = alpha / alpha.sum(0)
    recon = sum(ew[k, :, None] * torch.sigmoid(model.decoder.component(heads[k][:, :d], k))
                for k in range(3))
    sse = ((recon - x.flatten(1)) ** 2).sum(1).mean().detach()
    errors = errors_by_mode(model, x)
    assert set(errors) == set(MODES)
    assert errors["deterministic"]["mixture"]["sse_per_image"] == pytest.approx(float(sse),
                                                                               rel=1e-5)


@pytest.mark.parametrize("K", [1, 3])
def test_sampled_mode_draws_noise_reproducibly(K: int) -> None:
    model, x = _model(K), torch.rand(6, 1, 28, 28)
    a = reconstruction_errors(model, x, weights="sample", latent="sample", seed=1)
    b = reconstruction_errors(model, x, weights="sample", latent="sample", seed=1)
    c = reconstruction_errors(model, x, weights="sample", latent="sample", seed=2)
    det = reconstruction_errors(model, x)
    assert a == b
    assert a["mixture"]["sse_per_image"] != c["mixture"]["sse_per_image"]
    assert a["mixture"]["sse_per_image"] != det["mixture"]["sse_per_image"]
    assert a["components"] == det["components"]  # one-hot reconstructions are at the means


@pytest.mark.slow
def test_sampled_mode_agrees_with_a_monte_carlo_oracle() -> None:
    """The sampled mode's SSE, averaged over seeds, against draws made directly with
    torch.distributions (w ~ Dir(a), z ~ N(mu, var)); both are far from the deterministic mode."""
    from torch.distributions import Dirichlet, Normal

    model, x = _model(3), torch.rand(4, 1, 28, 28)
    ours = np.array([reconstruction_errors(model, x, weights="sample", latent="sample",
                                           seed=s)["mixture"]["sse_per_image"]
                     for s in range(400)])
    with torch.no_grad():
        mu, var, alpha = model.encode(x)
        torch.manual_seed(123)
        s, (k, b, d) = 4000, mu.shape
        z = Normal(mu, var.sqrt()).sample((s,))                          # (S, K, B, d)
        w = Dirichlet(alpha.T).sample((s,)).permute(0, 2, 1)             # (S, K, B)
        means = torch.sigmoid(model.decode(z.permute(1, 0, 2, 3).reshape(k, s * b, d)))
        recon = (w.permute(1, 0, 2).reshape(k, s * b, 1) * means).sum(0).reshape(s, b, -1)
        oracle = ((recon - x.flatten(1)) ** 2).sum(-1).mean(-1).numpy()  # (S,)
    se = np.sqrt(ours.var() / len(ours) + oracle.var() / len(oracle))
    assert abs(ours.mean() - oracle.mean()) < 4 * se
    deterministic = reconstruction_errors(model, x)["mixture"]["sse_per_image"]
    assert abs(ours.mean() - deterministic) > 10 * se


def test_sampled_codes_are_posterior_draws_with_the_seeded_noise() -> None:
    model, x = _model(3), torch.rand(7, 1, 28, 28)
    mu, var, _ = model.encode(x)
    noise = torch.randn(mu.shape, generator=torch.Generator().manual_seed(5))
    means = latent_codes(model, x)
    drawn = latent_codes(model, x, batch_size=3, latent="sample", seed=5)
    # one draw over all 7 images in order, whatever the batching
    torch.testing.assert_close(drawn, (mu + var.sqrt() * noise).detach())
    torch.testing.assert_close(means, mu.detach())
    assert not torch.allclose(drawn, means)
    with pytest.raises(ValueError, match="latent"):
        latent_codes(model, x, latent="mode")


def test_interpolations_run_from_one_image_to_the_other_in_every_component() -> None:
    model, x = _model(3), torch.rand(2, 1, 28, 28)
    lines = component_interpolations(model, x[0], x[1], steps=5)
    assert lines.shape == (3, 5, 1, 28, 28)
    ends = model.reconstruct_components(x)                           # (K, 2, C, H, W)
    torch.testing.assert_close(lines[:, 0], ends[:, 0])
    torch.testing.assert_close(lines[:, -1], ends[:, 1])
    assert not torch.allclose(lines[:, 2], ends[:, 0])


def test_mean_image_sse_matches_numpy() -> None:
    g = torch.Generator().manual_seed(0)
    train, test = torch.rand(50, 1, 4, 4, generator=g), torch.rand(20, 1, 4, 4, generator=g)
    tr, te = train.numpy().astype(np.float64), test.numpy().astype(np.float64)
    expected = ((te - tr.mean(0)) ** 2).reshape(20, -1).sum(1).mean()
    assert mean_image_sse(train, test) == pytest.approx(float(expected), rel=1e-9)


def _patched(model: MVAE, alpha: torch.Tensor, mu: torch.Tensor,
             outputs: list[float]) -> MVAE:
    """encode() returns chosen concentrations and means; component k's decoder outputs the grey
    level outputs[k] everywhere, whatever z (logits of that level)."""
    model.encode = lambda x: (mu[:, :len(x)], torch.ones_like(mu[:, :len(x)]), alpha[:, :len(x)])
    logits = torch.logit(torch.tensor(outputs)).view(-1, 1, 1)
    model.decode = lambda z: logits.expand(z.shape[0], z.shape[1], 784)
    return model


def test_components_that_only_work_together_are_a_blend() -> None:
    """Grey images, one black and one white component at fixed weights: only the blend fits."""
    model, n = _model(2), 40
    alpha = torch.tensor([25.0, 25.0])[:, None].expand(2, n).contiguous()
    mu = torch.zeros(2, n, 3)
    mu[0, :, 0] = torch.linspace(-1, 1, n)            # only component 0, dim 0, varies
    diag = mixture_diagnostics(_patched(model, alpha, mu, [1e-4, 1 - 1e-4]),
                               torch.full((n, 1, 28, 28), 0.5))
    assert diag["verdict"] == "blend"
    assert diag["concentration_sum"] == pytest.approx(50.0)
    np.testing.assert_allclose(diag["expected_w"], [0.5, 0.5], rtol=1e-6)
    assert diag["w_sd_between"] == pytest.approx(0.0, abs=1e-9)
    assert diag["w_sd_within"] == pytest.approx(np.sqrt(0.25 / 51), rel=1e-6)
    assert diag["active_dims"] == [1, 0]
    assert diag["mixture_sse"] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(diag["component_sse"], [784 * 0.25] * 2, rtol=1e-3)


def test_images_that_pick_a_fitting_component_are_a_mixture() -> None:
    model, n = _model(2), 30
    pick = torch.arange(n) % 2                        # black images -> 0, white images -> 1
    alpha = torch.full((2, n), 0.05)
    alpha[pick, torch.arange(n)] = 5.0
    images = pick.float().view(n, 1, 1, 1).expand(n, 1, 28, 28).clamp(1e-4, 1 - 1e-4)
    diag = mixture_diagnostics(_patched(model, alpha, torch.randn(2, n, 3), [1e-4, 1 - 1e-4]),
                               images)
    assert diag["verdict"] == "mixture"
    assert diag["dominant_share"] == pytest.approx(5.0 / 5.05)
    assert diag["top_component_share"] == pytest.approx(0.5)
    assert diag["dominant_sse"] == pytest.approx(0.0, abs=1e-4)


def test_one_component_doing_all_the_work_is_named() -> None:
    model, n = _model(2), 20
    alpha = torch.tensor([5.0, 0.05])[:, None].expand(2, n).contiguous()
    diag = mixture_diagnostics(_patched(model, alpha, torch.randn(2, n, 3), [1e-4, 1 - 1e-4]),
                               torch.zeros(n, 1, 28, 28))
    assert diag["verdict"] == "one component"
    assert diag["top_component_share"] == 1.0


def test_codes_that_ignore_the_image_are_collapsed_not_one_component() -> None:
    """The authors' settings at beta = 1e4 did this: constant codes, near-uniform weights whose
    argmax is the same slot for every image, every component the mean image. The old rule read
    "one component" from the shared argmax; a component with a quarter of the weight is not
    doing all the work, and a model whose codes carry nothing has collapsed."""
    model, n = _model(3), 20
    alpha = torch.tensor([0.33, 0.33, 0.34])[:, None].expand(3, n).contiguous()
    mu = torch.full((3, n, 3), 0.7)                      # the same code for every image
    images = torch.rand(n, 1, 28, 28)
    diag = mixture_diagnostics(_patched(model, alpha, mu, [0.5, 0.5, 0.5]), images)
    assert diag["active_dims"] == [0, 0, 0]
    assert diag["top_component_share"] == 1.0 and diag["dominant_share"] < 0.5
    assert diag["verdict"] == "collapsed"
    mu[1, :, 2] = torch.linspace(-1, 1, n)               # one dim of one component now varies
    diag = mixture_diagnostics(_patched(model, alpha, mu, [0.5, 0.5, 0.5]), images)
    assert diag["verdict"] == "blend"                    # no component chosen: not one component


def test_constant_looking_codes_that_beat_the_mean_image_are_not_collapsed() -> None:
    """No active dimension, yet a reconstruction far better than the mean image: the codes vary
    below the threshold's scale (the warm-up run's C1), so the model has not collapsed."""
    model, n = _model(3), 20
    alpha = torch.tensor([0.33, 0.33, 0.34])[:, None].expand(3, n).contiguous()
    mu = torch.full((3, n, 3), 0.7)
    images = torch.rand(n, 1, 28, 28)
    sse = ((images - 0.5) ** 2).flatten(1).sum(1).mean().item()
    near = mixture_diagnostics(_patched(model, alpha, mu, [0.5, 0.5, 0.5]), images,
                               baseline_sse=sse / 0.95)
    assert near["verdict"] == "collapsed" and near["mean_image_sse"] == pytest.approx(sse / 0.95)
    far = mixture_diagnostics(_patched(model, alpha, mu, [0.5, 0.5, 0.5]), images,
                              baseline_sse=sse / 0.8)
    assert far["active_dims"] == [0, 0, 0] and far["mixture_sse"] == pytest.approx(sse, rel=1e-5)
    assert far["verdict"] == "blend"


def test_diagnostics_for_a_single_vae() -> None:
    diag = mixture_diagnostics(_model(1), torch.rand(8, 1, 28, 28))
    assert diag["verdict"] == "single" and diag["expected_w"] == [1.0]
