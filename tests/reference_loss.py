"""The M-VAE loss computed the slow, literal way, as an independent oracle for the library's
vectorised objective (``mvae.objective``) and fast step (``mvae.fast``)."""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.distributions import Dirichlet, Gamma, Normal, kl_divergence
from torch.nn import functional as F

from mvae.dhsic import dhsic
from mvae.model import MVAE, POSITIVE_FLOOR


def reference_loss(model: MVAE, x: Tensor) -> Tensor:
    """The loss computed the slow, literal way: a Python loop over the K components.

    Draws its noise in the same order and shapes as :meth:`MVAE.forward` (eps for all components
    in one call, then the weights), so on the same RNG state it sees the same noise. MLP only.
    """
    config = model.config
    if config.resolved_architecture != "mlp" or config.resolved_likelihood != "bernoulli":
        raise NotImplementedError("the looped reference covers the Bernoulli MLP model")
    K, d = config.components, config.latent_dim
    heads = [model.encoder.component(x, k) for k in range(K)]
    mus = [h[:, :d] for h in heads]
    variances = [F.softplus(h[:, d:2 * d]) + POSITIVE_FLOOR for h in heads]
    alphas = torch.stack([F.softplus(h[:, 2 * d]) + POSITIVE_FLOOR for h in heads], dim=1)
    if config.normalize_alpha:
        alphas = alphas / alphas.sum(1, keepdim=True)
    eps = torch.randn(K, *mus[0].shape, dtype=x.dtype, device=x.device)
    zs = [m + v.sqrt() * e for m, v, e in zip(mus, variances, eps, strict=True)]
    if K == 1:
        w = torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)
    elif config.weight_sampler == "dirichlet":
        w = Dirichlet(alphas).rsample()
    else:
        g = Gamma(alphas, torch.ones_like(alphas)).rsample()
        w = g / g.sum(1, keepdim=True)
    w = w.clamp_min(torch.finfo(w.dtype).tiny)
    target = x.flatten(1)
    means = [torch.sigmoid(model.decoder.component(z, k)) for k, z in enumerate(zs)]
    if config.reconstruction == "expected":
        ew = alphas / alphas.sum(1, keepdim=True)
        per = [F.binary_cross_entropy(m, target, reduction="none").sum(1) for m in means]
        nll = sum(ew[:, k] * per[k] for k in range(K))
    else:
        mixed = sum(w[:, k:k + 1] * means[k] for k in range(K))
        nll = F.binary_cross_entropy(mixed.clamp(1e-7, 1 - 1e-7), target,
                                     reduction="none").sum(1)
    kls = [kl_divergence(Normal(m, v.sqrt()), Normal(0.0, 1.0)).sum(1)
           for m, v in zip(mus, variances, strict=True)]
    kl_g = sum(kls) if config.kl_reduction == "sum" else sum(kls) / K
    loss = (nll + config.kl_weight * kl_g).mean()
    if K > 1:
        prior = torch.full_like(alphas, config.dirichlet_prior)
        loss = loss + kl_divergence(Dirichlet(alphas), Dirichlet(prior)).mean()
        if config.beta > 0:
            penalty = authors_dhsic_literal(zs) if config.dhsic_estimator == "authors" \
                else dhsic(zs)
            loss = loss + config.beta * penalty
    return loss


def authors_dhsic_literal(zs: list[Tensor]) -> Tensor:
    """The authors' dHSIC written out from its definition, independently of ``mvae.dhsic``:
    Gaussian kernels exp(-g |x - y|^2) from explicit differences, with g = 1 / (2 h^2) and
    h = 2 Gamma((d + 1) / 2) / Gamma(d / 2) (gamma functions, not their logs), then the square
    root of (1/n^2) sum prod K + prod (1/n^2) sum K - (2/n) sum_a prod (1/n) sum_b K."""
    grams = []
    for z in zs:
        d = z.shape[1]
        h = 2 * math.gamma((d + 1) / 2) / math.gamma(d / 2)
        diff = z.unsqueeze(0) - z.unsqueeze(1)
        grams.append(torch.exp(-(diff ** 2).sum(-1) / (2 * h ** 2)))
    joint, marginals, cross = grams[0], grams[0].mean(), grams[0].mean(0)
    for g in grams[1:]:
        joint, marginals, cross = joint * g, marginals * g.mean(), cross * g.mean(0)
    return torch.sqrt(joint.mean() + marginals - 2 * cross.mean())
