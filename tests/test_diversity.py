"""Component diversity: linear CKA and kernel HSIC between the components' codes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mvae.diversity import component_diversity, dhsic_range, linear_cka


def _orthogonal(d: int, seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(seed),
                                       dtype=torch.float64))
    return q


def test_cka_of_a_code_with_itself_is_one() -> None:
    a = torch.randn(500, 6, generator=torch.Generator().manual_seed(0))
    assert linear_cka(a, a) == pytest.approx(1.0, abs=1e-9)


def test_cka_is_invariant_to_rotation_scale_and_shift() -> None:
    a = torch.randn(500, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    b = 3.0 * a @ _orthogonal(6, 1) + 5.0
    assert linear_cka(a, b) == pytest.approx(1.0, abs=1e-9)
    # ...but not to an anisotropic rescaling, which changes the geometry
    assert linear_cka(a, a * torch.tensor([10.0, 1, 1, 1, 1, 1], dtype=torch.float64)) < 0.9


def test_cka_of_independent_codes_is_near_zero() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4000, 5, generator=g), torch.randn(4000, 8, generator=g)
    assert 0.0 <= linear_cka(a, b) < 0.02
    assert linear_cka(a, torch.zeros(4000, 3)) == 0.0  # constant code: no information
    with pytest.raises(ValueError, match="same number of samples"):
        linear_cka(a, b[:10])


def _hsic_numpy(x: np.ndarray, y: np.ndarray) -> float:
    """Textbook biased HSIC, trace(K H L H) / n^2, with the median heuristic (an oracle)."""
    def gram(v: np.ndarray) -> np.ndarray:
        d2 = ((v[:, None, :] - v[None, :, :]) ** 2).sum(-1)
        h2 = 0.5 * np.median(d2[np.triu_indices(len(v), 1)])
        return np.exp(-d2 / (2 * h2))
    n = len(x)
    h = np.eye(n) - 1.0 / n
    return float(np.trace(gram(x) @ h @ gram(y) @ h) / n**2)


def test_component_diversity_shapes_and_values() -> None:
    g = torch.Generator().manual_seed(0)
    base = torch.randn(300, 4, generator=g, dtype=torch.float64)
    codes = torch.stack([base, base @ _orthogonal(4, 2),
                         torch.randn(300, 4, generator=g, dtype=torch.float64)])
    res = component_diversity(codes, max_samples=200, seed=0)
    assert res["n_cka"] == 300 and res["n_kernel"] == 200
    cka, hsic = np.array(res["pairwise_cka"]), np.array(res["pairwise_hsic"])
    assert cka.shape == hsic.shape == (3, 3)
    assert np.allclose(np.diag(cka), 1) and np.allclose(cka, cka.T)
    assert np.allclose(np.diag(hsic), 0) and np.allclose(hsic, hsic.T)
    assert cka[0, 1] == pytest.approx(1.0, abs=1e-9)  # a rotated copy: same representation
    assert cka[0, 2] < 0.1 and cka[1, 2] < 0.1
    assert hsic[0, 1] > 10 * hsic[0, 2]            # dependent pair >> independent pair
    assert res["mean_offdiag_cka"] == pytest.approx((cka[0, 1] + cka[0, 2] + cka[1, 2]) / 3)
    assert isinstance(res["dhsic"], float) and res["dhsic"] > 0


def test_dhsic_ceiling_is_the_identical_codes_value_and_bounds_the_measured_one() -> None:
    """With n = 128 and 20-d codes the V-statistic can only move from ~0.0066 (independent) to
    ~0.0132 (identical): the ceiling says how little room the beta = 1 penalty has."""
    from mvae.dhsic import dhsic

    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 128, 20, generator=g, dtype=torch.float64)
    res = component_diversity(x, max_samples=128)
    assert res["dhsic_identical"] == pytest.approx(float(dhsic([x[0]] * 4)), rel=1e-12)
    assert 0 < res["dhsic"] < res["dhsic_identical"]
    assert res["dhsic"] == pytest.approx(res["dhsic_independent"], rel=0.05)
    assert 0.012 < res["dhsic_identical"] < 0.015 and 0.005 < res["dhsic"] < 0.008


def test_dhsic_range_places_dependent_codes_above_their_shuffled_reference() -> None:
    """Shuffling rows keeps each component's marginal and destroys the dependence: codes that
    share a factor sit far above their shuffled value, independent codes on it."""
    g = torch.Generator().manual_seed(2)
    shared = torch.randn(300, 5, generator=g, dtype=torch.float64)
    dependent = torch.stack([shared + 0.3 * torch.randn(300, 5, generator=g, dtype=torch.float64)
                             for _ in range(3)])
    independent = torch.randn(3, 300, 5, generator=g, dtype=torch.float64)
    dep, ind = dhsic_range(dependent), dhsic_range(independent)
    assert dep["independent"] < dep["observed"] / 5 and dep["observed"] < dep["identical"]
    assert ind["observed"] == pytest.approx(ind["independent"], rel=0.1)
    assert dep["n"] == ind["n"] == 300


def test_dhsic_range_by_batch_is_the_mean_over_disjoint_batches() -> None:
    from mvae.dhsic import dhsic

    x = torch.randn(2, 130, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    res = dhsic_range(x, batch_size=64)  # two full batches; the last 2 codes are left out
    expected = (float(dhsic(x[:, :64])) + float(dhsic(x[:, 64:128]))) / 2
    assert res["n"] == 64 and res["observed"] == pytest.approx(expected, rel=1e-12)
    assert res == dhsic_range(x, batch_size=64)  # seeded shuffles
    with pytest.raises(ValueError, match="batch_size"):
        dhsic_range(x, batch_size=131)
    with pytest.raises(ValueError, match="K >= 2"):
        dhsic_range(x[:1])


def test_dhsic_range_references_equal_dhsic_of_the_shuffled_and_copied_codes() -> None:
    """The references are computed from permuted and copied Gram matrices; the oracle recomputes
    dHSIC from explicitly shuffled and copied codes (new bandwidths, new kernels)."""
    from mvae.dhsic import dhsic

    g = torch.Generator().manual_seed(6)
    x = torch.randn(3, 90, 4, generator=g, dtype=torch.float64)
    x[1] += x[0]
    res = dhsic_range(x, shuffles=3, seed=11)
    perm = torch.Generator().manual_seed(11)  # the same permutation stream, component by component
    shuffled = [float(dhsic(torch.stack([c[torch.randperm(90, generator=perm)] for c in x])))
                for _ in range(3)]
    assert res["independent"] == pytest.approx(sum(shuffled) / 3, rel=1e-10)
    assert res["identical"] == pytest.approx(float(dhsic(x[:1].expand_as(x))), rel=1e-10)
    assert res["observed"] == pytest.approx(float(dhsic(x)), rel=1e-10)


def test_pairwise_hsic_matches_a_numpy_oracle() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 120, 3, generator=g, dtype=torch.float64)
    x[1] += 0.8 * x[0]
    res = component_diversity(x, max_samples=500)
    assert res["pairwise_hsic"][0][1] == pytest.approx(_hsic_numpy(x[0].numpy(), x[1].numpy()),
                                                       rel=1e-6)
    assert res["dhsic"] == pytest.approx(res["pairwise_hsic"][0][1], rel=1e-9)  # K=2: same


def test_subsample_is_deterministic() -> None:
    x = torch.randn(3, 400, 2, generator=torch.Generator().manual_seed(3))
    a = component_diversity(x, max_samples=100, seed=5)
    assert a == component_diversity(x, max_samples=100, seed=5)
    assert a["pairwise_hsic"] != component_diversity(x, max_samples=100, seed=6)["pairwise_hsic"]


def test_single_component_is_not_an_error() -> None:
    res = component_diversity(torch.randn(1, 50, 3))
    assert res["pairwise_cka"] == [] and res["pairwise_hsic"] == []
    assert res["mean_offdiag_cka"] is None and res["dhsic"] is None


def test_bad_shape_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"\(K, N, d\)"):
        component_diversity(torch.randn(50, 3))


# --- The authors' dHSIC estimator beside the median one -----------------------------------------

def _authors_oracle(z: torch.Tensor) -> float:
    """The authors' dHSIC of (K, n, d) codes from hyppo's own RBF kernels and V-statistic at
    the fixed gamma = 1 / (2 h^2), h = 2 Gamma((d + 1) / 2) / Gamma(d / 2) (scipy's gamma)."""
    from hyppo.d_variate import dHsic
    from scipy.special import gamma

    d = z.shape[-1]
    h = 2 * gamma(0.5 * (d + 1)) / gamma(0.5 * d)
    value = dHsic(compute_kernel="gaussian", gamma=1 / (2 * h * h)).statistic(
        *[c.numpy() for c in z])
    return float(np.sqrt(value))


def _dependent_codes(seed: int, n: int = 130) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, n, 4, generator=g, dtype=torch.float64)
    x[1] += 0.8 * x[0]
    return x


