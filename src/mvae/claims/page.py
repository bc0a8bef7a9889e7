"""Every claim checked, as one table (``tables/verdicts.csv``: a row per comparison), and the
page that renders it (``claims.md``; the book renders the same table through the same
functions). Each check runs twice: as is, and in the sensitivity reading with the largest
setting's sd lent wherever a spread is lent; a comparison whose verdict the second reading
changes is marked fragile."""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Mapping

import pandas as pd

from mvae.claims import codes, other, rate, reconstruction
from mvae.claims.verdict import (
    NO_DIFFERENCE,
    NOT_JUDGED,
    Claim,
    Context,
    judge,
    status,
)
from mvae.stats import Spread

#: Every check in page order: the paper's claims first (by where the paper makes them), then
#: ours (:attr:`Claim.ours_paper` tells them apart).
CHECKS = (*reconstruction.CHECKS, *codes.CHECKS, *other.CHECKS, *rate.CHECKS)
#: The tables the checks read (the claims rule's inputs).
TABLES = ("table1_reconstruction", "table1_readings", "table2_probes", "fig4_knn_vs_k",
          "latents_2d", "ablation_dhsic", "table3_cifar", "cifar_capacity", "nll",
          "rate_distortion", "authors_switches", "seed_spread", "dhsic_estimators",
          "disentanglement", "seed_code")

METHOD = (
    "**Method.** A claim is tested by comparisons, each a difference with its standard error "
    "(SE) over seeds and a two-sided t test: Welch's where both sides have several seeds; a "
    "side with one seed (n = 1) borrows the pooled seed sd of the settings run with several, with "
    "its degrees of freedom; a trend is a least-squares slope (n - 2 dof). p values are "
    "Holm-adjusted within each claim; a difference is detectable at adjusted p < 0.05, "
    "otherwise \"no detectable difference\" (n.d., not \"equal\"). Matching a number is an "
    "equivalence test (TOST) with a stated margin. Every comparison is read again with the "
    "largest setting's sd lent instead of the pooled one (marks † and §).")


def seed_spread(tables: Mapping[str, pd.DataFrame]) -> Spread:
    """The pooled seed sd of per-image SSE over the settings repeated over seeds."""
    t = tables.get("seed_spread")
    if t is None or t.empty:
        return Spread(math.nan, 0.0)
    return Spread.pooled([list(g.sse_per_image) for _, g in t.groupby("setting", sort=False)])


def judged(tables: Mapping[str, pd.DataFrame], stressed: bool = False) -> list[Claim]:
    ctx = Context(tables, seed_spread(tables), stressed)
    return [judge(claim) for check in CHECKS for claim in check(ctx)]


