"""The disentanglement step on tiny dSprites runs (a small rendered subset, one epoch), and what
is built from its files: the table over seeds and the traversal figure."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from data_helpers import with_spec

from mvae import MVAE, Config
from mvae.disentanglement_table import disentanglement_table
from mvae.selections import Selections
from mvae.steps import disentanglement_step
from mvae.train import train
from mvae.traversals import STEPS, traversal_figure, traversals

SMALL = dict(dataset="dsprites", latent_dim=3, hidden_dim=16, hidden_layers=1, epochs=1,
             batch_size=30, device="cpu")


def test_traversals_vary_one_dimension_of_each_components_own_code() -> None:
    torch.manual_seed(0)
    model = MVAE(Config(components=2, **SMALL)).eval()
    image = torch.rand(1, 64, 64)
    got = traversals(model, image, steps=5, span=2.0)
    assert got.shape == (2, 3, 5, 1, 64, 64)
    mu = model.latent_means(image[None])[:, 0]                     # (K, d)
    for k in range(2):
        z = mu[k].repeat(5, 1)
        z[:, 1] = torch.linspace(-2, 2, 5)                          # dimension 2 of component k
        alone = torch.sigmoid(model.decoder.component(z, k)).reshape(5, 1, 64, 64)
        assert torch.allclose(got[k, 1], alone, atol=1e-6)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A K = 2 mixture (two seeds) and a VAE trained for one epoch on 90 rendered images, and
    the step's files for each (in eval/<run>/, as the pipeline lays them out)."""
    root = tmp_path_factory.mktemp("dsprites")
    out = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        with_spec(monkeypatch, "dsprites", split_sizes=(90, 60), array_sha256={})
        for name, changes in {"mix-s0": {"components": 2},
                              "mix-s1": {"components": 2, "seed": 1},
                              "vae": {"components": 1}}.items():
            config = Config(name=name, data_dir=str(root / "data"), **SMALL, **changes)
            train(config, root / "runs" / name, progress=False)
            eval_dir = root / "eval" / name
            eval_dir.mkdir(parents=True)
            disentanglement_step(root / "runs" / name, eval_dir / "disentanglement.json",
                                 eval_dir / "traversals.npz")
            out[name] = eval_dir
    return out


@pytest.mark.slow
def test_the_step_scores_every_code_and_stores_traversals(runs) -> None:
    rec = json.loads((runs["mix-s0"] / "disentanglement.json").read_text())
    assert list(rec["codes"]) == ["C1", "C2", "concatenated"] and rec["n_images"] == 60
    assert rec["factors"] == ["shape", "scale", "orientation", "pos_x", "pos_y"]
    assert "NOT the original file" in rec["source"]
    weights = [rec["codes"][c]["mean_weight"] for c in ("C1", "C2")]
    assert weights == sorted(weights, reverse=True)  # C1 is the most used
    assert sorted(rec["codes"][c]["component"] for c in ("C1", "C2")) == [0, 1]
    concatenated = rec["codes"]["concatenated"]
    assert concatenated["dims"] == 6 and concatenated["dci"]["n_test"] == 30
    for code in rec["codes"].values():
        assert 0 <= code["mig"]["mig"] <= 1 and 0 <= code["dci"]["disentanglement"] <= 1
        assert len(code["mig"]["per_factor"]) == 5
    vae = json.loads((runs["vae"] / "disentanglement.json").read_text())
    assert list(vae["codes"]) == ["VAE"] and len(vae["codes"]["VAE"]["kl_per_dim"]) == 3
    with np.load(runs["mix-s0"] / "traversals.npz") as z:
        assert z["traversals"].shape == (2, 3, STEPS, 1, 64, 64)
        assert z["traversals"].dtype == np.uint8 and z["kl"].shape == (2, 3)
        assert z["seed_factors"].shape == (5,)
        assert np.allclose(z["kl"][0], rec["codes"]["C1"]["kl_per_dim"])


