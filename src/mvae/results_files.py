"""Where the book finds the pipeline's results, and reading them (never retraining).

The pipeline writes ``<base>/<preset>/`` (``tables/``, ``figures/``, ``eval/``, ``runs/``,
``provenance.json``). ``<base>`` is ``$MVAE_RESULTS_DIR`` or ``results`` (a relative path is taken
from the repository root, so notebooks executed from ``book/`` find it); ``<preset>`` is
``$MVAE_PRESET`` or, when unset, ``paper`` if ``<base>/paper/`` exists, else ``quick``.

A missing input raises :class:`MissingResults`, whose message names the file and the command that
produces it; in a notebook it displays as a note saying so (:mod:`mvae.reporting` shows it in
place of the table or figure, so a chapter whose inputs are missing still builds).
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from mvae import layout
from mvae.markup import admonition

ENV_RESULTS = "MVAE_RESULTS_DIR"
ENV_PRESET = "MVAE_PRESET"
DEFAULT_PRESET = "paper"
FALLBACK_PRESET = "quick"


def command_for(preset: str) -> str:
    """The command that produces ``results/<preset>/``."""
    if preset == DEFAULT_PRESET:
        return "snakemake --cores all"
    return f"snakemake --cores all --config preset={preset}"


class MissingResults(FileNotFoundError):
    """A results file the book needs does not exist; says which and how to produce it."""

    def __init__(self, path: Path | str, preset: str, what: str | None = None) -> None:
        self.path = Path(path)
        self.preset = preset
        self.what = what or self.path.name
        self.command = command_for(preset)
        self.progress = archive_progress(preset)
        super().__init__(
            f"{self.what} is missing: {self.shown} does not exist. It is written by the pipeline; "
            f"run `{self.command}` from the repository root (it produces results/{preset}/), "
            f"then rebuild the book." + (f" {self.progress}" if self.progress else ""))

    @property
    def shown(self) -> str:
        """The path as a reader of the book finds it: relative to the repository root when
        inside it (not the folder of whoever built the book)."""
        try:
            return str(self.path.resolve().relative_to(repo_root()))
        except ValueError:
            return str(self.path)

    def _repr_html_(self) -> str:
        return admonition(
            "warning", "Results not available",
            f"<p>{html.escape(self.what)} is missing: <code>{html.escape(self.shown)}</code> "
            f"does not exist. The pipeline writes it; run</p>"
            f"<pre>{html.escape(self.command)}</pre>"
            f"<p>from the repository root, then rebuild the book.</p>"
            + (f"<p>{html.escape(self.progress)}</p>" if self.progress else ""))

    def _repr_markdown_(self) -> str:
        return f"**Results not available.** {self}"


def archive_progress(preset: str) -> str | None:
    """How far a committed archive has got (None without one): a half-trained grid's missing
    results are runs not trained yet, not a broken build, and the reader should know which."""
    runs = results_dir(preset) / "runs"
    if not runs.is_dir():
        return None
    done = sum((d / layout.DONE).is_file() for d in runs.iterdir())
    try:
        from mvae.presets import load_preset

        total = len(load_preset(preset, repo_root() / "pipeline" / "config").runs)
    except Exception:  # noqa: BLE001  (a results folder of a preset file that has moved)
        return None
    return (f"The committed results of the {preset} preset hold {done} of its {total} "
            "runs so far; scripts/paper_grid.py trains the others one by one and commits each "
            "as it finishes, so this part appears when its runs are in.")


# ----------------------------------------------------------------------------- locations
def repo_root(start: Path | None = None) -> Path:
    """The repository root: the nearest folder upwards holding ``pyproject.toml`` and ``book/``
    (from ``start`` or the working directory), else the checkout this module lives in."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "book").is_dir():
            return folder
    return Path(__file__).resolve().parents[2]


def results_base() -> Path:
    """``$MVAE_RESULTS_DIR`` or ``results``, relative paths taken from the repository root."""
    base = Path(os.environ.get(ENV_RESULTS) or "results").expanduser()
    return base if base.is_absolute() else repo_root() / base


def current_preset() -> str:
    """``$MVAE_PRESET``, else ``paper`` when its results exist, else ``quick``."""
    preset = os.environ.get(ENV_PRESET)
    if preset:
        return preset
    return DEFAULT_PRESET if (results_base() / DEFAULT_PRESET).is_dir() else FALLBACK_PRESET


def results_dir(preset: str | None = None) -> Path:
    """``<base>/<preset>``; it need not exist (the loaders raise :class:`MissingResults`)."""
    return results_base() / (preset or current_preset())


def _require(path: Path, preset: str, what: str) -> Path:
    if not path.is_file():
        raise MissingResults(path, preset, what)
    return path


# ----------------------------------------------------------------------------- loaders
def table_path(name: str, preset: str | None = None, ext: str = "csv") -> Path:
    preset = preset or current_preset()
    return _require(results_dir(preset) / "tables" / f"{name}.{ext}", preset, f"Table {name!r}")


def load_table(name: str, preset: str | None = None) -> pd.DataFrame:
    """``tables/<name>.csv`` as a DataFrame."""
    return pd.read_csv(table_path(name, preset, "csv"))


def load_table_meta(name: str, preset: str | None = None) -> dict[str, Any]:
    """``tables/<name>.json``: the table's records and provenance (commit, configs, seeds, ...)."""
    return read_json(table_path(name, preset, "json"))


def figure_path(name: str, preset: str | None = None, ext: str = "png") -> Path:
    """``figures/<name>.png``."""
    preset = preset or current_preset()
    return _require(results_dir(preset) / "figures" / f"{name}.{ext}", preset, f"Figure {name!r}")


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text())


def example_images(run: str, preset: str | None = None) -> Any:
    """The test images stored with a run's reconstructions (``eval/<run>/examples.npz``), as
    uint8 (N, C, H, W): the digits the book's figures and its play cells show."""
    import numpy as np

    preset = preset or current_preset()
    path = _require(results_dir(preset) / "eval" / run / "examples.npz", preset,
                    f"The file of {run}'s test images")
    with np.load(path) as stored:
        return stored["images"]


def load_json(relative: str, preset: str | None = None) -> Any:
    """Any JSON file under the preset's folder, e.g. ``eval/mnist-k4-s0/reconstruction.json``."""
    preset = preset or current_preset()
    return read_json(_require(results_dir(preset) / relative, preset, relative))


def run_config(run: str, preset: str | None = None) -> dict[str, Any]:
    """``runs/<run>/config.yaml`` as a dict."""
    import yaml

    preset = preset or current_preset()
    path = _require(results_dir(preset) / layout.run_file(run, "config.yaml"), preset,
                    f"config of run {run!r}")
    return yaml.safe_load(path.read_text()) or {}


def run_history(run: str, preset: str | None = None) -> pd.DataFrame:
    """``runs/<run>/history.json`` (one row per epoch), flattened to columns."""
    preset = preset or current_preset()
    path = _require(results_dir(preset) / layout.run_file(run, "history.json"), preset,
                    f"history of run {run!r}")
    return pd.json_normalize(read_json(path))


def have(*names: str, preset: str | None = None) -> bool:
    """Whether all the named tables (``table:<name>``) / figures (``figure:<name>``) exist."""
    root = results_dir(preset)
    for item in names:
        kind, _, name = item.partition(":")
        path = root / ("tables" if kind == "table" else "figures") / \
            f"{name}.{'csv' if kind == 'table' else 'png'}"
        if not path.is_file():
            return False
    return True
