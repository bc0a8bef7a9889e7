"""Reading run records: the evaluation files of a preset's runs (``eval/<run>/*.json``,
``runs/<run>/done.json``, ``baselines/<dataset>.json``) as the table builders need them, each
run's point on the rate-distortion plane, its resolved objective, and the provenance of a table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from mvae.config import Config
from mvae.layout import DONE
from mvae.mixture_kind import mixture_kind
from mvae.model import parameter_count
from mvae.selections import AUTHORS_SETTINGS, SWITCHES

#: The paper's objective: every key of :data:`SWITCHES` at its default.
PAPER_OBJECTIVE = Config()


def switch_label(key: str, value: object) -> str:
    """An objective switch as its preset line, e.g. ``kl_reduction: mean``."""
    return f"{key}: {str(value).lower() if isinstance(value, bool) else value}"


def read(paths: list[str | Path], kind: str) -> dict[str, dict[str, Any]]:
    """{run: record} of the eval files named ``<kind>.json`` among ``paths``."""
    return {p.parent.name: json.loads(p.read_text()) for p in map(Path, paths)
            if p.name == f"{kind}.json"}


def done_records(paths: list[str | Path]) -> dict[str, dict[str, Any]]:
    """{run: done.json} among ``paths`` (``runs/<run>/done.json``: the last epoch's losses)."""
    return {p.parent.name: json.loads(p.read_text()) for p in map(Path, paths) if p.name == DONE}


def baselines(paths: list[str | Path], dataset: str) -> dict[str, Any]:
    """The baselines record of ``dataset`` among ``paths`` (``baselines/<dataset>.json``)."""
    for p in map(Path, paths):
        if p.parent.name == "baselines" and p.stem == dataset:
            return json.loads(p.read_text())
    return {}


def config_of(records: dict[str, dict[str, Any]], run: str) -> dict[str, Any]:
    return records.get(run, {}).get("config", {})


def sampled_sse(rec: dict[str, Any]) -> float:
    """The mixture's per-image SSE in the sampled mode (w ~ Dir(a), z ~ q), NaN if absent."""
    return rec.get("modes", {}).get("sampled", {}).get("mixture", {}).get("sse_per_image",
                                                                           math.nan)


def usage_kind(rec: dict[str, Any]) -> str:
    """The current rule's reading of a reconstruction record (mixture, blend, ...), with the
    record's mean-image SSE for diagnostics written before they held it."""
    diagnostics = dict(rec.get("diagnostics", {}))
    if "mean_image_sse" in rec:
        diagnostics.setdefault("mean_image_sse", rec["mean_image_sse"])
    return mixture_kind(diagnostics)


def source(rec: dict[str, Any]) -> str:
    if "source" in rec:
        return rec["source"]
    data = rec.get("provenance", {}).get("data") or {}
    return data.get("test", "unknown")


def parameters(config: dict[str, Any]) -> int:
    """The run's trainable parameter count, from its stored config (no checkpoint needed)."""
    return parameter_count(Config.from_dict(config))


def provenance(*groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The commits, devices, seeds and configs of the records behind a table."""
    configs, seeds, devices, commits = {}, {}, set(), set()
    for records in groups:
        for run, rec in records.items():
            if "config" in rec:
                configs[run] = rec["config"]
                seeds[run] = rec["config"].get("seed")
            prov = rec.get("provenance", {})
            if prov.get("device"):
                devices.add(prov["device"])
            if isinstance(prov.get("git"), dict):
                dirty = "+dirty" if prov["git"].get("dirty") else ""
                commits.add(f"{prov['git'].get('commit')}{dirty}")
    return {"commits": sorted(commits), "devices": sorted(devices), "seeds": seeds,
            "configs": configs}


COMPONENT_ORDER = "C1 = the run's most used component (largest mean E[w] on the test set)"


def usage_order(reconstruction: dict[str, Any] | None, k: int) -> list[int]:
    """A run's component indices, most used first (mean E[w] on the test set, descending).

    Components have no identity across seeds: any permutation of them is the same model, so
    "component 1" of one seed and of another are unrelated, and a mean over seeds of C1's
    accuracy mixes roles at random. Ranking each run's components by how much the mixture uses
    them gives C1..CK the same meaning in every run. Without diagnostics the stored order stays.
    """
    weights = ((reconstruction or {}).get("diagnostics") or {}).get("expected_w")
    if not weights or len(weights) != k:
        return list(range(k))
    return rank_by_usage(weights)


def rank_by_usage(mean_weights: Any) -> list[int]:
    """Component indices by mean weight, largest first (ties keep the stored order): the order
    in which every table, figure and verdict names components C1..CK."""
    weights = [float(w) for w in mean_weights]
    return sorted(range(len(weights)), key=lambda i: -weights[i])


def effective_kl_weight(config: dict[str, Any]) -> float:
    """The weight the Gaussian KL summed over components gets in the loss: ``kl_weight``, over
    K where the K KLs are averaged (``kl_reduction: mean``)."""
    return config.get("kl_weight", 1.0) / (
        config["components"] if config.get("kl_reduction") == "mean" else 1)


def objective_label(config: dict[str, Any]) -> str:
    """The objective in words, with averaged KLs resolved to a KL weight of 1/K: "authors'
    settings" (all three of their switches), the other switches as their preset lines, or
    "paper". So ``kl_reduction: mean`` at K = 4 and ``kl_weight: 0.25`` are the same objective,
    and count once (:func:`setting_key`)."""
    c = Config.from_dict(config)
    if all(getattr(c, key) == value for key, value in AUTHORS_SETTINGS.items()):
        return "authors' settings"
    switches = [switch_label(key, getattr(c, key)) for key in SWITCHES
                if key != "kl_reduction" and getattr(c, key) != getattr(PAPER_OBJECTIVE, key)]
    return ", ".join(switches) if switches else "paper"


def setting_key(config: dict[str, Any]) -> tuple[Any, ...]:
    """What a run's numbers depend on but its seed: two runs with the same key and seed train
    the same objective (written two ways, or twice) and are one piece of evidence."""
    c = Config.from_dict(config).to_dict()
    c.pop("name")
    c.pop("seed")
    c["kl_weight"] = effective_kl_weight(config)
    c["kl_reduction"] = "sum"
    return tuple(sorted((k, str(v)) for k, v in c.items()))


def rate_point(rec: dict[str, Any], done: dict[str, Any]) -> dict[str, Any]:
    """One run on the rate-distortion plane: its test-set rate (Gaussian KL summed over the
    components, and with the Dirichlet KL) and distortion (per-image SSE in both modes), the
    unweighted negative ELBO, and what it was trained with. The losses are the last epoch's test
    terms (one sampled draw per image, at the training batch size)."""
    from mvae.objective import elbo, gaussian_rate

    c = rec["config"]
    config = Config.from_dict(c)
    test = (done.get("final") or {}).get("test") or {}
    rate = gaussian_rate(test["kl_gauss"], config) if test else math.nan
    kl_dir = test.get("kl_dirichlet", math.nan)
    return {"K": c["components"], "seed": c["seed"], "kl_weight": c.get("kl_weight", 1.0),
            "kl_reduction": c.get("kl_reduction", "sum"),
            "effective_kl_weight": effective_kl_weight(c), "objective": objective_label(c),
            "rate_gauss": rate, "kl_dirichlet": kl_dir,
            "rate_total": rate + (kl_dir if c["components"] > 1 else 0.0),
            "sse_per_image": rec["mixture"]["sse_per_image"], "sse_sampled": sampled_sse(rec),
            "neg_elbo": -elbo(test, config) if test else math.nan,
            "verdict": usage_kind(rec), "source": source(rec)}


def rate_points(recs: dict[str, dict[str, Any]], paths: list[str | Path],
                runs: list[str]) -> dict[str, dict[str, Any]]:
    """:func:`rate_point` of each of ``runs`` that is archived."""
    done = done_records(paths)
    return {run: rate_point(recs[run], done.get(run, {})) for run in runs if run in recs}


def once(frame: pd.DataFrame, configs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """``frame`` (a ``run`` column) with each piece of evidence once: of runs with the same
    :func:`setting_key` and seed, the first stays and names the others in ``same_as``."""
    if frame.empty:
        return frame.assign(same_as="")
    keys = [(setting_key(configs[r]), configs[r]["seed"]) for r in frame.run]
    first: dict[Any, int] = {}
    twins: dict[int, list[str]] = {}
    keep = []
    for i, (key, run) in enumerate(zip(keys, frame.run, strict=True)):
        if key in first:
            twins.setdefault(first[key], []).append(run)
        else:
            first[key] = i
            keep.append(i)
    out = frame.iloc[keep].copy()
    out["same_as"] = [" ".join(twins.get(i, [])) for i in keep]
    return out
