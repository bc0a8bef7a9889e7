"""The verdict layer (mvae.claims) on small hand-made tables: each case a reviewer measured on
the old rule (issue 39), identified by claim id, and the page's limits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from mvae.claims import markdown, verdicts
from mvae.claims.page import seed_spread
from mvae.records import once


def _spread(groups: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"setting": name, "run": f"{name}-s{i}", "seed": i, "K": 1,
                          "sse_per_image": v, "device": "cpu"}
                         for name, values in groups.items() for i, v in enumerate(values)])


SPREAD = _spread({"a": [8.42, 7.75, 8.40], "b": [10.07, 11.03, 10.37], "c": [9.5, 9.7, 9.6]})


def _rows(frame: pd.DataFrame, claim_id: str) -> pd.DataFrame:
    return frame[(frame.claim_id == claim_id) & frame.setting.notna()]


def _point(run: str, k: int, seed: int, sse: float, rate: float, objective: str = "paper",
           weight: float = 1.0, total: float | None = None) -> dict:
    return {"run": run, "K": k, "seed": seed, "kl_weight": weight, "effective_kl_weight": weight,
            "objective": objective, "rate_gauss": rate,
            "rate_total": rate if total is None else total, "sse_per_image": sse}


def _readings(authors: list[tuple[int, list[float]]], vae: list[float]) -> pd.DataFrame:
    rows = []
    for k, sse in authors:
        rows.append({"reading": "authors", "K": k, "n_seeds": len(sse),
                     "sse_mean": float(np.mean(sse)),
                     "sse_sd": float(np.std(sse, ddof=1)) if len(sse) > 1 else math.nan,
                     "vae_n_seeds": len(vae), "vae_sse_mean": float(np.mean(vae)),
                     "vae_sse_sd": float(np.std(vae, ddof=1)), "vae_kl_weight": 1 / k})
    return pd.DataFrame(rows)


def test_a_slope_on_four_points_is_read_with_two_dof() -> None:
    """Case 1: the authors' trend, four runs: z = 2.11 read "fails"; the t test gives p 0.17."""
    rd = pd.DataFrame([_point(f"a{k}", k, 0, sse, 10.0 * k, "authors' settings", 1 / k)
                       for k, sse in ((2, 6.00), (4, 5.59), (8, 6.29), (10, 7.15))])
    frame = verdicts({"rate_distortion": rd, "seed_spread": SPREAD})
    row = _rows(frame, "t1a-trend").iloc[0]
    fit = sps.linregress([2, 4, 8, 10], [6.00, 5.59, 6.29, 7.15])
    assert row.dof == 2 and row.p == pytest.approx(fit.pvalue)
    assert abs(fit.slope / fit.stderr) > 2  # what the old rule called detectable
    assert row.verdict == "no detectable difference"
    assert row.status == "no detectable difference"


def test_probe_differences_take_welchs_test() -> None:
    """Case 2: KNN -0.15 +- 0.065 was "lower" without the spread floor; Welch's p is 0.09."""
    t2 = pd.DataFrame([
        {"classifier": "knn", "features": "mixture", "ours_percent": 95.85,
         "ours_std_percent": 0.09, "n_seeds": 3, "paper_percent": 97.17},
        {"classifier": "knn", "features": "VAE", "ours_percent": 96.00,
         "ours_std_percent": 0.07, "n_seeds": 3, "paper_percent": 96.34}])
    row = _rows(verdicts({"table2_probes": t2}), "t2-concat-vs-vae").iloc[0]
    oracle = sps.ttest_ind_from_stats(95.85, 0.09, 3, 96.00, 0.07, 3, equal_var=False)
    assert row.p == pytest.approx(oracle.pvalue)
    assert row.verdict == "no detectable difference"


def _table1(sse_by_k: dict[int, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"run": f"k{k}-s{i}", "K": k, "sse_per_image": v, "paper_setup": True,
                          "best_component_sse": 1.5 * v, "worst_component_sse": v + 40,
                          "mean_image_sse": 52.9}
                         for k, values in sse_by_k.items() for i, v in enumerate(values)])


