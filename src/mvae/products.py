"""Make one registered table or figure (:mod:`mvae.registry`) from its input files: what the
pipeline's ``table`` and ``figure`` rules call. Above the registry and the builders, so that
neither imports the other."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mvae.provenance import write_json
from mvae.registry import FIGURES, TABLES, Product
from mvae.selections import Selections


def _product(products: dict[str, Product], kind: str, name: str) -> Product:
    if name not in products:
        raise ValueError(f"unknown {kind} {name!r}; known: {', '.join(products)}")
    return products[name]


def build_table(name: str, paths: list[str | Path], selection: Selections,
                csv_path: str | Path, json_path: str | Path, preset: str = "") -> pd.DataFrame:
    """Build table ``name`` from eval files and write it as CSV and as JSON with provenance."""
    frame, prov = _product(TABLES, "table", name).function()(paths, selection)
    Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(csv_path, index=False, float_format="%.6g")
    rows = json.loads(frame.to_json(orient="records"))  # NaN -> null
    write_json(Path(json_path), {"table": name, "preset": preset, "rows": rows,
                                 "provenance": prov})
    return frame


def draw_figure(name: str, paths: list[str | Path], runs: Selections, png: str | Path,
                svg: str | Path) -> None:
    """Draw figure ``name`` from its input files and save it as PNG and SVG."""
    from mvae.figures import save_figure

    save_figure(_product(FIGURES, "figure", name).function()(paths, runs), png, svg)
