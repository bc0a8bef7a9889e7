"""Presets: the grids are complete, every entry validates, bad entries and settings are named
before any job runs, the run selections feeding each table pick the right runs of each preset, and
the pipeline retires only run folders that trained with another config, never one in training."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mvae import Config, train
from mvae.config import ConfigError
from mvae.files import RunLockedError, run_lock
from mvae.presets import Experiment, PresetError, available_presets
from mvae.presets import load_preset as _load
from mvae.selections import select
from mvae.steps import _retire_stale_run

PRESETS = Path(__file__).resolve().parents[1] / "pipeline" / "config"


def load_preset(preset: str, **kwargs: object) -> Experiment:
    return _load(preset, PRESETS, **kwargs)


def test_presets_exist() -> None:
    assert {"paper", "quick", "tiny"} <= set(available_presets(PRESETS))


def test_paper_grid_is_the_issue_grid() -> None:
    exp = load_preset("paper")
    runs, sel = exp.runs, select(exp)
    sweep = sel.sweep
    assert sorted(sweep) == list(range(1, 11))
    assert {k: len(v) for k, v in sweep.items() if len(v) > 1} == {1: 3, 2: 3, 4: 3, 7: 3, 8: 3,
                                                                    10: 3}
    for names in sweep.values():
        for n in names:
            c = runs[n]
            assert (c.latent_dim, c.epochs, c.lr, c.beta, c.batch_size, c.kl_weight) == (
                20, 100, 1e-3, 1.0, 128, 1.0)
    assert sorted(runs[n].seed for n in sweep[4]) == [0, 1, 2]
    assert [runs[n].components for n in sel.latent2d] == [4, 1]
    assert sel.ablation == {"with_dhsic": ["mnist-k4-s0", "mnist-k4-s1", "mnist-k4-s2"],
                            "without_dhsic": ["mnist-k4-beta0", "mnist-k4-beta0-s1",
                                              "mnist-k4-beta0-s2"]}
    cifar = sel.cifar
    assert set(cifar) == {"mixture", "vae"}
    for n in cifar.values():
        assert (runs[n].train_subset, runs[n].latent_dim) == (10000, 256)
        assert runs[n].resolved_architecture == "conv"
    assert set(sel.fashion) == {"mixture", "vae"}
    # the claims grid: beta sweep, authors' settings, the wide VAE, binarised runs for the NLL
    assert sel.betas == {0.0: "mnist-k4-beta0", 1.0: "mnist-k4-s0", 100.0: "mnist-k4-beta1e2",
                         1000.0: "mnist-k4-beta1e3", 10000.0: "mnist-k4-beta1e4"}
    assert all(type(beta) is float for beta in sel.betas)  # keyed by the beta itself
    for n in sel.authors:
        c = runs[n]
        assert (c.normalize_alpha, c.dirichlet_prior, c.kl_reduction) == (True, 0.25, "mean")
    assert sorted((runs[n].beta, runs[n].beta_warmup, runs[n].seed) for n in sel.authors
                  if runs[n].components == 4) == [(1.0, 0, 0), (1.0, 0, 1), (1.0, 0, 2),
                                                  (10000.0, 0, 0), (10000.0, 20, 0)]
    # the authors' reading with three seeds a side: their settings and the VAEs at 1/K
    assert {k: len(v) for k, v in sel.authors_sweep.items()} == {2: 3, 4: 3, 8: 3, 10: 3}
    assert all(len(sel.kl_vaes[1 / k]) == 3 for k in sel.authors_sweep)
    # the VAE curve to the authors' rates: three seeds at each of 1/256, 1/512, 1/1024
    assert all(len(sel.kl_vaes[2.0 ** -e]) == 3 for e in (8, 9, 10))
    assert sel.table2["wide_vae"] == ["mnist-k1-d80"]
    assert sel.baselines == {"mnist": "mnist-k4-s0", "fashion_mnist": "fashion-k4"}
    assert sorted(runs[n].components for n in sel.nll) == [1, 4]
    assert all(runs[n].binarize for n in sel.nll)
    # the decisive-claims grid: KL-weight VAEs at 1/K for each K of the authors' sweep, the
    # switches alone at K = 4
    assert sorted(sel.authors_sweep) == [2, 4, 8, 10]
    assert {1 / k for k in sel.authors_sweep} <= set(sel.kl_vaes) | {1.0}
    assert set(sel.switches) == {"normalize_alpha", "dirichlet_prior", "kl_reduction",
                                 "reconstruction"}
    assert exp.datasets == ["mnist", "cifar10", "fashion_mnist", "dsprites"]


@pytest.mark.parametrize("preset", ["quick", "tiny"])
def test_small_presets_cover_every_table(preset: str) -> None:
    exp = load_preset(preset)
    runs, sel = exp.runs, select(exp)
    assert len(sel.sweep) >= 2
    assert any(len(v) >= 2 for v in sel.sweep.values())  # seed error bars
    assert sel.table2["mixture"] and sel.table2["vae"]
    assert len(sel.latent2d) == 2
    assert sel.ablation
    if preset == "tiny":  # the claims grid in miniature, so CI runs every claims rule
        assert len(sel.betas) == 3 and sel.authors and sel.nll and sel.kl_vaes
        assert sel.table2["wide_vae"]
    assert len(sel.cifar) == 2
    assert len(sel.fashion) == 2
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
    assert select(exp).cifar == {}


# --------------------------------------------------------------- settings, and retiring stale runs
# Preset settings are checked before any job runs; the pipeline retires only run folders that
# trained with another config, and never one that is training.

TINY = dict(components=2, latent_dim=4, hidden_dim=32, batch_size=32, device="cpu", epochs=1)


def _preset(tmp_path: Path, **settings: object) -> str:
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump({"defaults": {"epochs": 1}, "grid": [{"name": "a"}],
                                    "settings": settings}))
    return str(path)


BAD_SETTINGS = [
    ("nll_samples", 0, "an integer >= 1"),
    ("nll_samples", "many", "an integer >= 1"),
    ("score_images", True, "an integer >= 1"),
    ("train_threads", 0, "an integer >= 1"),
    ("probe_max_train", -1, "an integer >= 1 (or null: all)"),
    ("probe_max_train", 1.5, "an integer >= 1 (or null: all)"),
    ("diversity_max", 1, "an integer >= 2"),
    ("figure_images", 11, "an integer >= 1 and <= 10"),
    ("probe_classifiers", ["svm"], "a non-empty list of mlp, linear_svm, knn"),
    ("probe_classifiers", [], "a non-empty list"),
    ("probe_classifiers", "knn", "a non-empty list"),
    ("book", "yes", "true or false"),
]


@pytest.mark.parametrize(("key", "value", "rule"), BAD_SETTINGS,
                         ids=[f"{k}={v!r}" for k, v, _ in BAD_SETTINGS])
def test_bad_settings_are_named(tmp_path: Path, key: str, value: object, rule: str) -> None:
    with pytest.raises(PresetError) as err:
        load_preset(_preset(tmp_path, **{key: value}))
    assert f"setting {key} must be {rule}" in str(err.value) and "custom.yaml" in str(err.value)


def test_good_settings_pass(tmp_path: Path) -> None:
    exp = load_preset(_preset(tmp_path, probe_max_train=None, probe_classifiers=["knn"],
                              figure_images=10, diversity_max=2, book=False))
    assert exp.settings["probe_classifiers"] == ["knn"]


def test_a_yaml_error_in_a_preset_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("grid: [\n")
    with pytest.raises(PresetError, match=f"{path} is not valid YAML"):
        load_preset(str(path))


def test_a_key_given_twice_in_a_preset_is_an_error_not_the_last_value(tmp_path: Path) -> None:
    """PyYAML keeps the last of two equal keys without a word; a preset whose run says
    ``epochs`` twice would train with whichever came last."""
    path = tmp_path / "twice.yaml"
    path.write_text("grid:\n  - name: a\n    epochs: 3\n    epochs: 30\n")
    with pytest.raises(PresetError, match="epochs"):
        load_preset(str(path))


def test_a_folder_that_never_trained_is_reused_not_retired(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "a"
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(Config(lr=0.5, **TINY).to_dict()))
    _retire_stale_run(run_dir, Config(**TINY))
    assert run_dir.is_dir() and not (tmp_path / "runs" / ".replaced").exists()


def test_a_folder_trained_with_another_config_is_retired(tmp_path: Path, blobs, capsys) -> None:
    run_dir = tmp_path / "runs" / "a"
    train(Config(lr=1e-2, **TINY), run_dir, progress=False, datasets=blobs)
    _retire_stale_run(run_dir, Config(**TINY))
    assert not run_dir.exists()
    (aside,) = (tmp_path / "runs" / ".replaced").iterdir()
    assert (aside / "checkpoint.pt").exists() and "lr: 0.01 there, 0.001 now" in capsys.readouterr(
        ).out


def test_a_folder_in_training_is_not_moved(tmp_path: Path, blobs) -> None:
    run_dir = tmp_path / "runs" / "a"
    train(Config(lr=1e-2, **TINY), run_dir, progress=False, datasets=blobs)
    with run_lock(run_dir), pytest.raises(RunLockedError):
        _retire_stale_run(run_dir, Config(**TINY))
    assert (run_dir / "checkpoint.pt").exists()
