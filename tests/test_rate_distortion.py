"""Rate against distortion: every run's rate from its test losses, the VAE curve through its KL
weights, each mixture against the curve at its own rate, and Table I under both readings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from mvae import figures, tables
from mvae.config import Config


def _run(root: Path, name: str, sse: float, kl_gauss: float, kl_dir: float = 0.0,
         **config: object) -> list[Path]:
    c = Config(name=name, **config).to_dict()
    rec = {"config": c, "n_test": 10, "source": "synthetic",
           "mixture": {"sse_per_image": sse, "mse_per_pixel": sse / 784, "rmse": 0.1},
           "components": [{"sse_per_image": sse}] * c["components"],
           "modes": {"sampled": {"mixture": {"sse_per_image": sse + 1}}}}
    done = {"run": name, "final": {"test": {"loss": 0.0, "reconstruction": 80.0 + sse,
                                            "kl_gauss": kl_gauss, "kl_dirichlet": kl_dir,
                                            "dhsic": 0.0}}}
    (root / "eval" / name).mkdir(parents=True)
    (root / "runs" / name).mkdir(parents=True)
    (root / "eval" / name / "reconstruction.json").write_text(json.dumps(rec))
    (root / "runs" / name / "done.json").write_text(json.dumps(done))
    return [root / "eval" / name / "reconstruction.json", root / "runs" / name / "done.json"]


@pytest.fixture
def grid(tmp_path: Path) -> tuple[list[Path], dict]:
    paths = []
    paths += _run(tmp_path, "vae-s0", 8.0, 20.0, components=1, seed=0)
    paths += _run(tmp_path, "vae-s1", 8.4, 20.0, components=1, seed=1)
    paths += _run(tmp_path, "vae-half", 6.0, 30.0, components=1, kl_weight=0.5)
    paths += _run(tmp_path, "vae-quarter", 4.0, 40.0, components=1, kl_weight=0.25)
    # averaged KLs: the reported kl_gauss is the mean over K = 4, the rate is 4 x 9 = 36 nats
    paths += _run(tmp_path, "authors-k4", 5.5, 9.0, 6.0, components=4, normalize_alpha=True,
                  dirichlet_prior=0.25, kl_reduction="mean")
    paths += _run(tmp_path, "mix-k4", 10.0, 16.0, 6.0, components=4)
    paths += _run(tmp_path, "mix-k2", 9.0, 25.0, 3.0, components=2)
    paths += _run(tmp_path, "eq8-k4", 6.2, 30.0, 9.0, components=4, reconstruction="expected")
    selection = {"rate_distortion": ["vae-s0", "vae-s1", "vae-half", "vae-quarter",
                                      "authors-k4", "mix-k4", "mix-k2", "eq8-k4"],
                 "sweep": {1: ["vae-s0", "vae-s1"], 2: ["mix-k2"], 4: ["mix-k4"]},
                 "authors_sweep": {4: ["authors-k4"]},
                 "kl_vaes": {0.5: ["vae-half"], 0.25: ["vae-quarter"]},
                 "switches": {}, "table2": {"mixture": ["mix-k4"]}, "table2_k": 4,
                 "seed_groups": {"vae-s0": ["vae-s0", "vae-s1"]}}
    return paths, selection


def test_each_run_sits_against_the_vae_curve_at_its_own_rate(grid) -> None:
    paths, selection = grid
    frame, prov = tables.rate_distortion(paths, selection)
    rows = frame.set_index("run")
    assert rows.loc["authors-k4", "rate_gauss"] == 36.0  # the mean undone: 4 x 9
    assert rows.loc["authors-k4", "effective_kl_weight"] == 0.25
    assert rows.loc["authors-k4", "objective"] == "authors' settings"
    assert rows.loc["eq8-k4", "objective"] == "reconstruction: expected"
    # the curve: (20, 8.2) seeds averaged, (30, 6.0), (40, 4.0); at 36 it reads 4.8
    assert rows.loc["authors-k4", "vae_sse_at_rate"] == pytest.approx(4.8)
    assert rows.loc["authors-k4", "difference"] == pytest.approx(0.7)
    assert rows.loc["mix-k2", "vae_sse_at_rate"] == pytest.approx(8.2 + (6.0 - 8.2) * 0.5)
    assert math.isnan(rows.loc["mix-k4", "vae_sse_at_rate"])  # 16 nats: below the curve's range
    assert rows.loc["mix-k4", "rate_total"] == 22.0
    # the seed spread lent to one-seed sides: the one setting with seeds, its two runs
    assert rows.loc["mix-k2", "seed_sd"] == pytest.approx(0.4 / math.sqrt(2))
    assert (rows.loc["mix-k2", "seed_sd_settings"], rows.loc["mix-k2", "seed_sd_runs"]) == (1, 2)
    # the unweighted ELBO: reconstruction + summed Gaussian KL + Dirichlet KL
    assert rows.loc["authors-k4", "neg_elbo"] == pytest.approx(85.5 + 36 + 6)
    assert set(prov["configs"]) == set(rows.index)


def test_table1_under_both_readings_pairs_each_k_with_the_matched_vae(grid) -> None:
    paths, selection = grid
    frame, _ = tables.table1_readings(paths, selection)
    rows = {(r.reading, r.K): r for r in frame.itertuples()}
    assert set(rows) == {("paper", 2), ("paper", 4), ("authors", 4)}
    authors = rows["authors", 4]
    assert (authors.vae_kl_weight, authors.vae_runs) == (0.25, "vae-quarter")
    assert authors.difference == pytest.approx(5.5 - 4.0)
    paper = rows["paper", 4]
    assert paper.vae_n_seeds == 2 and paper.vae_sse_mean == pytest.approx(8.2)
    assert paper.difference == pytest.approx(10.0 - 8.2)


def test_the_figure_draws_the_curve_and_every_run(grid, tmp_path: Path) -> None:
    paths, selection = grid
    frame, _ = tables.rate_distortion(paths, selection)
    csv = tmp_path / "rate_distortion.csv"
    frame.to_csv(csv, index=False)
    fig = figures.rate_distortion_figure([csv], {})
    left = fig.axes[0]
    line = left.get_lines()[0]
    assert list(line.get_xdata()) == [20.0, 30.0, 40.0]
    from matplotlib.collections import LineCollection, PathCollection

    plotted = sum(len(c.get_offsets()) for c in left.collections
                  if isinstance(c, PathCollection))
    assert plotted == 4  # the four runs off the VAE curve
    # the curve's error bars: its points' SEs (seed sd / sqrt 2 at KL weight 1, two seeds; the
    # lent spread, that sd, at the one-seed points)
    bars = next(c for c in left.collections if isinstance(c, LineCollection))
    spread = 0.4 / math.sqrt(2)
    lengths = sorted(float(abs(seg[1][1] - seg[0][1])) / 2 for seg in bars.get_segments())
    assert lengths == pytest.approx(sorted([spread / math.sqrt(2), spread, spread]))


def test_the_verdict_reads_each_mixture_against_the_curve_at_its_rate(grid) -> None:
    from mvae import verdicts

    paths, selection = grid
    frame, _ = tables.rate_distortion(paths, selection)
    found = {v.claim: v for v in verdicts.rate_distortion(frame)}
    gauss = found["a mixture beats a VAE of the same rate (paper's objective; rate: Gaussian KL)"]
    # mix-k2 at 25 nats: 9.0 against 7.1 on the curve, ~5.7 SE above; mix-k4 is off the curve
    assert gauss.status == verdicts.FAILS and "K = 2 (1 seed) at 25.0 nats" in gauss.evidence
    # below the curve's lowest rate and worse than its end: a VAE spending more does better,
    # which decides nothing
    assert "undecided: mix-k4 (below them, not better than the curve's end)" in gauss.evidence
    # a switch alone is its own line, not pooled with the paper's objective: eq8-k4 at 30 nats,
    # 6.2 against the curve's 6.0, inside the noise
    alone = found["a mixture beats a VAE of the same rate (reconstruction: expected alone; "
                  "rate: Gaussian KL)"]
    assert alone.status == verdicts.NO_DIFFERENCE and "eq8-k4" not in gauss.evidence
    better = frame.assign(sse_per_image=frame.sse_per_image.where(frame.K == 1, 4.5))
    better_gauss = {v.claim: v for v in verdicts.rate_distortion(
        better.assign(difference=better.sse_per_image - better.vae_sse_at_rate))}
    assert better_gauss[gauss.claim].status == verdicts.HOLDS


def test_the_seed_spread_is_the_residual_sd_of_a_fit_per_setting(tmp_path: Path) -> None:
    """Oracle: the residual standard deviation of least squares on one indicator per setting
    (numpy's lstsq), over the archived runs of the settings with two or more seeds."""
    import numpy as np

    sse = {"a-s0": 8.0, "a-s1": 8.4, "a-s2": 7.1, "b-s0": 9.5, "b-s1": 9.2, "c-s0": 3.0}
    paths = [p for run, x in sse.items() for p in _run(tmp_path, run, x, 20.0)]
    selection = {"seed_groups": {"a-s0": ["a-s0", "a-s1", "a-s2"],
                                 "b-s0": ["b-s0", "b-s1", "b-missing"],  # one not archived
                                 "c-s0": ["c-s0", "c-missing"]}}  # one archived: no spread
    columns, recs = tables.seed_spread(tables._read(paths, "reconstruction"), selection)
    groups = [["a-s0", "a-s1", "a-s2"], ["b-s0", "b-s1"]]
    y = np.array([sse[r] for g in groups for r in g])
    x = np.array([[float(r in g) for g in groups] for g2 in groups for r in g2])
    _, residual, _, _ = np.linalg.lstsq(x, y, rcond=None)
    assert columns["seed_sd"] == pytest.approx(math.sqrt(residual[0] / (len(y) - len(groups))))
    assert (columns["seed_sd_settings"], columns["seed_sd_runs"]) == (2, 5)
    own = sorted(float(np.std([sse[r] for r in g], ddof=1)) for g in groups)
    assert (columns["seed_sd_low"], columns["seed_sd_high"]) == pytest.approx(tuple(own))
    # Bartlett's statistic by hand (an independent route to scipy's): chi-square on k - 1 dof
    from scipy.stats import chi2

    n = np.array([len(g) for g in groups])
    var = np.array([np.var([sse[r] for r in g], ddof=1) for g in groups])
    pooled = float(((n - 1) * var).sum() / (n - 1).sum())
    stat = ((n - 1).sum() * math.log(pooled) - ((n - 1) * np.log(var)).sum()) / (
        1 + (np.sum(1 / (n - 1)) - 1 / (n - 1).sum()) / (3 * (len(groups) - 1)))
    assert columns["seed_sd_equal_p"] == pytest.approx(float(chi2.sf(stat, len(groups) - 1)))
    assert set(recs) == {"a-s0", "a-s1", "a-s2", "b-s0", "b-s1"}


def test_the_switches_table_counts_how_the_seeds_use_their_components() -> None:
    assert tables._usage(["mixture"]) == "mixture"
    assert tables._usage(["mixture"] * 3) == "mixture (3 of 3)"
    assert tables._usage(["mixture", "blend", "mixture"]) == "mixture (2 of 3), blend (1 of 3)"


def test_the_curve_reading_carries_the_standard_error_of_its_points() -> None:
    """Oracle: the curve read at a rate is linear in its points (numpy's interp of each unit
    vector gives the weights), so its variance is the weighted sum of the points' variances."""
    import numpy as np
    import pandas as pd

    curve = pd.DataFrame({"rate_gauss": [10.0, 20.0, 35.0], "sse_per_image": [12.0, 8.0, 5.0],
                          "n_seeds": [1, 3, 1], "sse_per_image_sd": [np.nan, 0.6, np.nan]})
    spread = 0.5  # the three seeds' own sd, 0.6, is above it: theirs stands
    variances = np.array([spread ** 2, 0.6 ** 2 / 3, spread ** 2])
    for rate in (10.0, 14.0, 20.0, 31.0, 35.0):
        weights = np.array([np.interp(rate, curve.rate_gauss, np.eye(3)[j]) for j in range(3)])
        value, se = tables.on_curve(curve, rate, spread)
        assert value == pytest.approx(float(weights @ curve.sse_per_image))
        assert se == pytest.approx(math.sqrt(float(weights ** 2 @ variances)))
    assert all(math.isnan(v) for v in tables.on_curve(curve, 40.0, spread))  # no extrapolation
    # a spread above the seeds' own sd is the least sd a point is given
    assert tables.curve_se(curve, 0.9)[1] == pytest.approx(0.9 / math.sqrt(3))


def test_the_verdict_averages_a_settings_seeds(grid, tmp_path: Path) -> None:
    """Two seeds of one mixture make one line with both seeds behind it, their mean difference
    from the curve and its standard error from their spread (not the lent one)."""
    from mvae import verdicts

    paths, selection = grid
    paths += _run(tmp_path, "mix-k2-s1", 9.4, 25.0, 3.0, components=2, seed=1)
    selection["rate_distortion"].append("mix-k2-s1")
    frame, _ = tables.rate_distortion(paths, selection)
    found = {v.claim: v for v in verdicts.rate_distortion(frame)}
    gauss = found["a mixture beats a VAE of the same rate (paper's objective; rate: Gaussian KL)"]
    assert "K = 2 (2 seeds) at 25.0 nats: 9.20 against the curve's 7.10" in gauss.evidence
    # the two seeds differ by 0.4 (sd 0.28, SE 0.2) and the curve reads with SE 0.17
    curve_se = frame.set_index("run").loc["mix-k2", "vae_sse_at_rate_se"]
    expected = math.sqrt(0.4 ** 2 / 2 / 2 + curve_se ** 2)
    assert f"difference +2.10 ± {expected:.2f} (1 SE)" in gauss.evidence
    assert gauss.evidence.count("K = 2") == 1


def test_beyond_the_curve_only_a_dominated_or_dominating_mixture_is_judged(grid, tmp_path: Path):
    """Above the curve's highest rate, a mixture worse than that end is worse than a VAE at its
    rate (more rate never raising a VAE's error); one no worse is undecided. Below the lowest
    rate, one better than that end is better."""
    from mvae import verdicts

    paths, selection = grid
    for name, sse, rate, k in (("dominated", 6.0, 50.0, 4), ("close", 4.1, 50.0, 2),
                               ("dominating", 7.0, 15.0, 4)):
        paths += _run(tmp_path, name, sse, rate / k, 1.0, components=k, normalize_alpha=True,
                      dirichlet_prior=0.25, kl_reduction="mean", seed=len(name))
        selection["rate_distortion"].append(name)
    frame, _ = tables.rate_distortion(paths, selection)
    frame.to_csv(tmp_path / "rd.csv", index=False)
    frame = pd.read_csv(tmp_path / "rd.csv")  # as the verdicts read it: from the CSV
    rows = frame.set_index("run")
    assert tuple(rows.loc["dominated", ["curve_end", "vae_sse_at_end"]]) == ("above", 4.0)
    assert rows.loc["dominated", "vae_sse_at_end_se"] == pytest.approx(0.4 / math.sqrt(2))
    assert tuple(rows.loc["dominating", ["curve_end", "vae_sse_at_end"]]) == ("below", 8.2)
    assert rows.loc["authors-k4", "curve_end"] == "within"  # on the curve
    gauss = {v.claim: v for v in verdicts.rate_distortion(frame)}[
        "a mixture beats a VAE of the same rate (authors' settings; rate: Gaussian KL)"]
    # dominated: 6.0 against the end's 4.0, SE sqrt(0.28² + 0.28²) = 0.4: worse, and counted
    assert ("K = 4 (1 seed) at 50.0 nats: 6.00 against 4.00 ± 0.28 at the curve's highest "
            "rate, a VAE spending less, difference +2.00 ± 0.40") in gauss.evidence
    assert "K = 4 (1 seed) at 15.0 nats: 7.00 against 8.20 ± 0.20 at the curve's lowest rate, " \
        "a VAE spending more" in gauss.evidence  # dominating, counted as better
    assert "undecided: close (above them, not worse than the curve's end)" in gauss.evidence
    assert "K = 4 (1 seed) at 36.0 nats: 5.50 against the curve's 4.80" in gauss.evidence
    assert gauss.status == verdicts.MIXED  # one worse, one better


def test_the_verdict_reads_the_curve_with_the_spread_the_table_lends(grid) -> None:
    """The curve's standard error is recomputed from the table's VAE rows with the spread the
    table carries, so a verdict re-read with a larger spread (the fragile reading) widens the
    curve's error bar as well as the mixture's. authors-k4 sits at 36 nats, between one-seed
    points at 30 and 40 (weights 0.4 and 0.6): the curve's SE is sqrt(0.4² + 0.6²) x spread."""
    from mvae import verdicts

    paths, selection = grid
    frame, _ = tables.rate_distortion(paths, selection)
    claim = "a mixture beats a VAE of the same rate (authors' settings; rate: Gaussian KL)"
    for spread in (frame.seed_sd.iloc[0], 2.0):
        found = {v.claim: v for v in verdicts.rate_distortion(frame.assign(seed_sd=spread))}
        se = math.hypot(0.4, 0.6) * spread
        assert f"against the curve's 4.80 ± {se:.2f}" in found[claim].evidence
    # at the pooled spread the re-read curve is the table's own column
    again = tables.with_curve(frame, frame.seed_sd.iloc[0])
    pd.testing.assert_frame_equal(again, frame)
