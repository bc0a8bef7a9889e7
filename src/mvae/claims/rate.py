"""Rate against distortion (our check): is a mixture better or worse than a VAE spending the same
rate? Each setting's mean error against the VAE curve read at its mean rate
(:mod:`mvae.rate_curve`), by the Gaussian KL and by the total KL (with the Dirichlet KL of the
weights), for every objective; and the authors' switches one at a time against our objective."""

from __future__ import annotations

from mvae.claims.verdict import Claim, Comparison, Context
from mvae.rate_curve import RATE_AXES, with_curve
from mvae.stats import Estimate, difference

AXES = {"": "Gaussian KL", "_total": "total KL"}
NAMED = {"paper": "paper's objective", "authors' settings": "authors' settings"}


def slug(reading: str) -> str:
    """A short stable id part for a reading: ``paper``, ``authors`` or ``switches``."""
    return {"each switch alone": "switches"}.get(reading, reading.split("'")[0])


def _setting(k: int, weight: float) -> str:
    return f"K = {k}" + (f", KL weight {weight:g}" if weight != 1 else "")


def rate_distortion(ctx: Context) -> list[Claim]:
    """A claim per objective and rate: every mixture setting against the VAE curve at its rate
    (beyond the curve's rates, against its nearer end: such a reading counts only where it shows
    the mixture worse than a VAE spending less, or better than one spending more)."""
    t = ctx.table("rate_distortion")
    if t is None or t.empty:
        return [Claim("rd-paper", "rate", "a mixture beats a VAE of the same rate", "", "lower",
                      needs="mixtures and VAEs at several KL weights", ours_paper=False)]
    t = with_curve(t, ctx.lend())
    mixtures = t[t.K > 1]
    groups = {name: mixtures[mixtures.objective == objective]
              for objective, name in NAMED.items()}
    groups["each switch alone"] = mixtures[~mixtures.objective.isin(list(NAMED))]
    out = []
    for reading, rows in groups.items():
        for suffix, x in RATE_AXES:
            comparisons = []
            for (objective, k, weight), seeds in rows.groupby(
                    ["objective", "K", "effective_kl_weight"], sort=False):
                side = seeds[f"curve{suffix}"].iloc[0]
                if side == "none" or seeds[f"curve{suffix}"].nunique() > 1:
                    continue  # a setting whose seeds straddle the curve's end is not read
                mix = Estimate.of(list(seeds.sse_per_image), ctx.lend())
                curve = Estimate(seeds[f"vae_sse{suffix}"].mean(),
                                 (seeds[f"vae_sse{suffix}_se"] ** 2).mean(),
                                 seeds[f"vae_sse{suffix}_dof"].min())
                nats = f"{seeds[x].mean():.0f} nats"
                label = (f"the VAE curve at {nats}" if side == "within" else
                         f"the curve's {'highest' if side == 'above' else 'lowest'} rate "
                         f"(run at {nats})")
                setting = (objective if objective not in NAMED else
                           f"A, K = {int(k)}" if objective != "paper" else
                           _setting(int(k), weight))
                comparisons.append(Comparison(
                    setting, mix, label, curve,
                    difference(mix, curve), beyond="" if side == "within" else side))
            out.append(Claim(f"rd-{slug(reading)}{suffix.replace('_', '-')}", "rate",
                             f"beats a VAE at equal {AXES[suffix]} ({reading})", "", "lower",
                             tuple(comparisons),
                             needs="VAEs at KL weights whose rates span the mixtures'",
                             ours_paper=False))
    return out


def switches(ctx: Context) -> list[Claim]:
    """Each of the authors' switches alone (and all three) against our objective at K = 4."""
    t = ctx.table("authors_switches")
    if t is None or t.empty:
        return [Claim("switches", "authors' code", "each of the authors' switches alone lowers "
                      "the error", "", "lower", needs="the switch runs", ours_paper=False)]
    base = t[t.variant.str.startswith("ours")].iloc[0]
    ours = Estimate.summary(base.sse_mean, base.sse_sd, int(base.n_seeds), ctx.lend())
    rows = tuple(
        Comparison(r.variant, switched, "our objective", ours, difference(switched, ours))
        for r in t[~t.variant.str.startswith("ours")].itertuples()
        for switched in [Estimate.summary(r.sse_mean, r.sse_sd, int(r.n_seeds), ctx.lend())])
    return [Claim("switches", "authors' code",
                  f"each authors' switch alone lowers the error (K = {int(base.K)})",
                  "", "lower", rows, ours_paper=False,
                  note="a lower error bought with more rate is a move along the curve: "
                       "see the rate claims")]


CHECKS = (rate_distortion, switches)