@pytest.mark.slow
def test_reached_needs_equivalence_not_the_absence_of_a_difference() -> None:
    """Case 3: K = 7 at 12.65 +- 1.23 against 11.54 (z 1.6) counted as "reached"."""
    t1 = _table1({1: [8.42, 7.75, 8.40], 7: [11.48, 13.92, 12.55]})
    frame = verdicts({"table1_reconstruction": t1, "seed_spread": SPREAD})
    row = _rows(frame, "t1-reached").iloc[0]
    assert row.setting == "K = 7" and row.p_adjusted > 0.05
    assert row.verdict == "undecided" and row.status == "undecided"
    # an equivalent one: within the margin, tightly
    t1 = _table1({1: [8.42, 7.75, 8.40], 7: [11.50, 11.55, 11.60]})
    row = _rows(verdicts({"table1_reconstruction": t1, "seed_spread": SPREAD}),
                "t1-reached").iloc[0]
    assert row.verdict == "equivalent" and row.p_equivalent_adjusted < 0.05


def test_fragility_is_marked_per_comparison_cifar_included() -> None:
    """Case 4: a comparison that the largest setting's sd turns into no detectable difference is
    marked, though the claim's label stays; CIFAR-10 is re-read with the largest relative sd."""
    spread = _spread({"tight": [8.00, 8.01, 8.02], "loose": [9.0, 9.8, 10.6],
                      "mid": [10.0, 10.05, 10.1]})
    t1 = _table1({1: [8.42, 7.75, 8.40], 3: [10.0]})
    frame = verdicts({"table1_reconstruction": t1, "seed_spread": spread})
    row = _rows(frame, "t1-mixture-vs-vae").iloc[0]
    assert row.verdict == "higher" and row.fragile
    assert row.stressed_verdict == "no detectable difference"
    t3 = pd.DataFrame([{"model": m, "run": r, "metric": "per-image SSE, pixels in [0, 1]",
                        "ours": v, "note": ""} for m, r, v in (("M-VAE", "c4", 12.33),
                                                               ("VAE", "c1", 14.58))])
    cifar = _rows(verdicts({"table3_cifar": t3, "seed_spread": spread}),
                  "t3-mixture-vs-vae").iloc[0]
    assert cifar.verdict == "lower" and cifar.fragile


def test_holm_adjusts_within_each_claim() -> None:
    """Case 5: the p values of one claim's comparisons are adjusted as one family."""
    t1 = _table1({1: [8.42, 7.75, 8.40], 2: [9.6, 9.5, 9.8], 3: [9.0], 4: [10.1, 10.9, 10.4]})
    rows = _rows(verdicts({"table1_reconstruction": t1, "seed_spread": SPREAD}),
                 "t1-mixture-vs-vae")
    expected = multipletests(list(rows.p), method="holm")[1]
    assert list(rows.p_adjusted) == pytest.approx(list(expected))
    assert (rows.family_size == 3).all()
    detectable = rows.verdict != "no detectable difference"
    assert (detectable == (rows.p_adjusted < 0.05)).all()


def test_one_objective_written_two_ways_counts_once() -> None:
    """Case 6: kl_weight 1/4 and kl_reduction: mean at K = 4 are one objective."""
    configs = {"klw": {"name": "klw", "components": 4, "kl_weight": 0.25, "seed": 0},
               "klmean": {"name": "klmean", "components": 4, "kl_reduction": "mean", "seed": 0},
               "other": {"name": "other", "components": 4, "kl_weight": 0.25, "seed": 1}}
    kept = once(pd.DataFrame({"run": ["klw", "klmean", "other"]}), configs)
    assert list(kept.run) == ["klw", "other"]
    assert list(kept.same_as) == ["klmean", ""]


def _t2(wide: bool = True) -> pd.DataFrame:
    rows = [("mixture", 95.85, 0.09, 3), ("VAE", 96.00, 0.07, 3), ("C1", 89.0, 1.0, 3),
            ("C2", 80.0, 1.2, 3)] + ([("VAE, K x d wide", 96.36, math.nan, 1)] if wide else [])
    return pd.DataFrame([{"classifier": "knn", "features": f, "ours_percent": m,
                          "ours_std_percent": s, "n_seeds": n,
                          "paper_percent": {"C1": 96.56, "C2": 96.39}.get(f, math.nan)}
                         for f, m, s, n in rows])


def test_the_width_matched_vae_is_a_verdict() -> None:
    """Case 7: the 80-d VAE (one seed) is compared, borrowing the probes' pooled spread."""
    row = _rows(verdicts({"table2_probes": _t2()}), "t2-concat-vs-wide-vae").iloc[0]
    pooled = math.sqrt((2 * 0.09 ** 2 + 2 * 0.07 ** 2) / 4)
    assert row.dof > 0 and row.se == pytest.approx(math.sqrt(0.09 ** 2 / 3 + pooled ** 2),
                                                   rel=1e-6)
    assert row.verdict == "lower"


