"""Evaluation of a trained model: reconstruction errors, latent codes and samples.

Reconstruction error is reported two ways because the paper's Table I says "MSE" but its numbers
(VAE 13.44 on MNIST) can only be a per-image *sum* of squared errors over pixels in [0, 1]:
``sse_per_image`` is that sum averaged over images, ``mse_per_pixel`` the same divided by the pixel
count. Both come for the mixture (expected w, posterior means) and for each component alone
(one-hot w, the paper's Fig. 2).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from mvae.model import MVAE


def _chunks(images: Tensor, batch_size: int) -> Iterator[Tensor]:
    for start in range(0, len(images), batch_size):
        yield images[start:start + batch_size]


def _device(model: MVAE) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def reconstruction_errors(model: MVAE, images: Tensor, batch_size: int = 1000,
                          weights: str = "expected") -> dict[str, object]:
    """Squared reconstruction errors on ``images`` (float, [0, 1], (N, C, H, W)).

    Returns ``{"mixture": {"sse_per_image", "mse_per_pixel", "rmse"}, "components": [...]}``; the
    component entries use one-hot weights. ``rmse`` is sqrt(mse_per_pixel), on the [0, 1] scale.
    """
    model.eval()
    device, K = _device(model), model.components
    pixels = images[0].numel()
    mix_sse = torch.zeros((), dtype=torch.float64, device=device)
    comp_sse = torch.zeros(K, dtype=torch.float64, device=device)
    for x in _chunks(images, batch_size):
        x = x.to(device)
        recon = model.reconstruct(x, weights=weights)
        mix_sse += ((recon - x) ** 2).sum(dtype=torch.float64)
        comps = model.reconstruct_components(x)
        comp_sse += ((comps - x.unsqueeze(0)) ** 2).flatten(1).sum(-1, dtype=torch.float64)

    def summary(total: float) -> dict[str, float]:
        sse = total / len(images)
        return {"sse_per_image": sse, "mse_per_pixel": sse / pixels, "rmse": (sse / pixels) ** 0.5}

    return {"mixture": summary(float(mix_sse)),
            "components": [summary(float(v)) for v in comp_sse]}


@torch.no_grad()
def latent_codes(model: MVAE, images: Tensor, batch_size: int = 1000) -> Tensor:
    """Posterior means of every component, (K, N, d), on the CPU."""
    model.eval()
    device = _device(model)
    return torch.cat([model.latent_means(x.to(device)).cpu()
                      for x in _chunks(images, batch_size)], dim=1)


@torch.no_grad()
def mixture_weights(model: MVAE, images: Tensor, batch_size: int = 1000) -> Tensor:
    """Expected mixing weights E[w | x], (K, N): how much each component is used per image."""
    model.eval()
    device = _device(model)
    return torch.cat([model.expected_weights(model.encode(x.to(device))[2]).cpu()
                      for x in _chunks(images, batch_size)], dim=1)


@torch.no_grad()
def reconstructions(model: MVAE, images: Tensor, batch_size: int = 1000) -> Tensor:
    """Mixture reconstructions (expected w, posterior means) of ``images``, on the CPU."""
    model.eval()
    device = _device(model)
    return torch.cat([model.reconstruct(x.to(device)).cpu() for x in _chunks(images, batch_size)])


@torch.no_grad()
def generate(model: MVAE, n: int, batch_size: int = 1000, seed: int = 0) -> Tensor:
    """``n`` images from the prior, reproducible for a given seed, on the CPU."""
    model.eval()
    torch.manual_seed(seed)
    out, done = [], 0
    while done < n:
        m = min(batch_size, n - done)
        out.append(model.sample(m).cpu())
        done += m
    return torch.cat(out)
