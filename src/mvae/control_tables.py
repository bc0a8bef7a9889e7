"""Tables of the controls beyond the paper's setups: the seed spread, every MNIST run on the
rate-distortion plane, Table I under both readings of the objective beside matched VAEs, and the
authors' switches one at a time. They hold the runs' numbers only: how a verdict reads them (the
spread it lends, the VAE curve) is :mod:`mvae.claims`' job, so no table carries a statistic that
another table's verdict needs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mvae import layout, records
from mvae.config import Config
from mvae.paper_numbers import PAPER_TABLE1_MVAE
from mvae.selections import SWITCHES, Selections


def seed_spread(paths: list[str | Path], selection: Selections) -> tuple[pd.DataFrame, dict]:
    """Every archived run of the settings repeated over seeds
    (:attr:`mvae.selections.Selections.seed_groups`), a row per run with its setting (the
    group's first run) and per-image SSE: what the verdicts pool into the seed spread they lend
    a setting with one seed (:meth:`mvae.stats.Spread.pooled`)."""
    recs = records.read(paths, "reconstruction")
    rows = [{"setting": first, "run": run, "seed": recs[run]["config"]["seed"],
             "K": recs[run]["config"]["components"],
             "sse_per_image": recs[run]["mixture"]["sse_per_image"],
             "device": recs[run].get("provenance", {}).get("device", "")}
            for first, runs in selection.seed_groups.items()
            for run in runs if run in recs]
    frame = pd.DataFrame(rows)
    if not frame.empty:  # a setting with one archived seed so far adds no spread
        frame = frame[frame.groupby("setting").run.transform("size") > 1]
    return frame, records.provenance({r: recs[r] for r in frame.get("run", [])})


def rate_distortion(paths: list[str | Path],
                    selection: Selections) -> tuple[pd.DataFrame, dict]:
    """Every MNIST run of the paper's setup, with any objective switch or KL weight, on the
    rate-distortion plane: its rate (Gaussian KL, and with the Dirichlet KL of the weights) and
    per-image SSE, each objective written once (``same_as``: the runs that trained the same
    objective at the same seed, written another way)."""
    recs = records.read(paths, "reconstruction")
    points = records.rate_points(recs, paths, selection.rate_distortion)
    frame = pd.DataFrame([{"run": run, **p} for run, p in points.items()])
    frame = records.once(frame, {r: recs[r]["config"] for r in points})
    return frame.reset_index(drop=True), records.provenance({r: recs[r] for r in points})


def _seeds(points: dict[str, dict[str, Any]], runs: list[str]) -> dict[str, Any]:
    """Mean, sd and count over the seeds in ``runs`` of SSE and rate (runs not archived skipped)."""
    have = [points[r] for r in runs if r in points]
    sse = np.asarray([p["sse_per_image"] for p in have], float)
    return {"runs": " ".join(r for r in runs if r in points), "n_seeds": len(sse),
            "sse_mean": float(sse.mean()) if len(sse) else math.nan,
            "sse_sd": float(sse.std(ddof=1)) if len(sse) > 1 else math.nan,
            "rate_gauss": float(np.mean([p["rate_gauss"] for p in have])) if have else math.nan,
            "rate_total": float(np.mean([p["rate_total"] for p in have])) if have else math.nan}


def table1_readings(paths: list[str | Path],
                    selection: Selections) -> tuple[pd.DataFrame, dict]:
    """Table I under both readings of the objective: each K under the paper's (summed KLs)
    beside the VAE (KL weight 1), and under the authors' (averaged KLs: a KL weight of 1/K)
    beside a VAE trained at KL weight 1/K."""
    kl_vaes, sweep, authors = selection.kl_vaes, selection.sweep, selection.authors_sweep
    everything = [r for group in (*sweep.values(), *authors.values(), *kl_vaes.values())
                  for r in group]
    recs = records.read(paths, "reconstruction")
    points = records.rate_points(recs, paths, list(dict.fromkeys(everything)))
    rows = []
    for reading, by_k in (("paper", sweep), ("authors", authors)):
        for k, runs in by_k.items():
            if k == 1 or not any(r in points for r in runs):
                continue
            weight = 1.0 if reading == "paper" else 1.0 / k
            vae_runs = sweep.get(1, []) if reading == "paper" else next(
                (v for w, v in kl_vaes.items() if math.isclose(w, weight)), [])
            ours, vae = _seeds(points, runs), _seeds(points, vae_runs)
            rows.append({"reading": reading, "K": k, **ours, "vae_kl_weight": weight,
                         **{f"vae_{key}": value for key, value in vae.items()},
                         "difference": ours["sse_mean"] - vae["sse_mean"],
                         "paper_sse_per_image": PAPER_TABLE1_MVAE.get(k, math.nan)})
    return pd.DataFrame(rows), records.provenance({r: recs[r] for r in points})


#: The ``authors_switches`` row of all the authors' switches at once (their settings).
ALL_SWITCHES = "the authors' three switches"


def authors_switches(paths: list[str | Path],
                     selection: Selections) -> tuple[pd.DataFrame, dict]:
    """Each switch of the authors' code alone at the Table II K, beside our objective (all its
    seeds) and all the authors' switches together: which one moves the error and the rate."""
    k = selection.table2_k
    groups = [("ours (paper objective)", selection.table2.get("mixture", []))]
    groups += [(records.switch_label(key, SWITCHES[key]), runs)
               for key, runs in selection.switches.items()]
    groups.append((ALL_SWITCHES, selection.authors_sweep.get(k, [])))
    recs = records.read(paths, "reconstruction")
    points = records.rate_points(recs, paths,
                                 list(dict.fromkeys(r for _, runs in groups for r in runs)))
    base = _seeds(points, groups[0][1])
    rows = []
    for label, runs in groups:
        have = [points[r] for r in runs if r in points]
        if not have:
            continue
        stats = _seeds(points, runs)
        rows.append({"variant": label, "K": k, **stats,
                     "kl_dirichlet": float(np.mean([p["kl_dirichlet"] for p in have])),
                     "neg_elbo": float(np.mean([p["neg_elbo"] for p in have])),
                     "effective_kl_weight": have[0]["effective_kl_weight"],
                     "verdict": _usage([p["verdict"] for p in have]),
                     "difference": stats["sse_mean"] - base["sse_mean"]})
    return pd.DataFrame(rows), records.provenance({r: recs[r] for r in points})


