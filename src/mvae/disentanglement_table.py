"""The disentanglement table: MIG and DCI on dSprites, per setting and code, over seeds.

One row per (setting, code): the K = 4 mixture's components alone (C1 the most used, as in every
table) and their concatenation, the VAE with one component's latent size and the VAE with the
concatenation's; each metric's mean, standard deviation and number of seeds. The records are the
pipeline's ``eval/<run>/disentanglement.json`` (:func:`mvae.steps.disentanglement_step`); which
runs are which setting is :attr:`mvae.selections.Selections.disentanglement`. Components are
exchangeable across seeds, so a row such as "C2" pools each seed's second most used component.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from mvae.selections import Selections

#: The settings in the table's order, with the labels the book shows.
SETTINGS = {"mixture": "M-VAE", "vae_small": "VAE, one component's latent size",
            "vae_wide": "VAE, the concatenation's latent size"}
#: The metrics: column name and where the record keeps it.
METRICS = {"mig": ("mig", "mig"), "dci_d": ("dci", "disentanglement"),
           "dci_c": ("dci", "completeness"), "dci_i_nrmse": ("dci", "informativeness_nrmse")}
#: The settings as a narrow table names them (the latent size is its own column).
SHORT = {"mixture": "M-VAE", "vae_small": "VAE", "vae_wide": "VAE"}
#: The columns :func:`as_shown` gives each metric, in order.
SHOWN = {"mig": "MIG", "dci_d": "DCI D", "dci_c": "DCI C", "dci_i_nrmse": "DCI I (NRMSE)"}
#: A dimension counts as active when its mean KL to the prior exceeds this (nats).
ACTIVE_KL = 0.01


def _records(paths: list[str | Path]) -> dict[str, dict[str, Any]]:
    return {Path(p).parent.name: json.loads(Path(p).read_text()) for p in paths
            if Path(p).name == "disentanglement.json"}


def _stats(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else math.nan


def _active(codes: dict[str, Any], code: str) -> int:
    """Dimensions of ``code`` whose KL exceeds :data:`ACTIVE_KL` (a concatenation: its
    components' together)."""
    parts = [c for name, c in codes.items() if name != "concatenated"] \
        if code == "concatenated" else [codes[code]]
    return int(sum((np.asarray(c.get("kl_per_dim", [])) > ACTIVE_KL).sum() for c in parts))


def _provenance(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    commits, devices = set(), set()
    for rec in records.values():
        prov = rec.get("provenance", {})
        if prov.get("device"):
            devices.add(prov["device"])
        git = prov.get("git")
        if isinstance(git, dict):
            commits.add(f"{git.get('commit')}{'+dirty' if git.get('dirty') else ''}")
    return {"commits": sorted(commits), "devices": sorted(devices),
            "seeds": {run: rec["config"].get("seed") for run, rec in records.items()},
            "configs": {run: rec["config"] for run, rec in records.items()}}


def disentanglement_table(paths: list[str | Path],
                          selection: Selections) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The table (see the module docstring) and the provenance of its runs. Settings without an
    archived run are left out; per-factor MIG columns are named ``mig_<factor>``."""
    records = _records(paths)
    chosen = selection.disentanglement
    rows = []
    for setting, label in SETTINGS.items():
        runs = [run for run in chosen.get(setting, []) if run in records]
        for code in dict.fromkeys(c for run in runs for c in records[run]["codes"]):
            have = [run for run in runs if code in records[run]["codes"]]
            entries = [records[run]["codes"][code] for run in have]
            row: dict[str, Any] = {"setting": setting, "model": label, "code": code,
                                   "dims": entries[0]["dims"], "n": len(have),
                                   "runs": ", ".join(have)}
            for column, (group, key) in METRICS.items():
                row[f"{column}_mean"], row[f"{column}_sd"] = _stats(
                    [e[group][key] for e in entries])
            for i, factor in enumerate(entries[0]["factors"]):
                row[f"mig_{factor}"] = _stats([e["mig"]["per_factor"][i] for e in entries])[0]
            row["active_dims"] = _stats([_active(records[run]["codes"], code)
                                         for run in have])[0]
            row["source"] = records[have[0]].get("source", "")
            rows.append(row)
    return pd.DataFrame(rows), _provenance(records)


def _range(values: pd.Series) -> str:
    return f"{values.min():.3f} to {values.max():.3f}"


def what_it_shows(table: pd.DataFrame) -> str:
    """Chapter 14's reading of :func:`disentanglement_table`, in numbers: how high any code
    scores (MIG and DCI disentanglement are 1 for one dimension per factor), and how many
    dimensions each of the mixture's components keeps active against the VAE of its size."""
    if table.empty:
        return ""
    seeds = f"{int(table.n.min())}" + (f" to {int(table.n.max())}" if table.n.nunique() > 1
                                       else "")
    text = (f"Over {seeds} seeds, every code scores MIG from {_range(table.mig_mean)} and DCI "
            f"disentanglement from {_range(table.dci_d_mean)}, where 1 is one dimension per "
            "factor.")
    parts = table[(table.setting == "mixture") & (table.code != "concatenated")]
    small = table[table.setting == "vae_small"]
    if len(parts) and len(small):
        active = ", ".join(f"{r.code} {_dims(r.active_dims)}" for r in parts.itertuples())
        text += (f" Active dimensions (KL above {ACTIVE_KL} nats, mean over seeds) of "
                 f"{int(parts.dims.iloc[0])}: {active}, against "
                 f"{_dims(small.active_dims.iloc[0])} for the VAE of one component's size.")
    return text


def _dims(mean: float) -> str:
    return f"{mean:.0f}" if float(mean).is_integer() else f"{mean:.1f}"


def as_shown(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`disentanglement_table` narrow enough for a page: a short model name, and each
    metric as one "mean±sd" cell (no space, so it does not wrap; the mean alone for one seed);
    the factors' MIG columns left out (they are a table of their own)."""
    out = pd.DataFrame({"model": table.setting.map(SHORT),
                        "code": table.code.where(table.setting == "mixture", "whole"),
                        "d": table.dims, "seeds": table.n})
    for prefix, label in SHOWN.items():
        out[label] = [f"{m:.3f}" if math.isnan(sd) else f"{m:.3f}±{sd:.3f}"
                      for m, sd in zip(table[f"{prefix}_mean"], table[f"{prefix}_sd"],
                                       strict=True)]
    out["active dims"] = table.active_dims
    return out