@pytest.mark.slow
def test_every_explicit_claim_of_the_paper_has_a_verdict() -> None:
    """Case 8: Fig. 2's mixture against its components, Table II's concatenation against every
    component, the conclusion's generated images; the authors' reading names only the K it has;
    each switch is read on the total rate too."""
    t1 = _table1({1: [8.42, 7.75, 8.40], 4: [10.1, 10.9, 10.4]})
    t3 = pd.DataFrame([{"model": m, "run": r, "metric": f"FID, {kind}", "ours": v, "note": ""}
                       for m, r, v in (("M-VAE", "c4", 213.0), ("VAE", "c1", 200.8))
                       for kind in ("prior samples", "reconstructions")])
    readings = _readings([(8, [6.29]), (10, [7.15])], [4.2, 4.1, 4.3])
    rd = pd.DataFrame([_point("v1", 1, 0, 8.2, 19.5), _point("v2", 1, 0, 5.0, 30.0, weight=0.5),
                       _point("sw", 4, 0, 8.43, 25.0, "reconstruction: expected", total=31.0)])
    frame = verdicts({"table1_reconstruction": t1, "table2_probes": _t2(), "table3_cifar": t3,
                      "table1_readings": readings, "rate_distortion": rd,
                      "seed_spread": SPREAD})
    assert _rows(frame, "fig2-mixture-vs-components").verdict.iloc[0] == "lower"
    assert set(_rows(frame, "t2-concat-vs-components").setting) == {"KNN, C1", "KNN, C2"}
    assert _rows(frame, "conclusion-generation").status.iloc[0] == "gap only"
    assert frame[frame.claim_id == "t1a-reached"].claim.iloc[0].endswith("(K = 8, 10)")
    assert len(_rows(frame, "rd-switches-total")) == 1


def test_seed_spread_is_passed_not_carried_by_the_tables() -> None:
    """The spread comes from the seed_spread table alone: Bartlett's test and the pooled sd."""
    spread = seed_spread({"seed_spread": SPREAD})
    groups = [list(g.sse_per_image) for _, g in SPREAD.groupby("setting")]
    assert spread.equal_p == pytest.approx(sps.bartlett(*groups).pvalue)
    assert spread.dof == 6


@pytest.mark.slow
def test_the_page_is_short_and_says_each_caveat_once() -> None:
    t1 = _table1({1: [8.42, 7.75, 8.40], 2: [9.6, 9.5, 9.8], 3: [9.0], 7: [12.0, 12.4, 13.0]})
    page = markdown(verdicts({"table1_reconstruction": t1, "table2_probes": _t2(),
                              "seed_spread": SPREAD}), "test")
    assert len(page.split()) < 1800
    assert max(map(len, page.splitlines())) <= 300
    sentences = [s.strip() for s in page.replace("\n", " ").split(". ") if len(s) > 40]
    assert len(sentences) == len(set(sentences))
    assert "Holm" in page and "vs our VAE" in page


@pytest.mark.slow
def test_the_introductions_findings_quote_the_verdicts_table() -> None:
    """Every number in the intro's "What we found" is the verdicts table's (rebuilt from it)."""
    import re

    from mvae.claims.findings import findings, verdict_counts

    t1 = _table1({1: [8.42, 7.75, 8.40], 2: [9.6, 9.5, 9.8], 3: [9.0], 7: [12.0, 12.4, 13.0]})
    frame = verdicts({"table1_reconstruction": t1, "seed_spread": SPREAD})
    lines = findings(frame)
    vae = _rows(frame, "ours-vae").iloc[0]
    assert f"Our VAE's error is {vae.ours_mean:.2f}, the paper's {vae.ref_mean:.2f}" in lines[0]
    mixtures = _rows(frame, "t1-mixture-vs-vae")
    assert f"of {len(mixtures)} K, by {mixtures.difference.min():+.1f}" in lines[0]
    quoted = set(re.findall(r"[+-]?\d+\.\d+", lines[0]))
    table = {f"{v:.2f}" for v in (vae.ours_mean, vae.ref_mean)} | {
        f"{v:+.1f}" for v in mixtures.difference} | {
        f"{v:+.2f}" for v in _rows(frame, "t1-trend").difference}
    assert quoted <= table
    assert lines[-1] == "**Disentanglement.** Not tested yet."

    counts = verdict_counts(frame)  # chapter 09's takeaway: the claims per verdict, counted
    for paper_claims, sentence in zip((True, False), counts.split(". Of our "), strict=True):
        claims = frame[frame.paper_claim == paper_claims].drop_duplicates("claim_id")
        said = dict((v, int(n)) for n, v in re.findall(r"(\d+) ([a-z. ]+?)(?:,|\.|$)",
                                                       sentence.split(": ", 1)[1]))
        assert sum(said.values()) == len(claims) == int(re.search(r"(\d+) (?:claims|checks)",
                                                                  sentence).group(1))
        assert said.get("fails", 0) == (claims.status == "fails").sum()


