"""MIG and DCI (mvae.disentanglement) on hand-made codes whose answers are known, and their parts
against independent computations (counting, np.histogram, scipy's entropy)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import entropy

from mvae import disentanglement as dis


def grid(*sizes: int, repeat: int = 10) -> np.ndarray:
    """Every combination of factor values equally often: factors that are exactly independent in
    the sample, so the empirical information between them is exactly 0."""
    return np.array(list(itertools.product(*(range(s) for s in sizes))) * repeat)


def counted_mi(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information in nats from the joint counts: the definition, written out."""
    total = 0.0
    n = len(a)
    for x in np.unique(a):
        for y in np.unique(b):
            joint = np.sum((a == x) & (b == y)) / n
            if joint:
                total += joint * np.log(joint / (np.mean(a == x) * np.mean(b == y)))
    return total


def test_bins_are_those_of_np_histogram():
    rng = np.random.default_rng(0)
    codes = np.column_stack([rng.normal(size=500), rng.exponential(size=500), np.ones(500)])
    binned = dis.discretize(codes, bins=20)
    for j in range(2):
        counts, _ = np.histogram(codes[:, j], bins=20)
        assert np.array_equal(np.bincount(binned[:, j], minlength=20), counts)
    assert set(binned[:, 2]) == {binned[0, 2]}  # a constant column: one bin


def test_mutual_information_is_the_counted_one():
    rng = np.random.default_rng(1)
    factors = rng.integers(0, 4, (400, 2))
    binned = np.column_stack([factors[:, 0] + rng.integers(0, 2, 400), rng.integers(0, 3, 400)])
    info = dis.mutual_information(binned, factors)
    for j, k in itertools.product(range(2), range(2)):
        assert info[j, k] == pytest.approx(counted_mi(binned[:, j], factors[:, k]), abs=1e-12)
    assert dis.factor_entropy(factors)[0] == pytest.approx(
        entropy(np.bincount(factors[:, 0])), abs=1e-12)


def test_a_perfectly_disentangled_code_scores_one():
    factors = grid(5, 4, 3)
    codes = np.column_stack([factors.astype(float) * [0.7, -2.0, 3.1], np.zeros(len(factors))])
    result = dis.mig(codes, factors)
    assert result["mig"] == pytest.approx(1.0, abs=1e-12)
    assert np.allclose(result["per_factor"], 1.0)
    scores = dis.dci(codes[::-1], factors[::-1], (5, 4, 3), n_train=400)
    assert scores["disentanglement"] == pytest.approx(1.0, abs=1e-9)
    assert scores["completeness"] == pytest.approx(1.0, abs=1e-9)
    assert scores["informativeness_nrmse"] < 0.05
    assert np.allclose(np.asarray(scores["importance"])[3], 0)  # the constant dimension


def test_an_entangled_rotation_scores_low():
    factors = grid(10, 10)
    rotated = factors @ (np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2))
    assert dis.mig(factors.astype(float), factors)["mig"] > 0.99
    assert dis.mig(rotated, factors)["mig"] < 0.1
    scores = dis.dci(rotated, factors, (10, 10), n_train=700)
    assert scores["disentanglement"] < 0.3 and scores["completeness"] < 0.3
    assert scores["informativeness_nrmse"] < 0.2  # the information is all there, only mixed


def test_a_code_that_ignores_a_factor_scores_zero_for_it():
    factors = grid(5, 4, 3)
    rng = np.random.default_rng(2)
    codes = np.column_stack([factors[:, :2].astype(float), rng.normal(size=len(factors))])
    result = dis.mig(codes[:, :2], factors)
    assert result["per_factor"][2] == 0.0 and result["per_factor"][:2] == [1.0, 1.0]
    assert result["mig"] == pytest.approx(2 / 3)
    assert dis.mig(codes, factors)["per_factor"][2] < 0.05  # noise knows next to nothing
    scores = dis.dci(codes, factors, (5, 4, 3), n_train=400)
    assert scores["nrmse_per_factor"][2] > 0.9 and max(scores["nrmse_per_factor"][:2]) < 0.05


def test_disentanglement_and_completeness_follow_eastwood_and_williams():
    assert dis.dci_from_importance(np.eye(3))["disentanglement"] == pytest.approx(1.0)
    assert dis.dci_from_importance(np.eye(3))["completeness"] == pytest.approx(1.0)
    flat = dis.dci_from_importance(np.ones((4, 3)))
    assert flat["disentanglement"] == pytest.approx(0.0) and flat["completeness"] == (
        pytest.approx(0.0))
    r = np.array([[0.5, 0.1, 0.0], [0.0, 0.3, 0.2], [0.1, 0.0, 0.6], [0.0, 0.0, 0.0]])
    got = dis.dci_from_importance(r)
    d_j = [1 - entropy(row, base=3) if row.sum() else 0.0 for row in r]
    rho = r.sum(1) / r.sum()
    c_k = [1 - entropy(col, base=4) for col in r.T]
    assert got["disentanglement"] == pytest.approx(float(np.dot(rho, d_j)))
    assert got["completeness"] == pytest.approx(float(np.mean(c_k)))
    assert got["code_weights"][3] == 0.0


def test_code_sets_are_components_and_concatenation_or_the_vae():
    codes = np.arange(3 * 5 * 2, dtype=float).reshape(3, 5, 2)
    sets = dis.code_sets(codes)
    assert list(sets) == ["C1", "C2", "C3", "concatenated"]
    assert np.array_equal(sets["concatenated"][:, 2:4], codes[1])
    assert list(dis.code_sets(codes[:1])) == ["VAE"]
    with pytest.raises(ValueError, match="n_train"):
        dis.dci(codes[0], np.zeros((5, 1), int), (2,), n_train=5)
