"""How different the K components' codes are: what the dHSIC penalty (beta) changes.

The paper adds dHSIC to make the K latent codes of an image jointly independent, i.e. to make
the components encode different things. The ablation (beta = 0 against beta = 1) needs a measure
of that difference which does not depend on the penalty's own tuning, so we report two:

* **Linear CKA** (Kornblith et al., ICML 2019) between every pair of components: 1 when one code
  is an orthogonal transform and rescaling of the other (two components that learnt the same
  representation in rotated coordinates, which a per-dimension correlation would miss), near 0
  when they share no linear structure. Cheap, bandwidth-free and comparable across runs.
* **Gaussian-kernel HSIC** per pair and the **dHSIC** of all K codes, with the same median
  bandwidth heuristic the training penalty uses (:mod:`mvae.dhsic`), so the numbers are the
  quantity the beta = 1 run minimised, measured on held-out codes.

Both kernel statistics are O(n^2) in memory and time, so they run on a seeded subsample.

A dHSIC value means little alone: the V-statistic is biased upwards by about 1/n and its scale
depends on the bandwidth. :func:`dhsic_range` therefore puts it between two references on the
same codes: **independent** (each component's rows shuffled across images, which keeps every
marginal and destroys the dependence) and **identical** (every component given the first one's
codes). The gap between the observed value and the independent one is all a penalty can remove.

Both dHSIC estimators (:data:`mvae.dhsic.ESTIMATORS`) are reported, each with its own
references: ``median`` (the keys without a suffix, as before) and ``authors`` (the square root at
the authors' fixed bandwidth, keys ``dhsic_authors*``), so runs trained under either penalty,
and runs without one (beta = 0), can be read on both scales.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from mvae.dhsic import (
    ESTIMATORS,
    authors_from_grams,
    authors_gram,
    dhsic_from_grams,
    gaussian_gram,
    median_bandwidth,
)


def _matrix(x: Any, what: str) -> Tensor:
    t = torch.as_tensor(x)
    if t.dim() != 2 or t.shape[0] < 2:
        raise ValueError(f"{what} must be an (N, d) matrix with N >= 2, got {tuple(t.shape)}")
    return t.to(torch.float64)


def linear_cka(a: Tensor, b: Tensor) -> float:
    """Linear CKA of two representations of the same N samples, (N, d1) and (N, d2).

    CKA = ||B^T A||_F^2 / (||A^T A||_F ||B^T B||_F) on column-centred A, B (Kornblith et al. 2019,
    eq. for the linear kernel): the normalised HSIC with linear kernels. The feature-space form
    costs O(N d^2), not O(N^2), so the full test set fits. Computed in float64 because the
    squared Frobenius norms of float32 codes lose digits. A constant representation carries no
    information and its CKA with anything is defined as 0 (not NaN).
    """
    x, y = _matrix(a, "a"), _matrix(b, "b")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"a and b need the same number of samples, got {x.shape[0]} and "
                         f"{y.shape[0]}")
    x = x - x.mean(0, keepdim=True)
    y = y - y.mean(0, keepdim=True)
    cross = torch.linalg.matrix_norm(y.T @ x) ** 2
    norm_x = torch.linalg.matrix_norm(x.T @ x)
    norm_y = torch.linalg.matrix_norm(y.T @ y)
    denom = norm_x * norm_y
    if float(denom) == 0.0:
        return 0.0
    return float(cross / denom)


def _median_grams(z: Tensor) -> Tensor:
    """Gaussian Gram matrices of (K, n, d) codes with per-component median bandwidths.

    Every statistic here (pairwise HSIC, dHSIC and both references) is a function of these K
    matrices, so they are built once: a shuffle of a component's rows permutes its Gram matrix
    (the median of its pairwise distances does not change), and "identical" codes are K copies of
    the first matrix.
    """
    return gaussian_gram(z, median_bandwidth(z))


def _estimator(name: str) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
    """The Gram builder and the statistic of a dHSIC estimator (:data:`ESTIMATORS`)."""
    if name == "median":
        return _median_grams, dhsic_from_grams
    if name == "authors":
        return authors_gram, authors_from_grams
    raise ValueError(f"unknown dHSIC estimator {name!r}; choose one of {', '.join(ESTIMATORS)}")


def _shuffled(grams: Tensor, generator: torch.Generator) -> Tensor:
    """Each component's samples permuted independently (rows and columns of its Gram matrix):
    the same marginals, no dependence."""
    out = []
    for g in grams:
        p = torch.randperm(g.shape[0], generator=generator)
        out.append(g[p][:, p])
    return torch.stack(out)


def dhsic_range(codes: Any, batch_size: int | None = None, shuffles: int = 5,
                seed: int = 0, estimator: str = "median") -> dict[str, float]:
    """dHSIC of K components' codes (K, N, d) beside its independent and identical references.

    With ``batch_size`` the three numbers are means over the disjoint batches of that size (what
    the training penalty sees: one batch at a time); without, they use all N codes. "independent"
    is the mean over ``shuffles`` seeded shuffles. ``estimator`` names the dHSIC estimator
    (:data:`mvae.dhsic.ESTIMATORS`); all three numbers use it. Returns ``{"n", "observed",
    "independent", "identical"}``.
    """
    grams, statistic = _estimator(estimator)
    z = torch.as_tensor(codes).detach().cpu().to(torch.float64)
    if z.dim() != 3 or z.shape[0] < 2:
        raise ValueError(f"codes must be (K >= 2, N, d), got {tuple(z.shape)}")
    n = z.shape[1] if batch_size is None else batch_size
    if not 2 <= n <= z.shape[1]:
        raise ValueError(f"batch_size must be in [2, {z.shape[1]}], got {batch_size}")
    return _range_from_grams([grams(z[:, s:s + n])
                              for s in range(0, z.shape[1] - n + 1, n)], shuffles, seed,
                             statistic)


def _range_from_grams(batches: list[Tensor], shuffles: int, seed: int,
                      statistic: Callable[[Tensor], Tensor] = dhsic_from_grams
                      ) -> dict[str, float]:
    """:func:`dhsic_range` from each batch's (K, n, n) Gram matrices."""
    generator = torch.Generator().manual_seed(seed)
    n = batches[0].shape[-1]
    observed = [float(statistic(g)) for g in batches]
    independent = [float(statistic(_shuffled(g, generator)))
                   for g in batches for _ in range(shuffles)]
    identical = [float(statistic(g[:1].expand_as(g))) for g in batches]
    return {"n": n, "observed": sum(observed) / len(observed),
            "independent": sum(independent) / len(independent),
            "identical": sum(identical) / len(identical)}


