"""The M-VAE loss computed the slow, literal way, as an independent oracle for the library's
vectorised objective (``mvae.objective``) and fast step (``mvae.fast``)."""

from __future__ import annotations

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
            loss = loss + config.beta * dhsic(zs)
    return loss
