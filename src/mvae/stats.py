"""The one statistical rule every verdict uses: an estimate with its standard error and degrees
of freedom, a two-sided t test of a difference, Holm's adjustment within a claim, and an
equivalence test for claims of matching a number.

An :class:`Estimate` is a mean over seeds with the variance of that mean and its degrees of
freedom. A setting with several seeds brings its own sd (n - 1 dof). A setting with one seed has
no sd of its own: it borrows the seed spread, the pooled sd of the settings run with several
seeds (:class:`Spread`), with the pooled error term's dof. A published number is exact (no
variance). Linear combinations (a difference, a point read off a curve between two measured
points) combine variances and take the Welch-Satterthwaite dof, so two samples with their own
sds get exactly Welch's t test (``scipy.stats.ttest_ind_from_stats`` is the test's oracle).

References: Welch (1947) and Satterthwaite (1946) for the dof; Holm (1979) for the adjustment
(``statsmodels.stats.multitest.multipletests``); Schuirmann (1987) for the two one-sided tests
(TOST) of equivalence; ordinary least squares with n - 2 dof for a slope
(``scipy.stats.linregress``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as sps

#: A difference is detectable when its Holm-adjusted two-sided p is below this.
ALPHA = 0.05


@dataclass(frozen=True)
class Spread:
    """The seed spread lent to a setting with one seed: the pooled sd over the settings with
    several seeds, its dof (the sum of n - 1), the smallest and largest sd of one setting, and
    Bartlett's test that the settings share one spread (pooling assumes they do)."""

    sd: float
    dof: float
    settings: int = 0
    low: float = math.nan
    high: float = math.nan
    equal_p: float = math.nan

    @classmethod
    def pooled(cls, groups: Sequence[Sequence[float]]) -> Spread:
        """The pooled spread of ``groups`` (one per setting; NaNs dropped; a group with fewer
        than two values adds nothing)."""
        kept = [np.asarray([v for v in g if not math.isnan(v)], float) for g in groups]
        kept = [g for g in kept if len(g) > 1]
        dof = sum(len(g) - 1 for g in kept)
        if not dof:
            return cls(math.nan, 0.0)
        ss = sum(float(((g - g.mean()) ** 2).sum()) for g in kept)
        own = [float(g.std(ddof=1)) for g in kept]
        equal_p = float(sps.bartlett(*kept).pvalue) if len(kept) > 1 else math.nan
        return cls(math.sqrt(ss / dof), float(dof), len(kept), min(own), max(own), equal_p)

    @classmethod
    def from_summaries(cls, sds: Sequence[float], ns: Sequence[int]) -> Spread:
        """The pooled spread from each setting's sd and seed count (no Bartlett's test: it needs
        the values)."""
        kept = [(float(s), int(n)) for s, n in zip(sds, ns, strict=True)
                if n > 1 and not math.isnan(s)]
        dof = sum(n - 1 for _, n in kept)
        if not dof:
            return NO_SPREAD
        pooled = math.sqrt(sum((n - 1) * s * s for s, n in kept) / dof)
        return cls(pooled, float(dof), len(kept), min(s for s, _ in kept),
                   max(s for s, _ in kept))

    def stressed(self) -> Spread:
        """The sensitivity reading: the largest setting's sd lent instead of the pooled one."""
        return replace(self, sd=self.high) if not math.isnan(self.high) else self


NO_SPREAD = Spread(math.nan, 0.0)


