"""The statistical rule (mvae.stats) against independent implementations: scipy's Welch test from
summary statistics, statsmodels' TOST and Holm on raw data, linregress, and a pooled variance
computed from the definition."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.weightstats import ttost_ind

from mvae.stats import Estimate, Spread, combine, difference, holm, slope, t_test

A = [10.07, 11.03, 10.37]
B = [8.42, 7.75, 8.40]


def test_two_samples_with_their_own_sds_are_welchs_t_test() -> None:
    a, b = Estimate.of(A), Estimate.of(B)
    ours = difference(a, b)
    oracle = sps.ttest_ind(A, B, equal_var=False)
    assert ours.kind == "Welch t"
    assert ours.p == pytest.approx(oracle.pvalue, rel=1e-9)
    assert ours.difference / ours.se == pytest.approx(oracle.statistic, rel=1e-9)
    assert ours.dof == pytest.approx(oracle.df, rel=1e-9)


def test_the_probe_case_from_the_issue_is_not_detectable() -> None:
    """KNN -0.15 +- 0.065 read as "lower" under the old 2-SE rule: Welch's p is about 0.09."""
    ours = difference(Estimate.summary(95.85, 0.09, 3), Estimate.summary(96.00, 0.07, 3))
    assert ours.p > 0.05
    assert abs(ours.difference / ours.se) > 2  # the old rule's z: it called this "lower"


def test_one_seed_borrows_the_pooled_spread_and_its_dof() -> None:
    groups = [[1.0, 2.0, 3.0], [4.0, 4.5], [7.0, 7.2, 6.9, 7.4]]
    spread = Spread.pooled(groups)
    ss = sum(((np.array(g) - np.mean(g)) ** 2).sum() for g in groups)
    assert spread.dof == 2 + 1 + 3
    assert spread.sd == pytest.approx(math.sqrt(ss / 6))
    assert spread.equal_p == pytest.approx(sps.bartlett(*groups).pvalue)
    assert spread.high == pytest.approx(np.std(groups[0], ddof=1))
    one = Estimate.of([5.0], spread)
    assert one.borrowed and one.var == pytest.approx(spread.sd ** 2) and one.dof == 6
    # against a published number: a t test with the pooled dof
    test = difference(one, Estimate.exact(3.0))
    assert test.p == pytest.approx(2 * sps.t.sf(2.0 / spread.sd, 6))
    # the summary form agrees with the values' form
    assert Spread.from_summaries([np.std(g, ddof=1) for g in groups],
                                 [len(g) for g in groups]).sd == pytest.approx(spread.sd)


def test_a_slope_on_four_points_has_two_dof() -> None:
    """The authors' trend: four points, z = 2.11 by the old rule, p = 0.17 by the t test."""
    x, y = [2, 4, 8, 10], [7.1, 6.0, 6.9, 8.6]
    ours = slope(x, y)
    fit = sps.linregress(x, y)
    assert ours.dof == 2 and ours.p == pytest.approx(fit.pvalue)
    assert ours.difference == pytest.approx(fit.slope)


def test_tost_matches_statsmodels_with_unequal_variances() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(10, 1, 8), rng.normal(10.3, 2, 6)
    oracle_p, _, _ = ttost_ind(a, b, -1.0, 1.0, usevar="unequal")
    ours = difference(Estimate.of(list(a)), Estimate.of(list(b)), margin=1.0)
    assert ours.p_equivalent == pytest.approx(oracle_p, rel=1e-6)


def test_holm_matches_statsmodels_and_keeps_nans_out_of_the_family() -> None:
    from statsmodels.stats.multitest import multipletests

    p = [0.01, 0.04, 0.03, math.nan, 0.2]
    expected = multipletests([0.01, 0.04, 0.03, 0.2], method="holm")[1]
    out = holm(p)
    assert math.isnan(out[3])
    assert [out[i] for i in (0, 1, 2, 4)] == pytest.approx(list(expected))


def test_a_linear_combination_takes_the_satterthwaite_dof() -> None:
    a = Estimate(1.0, 0.04, 2.0)
    b = Estimate(3.0, 0.09, 4.0)
    mid = combine([(0.5, a), (0.5, b)])
    var = 0.25 * 0.04 + 0.25 * 0.09
    assert mid.value == pytest.approx(2.0) and mid.var == pytest.approx(var)
    assert mid.dof == pytest.approx(var ** 2 / ((0.25 * 0.04) ** 2 / 2 + (0.25 * 0.09) ** 2 / 4))


def test_no_spread_gives_no_p() -> None:
    assert math.isnan(t_test(Estimate(1.0, math.nan, 0.0), "x").p)
    assert math.isnan(difference(Estimate.of([1.0]), Estimate.of([2.0])).p)
