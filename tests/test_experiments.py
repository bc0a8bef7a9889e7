"""Presets: the grids are complete, every entry validates, bad entries are named, and the run
selections feeding each table pick the right runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mvae.config import ConfigError
from mvae.experiments import (
    PresetError,
    ablation_pair,
    authors_runs,
    available_presets,
    baseline_runs,
    beta_sweep,
    dataset_pair,
    latent2d_runs,
    load_preset,
    mnist_sweep,
    nll_runs,
    table2_runs,
)


def test_presets_exist() -> None:
    assert {"paper", "quick", "tiny"} <= set(available_presets())


def test_paper_grid_is_the_issue_grid() -> None:
    exp = load_preset("paper")
    runs = exp.runs
    sweep = mnist_sweep(runs)
    assert sorted(sweep) == list(range(1, 11))
    assert {k: len(v) for k, v in sweep.items() if len(v) > 1} == {1: 3, 4: 3}
    for names in sweep.values():
        for n in names:
            c = runs[n]
            assert (c.latent_dim, c.epochs, c.lr, c.beta, c.batch_size) == (20, 100, 1e-3, 1.0,
                                                                             128)
    assert sorted(runs[n].seed for n in sweep[4]) == [0, 1, 2]
    assert [runs[n].components for n in latent2d_runs(runs)] == [4, 1]
    assert ablation_pair(runs) == {"with_dhsic": "mnist-k4-s0", "without_dhsic": "mnist-k4-beta0"}
    cifar = dataset_pair(runs, "cifar10")
    assert set(cifar) == {"mixture", "vae"}
    for n in cifar.values():
        assert (runs[n].train_subset, runs[n].latent_dim) == (10000, 256)
        assert runs[n].resolved_architecture == "conv"
    assert set(dataset_pair(runs, "fashion_mnist")) == {"mixture", "vae"}
    # the claims grid: beta sweep, authors' settings, the wide VAE, binarised runs for the NLL
    assert beta_sweep(runs) == {"0": "mnist-k4-beta0", "1": "mnist-k4-s0",
                                "100": "mnist-k4-beta1e2", "1000": "mnist-k4-beta1e3",
                                "10000": "mnist-k4-beta1e4"}
    for n in authors_runs(runs):
        c = runs[n]
        assert (c.normalize_alpha, c.dirichlet_prior, c.kl_reduction) == (True, 0.25, "mean")
    assert sorted((runs[n].beta, runs[n].beta_warmup) for n in authors_runs(runs)) == [
        (1.0, 0), (10000.0, 0), (10000.0, 20)]
    assert table2_runs(runs)["wide_vae"] == ["mnist-k1-d80"]
    assert baseline_runs(runs) == {"mnist": "mnist-k4-s0", "fashion_mnist": "fashion-k4"}
    assert sorted(runs[n].components for n in nll_runs(runs)) == [1, 4]
    assert all(runs[n].binarize for n in nll_runs(runs))
    assert len(runs) == 30
    assert exp.datasets == ["mnist", "cifar10", "fashion_mnist"]


@pytest.mark.parametrize("preset", ["quick", "tiny"])
def test_small_presets_cover_every_table(preset: str) -> None:
    exp = load_preset(preset)
    runs = exp.runs
    assert len(mnist_sweep(runs)) >= 2
    assert any(len(v) >= 2 for v in mnist_sweep(runs).values())  # seed error bars
    assert table2_runs(runs)["mixture"] and table2_runs(runs)["vae"]
    assert len(latent2d_runs(runs)) == 2
    assert ablation_pair(runs)
    if preset == "tiny":  # the claims grid in miniature, so CI runs every claims rule
        assert len(beta_sweep(runs)) == 3 and authors_runs(runs) and nll_runs(runs)
        assert table2_runs(runs)["wide_vae"]
    assert len(dataset_pair(runs, "cifar10")) == 2
    assert len(dataset_pair(runs, "fashion_mnist")) == 2
    if preset == "tiny":
        assert all(c.epochs <= 3 and c.train_subset for c in runs.values())
    else:  # quick: the full MNIST-sized training sets, few epochs, so that its models learn
        mlp = [c for c in runs.values() if c.dataset != "cifar10"]
        assert all(c.epochs <= 4 and c.train_subset is None for c in mlp)


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(PresetError, match="unknown preset 'nope'.*paper.*quick"):
        load_preset("nope")


def _write(tmp_path: Path, grid: list[dict], **extra: object) -> str:
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump({"defaults": {"epochs": 1}, "grid": grid, **extra}))
    return str(path)


def test_bad_entry_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"name": "ok", "components": 2}, {"name": "zero", "components": 0}])
    with pytest.raises(ConfigError, match="grid entry 'zero': components must be an integer"):
        load_preset(path)


def test_unknown_dataset_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'svhn-k4'.*dataset must be one of"):
        load_preset(_write(tmp_path, [{"name": "svhn-k4", "dataset": "svhn"}]))
    with pytest.raises(ConfigError, match="'a'.*unknown config key.*'componets'"):
        load_preset(_write(tmp_path, [{"name": "a", "componets": 4}]))


def test_malformed_presets(tmp_path: Path) -> None:
    with pytest.raises(PresetError, match="appears twice"):
        load_preset(_write(tmp_path, [{"name": "a"}, {"name": "a"}]))
    with pytest.raises(PresetError, match="unknown setting"):
        load_preset(_write(tmp_path, [{"name": "a"}], settings={"probe_max": 3}))
    with pytest.raises(PresetError, match="non-empty list"):
        load_preset(_write(tmp_path, []))
    with pytest.raises(PresetError, match="folder name"):
        load_preset(_write(tmp_path, [{"name": "a/b"}]))


def test_exclude_datasets() -> None:
    exp = load_preset("quick", exclude_datasets=["cifar10"])
    assert "cifar10" not in exp.datasets
    assert dataset_pair(exp.runs, "cifar10") == {}