def verdicts(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per comparison of every claim (a claim without any: one row saying what it
    needs), read twice: ``stressed_verdict``, ``fragile``; the claim's status in both."""
    rows = []
    stressed = {c.id: c for c in judged(tables, stressed=True)}
    for claim in judged(tables):
        again = stressed.get(claim.id, claim)
        base = {"claim_id": claim.id, "section": claim.section, "claim": claim.text,
                "paper_claim": claim.ours_paper, "paper": claim.paper, "wants": claim.wants,
                "status": status(claim), "stressed_status": status(again),
                "needs": claim.needs if not claim.comparisons or claim.untestable else "",
                "note": claim.note, "family_size": sum(
                    not math.isnan(c.test.p) for c in claim.comparisons)}
        if not claim.comparisons:
            rows.append(base)
            continue
        second = {c.setting: c.verdict for c in again.comparisons}
        for c in claim.comparisons:
            ref = c.ref
            rows.append({**base, "setting": c.setting, "ours_mean": c.ours.value,
                         "ours_sd": c.ours.sd, "ours_n": c.ours.n,
                         "ours_lent": c.ours.borrowed, "reference": c.reference,
                         "ref_mean": ref.value if ref else math.nan,
                         "ref_sd": ref.sd if ref else math.nan, "ref_n": ref.n if ref else 0,
                         "ref_lent": bool(ref and ref.borrowed),
                         "difference": c.test.difference, "se": c.test.se, "dof": c.test.dof,
                         "p": c.test.p, "p_adjusted": c.p_adjusted, "test": c.test.kind,
                         "margin": c.test.margin,
                         "p_equivalent_adjusted": c.p_equivalent_adjusted,
                         "verdict": c.verdict,
                         "stressed_verdict": second.get(c.setting, c.verdict),
                         "fragile": second.get(c.setting, c.verdict) != c.verdict})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- rendering
def _num(x: float, digits: int = 2) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _side(mean: float, sd: float, n: int) -> str:
    if isinstance(mean, float) and math.isnan(mean):
        return ""
    if not n:
        return _num(mean)
    spread = f"±{_num(sd)}" if n > 1 and not math.isnan(sd) else ""
    return f"{_num(mean)}{spread} ({int(n)})"


#: How a detail table writes a verdict (the method paragraph says what "n.d." means).
SHORT = {"no detectable difference": "n.d."}


def _p(p: float) -> str:
    return "" if math.isnan(p) else "<0.001" if p < 0.001 else f"{p:.3f}"


def _judged(frame: pd.DataFrame, claim_id: str) -> pd.DataFrame:
    return frame[(frame.claim_id == claim_id) & frame.setting.notna()]


def _ours(rows: pd.DataFrame) -> str:
    """A claim's result in a few words: its one comparison's difference and adjusted p, each
    gap of a claim read without a test, or the counts of its comparisons' verdicts."""
    judged_rows = rows[rows.setting.notna()]
    if judged_rows.empty:
        return ""
    if (judged_rows.test != "reading").all() and judged_rows.p.isna().all():
        return "; ".join(f"{r.setting} {_num(r.ours_mean)} vs {_num(r.ref_mean)}"
                         for r in judged_rows.itertuples())
    if len(judged_rows) == 1:
        r = judged_rows.iloc[0]
        p = r.p_equivalent_adjusted if r.verdict == "equivalent" else r.p_adjusted
        tail = "" if math.isnan(p) else f" (p {_p(p)})"
        if r.ref_mean == 0 and r.ref_n == 0:  # a difference or slope against none
            return f"{r.difference:+.2f}±{r.se:.2f}{tail}"
        return f"{_num(r.ours_mean)} vs {_num(r.ref_mean)}{tail}"
    counts = judged_rows.verdict.value_counts()
    return ", ".join(f"{n} {SHORT.get(v, v)}" for v, n in counts.items() if v != NOT_JUDGED)


def summary_rows(frame: pd.DataFrame, paper_claims: bool) -> pd.DataFrame:
    """One row per claim: the claim, the paper's number, ours in short, the verdict."""
    out = []
    for _, rows in frame[frame.paper_claim == paper_claims].groupby("claim_id",
                                                                          sort=False):
        r = rows.iloc[0]
        verdict = SHORT.get(r.status, r.status) + ("" if r.stressed_status == r.status else
                              "†" if r.stressed_status == NO_DIFFERENCE else "§")
        out.append({"claim": r.claim,
                    "paper": r.paper or "", "ours": _ours(rows) or r.needs, "verdict": verdict})
    return pd.DataFrame(out)


def tally(summary: pd.DataFrame) -> str:
    """How many claims of :func:`summary_rows` got each verdict: "9 fails, 5 holds, ..."."""
    counts = summary.verdict.str.rstrip("†§").value_counts()
    return ", ".join(f"{n} {verdict}" for verdict, n in counts.items())


def markdown_table(frame: pd.DataFrame) -> str:
    """``frame`` as a GitHub-flavoured Markdown table (no outer pipes: they are optional)."""
    cells = frame.fillna("").map(lambda s: str(s).replace("|", "\\|"))
    return "\n".join([" | ".join(map(str, frame.columns)),
                      " | ".join("---" for _ in frame.columns),
                      *(" | ".join(row) for row in cells.itertuples(index=False))])


MARKS = ("† reads \"no detectable difference\" and § another verdict when the largest "
         "setting's sd is lent instead of the pooled one (the sensitivity reading; "
         "verdicts.csv, `stressed_verdict`).")


#: Claims whose comparisons share their settings, shown as one table: (heading, [(claim id,
#: its column)]). The first claim's "ours" is the table's; each claim adds one column.
GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Table I, the paper's objective", (("t1-mixture-vs-vae", "vs our VAE"),
                                         ("t1-reached", "vs paper"),
                                         ("t1-relative", "gain vs paper"))),
    ("Table I, the authors' reading", (("t1a-mixture-vs-vae", "vs VAE at 1/K"),
                                        ("t1a-reached", "vs paper"))),
    ("Table II, the concatenated codes", (("t2-concat-vs-vae", "vs VAE"),
                                           ("t2-concat-vs-wide-vae", "vs K x d VAE"),
                                           ("codes-vs-pixels", "vs pixels"),
                                           ("codes-vs-pca", "vs PCA"))),
    ("Table II, each component (C1 the most used; against the paper's: every one worse, "
     "verdicts.csv)", (("t2-concat-vs-components", "concat vs it"),)),
    ("Sec. IV, dHSIC as the authors compute it (K = 4)", (
        ("sec4-authors-dhsic-differs", "vs beta = 0"), ("sec4-authors-dhsic-cost", "cost"))),
    ("Disentanglement on dSprites (a component against the VAE of its size; the "
     "concatenation against the VAE as wide)", (("disentanglement", "vs the VAE"),)),
    ("Rate: mixtures against the VAE curve (A: the authors' settings; the mixtures' own "
     "errors are in Table I's)",
     tuple((f"rd-{slug}{axis}", f"vs curve, {name}")
           for axis, name in (("", "Gaussian KL"), ("-total", "total KL"))
           for slug in ("paper", "authors"))),
    ("The authors' switches at K = 4", (("switches", "vs ours"),
                                         ("rd-switches", "vs curve, Gaussian KL"),
                                         ("rd-switches-total", "vs curve, total KL"))),
)


