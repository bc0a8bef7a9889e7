r"""dHSIC: the d-variable Hilbert-Schmidt independence criterion (Pfister et al., JRSS-B 2018).

For K variables with Gram matrices :math:`K_1, \dots, K_K` over the same n samples, the
V-statistic is

.. math::

    \mathrm{dHSIC} = \frac{1}{n^2} \sum_{a,b} \prod_j K_j[a,b]
        + \prod_j \frac{1}{n^2} \sum_{a,b} K_j[a,b]
        - \frac{2}{n} \sum_a \prod_j \frac{1}{n} \sum_b K_j[a,b],

the squared RKHS distance between the embedding of the joint distribution and that of the product
of the marginals: zero (in the population) exactly when the variables are jointly independent.
Kernels are Gaussian, ``k(x, y) = exp(-|x - y|^2 / (2 h^2))``, with R dHSIC's median
heuristic ``h = sqrt(0.5 * median_{a<b} |x_a - x_b|^2)``. The bandwidth is a tuning choice, not
part of the model, so it is computed without gradient: the penalty's gradient moves the codes,
not the ruler.

Everything is differentiable in the codes, works in float32 and float64 alike, and is free of
data-dependent shapes and host reads, so the statistic can sit inside a CUDA-graph-captured
training step. The statistic is returned as is (no square root, no clamping): it is a squared norm
and so non-negative in exact arithmetic, but rounding can leave it a hair below zero, so a caller
that takes its square root should clamp first.

A second estimator, :func:`authors_dhsic`, is the one in the authors' public TensorFlow code
(repository dtuzi123/Mixture-of-VAE, ``HSIC_Support.py``: ``bandwidth``, ``K`` and ``dHSIC``,
called on the K sampled codes in ``MixtureGaussian_Dirichlet.py``'s ``autoencoder``): the
square root of the same V-statistic, with a fixed Gaussian bandwidth that depends only on the
dimension d of each variable, ``h(d) = 2 Gamma((d + 1) / 2) / Gamma(d / 2)``
(:func:`latent_bandwidth`; their kernel is ``exp(-gamma |x - y|^2)`` with
``gamma = 1 / (2 h^2)``). :func:`dhsic_estimate` picks one of the two by name
(:data:`ESTIMATORS`), as the ``dhsic_estimator`` config key does.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch
from torch import Tensor


def _squared_distances(x: Tensor) -> Tensor:
    """|x_a - x_b|^2 for (..., n, d) -> (..., n, n), with exact zeros on the diagonal.

    The |x|^2 + |y|^2 - 2 x.y expansion costs O(n^2) memory where explicit differences would cost
    O(n^2 d), but it cancels catastrophically when the points sit far from the origin compared
    with their spread (float32 codes with a large common offset). Distances ignore translations,
    so centring each variable first removes that offset at the price of one mean. Rounding can
    still leave tiny negatives, hence the clamp; the diagonal is set to exactly zero so a point's
    kernel with itself is exactly 1, as in the reference implementations.
    """
    x = x - x.mean(dim=-2, keepdim=True)
    sq = (x * x).sum(-1)
    d2 = sq.unsqueeze(-1) + sq.unsqueeze(-2) - 2 * (x @ x.transpose(-1, -2))
    eye = torch.eye(x.shape[-2], dtype=torch.bool, device=x.device)
    return d2.clamp_min(0).masked_fill(eye, 0.0)


@torch.no_grad()
def median_bandwidth(x: Tensor) -> Tensor:
    """Pfister's median heuristic for (n, d) -> () or (K, n, d) -> (K,).

    Computes ``sqrt(0.5 * median(dist(X)^2))`` with R's (and numpy's) median: the mean of the two
    middle values when the number of pairs is even. The dHSIC package's C++ helper differs in two
    details that do not matter at our batch sizes: it takes the upper middle value (nth_element at
    index m/2) and, for n > 1000, only the first 1000 rows of a random permutation. The mean of
    the two middle values is deterministic, symmetric and what the paper's formula says, so it is
    what we use.

    The pairs a < b come from fixed indices and the median from two order statistics
    (``kthvalue``), so every intermediate shape depends only on n (CUDA-graph friendly);
    ``torch.quantile`` is avoided because it refuses inputs of more than 2^24 elements. Runs
    without gradient because the bandwidth is a tuning constant of the penalty, not something
    the optimiser should move.
    """
    if x.dim() not in (2, 3):
        raise ValueError(f"median_bandwidth expects (n, d) or (K, n, d), got {tuple(x.shape)}")
    n = x.shape[-2]
    if n < 2:
        raise ValueError(f"the median heuristic needs at least 2 samples, got n={n}")
    d2 = _squared_distances(x)
    rows, cols = torch.triu_indices(n, n, offset=1, device=x.device)
    pairs = d2[..., rows, cols]
    m = n * (n - 1) // 2
    # Lower and upper middle (1-based ranks): the same when m is odd, neighbours when it is even.
    # kthvalue is a selection, O(m), where a full sort is O(m log m): 5x cheaper at n = 128.
    lower = pairs.kthvalue((m - 1) // 2 + 1, dim=-1).values
    upper = lower if m % 2 else pairs.kthvalue(m // 2 + 1, dim=-1).values
    median = 0.5 * (lower + upper)
    h = torch.sqrt(0.5 * median)
    # h = 0 means at least half of the pairs coincide (e.g. collapsed codes, all samples equal),
    # and the Gaussian kernel would divide by zero. R dHSIC substitutes 0.001, hyppo 1. We use 1:
    # with all points equal every bandwidth gives the same all-ones Gram matrix, so nothing is
    # lost, and for partly collapsed codes a unit bandwidth keeps the kernel (and the penalty's
    # gradient) informative where 0.001 would turn the Gram matrix into an identity-like one.
    # torch.where keeps the guard free of host synchronisation.
    return torch.where(h > 0, h, torch.ones_like(h))


def gaussian_gram(x: Tensor, bandwidth: Tensor | float) -> Tensor:
    """Gaussian Gram matrix: (n, d) -> (n, n), or (K, n, d) with () or (K,) bandwidths -> (K, n, n).

    Differentiable in ``x`` (and in ``bandwidth`` if the caller passes one that needs gradient;
    the median heuristic never does). The bandwidth is cast to ``x``'s dtype so that float64 codes
    are not silently paired with a float32 bandwidth.
    """
    h = torch.as_tensor(bandwidth, dtype=x.dtype, device=x.device)
    if x.dim() == 3 and h.dim() == 1:
        if h.shape[0] != x.shape[0]:
            raise ValueError(f"{h.shape[0]} bandwidths for {x.shape[0]} variables")
        h = h.view(-1, 1, 1)
    elif h.dim() != 0:
        raise ValueError(f"bandwidth of shape {tuple(h.shape)} does not fit x of shape "
                         f"{tuple(x.shape)}")
    return torch.exp(-_squared_distances(x) / (2 * h * h))


def _product(t: Tensor) -> Tensor:
    """The product over the first dimension as K - 1 multiplications, whose backward needs no
    host synchronisation (``Tensor.prod``'s does)."""
    return functools.reduce(torch.mul, t.unbind(0))


def dhsic_from_grams(grams: Tensor) -> Tensor:
    """The V-statistic (formula in the module docstring) from (K, n, n) Gram matrices.

    Fully vectorised over K. The products over j are plain products: Gaussian kernel entries lie
    in (0, 1], so nothing can overflow, and a product only underflows when its factors are tiny
    (summands that are negligible anyway) or when K is in the many dozens. For the K <= 10
    components of the paper, the three terms stay far inside float32's range; a log-domain
    version would only add cost. Summation order mirrors the formula, which keeps agreement with
    the reference implementations at rounding level.

    The products are chains of multiplications (:func:`_product`), not ``Tensor.prod``: prod's
    backward looks for zero factors with ``nonzero()``, a host synchronisation that made CUDA
    graph capture of the training step fail on an H100.
    """
    if grams.dim() != 3 or grams.shape[-1] != grams.shape[-2]:
        raise ValueError(f"dhsic_from_grams expects (K, n, n) Gram matrices, got "
                         f"{tuple(grams.shape)}")
    n = grams.shape[-1]
    joint = _product(grams).sum() / n**2
    marginals = _product(grams.sum(dim=(-1, -2)) / n**2)
    cross = _product(grams.mean(dim=-1)).sum() * (2 / n)
    return joint + marginals - cross


def _bandwidth_for(bandwidth: Tensor | float, k: int, count: int) -> Tensor | float:
    """Variable k's bandwidth from a float, a () tensor or a (count,) tensor."""
    if isinstance(bandwidth, Tensor) and bandwidth.dim() > 0:
        if bandwidth.shape != (count,):
            raise ValueError(f"bandwidth must be a float or have shape ({count},), got "
                             f"{tuple(bandwidth.shape)}")
        return bandwidth[k]
    return bandwidth


def _variables(z: Tensor | Sequence[Tensor]) -> tuple[Tensor | list[Tensor], int]:
    """``z`` checked as K variables on the same n >= 1 samples: ``(variables, K)``, where the
    variables are the (K, n, d) tensor itself or a list of (n, d_k) tensors."""
    if isinstance(z, Tensor):
        if z.dim() != 3:
            raise ValueError(f"dhsic expects a (K, n, d) tensor or a sequence of (n, d_k) "
                             f"tensors, got a tensor of shape {tuple(z.shape)}")
        variables: Tensor | list[Tensor] = z
        count, n = z.shape[0], z.shape[1]
    else:
        variables = list(z)
        count = len(variables)
        if any(not isinstance(v, Tensor) or v.dim() != 2 for v in variables):
            raise ValueError("dhsic expects every variable to be an (n, d_k) tensor, got "
                             f"{[getattr(v, 'shape', type(v)) for v in variables]}")
        n = variables[0].shape[0] if variables else 0
        if any(v.shape[0] != n for v in variables):
            raise ValueError("all variables need the same number of samples, got "
                             f"{[v.shape[0] for v in variables]}")
    if count < 1:
        raise ValueError("dhsic needs at least one variable, got K=0")
    if n < 1:
        raise ValueError("dhsic needs at least one sample, got n=0")
    return variables, count


def dhsic(z: Tensor | Sequence[Tensor], bandwidth: Tensor | float | None = None) -> Tensor:
    """dHSIC of K variables observed on the same n samples.

    ``z`` is a (K, n, d) tensor or a sequence of K tensors of shape (n, d_k), whose dimensions may
    differ. ``bandwidth`` overrides the median heuristic: a float for all variables, or a (K,)
    tensor with one value each. Returns a scalar tensor in ``z``'s dtype, differentiable in ``z``.

    A single variable is trivially jointly independent, so K = 1 gives exactly 0 (still attached
    to the graph, so ``backward`` through a loss that includes it works).
    Malformed input raises ``ValueError`` early rather than failing deep inside a broadcast.
    """
    variables, count = _variables(z)
    if bandwidth is not None:
        _bandwidth_for(bandwidth, 0, count)  # validates a tensor bandwidth's shape
    first = variables[0]
    if count == 1:
        # Exactly zero, but connected to the graph (a NaN in z still propagates, as it should).
        return first.new_zeros(()) + 0 * first.sum()
    if isinstance(variables, Tensor):
        h = median_bandwidth(variables) if bandwidth is None else bandwidth
        grams = gaussian_gram(variables, h)
    else:
        # Dimensions may differ, so the Grams are built one by one, then stacked (all (n, n)).
        grams = torch.stack([
            gaussian_gram(v, median_bandwidth(v) if bandwidth is None
                          else _bandwidth_for(bandwidth, k, count))
            for k, v in enumerate(variables)
        ])
    return dhsic_from_grams(grams)


#: The dHSIC estimators by name (the ``dhsic_estimator`` config key): ``median``, :func:`dhsic`
#: with Pfister's median heuristic (the default), and ``authors``, :func:`authors_dhsic`.
ESTIMATORS = ("median", "authors")


def latent_bandwidth(d: int) -> float:
    """The authors' fixed Gaussian bandwidth for d-dimensional variables,
    ``h(d) = 2 Gamma((d + 1) / 2) / Gamma(d / 2)``.

    Their code states it as ``gamma = 1 / (2 h(d)^2)`` in ``exp(-gamma |x - y|^2)``, calling it
    the median heuristic "in the case of Gaussian random variables". ``sqrt(2) Gamma((d + 1) / 2)
    / Gamma(d / 2)`` is the mean norm of a standard normal d-vector, so ``h(d)`` is sqrt(2) times
    that: the mean distance between two independent draws from the prior N(0, I_d) (about
    sqrt(2 d) for large d). It depends on d alone, not on the codes, so it neither follows the
    codes' spread nor passes gradient. Computed with log-gammas so that large d does not
    overflow.
    """
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise ValueError(f"latent_bandwidth needs a dimension d >= 1, got {d!r}")
    return 2.0 * math.exp(math.lgamma(0.5 * (d + 1)) - math.lgamma(0.5 * d))


def authors_gram(x: Tensor) -> Tensor:
    """Gaussian Gram matrix of (n, d) or (K, n, d) codes at the authors' bandwidth
    :func:`latent_bandwidth` (d), ``exp(-|x - y|^2 / (2 h(d)^2))``.

    The coefficient is a Python float, so the kernel needs no tensor built on the host (a
    CUDA-graph capture refuses that copy)."""
    h = latent_bandwidth(x.shape[-1])
    return torch.exp(_squared_distances(x) * (-0.5 / (h * h)))


def authors_from_grams(grams: Tensor) -> Tensor:
    """The authors' statistic from (K, n, n) Gram matrices: the square root of
    :func:`dhsic_from_grams`, clamped as :func:`authors_dhsic` explains."""
    value = dhsic_from_grams(grams)
    return value.clamp_min(torch.finfo(value.dtype).tiny).sqrt()


def authors_dhsic(z: Tensor | Sequence[Tensor]) -> Tensor:
    """dHSIC as the authors' code computes it: ``sqrt(V)``, V the V-statistic of the module
    docstring with Gaussian kernels at the fixed bandwidth :func:`latent_bandwidth` of each
    variable's dimension.

    ``z`` is as for :func:`dhsic`. The square root changes what the penalty rewards: its
    gradient is that of V scaled by 1 / (2 sqrt(V)), large where V is small. V is a squared norm,
    non-negative in exact arithmetic; it is clamped at the smallest positive normal number of its
    dtype before the root, so rounding below zero gives ~1e-19 (float32) instead of NaN, and a V
    of exactly 0 (all codes equal) passes a zero gradient instead of 0 * inf. The authors'
    ``tf.sqrt`` has no clamp: above the clamp the two compute the same function. K = 1 gives
    exactly 0, attached to the graph, as :func:`dhsic` does.
    """
    variables, count = _variables(z)
    first = variables[0]
    if count == 1:
        return first.new_zeros(()) + 0 * first.sum()
    if isinstance(variables, Tensor):
        grams = authors_gram(variables)
    else:  # dimensions, and so bandwidths, may differ: one Gram at a time
        grams = torch.stack([authors_gram(v) for v in variables])
    return authors_from_grams(grams)


def dhsic_estimate(z: Tensor | Sequence[Tensor], estimator: str = "median") -> Tensor:
    """dHSIC of ``z`` by the named estimator (:data:`ESTIMATORS`): ``median`` is exactly
    :func:`dhsic` with its median heuristic, ``authors`` :func:`authors_dhsic`."""
    if estimator == "median":
        return dhsic(z)
    if estimator == "authors":
        return authors_dhsic(z)
    raise ValueError(f"unknown dHSIC estimator {estimator!r}; choose one of "
                     f"{', '.join(ESTIMATORS)}")
