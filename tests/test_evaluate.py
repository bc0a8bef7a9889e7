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
    errors_by_mode,
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


def test_mean_image_sse_matches_numpy() -> None:
    g = torch.Generator().manual_seed(0)
    train, test = torch.rand(50, 1, 4, 4, generator=g), torch.rand(20, 1, 4, 4, generator=g)
    tr, te = train.numpy().astype(np.float64), test.numpy().astype(np.float64)
    expected = ((te - tr.mean(0)) ** 2).reshape(20, -1).sum(1).mean()
    assert mean_image_sse(train, test) == pytest.approx(float(expected), rel=1e-9)


def _patched(model: MVAE, alpha: torch.Tensor, mu: torch.Tensor) -> MVAE:
    """Make encode() return chosen concentrations and means (variances are irrelevant here)."""
    model.encode = lambda x: (mu[:, :len(x)], torch.ones_like(mu[:, :len(x)]), alpha[:, :len(x)])
    return model


def test_diagnostics_call_fixed_large_concentrations_a_blend() -> None:
    model, n = _model(3), 40
    alpha = torch.tensor([10.0, 20.0, 20.0])[:, None].expand(3, n).contiguous()
    mu = torch.zeros(3, n, 3)
    mu[0, :, 0] = torch.linspace(-1, 1, n)            # only component 0, dim 0, varies
    diag = mixture_diagnostics(_patched(model, alpha, mu), torch.rand(n, 1, 28, 28))
    assert diag["verdict"] == "blend"
    assert diag["concentration_sum"] == pytest.approx(50.0)
    np.testing.assert_allclose(diag["expected_w"], [0.2, 0.4, 0.4], rtol=1e-6)
    assert diag["w_sd_between"] == pytest.approx(0.0, abs=1e-9)
    assert diag["w_sd_within"] == pytest.approx(np.mean([np.sqrt(p * (1 - p) / 51)
                                                         for p in (0.2, 0.4, 0.4)]), rel=1e-6)
    assert diag["active_dims"] == [1, 0, 0]
    assert len(diag["component_sse"]) == 3


def test_diagnostics_call_image_dependent_peaked_weights_a_mixture() -> None:
    model, n = _model(3), 30
    alpha = torch.full((3, n), 0.05)
    alpha[torch.arange(n) % 3, torch.arange(n)] = 5.0  # each image picks one component
    diag = mixture_diagnostics(_patched(model, alpha, torch.randn(3, n, 3)),
                               torch.rand(n, 1, 28, 28))
    assert diag["verdict"] == "mixture"
    assert diag["dominant_share"] == pytest.approx(5.0 / 5.1)
    assert diag["entropy_expected_w"] < 0.2


def test_diagnostics_for_a_single_vae() -> None:
    diag = mixture_diagnostics(_model(1), torch.rand(8, 1, 28, 28))
    assert diag["verdict"] == "single" and diag["expected_w"] == [1.0]