@pytest.mark.slow
def test_the_table_pools_seeds_and_the_figure_draws_every_code(runs, tmp_path) -> None:
    paths = [runs[r] / "disentanglement.json" for r in runs]
    selection = Selections(disentanglement={"mixture": ["mix-s0", "mix-s1"],
                                            "vae_small": ["vae"], "vae_wide": []})
    table, prov = disentanglement_table(paths, selection)
    assert list(table.code) == ["C1", "C2", "concatenated", "VAE"]
    assert list(table.n) == [2, 2, 2, 1] and set(prov["seeds"].values()) == {0, 1}
    recs = [json.loads((runs[r] / "disentanglement.json").read_text())
            for r in ("mix-s0", "mix-s1")]
    migs = [r["codes"]["C2"]["mig"]["mig"] for r in recs]
    row = table[table.code == "C2"].iloc[0]
    assert row.mig_mean == pytest.approx(np.mean(migs))
    assert row.mig_sd == pytest.approx(np.std(migs, ddof=1))
    assert np.isnan(table[table.code == "VAE"].iloc[0].mig_sd)
    assert {"mig_shape", "mig_pos_y", "dci_d_mean", "dci_i_nrmse_sd"} <= set(table.columns)

    figure = traversal_figure([runs[r] / "traversals.npz" for r in ("mix-s0", "vae")],
                              selection)
    assert len([ax for ax in figure.axes if ax.images]) == 3      # C1, C2, the VAE
    assert [ax.get_title() for ax in figure.axes if ax.images] == [
        "M-VAE C1 (mix-s0)", "M-VAE C2 (mix-s0)", "VAE (vae)"]
    figure.savefig(tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"


def test_chapter_14s_reading_quotes_the_table() -> None:
    """The sentence under chapter 14's table: the ranges of MIG and DCI over every code, and
    each component's active dimensions against the VAE of its size, read off the table."""
    import pandas as pd

    from mvae.disentanglement_table import what_it_shows

    def row(setting: str, code: str, dims: int, mig: float, dci: float, active: float) -> dict:
        return {"setting": setting, "code": code, "dims": dims, "n": 3, "mig_mean": mig,
                "dci_d_mean": dci, "active_dims": active}

    table = pd.DataFrame([row("mixture", "C1", 10, 0.05, 0.30, 6.0),
                          row("mixture", "C2", 10, 0.01, 0.05, 2.5),
                          row("mixture", "concatenated", 20, 0.04, 0.42, 8.5),
                          row("vae_small", "VAE", 10, 0.07, 0.24, 8.0)])
    text = what_it_shows(table)
    assert "Over 3 seeds" in text
    assert "MIG from 0.010 to 0.070" in text and "disentanglement from 0.050 to 0.420" in text
    assert "of 10: C1 6, C2 2.5, against 8 for the VAE" in text
    assert what_it_shows(table.iloc[0:0]) == ""


def test_the_page_shows_each_metric_as_mean_and_sd_in_one_cell() -> None:
    """Chapter 14's table keeps a row per table row with a cell per metric: "mean ± sd", or the
    mean alone for a setting with one seed (its sd is not a number)."""
    import math

    import pandas as pd

    from mvae.disentanglement_table import SHOWN, as_shown

    row = {"dims": 10, "active_dims": 6.0, **{f"{m}_mean": 0.1234 for m in SHOWN},
           **{f"{m}_sd": 0.0056 for m in SHOWN}}
    table = pd.DataFrame([{**row, "setting": "mixture", "code": "C1", "n": 3},
                          {**row, "setting": "vae_wide", "code": "VAE", "n": 1,
                           **{f"{m}_sd": math.nan for m in SHOWN}}])
    shown = as_shown(table)
    assert list(shown.model) == ["M-VAE", "VAE"] and list(shown.code) == ["C1", "whole"]
    assert list(shown.MIG) == ["0.123±0.006", "0.123"]  # one token: no wrap
    assert list(shown.columns) == ["model", "code", "d", "seeds", *SHOWN.values(), "active dims"]