@pytest.mark.slow
def test_component_diversity_reports_the_authors_estimator_beside_the_median_one() -> None:
    from mvae.dhsic import dhsic

    x = _dependent_codes(20, n=120)
    res = component_diversity(x, max_samples=500)
    assert res["dhsic"] == pytest.approx(float(dhsic(x)), rel=1e-10)  # the median one, as before
    assert res["dhsic_authors"] == pytest.approx(_authors_oracle(x), rel=1e-9)
    assert res["dhsic_authors_identical"] == pytest.approx(_authors_oracle(x[:1].expand_as(x)),
                                                           rel=1e-9)
    assert res["dhsic_authors_independent"] < res["dhsic_authors"] < res["dhsic_authors_identical"]
    single = component_diversity(torch.randn(1, 50, 3))
    assert single["dhsic_authors"] is None and single["dhsic_authors_independent"] is None


def test_dhsic_range_under_the_authors_estimator_matches_hyppo_batch_by_batch() -> None:
    x = _dependent_codes(21)
    res = dhsic_range(x, batch_size=64, shuffles=2, seed=3, estimator="authors")
    batches = [x[:, :64], x[:, 64:128]]
    assert res["n"] == 64
    assert res["observed"] == pytest.approx(sum(map(_authors_oracle, batches)) / 2, rel=1e-9)
    assert res["identical"] == pytest.approx(
        sum(_authors_oracle(b[:1].expand_as(b)) for b in batches) / 2, rel=1e-9)
    perm = torch.Generator().manual_seed(3)  # the same permutation stream as dhsic_range's
    shuffled = [_authors_oracle(torch.stack([c[torch.randperm(64, generator=perm)] for c in b]))
                for b in batches for _ in range(2)]
    assert res["independent"] == pytest.approx(sum(shuffled) / 4, rel=1e-9)
    assert res["observed"] != pytest.approx(dhsic_range(x, batch_size=64)["observed"], rel=0.1)
    with pytest.raises(ValueError, match="unknown dHSIC estimator"):
        dhsic_range(x, estimator="mean")


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ["authors", None])
def test_the_diversity_step_reports_dhsic_under_the_runs_estimator(tmp_path, estimator) -> None:
    """A run trained with the authors' estimator gets its penalty-side dHSIC on their scale
    beside the median one; a config without the key (every archived run) reads as median."""
    import json

    import yaml

    from mvae.config import Config
    from mvae.steps import diversity_step

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = Config(name="probe", components=3, latent_dim=4, batch_size=64).to_dict()
    if estimator is None:
        del config["dhsic_estimator"]
    else:
        config["dhsic_estimator"] = estimator
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (run_dir / "provenance.json").write_text("{}")
    codes, sampled = _dependent_codes(22), _dependent_codes(23)
    np.savez(tmp_path / "latents.npz", test_codes=codes.numpy(), test_sampled=sampled.numpy())
    diversity_step(tmp_path / "latents.npz", run_dir, tmp_path / "diversity.json", max_codes=500)
    out = json.loads((tmp_path / "diversity.json").read_text())
    assert out["dhsic_estimator"] == (estimator or "median")
    assert out["penalty"] == {"codes": "z ~ q(z | x), one draw",
                              **dhsic_range(sampled, batch_size=64)}  # the median one, unchanged
    batches = [sampled[:, :64], sampled[:, 64:128]]
    assert out["penalty_authors"]["n"] == 64
    assert out["penalty_authors"]["observed"] == pytest.approx(
        sum(map(_authors_oracle, batches)) / 2, rel=1e-9)
    assert out["dhsic_authors"] == pytest.approx(_authors_oracle(codes), rel=1e-9)