@dataclass(frozen=True)
class Estimate:
    """A value with the variance of its estimate and that variance's degrees of freedom
    (``inf`` for a variance known exactly, 0 with none to be had). ``borrowed`` marks an
    estimate whose variance came from the seed spread."""

    value: float
    var: float
    dof: float
    n: int = 1
    sd: float = math.nan
    borrowed: bool = False

    @classmethod
    def of(cls, values: Sequence[float], spread: Spread = NO_SPREAD) -> Estimate:
        """The mean of ``values`` (NaNs dropped): its own sd over sqrt(n) with n - 1 dof, or
        for one value the lent ``spread`` with the pooled dof (NaN variance without one)."""
        arr = np.asarray([v for v in values if v is not None and not math.isnan(v)], float)
        if len(arr) == 0:
            return cls(math.nan, math.nan, 0.0, 0)
        if len(arr) > 1:
            sd = float(arr.std(ddof=1))
            return cls(float(arr.mean()), sd ** 2 / len(arr), len(arr) - 1.0, len(arr), sd)
        return cls.one(float(arr[0]), spread)

    @classmethod
    def one(cls, value: float, spread: Spread) -> Estimate:
        """One seed's value, its sd the lent spread's."""
        return cls(float(value), spread.sd ** 2, spread.dof, 1, math.nan, True)

    @classmethod
    def summary(cls, mean: float, sd: float, n: int, spread: Spread = NO_SPREAD) -> Estimate:
        """From a table's mean, sd and seed count (the spread lent for one seed)."""
        if n > 1 and not math.isnan(sd):
            return cls(float(mean), sd ** 2 / n, n - 1.0, int(n), float(sd))
        return cls.one(mean, spread)

    @classmethod
    def exact(cls, value: float) -> Estimate:
        """A number without sampling noise (a published value)."""
        return cls(float(value), 0.0, math.inf, 0)

    @property
    def se(self) -> float:
        return math.sqrt(self.var) if self.var >= 0 else math.nan

    def restressed(self, spread: Spread) -> Estimate:
        """The same estimate with a borrowed variance taken from ``spread`` instead."""
        return self if not self.borrowed else replace(self, var=spread.sd ** 2, dof=spread.dof)


def combine(terms: Sequence[tuple[float, Estimate]]) -> Estimate:
    """The linear combination sum c_i x_i of independent estimates, with the Welch-Satterthwaite
    dof: (sum c_i^2 v_i)^2 / sum (c_i^2 v_i)^2 / dof_i."""
    value = sum(c * e.value for c, e in terms)
    parts = [(c * c * e.var, e.dof) for c, e in terms]
    var = sum(v for v, _ in parts)
    if math.isnan(var):
        return Estimate(value, math.nan, 0.0)
    if var == 0:
        return Estimate(value, 0.0, math.inf)
    denominator = sum(v * v / dof for v, dof in parts if v > 0 and dof != math.inf)
    dof = var * var / denominator if denominator > 0 else math.inf
    return Estimate(value, var, dof, borrowed=any(e.borrowed for _, e in terms))


@dataclass(frozen=True)
class Test:
    """A difference, its standard error and dof, and the two-sided p of a t test that it is 0
    (NaN without a spread). ``margin``/``p_equivalent``: the TOST of |difference| < margin."""

    difference: float
    se: float
    dof: float
    p: float
    kind: str
    margin: float = math.nan
    p_equivalent: float = math.nan


def t_test(estimate: Estimate, kind: str, margin: float = math.nan) -> Test:
    """The two-sided t test that ``estimate`` (a difference) is 0, and, given a ``margin``, the
    two one-sided tests that it lies within +-margin (the larger of their two p values)."""
    d, se, dof = estimate.value, estimate.se, estimate.dof
    if math.isnan(se) or se == 0 or dof <= 0:
        return Test(d, se, dof, math.nan, kind, margin)
    p = float(2 * sps.t.sf(abs(d) / se, dof))
    p_eq = (float(max(sps.t.sf((d + margin) / se, dof), sps.t.cdf((d - margin) / se, dof)))
            if not math.isnan(margin) else math.nan)
    return Test(d, se, dof, p, kind, margin, p_eq)


def difference(a: Estimate, b: Estimate, margin: float = math.nan) -> Test:
    """``a - b``: Welch's test where both sides carry their own sd; a side with one seed takes
    the lent spread and its pooled dof; a published side none."""
    kind = ("one-sample t" if b.var == 0 else
            "t, lent spread" if a.borrowed or b.borrowed else "Welch t")
    return t_test(combine([(1.0, a), (-1.0, b)]), kind, margin)


def slope(x: Sequence[float], y: Sequence[float]) -> Test:
    """The least-squares slope of ``y`` on ``x`` (every run a point) and its t test with n - 2
    dof (``scipy.stats.linregress``); NaN with fewer than three points or one x."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0:
        return Test(math.nan, math.nan, 0.0, math.nan, "slope")
    fit = sps.linregress(x, y)
    return Test(float(fit.slope), float(fit.stderr), len(x) - 2.0, float(fit.pvalue), "slope")


def holm(p: Sequence[float]) -> list[float]:
    """Holm-adjusted p values of one family (NaNs stay NaN and do not count in its size)."""
    from statsmodels.stats.multitest import multipletests

    values = np.asarray(p, float)
    out = np.full(len(values), np.nan)
    known = ~np.isnan(values)
    if known.any():
        out[known] = multipletests(values[known], alpha=ALPHA, method="holm")[1]
    return out.tolist()
