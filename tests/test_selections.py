"""Run selections are whitelists: a run joins a paper table only if every key it changes is one
that the table varies, so a run with a key no selection knows leaves every paper table."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mvae.config import Config
from mvae.presets import Experiment, load_preset
from mvae.selections import Selections, SelectionsError, changed_keys, in_setup, select

PRESETS = Path(__file__).resolve().parents[1] / "pipeline" / "config"

#: A valid value other than the paper preset's default, for every Config key that is not an
#: identity key (name, components, seed): each one changes what a run is.
OTHER_VALUES = {
    "dataset": "fashion_mnist", "latent_dim": 21, "architecture": "conv", "hidden_dim": 499,
    "hidden_layers": 3, "conv_channels": [1, 2, 3, 4, 5], "likelihood": "gaussian",
    "gaussian_std": 0.2, "beta": 2.0, "beta_warmup": 5, "dhsic_estimator": "authors",
    "dirichlet_prior": 0.5,
    "normalize_alpha": True, "kl_reduction": "mean", "kl_weight": 0.5,
    "reconstruction": "expected", "weight_sampler": "gamma", "binarize": True, "lr": 2e-3,
    "epochs": 99, "batch_size": 64, "device": "cpu", "precision": "bf16-emulated",
    "train_subset": 1000, "test_subset": 1000, "data_dir": "elsewhere",
    "cifar10_path": "elsewhere",
}

#: The selections that are the paper's own setup (Tables I, II, Figs. 1, 2, 4, baselines).
PAPER_TABLES = ("sweep", "table2", "figures", "baselines")


def _paper_runs(selections: object) -> set[str]:
    out: set[str] = set()
    for name in PAPER_TABLES:
        value = getattr(selections, name)
        for item in value.values():
            out.update([item] if isinstance(item, str) else item)
    return out


def test_every_config_key_is_covered() -> None:
    keys = set(Config.model_fields) - {"name", "components", "seed"}
    assert keys == set(OTHER_VALUES), "a new Config key needs a value here"


@pytest.mark.parametrize("key", sorted(OTHER_VALUES))
def test_a_run_that_changes_any_key_leaves_the_paper_tables(key: str) -> None:
    exp = load_preset("paper", PRESETS)
    changed = exp.runs["mnist-k4-s0"].to_dict() | {key: OTHER_VALUES[key], "name": "probe-run"}
    if key == "binarize":  # only valid with Bernoulli pixels: it is, on MNIST
        changed["likelihood"] = "auto"
    trial = Config.model_construct(**changed)  # unvalidated: some changes need others
    exp.runs = {**exp.runs, "probe-run": trial}
    assert "probe-run" not in _paper_runs(select(exp))


def test_a_made_up_key_leaves_every_paper_table() -> None:
    """A Config with a key that no selection knows (a future objective switch): the run that
    sets it joins no paper table, while the same run without it does."""

    class Future(Config):
        made_up_weight: float = 1.0

    exp = load_preset("paper", PRESETS)
    runs = {n: Future(**c.to_dict()) for n, c in exp.runs.items()}
    runs["future-k4"] = Future(**{**exp.runs["mnist-k4-s0"].to_dict(), "name": "future-k4",
                                  "made_up_weight": 0.5})
    runs["plain-k4"] = Future(**{**exp.runs["mnist-k4-s0"].to_dict(), "name": "plain-k4",
                                 "seed": 7})
    grid = Experiment(preset="paper", path=exp.path, runs=runs, settings=exp.settings,
                      reference=Future(**exp.reference.to_dict()))
    selections = select(grid)
    assert "plain-k4" in selections.sweep[4]
    everything = {f.name: getattr(selections, f.name) for f in dataclasses.fields(selections)}
    for name, value in everything.items():
        if name in ("runs", "diverse", "table2_k"):  # every run; runs with K > 1; a number
            continue
        members = value.values() if isinstance(value, dict) else [value]
        flat = {r for m in members for r in ([m] if isinstance(m, str) else m)}
        assert "future-k4" not in flat, name


def test_changed_keys_ignore_identity() -> None:
    a = Config(name="a", components=2, seed=3)
    b = Config(name="b", components=7, seed=0, beta=0.0)
    assert changed_keys(a, b) == {"beta"}
    assert in_setup(a, b, varies={"beta"}) and not in_setup(a, b)


def test_the_evaluation_plan_follows_the_selections() -> None:
    sel = select(load_preset("tiny", PRESETS))
    assert sel.evaluations("mnist-k1-s0") == ["reconstruction.json", "examples.npz",
                                              "probes.json"]
    assert "diversity.json" in sel.evaluations("mnist-k2-s0")
    assert "latents_2d.npz" in sel.evaluations("mnist2d-k1")
    assert "scores.json" in sel.evaluations("cifar10-k1")
    assert "nll.json" in sel.evaluations("mnistbin-k2")


def test_the_capacity_trio_is_chosen_by_what_the_runs_are() -> None:
    """CIFAR-10 at the authors' widths: the mixture, its VAE and the VAE grown to the mixture's
    size; Table III keeps its half-width pair, and a VAE that changes anything else (here the
    learning rate) is no control for capacity."""
    from mvae.claims.other import SAME_SIZE
    from mvae.model import parameter_count

    exp = load_preset("paper", PRESETS)
    sel = select(exp)
    assert sel.cifar_capacity == {"mixture": "cifar10-k4-full", "vae": "cifar10-k1-full",
                                  "large_vae": "cifar10-k1-full-large"}
    assert sel.cifar == {"mixture": "cifar10-k4", "vae": "cifar10-k1"}
    mix, large = (exp.runs[sel.cifar_capacity[r]] for r in ("mixture", "large_vae"))
    assert abs(parameter_count(large) / parameter_count(mix) - 1) < SAME_SIZE
    odd = Config(**{**large.to_dict(), "name": "odd", "lr": 2e-3})
    exp.runs = {**{n: c for n, c in exp.runs.items() if n != large.name}, "odd": odd}
    assert set(select(exp).cifar_capacity) == {"mixture", "vae"}


def test_seed_groups_pool_only_repeats_of_one_mnist_setting() -> None:
    """A seed group is one MNIST setting (any objective key) over its distinct seeds: a repeat of
    a seed, a setting with one seed, and other datasets or latent sizes stay out."""
    exp = load_preset("paper", PRESETS)
    base = exp.runs["mnist-k4-s0"]
    extra = {
        "kw-s0": base.replace(name="kw-s0", kl_weight=0.5),
        "kw-s1": base.replace(name="kw-s1", kl_weight=0.5, seed=1),
        "kw-again": base.replace(name="kw-again", kl_weight=0.5),  # seed 0 again
        "kw-lone": base.replace(name="kw-lone", kl_weight=0.75),
        "d2-s0": base.replace(name="d2-s0", latent_dim=2),
        "d2-s1": base.replace(name="d2-s1", latent_dim=2, seed=1),
    }
    exp.runs = {**exp.runs, **extra}
    groups = select(exp).seed_groups
    assert groups["kw-s0"] == ["kw-s0", "kw-s1"]
    assert groups["mnist-k4-s0"] == ["mnist-k4-s0", "mnist-k4-s1", "mnist-k4-s2"]
    members = {run for runs in groups.values() for run in runs}
    assert not members & {"kw-again", "kw-lone", "d2-s0", "d2-s1"}
    assert all(exp.runs[run].dataset == "mnist" for run in members)


def test_the_dhsic_estimators_are_compared_by_what_the_runs_are() -> None:
    """The authors' estimator at K = 4 and beta 1 and 100 beside the median one at the same
    betas, and the beta = 0 arm (no estimator in the loss) under both; runs at other betas of
    the median estimator, at another K or changing another key stay out."""
    exp = load_preset("paper", PRESETS)
    beta0 = ["mnist-k4-beta0", "mnist-k4-beta0-s1", "mnist-k4-beta0-s2"]
    authors = {float(b): [f"mnist-k4-hsicauth-beta{b}-s{s}" for s in range(3)] for b in (1, 100)}
    assert select(exp).dhsic_estimators == {
        "median": {0.0: beta0, 1.0: ["mnist-k4-s0", "mnist-k4-s1", "mnist-k4-s2"],
                   100.0: ["mnist-k4-beta1e2"]},
        "authors": {0.0: beta0, **authors}}
    base = exp.runs["mnist-k4-hsicauth-beta1-s0"]
    extra = {
        "other-k": base.replace(name="other-k", components=3),
        "other-lr": base.replace(name="other-lr", lr=2e-3),
        "warmup": base.replace(name="warmup", beta_warmup=5),
    }
    exp.runs = {**exp.runs, **extra}
    chosen = {run for betas in select(exp).dhsic_estimators.values()
              for runs in betas.values() for run in runs}
    assert not chosen & set(extra)
    assert "mnist-k4-beta1e3" not in chosen and "mnist-k4-hsicauth-beta1-s0" in chosen
    exp.runs = {n: c for n, c in exp.runs.items() if c.dhsic_estimator == "median"}
    assert select(exp).dhsic_estimators == {}


def test_the_disentanglement_trio_is_chosen_by_what_the_runs_are() -> None:
    """dSprites: every seed of the first mixture's setting, the VAEs that differ from it in K
    alone (one component's latent size) and those whose latent size is the concatenation's;
    a run that changes anything else (the learning rate, another latent size, another K) stays
    out, and no dSprites run enters a paper table."""
    exp = load_preset("paper", PRESETS)
    assert select(exp).disentanglement == {
        role: [f"dsprites-{kind}-s{seed}" for seed in range(3)]
        for role, kind in (("mixture", "k4"), ("vae_small", "k1"), ("vae_wide", "k1-d40"))}
    base = Config(name="dsp-k4-s0", dataset="dsprites", components=4, latent_dim=10,
                  hidden_dim=64, epochs=1)
    changes: dict[str, dict] = {
        "dsp-k4-s0": {}, "dsp-k4-s1": {"seed": 1}, "dsp-k1-s0": {"components": 1},
        "dsp-k1-d40-s0": {"components": 1, "latent_dim": 40},
        "dsp-k1-d20": {"components": 1, "latent_dim": 20}, "dsp-k4-lr": {"lr": 2e-3},
        "dsp-k1-lr": {"components": 1, "lr": 2e-3}, "dsp-k2": {"components": 2}}
    extra = {n: base.replace(name=n, **kw) for n, kw in changes.items()}
    exp.runs = {**{n: c for n, c in exp.runs.items() if c.dataset != "dsprites"}, **extra}
    sel = select(exp)
    assert sel.disentanglement == {"mixture": ["dsp-k4-s0", "dsp-k4-s1"],
                                   "vae_small": ["dsp-k1-s0"], "vae_wide": ["dsp-k1-d40-s0"]}
    assert sel.evaluations("dsp-k1-d40-s0")[-2:] == ["disentanglement.json", "traversals.npz"]
    assert "disentanglement.json" not in sel.evaluations("dsp-k1-d20")
    assert "disentanglement.json" not in sel.evaluations("mnist-k4-s0")
    assert not _paper_runs(sel) & set(extra)
    exp.runs = {n: c for n, c in exp.runs.items() if c.components == 1 or n not in extra}
    assert select(exp).disentanglement == {}


# --------------------------------------------------------------------------- selections.json
def test_selections_json_reads_back_as_the_selections_with_their_key_types(tmp_path) -> None:
    """Oracle: the selections computed in memory. JSON makes every key text; read back, K keys
    are ints and KL weights and betas floats again, so a builder indexes them as computed."""
    sel = select(load_preset("paper", PRESETS))
    path = tmp_path / "selections.json"
    sel.write(path)
    raw = json.loads(path.read_text())
    assert set(raw["sweep"]) == {str(k) for k in sel.sweep}  # text in the file
    back = Selections.read(path)
    assert back == sel
    assert all(type(k) is int for k in (*back.sweep, *back.authors_sweep))
    assert all(type(w) is float for w in (*back.kl_vaes, *back.betas))
    assert back.kl_vaes[1 / 256] == sel.kl_vaes[1 / 256]  # 0.00390625: no digit lost
    assert back.sweep[back.table2_k] == sel.table2["mixture"]
    assert back.evaluations("mnist-k4-s0") == sel.evaluations("mnist-k4-s0")


@pytest.mark.parametrize(("data", "message"), [
    ({"sweeps": {}}, "sweeps: Unexpected keyword argument"),
    ({"sweep": {"four": ["a"]}}, "sweep.four.[key]: Input should be a valid integer"),
    ({"kl_vaes": {"0.5": "vae-half"}}, "kl_vaes.0.5: Input should be a valid array (got "
                                       "'vae-half')"),
    ({"table2_k": True}, "table2_k: Input should be a valid integer (got True)"),
    ({"runs": [1, 2]}, "runs.0: Input should be a valid string (got 1); and 1 more"),
    (["runs"], "the record: Input should be an object"),
])
def test_a_record_of_another_shape_is_one_line_naming_the_key(data, message, tmp_path) -> None:
    path = tmp_path / "selections.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SelectionsError) as err:
        Selections.read(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    assert "\n" not in str(err.value)
    path.write_text("{not json")
    with pytest.raises(SelectionsError, match="cannot read the selections"):
        Selections.read(path)
