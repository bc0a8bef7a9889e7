"""What we found, in sentences computed from ``tables/verdicts.csv``: the book's introduction
prints these instead of hand-written results, so its summary cannot drift from the verdicts
(a test rebuilds them from the table and checks each number against it)."""

from __future__ import annotations

import pandas as pd

from mvae.claims.page import SHORT, summary_rows, tally

#: The introduction's original-against-reproduced table: one claim per paper table or figure.
HEADLINE = ("t1-mixture-vs-vae", "t1-trend", "ours-vae", "t1a-mixture-vs-vae",
            "fig2-components-alone", "fig3-separates", "t2-concat-vs-vae", "fig4-knn-grows",
            "sec4-dhsic-differs", "t3-mixture-vs-vae", "t3-inception", "disentanglement")


def _rows(frame: pd.DataFrame, claim_id: str) -> pd.DataFrame:
    """The claim's comparisons (none where no claim has any: the table then has no settings)."""
    if "setting" not in frame:
        return frame.iloc[0:0]
    return frame[(frame.claim_id == claim_id) & frame.setting.notna()]


def _status(frame: pd.DataFrame, claim_id: str) -> str:
    rows = frame[frame.claim_id == claim_id]
    if rows.empty:
        return "not tested yet"
    r = rows.iloc[0]
    again = SHORT.get(r.stressed_status, r.stressed_status)
    return r.status + (f"; {again} in the sensitivity reading" if again != r.status else "")


def _ks(rows: pd.DataFrame, verdict: str) -> str:
    ks = [s.removeprefix("K = ").replace(", KL weight ", " (KL weight ") + (
        ")" if "KL weight" in s else "") for s in rows[rows.verdict == verdict].setting]
    return ", ".join(ks) if ks else "none"


def _counts(rows: pd.DataFrame) -> str:
    return ", ".join(f"{n} {SHORT.get(v, v)}" for v, n in rows.verdict.value_counts().items())


def findings(frame: pd.DataFrame) -> list[str]:
    """One sentence per paper table (and our rate check), each with the numbers that decide it;
    a claim not tested yet says so."""
    out = []
    t1, trend, vae = (_rows(frame, c) for c in ("t1-mixture-vs-vae", "t1-trend", "ours-vae"))
    if len(t1) and len(vae):
        out.append(
            f"**Table I.** Our VAE's error is {vae.ours_mean.iloc[0]:.2f}, the paper's "
            f"{vae.ref_mean.iloc[0]:.2f}; "
            + ("every mixture is worse than our VAE" if (t1.verdict == "higher").all() else
               "mixtures against our VAE")
            + f" ({_counts(t1)} of {len(t1)} K, by {t1.difference.min():+.1f} to "
            f"{t1.difference.max():+.1f})"
            + (f", and the error rises with K ({trend.difference.iloc[0]:+.2f} per component)."
               if len(trend) and trend.verdict.iloc[0] == "higher" else "."))
    authors = _rows(frame, "t1a-mixture-vs-vae")
    if len(authors):
        out.append(f"**Table I, the authors' settings.** Beside a VAE at the same KL weight 1/K: "
                   f"{_counts(authors)}; {_status(frame, 't1a-mixture-vs-vae')}.")
    rate, total = _rows(frame, "rd-paper"), _rows(frame, "rd-paper-total")
    if len(rate) and len(total):
        out.append(f"**Rate.** At the same Gaussian rate, no detectable difference at K = "
                   f"{_ks(rate, 'no detectable difference')}, worse at K = "
                   f"{_ks(rate, 'higher')}; counting the weights' nats, worse at "
                   f"{(total.verdict == 'higher').sum()} of {len(total)} settings.")
    alone = _rows(frame, "fig2-components-alone")
    if len(alone):
        out.append(f"**Fig. 2.** A component alone reconstructs worse than the mean training "
                   f"image ({alone.difference.iloc[0]:+.1f} per-image SSE).")
    codes = _rows(frame, "t2-concat-vs-vae")
    if len(codes):
        wide = _rows(frame, "t2-concat-vs-wide-vae")
        out.append(f"**Table II.** The concatenated codes against the VAE's: {_counts(codes)} "
                   "over the three classifiers" + (f"; against a VAE as wide: {_counts(wide)}"
                                                    if len(wide) else "") + ".")
    dhsic = _rows(frame, "sec4-dhsic-differs")
    if len(dhsic):
        out.append(f"**Sec. IV.** The components' similarity (CKA) with dHSIC at beta = 1: "
                   f"{dhsic.ours_mean.iloc[0]:.2f}, without it {dhsic.ref_mean.iloc[0]:.2f} "
                   f"({dhsic.verdict.iloc[0]}).")
    cifar = _rows(frame, "t3-mixture-vs-vae")
    if len(cifar):
        out.append(f"**Table III.** On CIFAR-10 the mixture's error is "
                   f"{cifar.ours_mean.iloc[0]:.2f} against the VAE's {cifar.ref_mean.iloc[0]:.2f}"
                   f" (one seed each: {_status(frame, 't3-mixture-vs-vae')}), with K times its "
                   "parameters.")
    out.append(f"**Disentanglement.** {_status(frame, 'disentanglement').capitalize()}.")
    return out


def verdict_counts(frame: pd.DataFrame) -> str:
    """One sentence: how many of the paper's claims, and of our checks, got each verdict."""
    paper, ours = summary_rows(frame, True), summary_rows(frame, False)
    return (f"Of the paper's {len(paper)} claims: {tally(paper)}. "
            f"Of our {len(ours)} checks: {tally(ours)}.")


def disentanglement_finding(frame: pd.DataFrame) -> str:
    """Chapter 14's answer: the abstract's disentanglement claim, its verdict and how its
    comparisons came out, or that its runs are not archived yet."""
    rows = _rows(frame, "disentanglement")
    if rows.empty:
        return ("The abstract's claim that M-VAE discovers disentangled representations is not "
                "tested yet: its dSprites runs are queued in the paper preset, and this chapter "
                "shows their scores once they are archived.")
    return ("On dSprites, the abstract's claim that M-VAE discovers disentangled "
            f"representations: {_status(frame, 'disentanglement')} ({_counts(rows)} of "
            f"{len(rows)} comparisons of a component alone, or the concatenation, with a VAE of "
            "its size, on MIG and DCI disentanglement).")