def component_diversity(codes: Any, max_samples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Pairwise CKA and HSIC and the joint dHSIC of K components' codes, (K, N, d).

    CKA uses all N codes (it is linear in N); HSIC and dHSIC use a seeded random subsample of
    ``max_samples`` codes (the same rows for every component, as the statistics require).

    Returns ``{"pairwise_cka": K x K list (1 on the diagonal), "mean_offdiag_cka": float,
    "pairwise_hsic": K x K list (0 on the diagonal: a variable's HSIC with itself is not a
    diversity measure), "mean_offdiag_hsic": float, "dhsic": float, "n_cka": N,
    "n_kernel": samples used, "dhsic_identical" and "dhsic_independent": the references of
    :func:`dhsic_range` on the same subsample; "dhsic_authors", "dhsic_authors_identical" and
    "dhsic_authors_independent": the same three under the authors' estimator}``. K = 1 has no
    pairs: empty lists and ``None`` statistics.
    """
    z = torch.as_tensor(codes)
    if z.dim() != 3 or z.shape[1] < 2:
        raise ValueError(f"codes must be (K, N, d) with N >= 2, got {tuple(z.shape)}")
    z = z.detach().cpu().to(torch.float64)
    k, n, _ = z.shape
    m = min(n, max_samples)
    result: dict[str, Any] = {"n_cka": n, "n_kernel": m}
    if k == 1:
        return {**result, "pairwise_cka": [], "mean_offdiag_cka": None, "pairwise_hsic": [],
                "mean_offdiag_hsic": None, "dhsic": None, "dhsic_identical": None,
                "dhsic_independent": None, "dhsic_authors": None,
                "dhsic_authors_identical": None, "dhsic_authors_independent": None}
    if m < n:
        index = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:m]
        sub = z[:, index.sort().values]
    else:
        sub = z

    grams = _median_grams(sub)
    cka = [[1.0] * k for _ in range(k)]
    hsic = [[0.0] * k for _ in range(k)]
    for i in range(k):
        for j in range(i + 1, k):
            cka[i][j] = cka[j][i] = linear_cka(z[i], z[j])
            hsic[i][j] = hsic[j][i] = float(dhsic_from_grams(grams[[i, j]]))
    pairs = k * (k - 1) / 2
    reference = _range_from_grams([grams], shuffles=5, seed=seed)
    del grams  # K (m, m) matrices: free them before the authors' set is built
    authors = _range_from_grams([authors_gram(sub)], shuffles=5, seed=seed,
                                statistic=authors_from_grams)
    return {**result, "pairwise_cka": cka,
            "mean_offdiag_cka": sum(cka[i][j] for i in range(k) for j in range(i + 1, k)) / pairs,
            "pairwise_hsic": hsic,
            "mean_offdiag_hsic": sum(hsic[i][j] for i in range(k)
                                     for j in range(i + 1, k)) / pairs,
            "dhsic": reference["observed"], "dhsic_identical": reference["identical"],
            "dhsic_independent": reference["independent"],
            "dhsic_authors": authors["observed"], "dhsic_authors_identical": authors["identical"],
            "dhsic_authors_independent": authors["independent"]}
