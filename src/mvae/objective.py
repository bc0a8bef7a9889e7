r"""The M-VAE objective: the negative mixture ELBO plus beta * dHSIC of the components' codes.

Our reading of the paper's (garbled) eq. 8, derived in the book's model chapter: with the
approximate posterior
:math:`q(z, w \mid x) = \mathrm{Dir}(w; a(x)) \prod_i \mathcal N(z_i; \mu_i(x), \sigma_i^2(x))`
and the priors :math:`\mathcal N(0, I)` and :math:`\mathrm{Dir}(\alpha_0)`,

.. math::

    \begin{aligned}
    \mathrm{ELBO}(x) = {}& \mathbb E_q\Big[\log p\Big(x \,\Big|\, \sum_i w_i\, y_i(z_i)\Big)\Big] \\
    &- \sum_i \mathrm{KL}\big(\mathcal N(\mu_i, \sigma_i^2) \,\|\, \mathcal N(0, I)\big) \\
    &- \mathrm{KL}\big(\mathrm{Dir}(a) \,\|\, \mathrm{Dir}(\alpha_0)\big),
    \end{aligned}

estimated with one reparameterised draw of :math:`(z, w)`. The loss we minimise per batch is

.. math::

    L = \frac1B \sum_{b=1}^{B} -\mathrm{ELBO}(x_b) + \beta\, \mathrm{dHSIC}(z_1, \dots, z_K)

where dHSIC is the V-statistic over the batch's latent samples (with ``dhsic_estimator:
authors``, its square root at the authors' fixed bandwidth, :mod:`mvae.dhsic`). All terms are
reported per image (the batch mean), in nats. A ``kl_weight`` g other than 1 multiplies the
Gaussian KL in L only (a rate-distortion control, :mod:`mvae.config`); :func:`elbo` gives the
unweighted ELBO of any run from its reported terms. The config switches that reproduce the
authors' code (averaged KLs, the expected per-component reconstruction, normalised alphas, the
0.25 prior, their dHSIC estimator) are documented in :mod:`mvae.config`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
from torch import Tensor
from torch.distributions import Dirichlet, Normal, kl_divergence
from torch.nn import functional as F

from mvae.config import Config
from mvae.dhsic import dhsic_estimate
from mvae.model import MVAEOutput

TERMS = ("reconstruction", "kl_gauss", "kl_dirichlet", "dhsic")


@dataclass
class LossTerms:
    """The loss and its parts, each a scalar tensor (per-image means; dhsic is per batch).

    * ``loss``: what training minimises,
      ``reconstruction + kl_weight * kl_gauss + kl_dirichlet + beta * dhsic``;
    * ``reconstruction``: -log p(x | ...), nats per image;
    * ``kl_gauss``: the sum (or the mean, ``kl_reduction``) over components of
      KL(q(z_i | x) || N(0, I));
    * ``kl_dirichlet``: KL(Dir(a) || Dir(alpha0));
    * ``dhsic``: dHSIC of the K latent samples by the config's ``dhsic_estimator`` (0 for
      K = 1).
    """

    loss: Tensor
    reconstruction: Tensor  # -log p(x | ...), nats per image
    kl_gauss: Tensor        # sum (or mean, kl_reduction) over components of KL(q(z_i|x) || N(0, I))
    kl_dirichlet: Tensor    # KL(Dir(a) || Dir(alpha0))
    dhsic: Tensor           # dHSIC of the K latent samples (0 for K = 1)

    def as_dict(self) -> dict[str, float]:
        """The five terms as Python floats (detached)."""
        return {f.name: float(getattr(self, f.name).detach()) for f in fields(self)}

    def stacked(self) -> Tensor:
        """(5,) tensor [loss, reconstruction, kl_gauss, kl_dirichlet, dhsic], no host sync."""
        return torch.stack([getattr(self, f.name).detach() for f in fields(self)])


def bernoulli_nll(x: Tensor, decoded: Tensor, w: Tensor, reconstruction: str) -> Tensor:
    """-log p(x | .) per image for Bernoulli pixels (grey levels in [0, 1] act as soft targets).

    ``mixture``: the likelihood of the mixed mean p = sum_k w_k sigmoid(l_k). It is evaluated in
    log space, log p = logsumexp_k(log w_k + logsigmoid(l_k)) and, because the weights sum to one,
    log(1 - p) = logsumexp_k(log w_k + logsigmoid(-l_k)), so no probability is ever rounded to
    0 or 1. ``expected``: sum_k E[w_k] * BCE(x, sigmoid(l_k)) (``w`` then holds E[w]).
    """
    x = x.flatten(1)  # (B, D)
    if reconstruction == "expected":
        bce = F.binary_cross_entropy_with_logits(decoded, x.expand_as(decoded), reduction="none")
        return (w * bce.sum(-1)).sum(0)
    if decoded.shape[0] == 1:  # one component: w = 1, the plain Bernoulli log-likelihood
        return F.binary_cross_entropy_with_logits(decoded[0], x, reduction="none").sum(-1)
    return -mixture_log_likelihood(x, decoded, w.log())


def mixture_log_likelihood(x: Tensor, decoded: Tensor, log_w: Tensor) -> Tensor:
    """log p(x | sum_k w_k sigmoid(l_k)) for Bernoulli pixels, in log space (see
    :func:`bernoulli_nll`): x (B, D), decoded (..., K, B, D), log_w (..., K, B) -> (..., B)."""
    log_w = log_w.unsqueeze(-1)
    log_sig = F.logsigmoid(decoded)
    log_p = torch.logsumexp(log_w + log_sig, dim=-3)
    log_q = torch.logsumexp(log_w + log_sig - decoded, dim=-3)  # logsigmoid(-l) = logsig(l) - l
    return (x * log_p + (1 - x) * log_q).sum(-1)


def gaussian_nll(x: Tensor, decoded: Tensor, w: Tensor, reconstruction: str, std: float) -> Tensor:
    """-log N(x | mean, std^2 I) per image: sum of squared errors / (2 std^2) + normaliser."""
    x = x.flatten(1)
    const = x.shape[-1] * math.log(std * math.sqrt(2 * math.pi))
    means = torch.sigmoid(decoded)
    if reconstruction == "expected":
        sse = ((means - x) ** 2).sum(-1)                      # (K, B)
        return (w * sse).sum(0) / (2 * std ** 2) + const
    mixed = (w.unsqueeze(-1) * means).sum(0)
    return ((mixed - x) ** 2).sum(-1) / (2 * std ** 2) + const


def gaussian_kl(mu: Tensor, var: Tensor) -> Tensor:
    """KL(N(mu, var) || N(0, I)) summed over latent dims, (K, B)."""
    # the prior's scale is a tensor on mu's device: a Python 1.0 would be copied from the host,
    # which a CUDA graph capture refuses
    standard = Normal(torch.zeros_like(mu), torch.ones_like(mu), validate_args=False)
    return kl_divergence(Normal(mu, var.sqrt(), validate_args=False), standard).sum(-1)


def dirichlet_kl(alpha: Tensor, prior: float) -> Tensor:
    """KL(Dir(a) || Dir(prior * 1)) in closed form via torch.distributions, (B,)."""
    conc = alpha.transpose(0, 1)
    return kl_divergence(Dirichlet(conc, validate_args=False),
                         Dirichlet(torch.full_like(conc, prior), validate_args=False))


def dhsic_weight(config: Config, epoch: int) -> float:
    """The dHSIC weight of (1-based) ``epoch``: ``beta``, ramped up from 0 over the first
    ``beta_warmup`` epochs when that is set."""
    if config.beta_warmup == 0:
        return config.beta
    return config.beta * min(1.0, (epoch - 1) / config.beta_warmup)


def mixture_loss(out: MVAEOutput, x: Tensor, config: Config) -> LossTerms:
    """Negative mixture ELBO + beta * dHSIC for one batch; see the module docstring."""
    K = out.mu.shape[0]
    w = out.w if config.reconstruction == "mixture" else out.alpha / out.alpha.sum(0, keepdim=True)
    if config.resolved_likelihood == "bernoulli":
        nll = bernoulli_nll(x, out.decoded, w, config.reconstruction)
    else:
        nll = gaussian_nll(x, out.decoded, w, config.reconstruction, config.gaussian_std)
    kl_g = gaussian_kl(out.mu, out.var)
    kl_g = kl_g.sum(0) if config.kl_reduction == "sum" else kl_g.mean(0)
    zero = nll.new_zeros(())
    kl_d = dirichlet_kl(out.alpha, config.dirichlet_prior).mean() if K > 1 else zero
    if K == 1:
        hsic = zero
    elif config.beta > 0:
        hsic = dhsic_estimate(out.z, config.dhsic_estimator)
    else:  # still measured (the ablation reports it), but it must not steer training
        with torch.no_grad():
            hsic = dhsic_estimate(out.z, config.dhsic_estimator)
    recon, kl_g = nll.mean(), kl_g.mean()
    loss = recon + config.kl_weight * kl_g + kl_d + config.beta * hsic
    return LossTerms(loss=loss, reconstruction=recon, kl_gauss=kl_g, kl_dirichlet=kl_d, dhsic=hsic)


def gaussian_rate(kl_gauss: float, config: Config) -> float:
    """The Gaussian KL summed over components (nats per image), from the reported ``kl_gauss``
    (which ``kl_reduction: mean`` averages over the K components)."""
    return kl_gauss * config.components if config.kl_reduction == "mean" else kl_gauss


def elbo(terms: dict[str, float], config: Config) -> float:
    """The unweighted ELBO per image from reported terms (``reconstruction``, ``kl_gauss``,
    ``kl_dirichlet``): what a run's objective bounds whatever its ``kl_weight`` or
    ``kl_reduction``; with ``reconstruction: expected`` the first term is eq. 8's."""
    return -(terms["reconstruction"] + gaussian_rate(terms["kl_gauss"], config)
             + terms["kl_dirichlet"])