def test_chapter_14s_answer_counts_the_disentanglement_comparisons() -> None:
    """Each component and the concatenation against the VAE of its size, on MIG and DCI: the
    chapter's takeaway quotes the claim's verdict and its comparisons counted by verdict."""
    from mvae.claims.findings import disentanglement_finding

    def row(setting: str, code: str, mig: float, dci: float) -> dict:
        return {"setting": setting, "code": code, "n": 3, "mig_mean": mig, "mig_sd": 0.01,
                "dci_d_mean": dci, "dci_d_sd": 0.01}

    table = pd.DataFrame([row("mixture", "C1", 0.10, 0.20), row("mixture", "C2", 0.30, 0.40),
                          row("mixture", "concatenated", 0.05, 0.10),
                          row("vae_small", "VAE", 0.30, 0.40), row("vae_wide", "VAE", 0.05, 0.30)])
    frame = verdicts({"disentanglement": table, "seed_spread": SPREAD})
    rows = _rows(frame, "disentanglement")
    assert len(rows) == 6  # (C1, C2, concatenated) x (MIG, DCI)
    sentence = disentanglement_finding(frame)
    assert f"of {len(rows)} comparisons" in sentence
    assert rows.verdict.value_counts()["lower"] == 3  # C1 twice, the concatenation on DCI
    assert "3 lower" in sentence and sentence.count(" n.d.") == 1
    assert "not tested yet" in disentanglement_finding(verdicts({"seed_spread": SPREAD}))


def test_the_disentanglement_table_has_a_row_per_code_and_enough_decimals() -> None:
    """claims.md's dSprites table: a row per component and one for the concatenation, a column
    per metric; MIG differences of a few hundredths keep three decimals, and so does the rest of
    the claim."""
    from mvae.claims.page import GROUPS, group_table

    def row(setting: str, code: str, mig: float, dci: float) -> dict:
        return {"setting": setting, "code": code, "n": 3, "mig_mean": mig, "mig_sd": 0.004,
                "dci_d_mean": dci, "dci_d_sd": 0.2}

    table = pd.DataFrame([row("mixture", "C1", 0.052, 0.36),
                          row("mixture", "concatenated", 0.046, 0.44),
                          row("vae_small", "VAE", 0.040, 0.24),
                          row("vae_wide", "VAE", 0.072, 0.41)])
    frame = verdicts({"disentanglement": table, "seed_spread": SPREAD})
    claims = dict(GROUPS)[next(t for t in dict(GROUPS) if t.startswith("Disentanglement"))]
    shown = group_table(frame, claims)
    assert list(shown.setting) == ["C1", "concatenated"]
    assert list(shown.columns) == ["setting", "MIG: vs the VAE", "DCI disentanglement: vs the VAE"]
    assert shown.iloc[0, 1].startswith("+0.012±0.00")  # 0.052 - 0.040, not "+0.01"
    assert shown.iloc[1, 1].startswith("-0.026±0.00")
    assert shown.iloc[0, 2].startswith("+0.120±0.")  # the claim's cells read alike


def test_only_a_component_or_the_concatenation_becomes_a_row_of_its_own() -> None:
    """"MIG, C1" is row C1 under a MIG column; "beta = 100, CKA" stays one row (it read as a
    component "CKA" under a column "beta = 100" before)."""
    from mvae.claims.page import group_table

    def comparison(setting: str) -> dict:
        return {"claim_id": "x", "setting": setting, "reference": "r", "verdict": "n.d.",
                "difference": 0.1, "se": 0.2, "p_adjusted": 0.5, "p_equivalent_adjusted": 1.0,
                "ours_mean": 2.0, "ours_sd": 0.1, "ours_n": 3, "ref_mean": 1.9,
                "fragile": False, "stressed_verdict": "n.d."}

    frame = pd.DataFrame([comparison(s) for s in ("MIG, C1", "MIG, concatenated",
                                                  "beta = 100, CKA")])
    shown = group_table(frame, (("x", "vs it"),))
    assert list(shown.setting) == ["C1", "concatenated", "beta = 100, CKA"]
    assert list(shown.columns) == ["setting", "MIG: vs it", "vs it"]
