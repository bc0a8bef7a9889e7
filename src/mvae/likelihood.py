"""log p(x) by importance sampling (the IWAE bound of Burda et al., 2016), for any K.

The ELBO only bounds log p(x) from below; published VAEs are compared by an estimate of log p(x)
itself (e.g. pythae's binarised-MNIST table: VAE 89.78 nats). With the encoder as proposal,

    q(z, w | x) = prod_i N(z_i; mu_i, var_i) x Dir(w; a),

S samples (z^s, w^s) ~ q and the log weights

    log r_s = log p(x | sum_i w_i^s y_i(z_i^s)) + sum_i [log N(z_i^s; 0, I) - log q(z_i^s | x)]
              + log Dir(w^s; alpha0) - log Dir(w^s; a),

the estimate is log (1/S) sum_s r_s: a lower bound that rises with S towards log p(x), and whose
S = 1 expectation is the ELBO. K = 1 has no w (a point mass) and no Dirichlet terms.

The weights are drawn in log space: log w_i = log g_i - logsumexp(log g) with
g_i ~ Gamma(a_i), and log g for small a_i via Gamma(a + 1) * U^(1/a), so concentrations far
below 1 (the authors' normalised alphas) never underflow w to 0. Both Dirichlet densities are
taken on the same coordinates (the first K - 1 weights), so their ratio is exact.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.distributions import Gamma, Normal
from tqdm import tqdm

from mvae.limits import MAX_IWAE_SAMPLES
from mvae.model import MVAE
from mvae.objective import mixture_log_likelihood


def fixed_binarization(images: Tensor, seed: int = 0) -> Tensor:
    """One reproducible Bernoulli draw of grey-level images: the fixed binarised test set."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return torch.bernoulli(images.cpu(), generator=generator).to(images.device)


def sample_log_dirichlet(alpha: Tensor, samples: int) -> Tensor:
    """log w for ``samples`` draws of w ~ Dir(alpha); alpha (K, B) -> (S, K, B), exact in logs."""
    a = alpha.unsqueeze(0).expand(samples, *alpha.shape)
    log_g = (Gamma(a + 1, torch.ones_like(a), validate_args=False).sample().log()
             + torch.rand_like(a).clamp_min(torch.finfo(a.dtype).tiny).log() / a)
    return log_g - torch.logsumexp(log_g, dim=1, keepdim=True)


def log_dirichlet(log_w: Tensor, conc: Tensor) -> Tensor:
    """log Dir(w; conc) from log w, reducing the K axis (dim -2): (..., K, B) -> (..., B)."""
    return (torch.lgamma(conc.sum(-2)) - torch.lgamma(conc).sum(-2)
            + ((conc - 1) * log_w).sum(-2))


@torch.no_grad()
def log_weights(model: MVAE, x: Tensor, samples: int) -> Tensor:
    """Importance log weights log r_s, (S, B), for images x (B, C, H, W) (see module docstring)."""
    config = model.config
    if config.resolved_likelihood != "bernoulli":
        raise NotImplementedError("the log-likelihood estimate covers Bernoulli pixels (MNIST)")
    mu, var, alpha = model.encode(x)                           # (K, B, d), (K, B)
    std = var.sqrt()
    z = mu + std * torch.randn(samples, *mu.shape, dtype=mu.dtype, device=mu.device)
    log_prior_z = Normal(0.0, 1.0).log_prob(z).sum(-1).sum(-2)  # (S, B)
    log_q_z = Normal(mu, std).log_prob(z).sum(-1).sum(-2)
    K = model.components
    if K == 1:
        log_w = torch.zeros(samples, 1, x.shape[0], dtype=mu.dtype, device=mu.device)
        log_dir_ratio = 0.0
    else:
        log_w = sample_log_dirichlet(alpha, samples)
        prior = torch.full_like(alpha, config.dirichlet_prior)
        # Densities on the simplex w.r.t. the first K-1 coordinates: the same base measure for
        # prior and proposal, so the Jacobian cancels in the ratio.
        log_dir_ratio = log_dirichlet(log_w, prior) - log_dirichlet(log_w, alpha)
    S, B = samples, x.shape[0]
    decoded = model.decode(z.transpose(0, 1).reshape(K, S * B, -1))   # (K, S*B, D)
    decoded = decoded.reshape(K, S, B, -1).transpose(0, 1)              # (S, K, B, D)
    log_lik = mixture_log_likelihood(x.flatten(1), decoded, log_w)        # (S, B)
    return log_lik + log_prior_z - log_q_z + log_dir_ratio


@torch.no_grad()
def iwae_log_likelihood(model: MVAE, images: Tensor, samples: int = 1000,
                        batch_size: int = 100, chunk: int = 100, progress: bool = False) -> Tensor:
    """Per-image estimate of log p(x) in nats, (N,), with ``samples`` importance samples.

    Evaluated in eval mode, ``chunk`` samples at a time (memory: chunk x K x batch x D floats),
    combined exactly with logsumexp. Returns the estimates on the CPU; the mean negated is the
    NLL that VAE papers report. ``progress`` shows a bar over the images: at S = 1000 a K = 4
    model takes the better part of an hour on one CPU core, so ``samples`` is bounded by
    :data:`mvae.limits.MAX_IWAE_SAMPLES` (a ValueError before any work).
    """
    if isinstance(samples, bool) or not isinstance(samples, int) or not (
            1 <= samples <= MAX_IWAE_SAMPLES):
        raise ValueError(f"samples must be a whole number from 1 to {MAX_IWAE_SAMPLES:,} (the "
                         f"IWAE bound's importance samples per image), got {samples!r}")
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in tqdm(range(0, len(images), batch_size), desc="IWAE log p(x)", unit="batch",
                      disable=not progress, mininterval=5.0):
        x = images[start:start + batch_size].to(device)
        parts = [log_weights(model, x, min(chunk, samples - s)) for s in range(0, samples, chunk)]
        out.append((torch.logsumexp(torch.cat(parts), 0) - math.log(samples)).cpu())
    return torch.cat(out)
