"""Disentanglement of a code with respect to known factors: MIG and DCI.

The abstract says M-VAE "can be used for discovering disentangled data representations"; on
dSprites (:mod:`mvae.data.dsprites`) the factors are known, so two standard measures can test it.
No maintained library computes them from arrays: ``disentanglement_lib`` is TensorFlow 1 and
unmaintained, and ``disent`` samples its own dataset classes and brings PyTorch Lightning. Both
follow the published definitions with scikit-learn here:

MIG, the mutual information gap (Chen et al. 2018), as ``disentanglement_lib`` estimates it.
    Each code dimension is cut into :data:`BINS` equal-width bins over its range; ``I(z_j; v_k)``
    is the empirical mutual information of the bin and the factor index
    (``sklearn.metrics.mutual_info_score``, nats). A factor's gap is the difference between its
    two most informative dimensions, divided by the factor's entropy; MIG is the mean over
    factors. 1: each factor is read off one dimension alone; 0: the best two dimensions know it
    equally (an entangled code) or none knows it (a factor the code ignores).
DCI, disentanglement, completeness and informativeness (Eastwood & Williams 2018).
    For each factor, a regressor predicts the factor's value (its index scaled to [0, 1]) from
    the code; its feature importances form column k of the importance matrix R (code dimensions x
    factors). Disentanglement of dimension j is 1 - H_K(R_j. / sum R_j.) (entropy to base K, the
    number of factors), averaged with weights sum R_j. / sum R; completeness of factor k is
    1 - H_D(R_.k / sum R_.k) (base D, the code's dimensions), averaged over factors;
    informativeness is the regressor's test NRMSE (E&W's prediction error: RMSE over the test
    values' standard deviation; 0 perfect, 1 no better than their mean). The regressor is
    gradient-boosted trees (``sklearn.ensemble.GradientBoostingRegressor``, its impurity
    importances), the trees that ``disentanglement_lib`` uses; regression of the factor value,
    E&W's framing, instead of its one-tree-per-class classification, which would grow a tree per
    value of the 40 orientations at every boosting stage.

Both are computed for each code a run has (:func:`code_sets`): every mixture component alone and
their concatenation, or the VAE's one code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Equal-width bins per code dimension for MIG (``disentanglement_lib``'s default).
BINS = 20


def discretize(codes: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Each column of ``codes`` (N, D) as bin indices 0..bins-1 of ``bins`` equal-width bins over
    its range (a constant column falls in one bin)."""
    codes = np.asarray(codes, dtype=np.float64)
    out = np.empty(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram_bin_edges(codes[:, j], bins=bins)
        out[:, j] = np.clip(np.digitize(codes[:, j], edges[1:-1]), 0, bins - 1)
    return out


def mutual_information(binned: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Empirical mutual information in nats of every (code dimension, factor) pair, (D, K)."""
    from sklearn.metrics import mutual_info_score

    return np.array([[mutual_info_score(factors[:, k], binned[:, j])
                      for k in range(factors.shape[1])] for j in range(binned.shape[1])])


def factor_entropy(factors: np.ndarray) -> np.ndarray:
    """Empirical entropy in nats of each factor, (K,)."""
    from sklearn.metrics import mutual_info_score

    return np.array([mutual_info_score(f, f) for f in np.asarray(factors).T])


def mig(codes: np.ndarray, factors: np.ndarray, bins: int = BINS) -> dict[str, Any]:
    """The mutual information gap of ``codes`` (N, D) for discrete ``factors`` (N, K): the mean,
    each factor's gap, and the normalised information matrix I(z_j; v_k) / H(v_k) (D x K)."""
    factors = np.asarray(factors)
    info = mutual_information(discretize(codes, bins), factors)
    entropy = factor_entropy(factors)
    top = -np.sort(-info, axis=0)
    second = top[1] if len(top) > 1 else np.zeros(info.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        gaps = np.where(entropy > 0, (top[0] - second) / entropy, np.nan)
        normalised = np.where(entropy > 0, info / entropy, np.nan)
    return {"mig": float(np.nanmean(gaps)), "per_factor": gaps.tolist(),
            "normalised_information": normalised.tolist(), "bins": bins}


def _one_minus_entropy(p: np.ndarray, base: int) -> np.ndarray:
    """1 - H(p) / log(base) of each row of ``p`` (rows normalised here; an all-zero row: 0)."""
    if base < 2:
        return np.ones(len(p))
    total = p.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(total > 0, p / total, 0.0)
        terms = np.where(q > 0, q * np.log(q), 0.0)
    h = -terms.sum(axis=1) / np.log(base)
    return np.where(total[:, 0] > 0, 1.0 - h, 0.0)


def dci_from_importance(importance: np.ndarray) -> dict[str, Any]:
    """Disentanglement and completeness (E&W 2018) of an importance matrix (D code dimensions x
    K factors, non-negative)."""
    r = np.abs(np.asarray(importance, dtype=np.float64))
    per_code = _one_minus_entropy(r, r.shape[1])
    weights = r.sum(axis=1) / r.sum() if r.sum() > 0 else np.zeros(len(r))
    per_factor = _one_minus_entropy(r.T, r.shape[0])
    used = r.sum(axis=0) > 0
    return {"disentanglement": float((weights * per_code).sum()),
            "completeness": float(per_factor[used].mean()) if used.any() else float("nan"),
            "per_code": per_code.tolist(), "code_weights": weights.tolist(),
            "per_factor": per_factor.tolist()}


def importance_matrix(train_codes: np.ndarray, train_factors: np.ndarray,
                      test_codes: np.ndarray, test_factors: np.ndarray,
                      sizes: Sequence[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The (D, K) importance matrix of one gradient-boosted regressor per factor, and each
    factor's test NRMSE. Factor k's target is its index divided by ``sizes[k] - 1``."""
    from sklearn.ensemble import GradientBoostingRegressor

    d, k = train_codes.shape[1], train_factors.shape[1]
    importance, nrmse = np.zeros((d, k)), np.full(k, np.nan)
    for f in range(k):
        scale = max(int(sizes[f]) - 1, 1)
        y_train, y_test = train_factors[:, f] / scale, test_factors[:, f] / scale
        if np.ptp(y_train) == 0:  # a constant factor: nothing to predict, no importance
            continue
        model = GradientBoostingRegressor(random_state=seed).fit(train_codes, y_train)
        importance[:, f] = model.feature_importances_
        spread = y_test.std()
        if spread > 0:
            rmse = np.sqrt(np.mean((model.predict(test_codes) - y_test) ** 2))
            nrmse[f] = rmse / spread
    return importance, nrmse


def dci(codes: np.ndarray, factors: np.ndarray, sizes: Sequence[int], n_train: int,
        seed: int = 0) -> dict[str, Any]:
    """DCI of ``codes`` (N, D) for ``factors`` (N, K): regressors fit on the first ``n_train``
    rows, informativeness measured on the rest."""
    codes, factors = np.asarray(codes, dtype=np.float64), np.asarray(factors)
    if not 0 < n_train < len(codes):
        raise ValueError(f"n_train must leave test rows: {n_train} of {len(codes)}")
    importance, nrmse = importance_matrix(codes[:n_train], factors[:n_train], codes[n_train:],
                                          factors[n_train:], sizes, seed)
    return {**dci_from_importance(importance),
            "informativeness_nrmse": float(np.nanmean(nrmse)),
            "nrmse_per_factor": nrmse.tolist(), "importance": importance.tolist(),
            "n_train": int(n_train), "n_test": int(len(codes) - n_train),
            "regressor": "sklearn GradientBoostingRegressor (defaults), impurity importances"}


def code_sets(codes: np.ndarray) -> dict[str, np.ndarray]:
    """The codes a run is scored on, from its posterior means (K, N, d): for a mixture each
    component alone (``C1``..``CK``) and their concatenation (``concatenated``, N x K*d); for a
    VAE its one code (``VAE``)."""
    codes = np.asarray(codes)
    if len(codes) == 1:
        return {"VAE": codes[0]}
    out = {f"C{k + 1}": codes[k] for k in range(len(codes))}
    out["concatenated"] = np.concatenate(list(codes), axis=1)
    return out


def score(codes: np.ndarray, factors: np.ndarray, sizes: Sequence[int], names: Sequence[str],
          n_train: int, bins: int = BINS, seed: int = 0) -> dict[str, Any]:
    """MIG and DCI of one code, with the factors' names beside the per-factor lists."""
    return {"dims": int(np.asarray(codes).shape[1]), "factors": list(names),
            "mig": mig(codes, factors, bins), "dci": dci(codes, factors, sizes, n_train, seed)}
