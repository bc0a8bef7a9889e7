"""Evaluation of a trained model: reconstruction errors, latent codes and samples.

Reconstruction error is reported two ways because the paper's Table I says "MSE" but its numbers
(VAE 13.44 on MNIST) can only be a per-image *sum* of squared errors over pixels in [0, 1]:
``sse_per_image`` is that sum averaged over images, ``mse_per_pixel`` the same divided by the pixel
count. Both come for the mixture and for each component alone (one-hot w, the paper's Fig. 2),
in two labelled modes (:data:`MODES`): deterministic (E[w], posterior means) and sampled
(w ~ Dir(a), z ~ q). :func:`mixture_diagnostics` says whether a trained model is a mixture, a
blend or one component doing all the work; :func:`mean_image_sse` is the no-learning baseline.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from mvae.mixture_kind import mixture_kind
from mvae.model import MVAE


def _chunks(images: Tensor, batch_size: int) -> Iterator[Tensor]:
    for start in range(0, len(images), batch_size):
        yield images[start:start + batch_size]


def _device(model: MVAE) -> torch.device:
    return next(model.parameters()).device


#: The two ways of reconstructing with a trained M-VAE, which the paper does not distinguish:
#: ``deterministic`` decodes the posterior means and mixes with E[w] = a / sum(a) (for K > 1
#: this averages the decoders like an ensemble); ``sampled`` draws z ~ q(z|x) and w ~ Dir(a),
#: as the model's generative story does. K = 1 differs only in z.
MODES = {"deterministic": ("expected", "mean"), "sampled": ("sample", "sample")}


@torch.no_grad()
def reconstruction_errors(model: MVAE, images: Tensor, batch_size: int = 1000,
                          weights: str = "expected", latent: str = "mean",
                          seed: int = 0) -> dict[str, object]:
    """Squared reconstruction errors on ``images`` (float, [0, 1], (N, C, H, W)).

    Returns ``{"mixture": {"sse_per_image", "mse_per_pixel", "rmse"}, "components": [...]}``; the
    component entries use one-hot weights. ``rmse`` is sqrt(mse_per_pixel), on the [0, 1] scale.
    ``weights``/``latent`` pick the mode (see :data:`MODES`); sampled modes draw from ``seed``.
    """
    model.eval()
    torch.manual_seed(seed)
    device, K = _device(model), model.components
    pixels = images[0].numel()
    mix_sse = torch.zeros((), dtype=torch.float64, device=device)
    comp_sse = torch.zeros(K, dtype=torch.float64, device=device)
    for x in _chunks(images, batch_size):
        x = x.to(device)
        recon = model.reconstruct(x, weights=weights, latent=latent)
        mix_sse += ((recon - x) ** 2).sum(dtype=torch.float64)
        comps = model.reconstruct_components(x)
        comp_sse += ((comps - x.unsqueeze(0)) ** 2).flatten(1).sum(-1, dtype=torch.float64)

    def summary(total: float) -> dict[str, float]:
        sse = total / len(images)
        return {"sse_per_image": sse, "mse_per_pixel": sse / pixels, "rmse": (sse / pixels) ** 0.5}

    return {"mixture": summary(float(mix_sse)),
            "components": [summary(float(v)) for v in comp_sse]}


def errors_by_mode(model: MVAE, images: Tensor, batch_size: int = 1000) -> dict[str, dict]:
    """:func:`reconstruction_errors` in each of :data:`MODES`, labelled."""
    return {mode: reconstruction_errors(model, images, batch_size, weights=w, latent=z)
            for mode, (w, z) in MODES.items()}


def mean_image_sse(train_images: Tensor, test_images: Tensor) -> float:
    """Per-image SSE of predicting every test image by the mean training image: the error of a
    model that learned nothing about the individual image (the floor any model must beat)."""
    mean = train_images.double().mean(0, keepdim=True)
    return float(((test_images.double() - mean) ** 2).flatten(1).sum(1).mean())


#: A latent dimension is active when its posterior mean varies across images by more than this
#: (Burda et al., 2016): an inactive dimension carries no information about x.
ACTIVE_VARIANCE = 0.01


@torch.no_grad()
def mixture_diagnostics(model: MVAE, images: Tensor, batch_size: int = 1000,
                        baseline_sse: float | None = None) -> dict[str, object]:
    """Is the model a mixture (images choose a component that can reconstruct them), a blend
    (components that only work together) or one component doing all the work? Over ``images``,
    in the deterministic mode (E[w], posterior means):

    * ``concentration_sum``: mean over images of sum_k a_k: large sums make w ~ Dir(a) nearly
      deterministic (the sd of w_k is sqrt(E[w_k](1 - E[w_k]) / (sum a + 1)));
    * ``expected_w``: mean over images of E[w_k | x], per component;
    * ``w_sd_between``: sd over images of E[w_k | x], averaged over k: does the choice depend on
      the image?
    * ``w_sd_within``: mean over images of the sd of w_k under Dir(a(x)), averaged over k;
    * ``entropy_expected_w``: mean over images of the entropy of E[w | x] (nats; log K = uniform);
    * ``dominant_share``: mean over images of max_k E[w_k | x];
    * ``top_component_share``: fraction of images whose dominant component is the most common one;
    * ``active_dims``: per component, latent dims whose posterior-mean variance > 0.01;
    * ``component_sse``: per component, per-image SSE when it reconstructs alone (one-hot w);
    * ``dominant_sse``: per-image SSE of each image's dominant component alone;
    * ``mixture_sse``: per-image SSE of the mixture;
    * ``mean_image_sse``: ``baseline_sse`` when given (:func:`mean_image_sse` of the images): the
      verdict needs it to tell collapsed codes from small ones;
    * ``verdict``: :func:`mvae.mixture_kind.mixture_kind` of the above: single, collapsed, one
      component, mixture or blend.
    """
    model.eval()
    device, K = _device(model), model.components
    alphas, means, comp_sse, mix_sse = [], [], [], []
    for x in _chunks(images, batch_size):
        x = x.to(device)
        mu, _, alpha = model.encode(x)
        comps = torch.sigmoid(model.decode(mu))                          # (K, B, D)
        ew = model.expected_weights(alpha)
        target = x.flatten(1)
        comp_sse.append(((comps - target) ** 2).sum(-1).double().cpu())  # (K, B)
        mix_sse.append((((ew.unsqueeze(-1) * comps).sum(0) - target) ** 2).sum(-1).double().cpu())
        alphas.append(alpha.double().cpu())
        means.append(mu.double().cpu())
    alpha, mu = torch.cat(alphas, 1), torch.cat(means, 1)               # (K, N), (K, N, d)
    comp_sse, mix_sse = torch.cat(comp_sse, 1), torch.cat(mix_sse)
    total = alpha.sum(0)
    ew = alpha / total
    dominant = ew.argmax(0)
    top_share = float(torch.bincount(dominant, minlength=K).max()) / len(dominant)
    record = {
        "components": K,
        "concentration_sum": float(total.mean()),
        "expected_w": ew.mean(1).tolist(),
        "w_sd_between": float(ew.std(1).mean()) if ew.shape[1] > 1 else 0.0,
        "w_sd_within": float((ew * (1 - ew) / (total + 1)).sqrt().mean()),
        "entropy_expected_w": float(-(ew * ew.clamp_min(1e-300).log()).sum(0).mean()),
        "dominant_share": float(ew.max(0).values.mean()),
        "top_component_share": top_share,
        "active_dims": [int(v) for v in (mu.var(1) > ACTIVE_VARIANCE).sum(-1)],
        "component_sse": comp_sse.mean(1).tolist(),
        "dominant_sse": float(comp_sse.gather(0, dominant[None]).mean()),
        "mixture_sse": float(mix_sse.mean()),
    }
    if baseline_sse is not None:
        record["mean_image_sse"] = baseline_sse
    record["verdict"] = mixture_kind(record)
    return record


def example_order(labels: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` example images (fewer if there are fewer): the first image of each
    class in class order, then the other images in order. On the paper's datasets (ten classes,
    at most ten examples) these are the first image of classes 0, 1, ...; your own images may
    have fewer classes than examples, or no labels (all 0)."""
    labels = np.asarray(labels)
    first = np.array([np.flatnonzero(labels == c)[0] for c in np.unique(labels)], dtype=np.int64)
    rest = np.setdiff1d(np.arange(len(labels)), first, assume_unique=True)
    return np.concatenate([first, rest])[:n]


