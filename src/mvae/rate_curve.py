"""The VAE's rate-distortion curve: VAEs (K = 1, the paper's objective) trained at several
KL weights, one point per weight (seeds averaged), and any run read against it at its own rate.

Between two points the curve is the straight line (``np.interp``); each point is an
:class:`mvae.stats.Estimate` (its seeds' sd, or the lent seed spread for one seed), so the value
read off the curve is a linear combination of two estimates with its own standard error and
Welch-Satterthwaite dof (:func:`mvae.stats.combine`). A straight line lies above a convex curve
between its points, so the reading errs in the mixtures' favour. Beyond the curve's rates nothing
is extrapolated: a run is read against the nearer end (:func:`read`) with the premise that more
rate never raises a VAE's error.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from mvae.stats import Estimate, Spread, combine

#: The rate-distortion plane's two rates: (column suffix, the rate's column).
RATE_AXES = (("", "rate_gauss"), ("_total", "rate_total"))


def vae_curve(points: pd.DataFrame, x: str = "rate_gauss", y: str = "sse_per_image"
              ) -> pd.DataFrame:
    """One point per KL weight of the VAEs among ``points`` (K = 1, the paper's objective):
    the mean rate and distortion over its seeds, their count and sd, sorted by rate."""
    vaes = points[(points.K == 1) & (points.objective == "paper")] if len(points) else points
    if vaes.empty:
        return pd.DataFrame(columns=["kl_weight", x, y, "n_seeds", f"{y}_sd"])
    curve = vaes.groupby("kl_weight").agg(**{x: (x, "mean"), y: (y, "mean"),
                                             "n_seeds": (y, "size"), f"{y}_sd": (y, "std")})
    return curve.reset_index().sort_values(x, ignore_index=True)


def point_estimates(curve: pd.DataFrame, spread: Spread, y: str = "sse_per_image"
                    ) -> list[Estimate]:
    """Each curve point's distortion as an estimate (its seeds' sd, or the lent spread)."""
    return [Estimate.summary(r[y], r[f"{y}_sd"], int(r["n_seeds"]), spread)
            for _, r in curve.iterrows()]


def read(curve: pd.DataFrame, rate: float, spread: Spread, x: str = "rate_gauss",
         y: str = "sse_per_image") -> tuple[str, Estimate | None]:
    """Where ``rate`` lies on the curve ("within", "above" its highest rate, "below" its lowest,
    or "none" without a curve of two points) and the curve's distortion there: the linear
    reading within, the nearer end's point beyond."""
    if len(curve) < 2 or math.isnan(rate):
        return "none", None
    xs = curve[x].to_numpy(float)
    points = point_estimates(curve, spread, y)
    if rate > xs[-1]:
        return "above", points[-1]
    if rate < xs[0]:
        return "below", points[0]
    # np.interp's weights: the reading is sum_i w_i y_i with w the interpolation of unit vectors
    weights = [float(np.interp(rate, xs, np.eye(len(xs))[i])) for i in range(len(xs))]
    return "within", combine([(w, p) for w, p in zip(weights, points, strict=True) if w > 0])


def with_curve(frame: pd.DataFrame, spread: Spread) -> pd.DataFrame:
    """``frame`` (a run a row, the VAEs among them) with each run read against the VAE curve of
    its own rows on both rates: where it lies, the curve's value there, its standard error and
    dof."""
    columns: dict[str, list[Any]] = {}
    for suffix, x in RATE_AXES:
        curve = vae_curve(frame, x=x)
        for rate in frame[x]:
            side, at = read(curve, rate, spread, x=x)
            columns.setdefault(f"curve{suffix}", []).append(side)
            columns.setdefault(f"vae_sse{suffix}", []).append(at.value if at else math.nan)
            columns.setdefault(f"vae_sse{suffix}_se", []).append(at.se if at else math.nan)
            columns.setdefault(f"vae_sse{suffix}_dof", []).append(at.dof if at else math.nan)
    return frame.assign(**columns)