def _usage(kinds: list[str]) -> str:
    """How the seeds of one setting use their components: "mixture", or with several seeds a
    count of each kind, e.g. "mixture (3 of 3)" or "mixture (2 of 3), blend (1 of 3)"."""
    if len(kinds) == 1:
        return kinds[0]
    counts = pd.Series(kinds).value_counts(sort=False)
    return ", ".join(f"{kind} ({n} of {len(kinds)})" for kind, n in counts.items())


def dhsic_estimators(paths: list[str | Path],
                     selection: Selections) -> tuple[pd.DataFrame, dict]:
    """The dHSIC ablation under each estimator (:attr:`mvae.selections.Selections.
    dhsic_estimators`; beta = 0 is one arm for both): a row per run with what the penalty
    should move (mean pairwise CKA between components, the mean KNN accuracy of one
    component's code) and what it may cost (per-image SSE, Gaussian rate)."""
    recs, div, prb = (records.read(paths, k) for k in ("reconstruction", "diversity", "probes"))
    points = records.rate_points(recs, paths, list(recs))
    rows = []
    for estimator, by_beta in selection.dhsic_estimators.items():
        for beta, runs in by_beta.items():
            for run in (r for r in runs if r in recs):
                knn = prb.get(run, {}).get("knn", {}).get("components") or [math.nan]
                rows.append({"estimator": estimator, "beta": beta, "run": run,
                             "seed": recs[run]["config"]["seed"],
                             "mean_offdiag_cka": div.get(run, {}).get("mean_offdiag_cka",
                                                                      math.nan),
                             "knn_component_mean": float(np.mean(knn)),
                             "sse_per_image": points[run]["sse_per_image"],
                             "rate_gauss": points[run]["rate_gauss"],
                             "dhsic_authors": div.get(run, {}).get("dhsic_authors", math.nan),
                             "dhsic": div.get(run, {}).get("dhsic", math.nan)})
    return pd.DataFrame(rows), records.provenance({r: recs[r] for r in points})


def seed_code(paths: list[str | Path], selection: Selections) -> tuple[pd.DataFrame, dict]:
    """Per seed group: whether its runs trained the same training code (read from git at each
    run's commit: :mod:`mvae.code_identity`), the devices and commits it spans, and how many of
    the commits between its runs that changed that code a bit-identical witness pair covers.
    Seeds pool into one spread only as far as their code and device agree."""
    from mvae import code_identity

    done = [Path(p) for p in paths if Path(p).name == layout.DONE]  # provenance.json beside
    if not done:
        return pd.DataFrame(), {}
    results = done[0].parents[2]  # results/<preset>/runs/<run>/done.json
    pairs = code_identity.witnesses(results, ".")
    table = code_identity.seed_group_table(results, selection.seed_groups, ".",
                                           code_identity.witnessed_commits(pairs, "."))
    summary = code_identity.group_summary(table)
    runs = {d.parent.name: {"config": Config.from_dict(yaml.safe_load(
                (d.parent / "config.yaml").read_text())).to_dict(),
                            "provenance": json.loads((d.parent / "provenance.json").read_text())}
            for d in done if (d.parent / "provenance.json").is_file()}
    return summary[summary.archived > 1].reset_index(drop=True), {
        **records.provenance(runs), "witnesses": json.loads(pairs.to_json(orient="records"))}