@torch.no_grad()
def posterior(model: MVAE, images: Tensor, batch_size: int = 1000) -> tuple[Tensor, Tensor]:
    """Posterior means and variances of every component, (K, N, d) each, on the CPU."""
    model.eval()
    device = _device(model)
    encoded = [model.encode(x.to(device))[:2] for x in _chunks(images, batch_size)]
    return (torch.cat([m.cpu() for m, _ in encoded], dim=1),
            torch.cat([v.cpu() for _, v in encoded], dim=1))


def draw_codes(mu: Tensor, var: Tensor, seed: int = 0) -> Tensor:
    """One draw z ~ N(mu, var) per code, reproducible for ``seed``. The noise of all N images
    is drawn at once, so a code does not depend on how the images were batched."""
    return mu + var.sqrt() * torch.randn(mu.shape, generator=torch.Generator().manual_seed(seed))


def latent_codes(model: MVAE, images: Tensor, batch_size: int = 1000, latent: str = "mean",
                 seed: int = 0) -> Tensor:
    """Codes of every component, (K, N, d), on the CPU.

    ``latent="mean"``: the posterior means (the deterministic mode, what the paper's probes
    classify); ``"sample"``: one draw z ~ q(z | x) per image, reproducible for ``seed`` (the
    sampled mode: what the decoder sees in training).
    """
    if latent not in ("mean", "sample"):
        raise ValueError(f"latent must be 'mean' or 'sample', got {latent!r}")
    mu, var = posterior(model, images, batch_size)
    return mu if latent == "mean" else draw_codes(mu, var, seed)


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


@torch.no_grad()
def component_interpolations(model: MVAE, start: Tensor, end: Tensor, steps: int = 8) -> Tensor:
    """Each component alone decoding the straight line between the posterior means of two images,
    (K, steps, C, H, W): what moving through one component's latent space does to its output."""
    model.eval()
    device = _device(model)
    mu = model.latent_means(torch.stack([start, end]).to(device))        # (K, 2, d)
    t = torch.linspace(0, 1, steps, device=device)[None, :, None]
    line = mu[:, :1] * (1 - t) + mu[:, 1:] * t                           # (K, steps, d)
    return model.to_images(torch.sigmoid(model.decode(line))).cpu()
