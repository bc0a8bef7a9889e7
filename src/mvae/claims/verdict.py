"""A claim as data: its stable id, the comparisons that test it, and how their tests turn into
verdicts (:mod:`mvae.stats` gives every comparison a difference, SE, dof and p).

Within a claim the comparisons form one family: their p values are Holm-adjusted together and a
difference is detectable when its adjusted p < 0.05. A comparison's verdict is "lower", "higher"
or "no detectable difference"; for a claim of matching a number it is "equivalent" (the TOST of
the stated margin), "better", "worse" or "undecided"; a descriptive reading of one run is
"holds" or "fails"; beyond the VAE curve's rates a reading that the curve's end cannot decide is
"beyond the curve". The claim's status aggregates its comparisons' verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from mvae.stats import ALPHA, Estimate, Spread, Test, holm

HOLDS, FAILS, MIXED, UNDECIDED = "holds", "fails", "mixed", "undecided"
NO_DIFFERENCE = "no detectable difference"
GAP = "gap only"
UNTESTED, NOT_TESTABLE = "not tested yet", "not tested here"
STATUSES = (HOLDS, FAILS, MIXED, NO_DIFFERENCE, UNDECIDED, GAP, UNTESTED, NOT_TESTABLE)

#: How a claim reads its comparisons: a direction of the difference ("lower", "higher"),
#: "reached" (matching a number: the TOST of a margin, or better), or "reading" (descriptive).
WANTS = ("lower", "higher", "reached", "reading")
BEYOND = "beyond the curve"
NOT_JUDGED = "not judged"


@dataclass(frozen=True)
class Comparison:
    """One comparison of a claim: a setting, our side, the reference side and the test of
    their difference. ``verdict`` is set for a descriptive reading (``Test.kind`` "reading")
    and by :func:`judge` for every other; ``beyond`` for a reading past the VAE curve's end,
    which counts only when it shows the claim's opposite (:mod:`mvae.claims.rate`)."""

    setting: str
    ours: Estimate
    reference: str
    ref: Estimate | None
    test: Test
    verdict: str = ""
    p_adjusted: float = math.nan
    p_equivalent_adjusted: float = math.nan
    beyond: str = ""


@dataclass(frozen=True)
class Claim:
    """A claim of the paper (or a check of ours): its id, where the paper makes it, the claim
    in words, the paper's number(s) in short, how it reads its comparisons, and why it is not
    tested where it has none (``needs``)."""

    id: str
    section: str
    text: str
    paper: str
    wants: str
    comparisons: tuple[Comparison, ...] = ()
    needs: str = ""
    untestable: bool = False
    better: str = "lower"   # for "reached": which direction is better
    note: str = ""
    ours_paper: bool = True  # a claim of the paper (False: a check of ours)
    extra: dict[str, str] = field(default_factory=dict)


def _direction(t: Test, p: float) -> str:
    if math.isnan(p):
        return NOT_JUDGED
    if p >= ALPHA:
        return NO_DIFFERENCE
    return "lower" if t.difference < 0 else "higher"


def judge(claim: Claim) -> Claim:
    """``claim`` with its comparisons' p values Holm-adjusted as one family and each
    comparison's verdict set."""
    tests = [c for c in claim.comparisons if c.test.kind != "reading"]
    adjusted = dict(zip(map(id, tests), holm([c.test.p for c in tests]), strict=True))
    equivalent = dict(zip(map(id, tests), holm([c.test.p_equivalent for c in tests]),
                          strict=True))
    out = []
    for c in claim.comparisons:
        if c.test.kind == "reading":
            out.append(c)
            continue
        p, p_eq = adjusted[id(c)], equivalent[id(c)]
        direction = _direction(c.test, p)
        if claim.wants == "reached":
            worse = "higher" if claim.better == "lower" else "lower"
            verdict = ("equivalent" if p_eq < ALPHA else "better" if direction == claim.better
                       else "worse" if direction == worse else
                       NOT_JUDGED if direction == NOT_JUDGED else UNDECIDED)
        else:
            verdict = direction
            # beyond the curve's highest rate only a worse mixture is decided (a VAE spending
            # less already does better); beyond its lowest, only a better one
            if c.beyond and direction != ("higher" if c.beyond == "above" else "lower"):
                verdict = BEYOND
        out.append(replace(c, verdict=verdict, p_adjusted=p, p_equivalent_adjusted=p_eq))
    return replace(claim, comparisons=tuple(out))


def status(claim: Claim) -> str:
    """The claim's status from its judged comparisons (see the module docstring)."""
    if claim.untestable:
        return NOT_TESTABLE
    verdicts = [c.verdict for c in claim.comparisons if c.verdict not in (NOT_JUDGED, BEYOND)]
    if claim.wants == "reading" and any(c.test.kind != "reading" for c in claim.comparisons):
        return GAP
    if not verdicts:
        return UNTESTED
    if claim.wants == "reached":
        good = [v in ("equivalent", "better") for v in verdicts]
        if all(good):
            return HOLDS
        if not any(good):
            return FAILS if "worse" in verdicts else UNDECIDED
        return MIXED
    wanted = HOLDS if claim.wants == "reading" else claim.wants
    if all(v == wanted for v in verdicts):
        return HOLDS
    if all(v == NO_DIFFERENCE for v in verdicts):
        return NO_DIFFERENCE
    if wanted not in verdicts and any(v not in (wanted, NO_DIFFERENCE) for v in verdicts):
        return FAILS
    return MIXED


@dataclass(frozen=True)
class Context:
    """What a check reads: the tables by name, the seed spread of per-image SSE to lend a
    setting with one seed, and whether this is the sensitivity reading (every lent spread the
    largest setting's sd: :meth:`lend`)."""

    tables: Mapping[str, pd.DataFrame]
    spread: Spread
    stressed: bool = False

    def lend(self, spread: Spread | None = None) -> Spread:
        """``spread`` (default: the SSE seed spread), stressed in the sensitivity reading."""
        chosen = self.spread if spread is None else spread
        return chosen.stressed() if self.stressed else chosen

    def table(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)


#: A check: the claims it makes from the tables (each before :func:`judge`).
Check = Callable[[Context], Sequence[Claim]]
