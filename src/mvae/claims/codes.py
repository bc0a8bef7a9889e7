"""Table II, Fig. 3 and Fig. 4: what the codes are good for (classifiers trained on them, the
2-D latent spaces, KNN accuracy against K), and our check of the codes against features that
need no training."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mvae.claims.verdict import Claim, Comparison, Context
from mvae.paper_numbers import PAPER_TABLE2
from mvae.stats import Estimate, Spread, Test, difference, slope

#: Within this many accuracy points of the paper's, a component's code "matches" it.
POINTS_MARGIN = 2.0
NAMES = {"mlp": "MLP", "linear_svm": "linear SVM", "knn": "KNN"}


def _probe_spread(t2: pd.DataFrame, clf: str) -> Spread:
    """The pooled seed sd of one classifier's accuracy over the settings with several seeds
    (the mixture's concatenation and the VAE), lent to a setting with one seed."""
    rows = t2[(t2.classifier == clf) & t2.features.isin(["mixture", "VAE"]) & (t2.n_seeds > 1)]
    return Spread.from_summaries(list(rows.ours_std_percent), list(rows.n_seeds))


def _samples(t2: pd.DataFrame, clf: str, ctx: Context) -> dict[str, Estimate]:
    spread = ctx.lend(_probe_spread(t2, clf))
    out = {}
    for r in t2[t2.classifier == clf].itertuples():
        out[r.features] = (Estimate.exact(r.ours_percent) if r.features.startswith("baseline:")
                           else Estimate.summary(r.ours_percent, r.ours_std_percent,
                                                 int(r.n_seeds), spread))
    return out


def _versus(t2: pd.DataFrame, ctx: Context, ours: str, others: list[str]
            ) -> tuple[Comparison, ...]:
    out = []
    for clf in dict.fromkeys(t2.classifier):
        samples = _samples(t2, clf, ctx)
        for other in others:
            if ours in samples and other in samples:
                name = NAMES.get(clf, clf)
                out.append(Comparison(name if len(others) == 1 else f"{name}, {other}",
                                      samples[ours],
                                      other.removeprefix("baseline: "), samples[other],
                                      difference(samples[ours], samples[other])))
    return tuple(out)


def table2(ctx: Context) -> list[Claim]:
    t2 = ctx.table("table2_probes")
    if t2 is None or t2.empty:
        return [Claim("t2-concat-vs-vae", "Table II", "the mixture's concatenated codes beat "
                      "the VAE's", "", "higher", needs="the Table II runs")]
    components = sorted(f for f in set(t2.features) if f[:1] == "C" and f[1:].isdigit())
    paper = ", ".join(f"{NAMES[c]} {v['mixture'] - v['VAE']:+.1f}" for c, v in PAPER_TABLE2.items())
    matched = []
    for clf in dict.fromkeys(t2.classifier):
        samples = _samples(t2, clf, ctx)
        for comp in components:
            published = PAPER_TABLE2.get(clf, {}).get(comp, math.nan)
            if comp in samples and not math.isnan(published):
                ref = Estimate.exact(published)
                matched.append(Comparison(f"{NAMES.get(clf, clf)}, {comp}", samples[comp],
                                          "the paper's", ref,
                                          difference(samples[comp], ref, POINTS_MARGIN)))
    return [
        Claim("t2-concat-vs-vae", "Table II", "the concatenated codes beat the VAE's",
              paper, "higher", _versus(t2, ctx, "mixture", ["VAE"]), needs="the Table II runs",
              note="test accuracy, %; the paper's column: mixture minus VAE, points"),
        Claim("t2-concat-vs-wide-vae", "Table II", "... and a VAE as wide (K x d)",
              "not tested", "higher", _versus(t2, ctx, "mixture", ["VAE, K x d wide"]),
              needs="a VAE as wide as the concatenation", ours_paper=False),
        Claim("t2-concat-vs-components", "Table II",
              "the concatenation beats every component alone",
              "all higher",
              "higher", _versus(t2, ctx, "mixture", components), needs="the Table II mixture"),
        Claim("t2-components-vs-paper", "Table II",
              "each component alone classifies as well as the paper's", "",
              "reached", tuple(matched), better="higher", needs="the Table II mixture",
              note=f"C1 the most used component; margin ±{POINTS_MARGIN} points"),
    ]


def baselines(ctx: Context) -> list[Claim]:
    """Our check: the concatenated codes against raw pixels and PCA of the same width."""
    t2 = ctx.table("table2_probes")
    feats = [] if t2 is None else list(dict.fromkeys(t2.features))
    pca = next((f for f in feats if f.startswith("baseline: PCA") and f != "baseline: PCA 20"),
               None)
    out = [Claim("codes-vs-pixels", "ours", "the codes beat raw pixels", "", "higher",
                 () if t2 is None else _versus(t2, ctx, "mixture", ["baseline: raw pixels"]),
                 needs="the baselines", ours_paper=False)]
    if pca:
        out.append(Claim("codes-vs-pca", "ours", f"... and {pca.removeprefix('baseline: ')}",
                         "", "higher", _versus(t2, ctx, "mixture", [pca]), ours_paper=False))
    return out


def knn_vs_k(ctx: Context) -> list[Claim]:
    """Fig. 4: KNN accuracy on the concatenated codes grows from K = 4 to 10 (the slope of the
    per-K means, one point per K, n - 2 dof)."""
    f4 = ctx.table("fig4_knn_vs_k")
    rows = (f4[(f4.K >= 4) & f4.knn_mean.notna()] if f4 is not None
            else pd.DataFrame(columns=["K", "knn_mean"]))
    test = slope(list(rows.K), list(100 * rows.knn_mean))
    comparisons = () if math.isnan(test.difference) else (Comparison(
        f"K = {int(rows.K.min())}-{int(rows.K.max())}, {len(rows)} K",
        Estimate(test.difference, test.se ** 2, test.dof, len(rows)), "no trend",
        Estimate.exact(0.0), test),)
    return [Claim("fig4-knn-grows", "Fig. 4", "KNN accuracy grows with K (4 to 10)", "grows",
                  "higher", comparisons, needs="three K >= 4", note="points per component")]


def _reading(setting: str, value: float, reference: str, threshold: float, holds: bool
             ) -> Comparison:
    """A descriptive reading of one run against a threshold (no seeds: no test)."""
    return Comparison(setting, Estimate(value, math.nan, 0.0), reference,
                      Estimate.exact(threshold), Test(value - threshold, math.nan, 0.0,
                                                      math.nan, "reading"),
                      verdict="holds" if holds else "fails")


def latents_2d(ctx: Context) -> list[Claim]:
    """Fig. 3 (one run each, so descriptive readings): no component's 2-D code collapses (sd
    over 0.1), the components arrange the digits differently (mean pairwise CKA under 0.5), and
    each separates the classes about as well as the 2-D VAE (KNN within 5 points)."""
    t = ctx.table("latents_2d")
    mixture = t[t.K > 1] if t is not None else pd.DataFrame()
    if mixture.empty:
        return [Claim("fig3-separates", "Fig. 3", "each component's 2-D code separates the "
                      "classes", "", "reading", needs="the 2-D runs")]
    rows = mixture[mixture.run == mixture.run.iloc[0]]
    vae = t[t.K == 1]
    cka = float(rows.mean_offdiag_cka.iloc[0])
    out = [Claim("fig3-no-collapse", "Fig. 3", "no component's code collapses", "",
                 "reading", tuple(_reading(r.component, r.code_sd, "sd 0.1", 0.1,
                                           r.code_sd >= 0.1) for r in rows.itertuples()),
                 note="sd of each component's codes (prior: 1); one run")]
    if not np.isnan(cka):
        out.append(Claim("fig3-differ", "Fig. 3", "the components arrange the digits "
                         "differently", "", "reading",
                         (_reading("mean pairwise CKA", cka, "CKA 0.5", 0.5, cka < 0.5),),
                         note="1: the same layout up to rotation and scale; one run"))
    if len(vae):
        knn = float(vae.knn.iloc[0]) * 100
        out.append(Claim("fig3-separates", "Fig. 3", "each 2-D component separates the classes "
                         "as well as a 2-D VAE", "", "reading",
                         tuple(_reading(r.component, 100 * r.knn, "the 2-D VAE - 5", knn - 5,
                                        100 * r.knn >= knn - 5) for r in rows.itertuples()),
                         note=f"KNN accuracy, %; the 2-D VAE's {knn:.1f}; one run"))
    return out


CHECKS = (table2, knn_vs_k, latents_2d, baselines)