def _mark(r: object) -> str:
    """† where the sensitivity reading changes a verdict to no detectable difference, § where
    it changes it to anything else."""
    if not getattr(r, "fragile", False):
        return ""
    return "†" if r.stressed_verdict == NO_DIFFERENCE else "§"


def _digits(r: object) -> int:
    """Decimals for a difference: 3 where both sides are below 1 and the SE below 0.05 (MIG is
    about 0.05: "+0.01±0.01" would hide it), otherwise 2; a claim's cells take the most any of
    them needs, so a column reads alike."""
    small = max(abs(r.ours_mean), abs(r.ref_mean)) < 1 if not math.isnan(r.ref_mean) else False
    return 3 if small and not math.isnan(r.se) and r.se < 0.05 else 2


def _cell(r: object, digits: int = 2) -> str:
    p = r.p_equivalent_adjusted if r.verdict == "equivalent" else r.p_adjusted
    se = "" if math.isnan(r.se) else f"±{r.se:.{digits}f}"
    return (f"{r.difference:+.{digits}f}{se}" + ("" if math.isnan(p) else f" ({_p(p)})")
            + f" {SHORT.get(r.verdict, r.verdict)}{_mark(r)}"
            + (" (vs the curve's end)" if r.reference.startswith("the curve's") else ""))


_CODE = re.compile(r"C\d+|concatenated")  # a component, or their concatenation


def group_table(frame: pd.DataFrame, claims: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    """The comparisons of ``claims`` (ids and column names) by setting: our side, then each
    claim's difference ± SE (adjusted p) and verdict in its column. Settings "X, C1" (a
    classifier or metric and a component, or "X, concatenated") become rows C1.. and a column per
    classifier and claim."""
    columns: dict[str, dict[str, str]] = {}
    ours: dict[str, str] = {}
    for claim_id, name in claims:
        judged = _judged(frame, claim_id)
        digits = max((_digits(r) for r in judged.itertuples()), default=2)  # one per claim
        for r in judged.itertuples():
            clf, _, part = r.setting.partition(", ")
            row, column = ((part, f"{clf}: {name}") if _CODE.fullmatch(part)
                           else (r.setting, name))
            columns.setdefault(column, {})[row] = _cell(r, digits)
            if not part and not claim_id.startswith("rd-"):
                ours.setdefault(row, _side(r.ours_mean, r.ours_sd, r.ours_n))
    rows = list(dict.fromkeys(row for cells in columns.values() for row in cells))
    label = [f"{r}: {ours[r]}" if r in ours else r for r in rows]
    return pd.DataFrame({"setting": label,
                         **{c: [cells.get(r, "") for r in rows] for c, cells in columns.items()}})


def code_note(seed_code: pd.DataFrame | None) -> str:
    """One sentence on what the seeds of a setting share: their training code and device."""
    if seed_code is None or seed_code.empty:
        return ""
    same = seed_code.same_code.fillna(False).astype(bool)
    devices = seed_code.devices.str.contains("|", regex=False)
    changes = int(seed_code.changes.fillna(0).sum())
    witnessed = int(seed_code.witnessed.fillna(0).sum())
    return (f"**Seeds.** Of {len(seed_code)} seed groups, {int(same.sum())} trained the same "
            f"training code and {int(devices.sum())} span several devices; the others' runs "
            f"straddle commits that changed it ({changes} changes summed over groups, "
            f"{witnessed} covered by a bit-identical witness pair): "
            "[`tables/seed_code.csv`](tables/seed_code.csv).")


def markdown(frame: pd.DataFrame, preset: str, seed_code: pd.DataFrame | None = None) -> str:
    """``claims.md``: the method once, a one-screen summary per kind of claim, then a compact
    table per claim, caveats as marks explained once at the end."""
    parts = [f"# The paper's claims against our `{preset}` results", "",
             "Rendered from [`tables/verdicts.csv`](tables/verdicts.csv) (a row per "
             "comparison) by the pipeline; provenance: [`provenance.json`](provenance.json).",
             "",
             textwrap.fill(METHOD, 100)]
    for title, mine in (("The paper's claims", True), ("Our checks", False)):
        summary = summary_rows(frame, mine)
        if summary.empty:
            continue
        if not mine:  # our checks have no number of the paper's
            summary = summary.drop(columns="paper")
        parts += ["", f"## {title}: {tally(summary)}", "", markdown_table(summary)]
    parts += ["", "## The comparisons, by setting", "",
              "Setting: ours, mean±sd (seeds). Cells: ours minus the column's reference ±SE "
              "(adjusted p), verdict."]
    present = set(frame.loc[frame.setting.notna(), "claim_id"])
    for heading, claims in GROUPS:
        claims = tuple((c, name) for c, name in claims if c in present)
        if claims:
            parts += ["", f"### {heading}", "", markdown_table(group_table(frame, claims))]
    note = code_note(seed_code)
    parts += ["", "## Marks", "", textwrap.fill(MARKS, 100),
              *(["", textwrap.fill(note, 100)] if note else []), ""]
    return "\n".join(parts)

