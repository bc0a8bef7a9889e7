"""What the book's results chapters use to read the pipeline's outputs (and never retrain).

The pipeline writes ``<base>/<preset>/`` (``tables/``, ``figures/``, ``eval/``, ``runs/``,
``provenance.json``). ``<base>`` is ``$MVAE_RESULTS_DIR`` or ``results`` (a relative path is taken
from the repository root, so notebooks executed from ``book/`` find it); ``<preset>`` is
``$MVAE_PRESET`` or, when unset, ``paper`` if ``<base>/paper/`` exists, else ``quick``.

A missing input raises :class:`MissingResults`, whose message names the file and the command that
produces it. In a notebook, :func:`show_table`, :func:`show_figure` and :func:`provenance_box`
catch it and display that message as a note, so a chapter whose inputs are missing still builds
(warning-free) and tells the reader what to run.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mvae import layout, registry
from mvae.presets import PROBE_CLASSIFIERS

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
        return _admonition(
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


# ----------------------------------------------------------------------------- provenance
_DEVICE_KEYS = ("device", "devices")


def _find(record: Any, keys: Iterable[str], depth: int = 0) -> Any:
    """The first value under one of ``keys``, searching nested mappings breadth-first."""
    keys = tuple(keys)
    if depth > 4 or not isinstance(record, Mapping):
        return None
    for key in keys:
        if key in record and record[key] not in (None, "", [], {}):
            return record[key]
    for value in record.values():
        found = _find(value, keys, depth + 1)
        if found is not None:
            return found
    return None


def _short_commit(commit: str, limit: int = 12) -> str:
    """``<sha>`` or ``<sha>+dirty`` -> a short sha, saying when the tree had uncommitted changes."""
    sha, _, dirty = commit.partition("+")
    return sha[:limit] + (" (with uncommitted changes)" if dirty else "")


def _unique(values: Iterable[Any]) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values))


def provenance(name: str | None = None, preset: str | None = None,
               runs: Iterable[str] = ()) -> dict[str, Any]:
    """What a table came from: preset, commits, devices, seeds, runs and their configs.

    Reads ``tables/<name>.json`` (its ``provenance`` record: ``commits``, ``devices``,
    ``seeds`` {run: seed}, ``configs`` {run: config}) when ``name`` is given, and, for ``runs``
    named explicitly, ``runs/<run>/{config.yaml,provenance.json}``; with both, only those runs
    are listed (a chapter that uses two runs of Table I shows two). Whatever is missing is left
    out (the box then says "unknown"), never an error.
    """
    preset = preset or current_preset()
    root = results_dir(preset)
    runs = list(runs)
    commits: list[str] = []
    devices: list[str] = []
    seeds: dict[str, Any] = {}
    configs: dict[str, dict[str, Any]] = {}
    if name and (root / "tables" / f"{name}.json").is_file():
        record = read_json(root / "tables" / f"{name}.json").get("provenance", {}) or {}
        commits += [str(c) for c in record.get("commits", []) or []]
        devices += [str(d) for d in record.get("devices", []) or []]
        seeds.update(record.get("seeds", {}) or {})
        configs.update(record.get("configs", {}) or {})
    for run in runs:
        with contextlib.suppress(MissingResults):
            configs.setdefault(run, run_config(run, preset))
        path = root / layout.run_file(run, "provenance.json")
        if path.is_file():
            record = read_json(path)
            git = _find(record, ("git",))
            if isinstance(git, Mapping):
                commits.append(f"{git.get('commit')}{'+dirty' if git.get('dirty') else ''}")
            device = _find(record, _DEVICE_KEYS)
            if device:
                devices.append(str(device))
    if runs:  # a box about some runs of a table lists those runs only
        configs = {r: c for r, c in configs.items() if r in runs}
        seeds = {r: s for r, s in seeds.items() if r in runs}
    for run, cfg in configs.items():
        if "seed" in cfg:
            seeds.setdefault(run, cfg["seed"])
    return {"preset": preset, "commits": _unique(commits), "devices": _unique(devices),
            "seeds": seeds, "runs": list(configs), "configs": configs, "source": name}


def _admonition(kind: str, title: str, body: str) -> str:
    return (f'<div class="admonition {kind}"><p class="admonition-title">{html.escape(title)}'
            f"</p>{body}</div>")


class HTML:
    """A minimal rich-display wrapper (HTML for the book, Markdown-ish text elsewhere)."""

    def __init__(self, markup: str, text: str = "") -> None:
        self.markup, self.text = markup, text or markup

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


_CONFIG_KEYS = ("dataset", "components", "latent_dim", "hidden_dim", "beta", "epochs",
                "batch_size", "train_subset", "seed")


def _range_or_list(values: list[str]) -> str:
    """"0-2" for consecutive integers, else the values joined by commas."""
    try:
        numbers = sorted(int(v) for v in values)
    except ValueError:
        return ", ".join(values)
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    return ", ".join(str(n) for n in numbers)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def provenance_box(name: str | None = None, preset: str | None = None,
                   runs: Iterable[str] = (), config_keys: Iterable[str] = _CONFIG_KEYS) -> HTML:
    """What a table came from, folded: one line (preset, runs, seeds, commits, devices) that
    opens on a click into the full record (results file, every commit and device, each run's
    config), so that it takes one line of the page, not a screen."""
    info = provenance(name, preset, runs)
    preset = info["preset"]
    commits = [_short_commit(c) for c in info["commits"]]
    seeds = _unique(info["seeds"].values())
    rows = [("preset", f"{preset}" + (" (small quick run, not the paper-scale run)"
                                      if preset != DEFAULT_PRESET else "")),
            ("results", f"results/{preset}/" + (f"tables/{name}.json" if name else "")),
            ("commit", ", ".join(commits) or "unknown"),
            ("device", "; ".join(info["devices"]) or "unknown"),
            ("seeds", _range_or_list(seeds) or "unknown")]
    keys = list(config_keys)
    config_rows = [(run, ", ".join(f"{k}={cfg[k]}" for k in keys if k in cfg))
                   for run, cfg in info["configs"].items()]
    parts = [f"{preset} preset"]
    if config_rows:
        parts.append(_count(len(config_rows), "run"))
    if seeds:
        parts.append(("seed " if len(seeds) == 1 else "seeds ") + _range_or_list(seeds))
    parts.append(_count(len(commits), "commit") if commits else "commit unknown")
    if info["devices"]:
        parts.append(_count(len(info["devices"]), "device"))
    summary = "Provenance: " + ", ".join(parts)
    body = "".join(f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(v)}</code></td></tr>"
                   for k, v in rows)
    body += "".join(f"<tr><th>{html.escape(run)}</th><td><code>{html.escape(v)}</code></td></tr>"
                    for run, v in config_rows)
    markup = (f'<details class="mvae-provenance"><summary>{html.escape(summary)} '
              '<span class="mvae-provenance-hint">(details)</span></summary>'
              f'<table class="provenance-box">{body}</table></details>')
    text = summary + ". " + "; ".join(f"{k}: {v}" for k, v in rows + config_rows)
    return HTML(markup, text)


def preset_banner(preset: str | None = None) -> HTML:
    """Which results the chapter shows; a loud note when they are not the paper-scale run."""
    preset = preset or current_preset()
    root = results_dir(preset)
    if not (root / "tables").is_dir():
        return HTML(MissingResults(root / "tables", preset, f"The {preset} preset's results")
                    ._repr_html_(), str(MissingResults(root / "tables", preset)))
    if preset == DEFAULT_PRESET:
        body = (f"<p>Numbers and figures below are read from <code>results/{preset}/</code>, the "
                "paper-scale run of the pipeline.</p>")
        return HTML(_admonition("note", "Results: paper preset", body), body)
    body = (f"<p>Numbers and figures below are read from <code>results/{preset}/</code>: a "
            f"<strong>small {html.escape(preset)} run</strong> (subsets of the data, a few "
            "epochs) that shows the pipeline works. They are <strong>not</strong> the "
            "paper-scale results and should not be compared with the paper's numbers. The "
            f"paper-scale results are committed in <code>results/{DEFAULT_PRESET}/</code> "
            f"(build the book with <code>MVAE_PRESET={DEFAULT_PRESET}</code>); "
            f"<code>{command_for(DEFAULT_PRESET)}</code> retrains them (about 42 hours on 2 "
            "CPU cores).</p>")
    return HTML(_admonition("attention", f"Results: {preset} preset, not paper scale", body),
                f"Results from the {preset} preset: a small run, not the paper-scale results.")


# ----------------------------------------------------------------------------- display
def show_table(name: str, preset: str | None = None, columns: Iterable[str] | None = None,
               precision: int = 2, **options: Any) -> Any:
    """The table as a formatted :class:`Table` (every row of its CSV), or the
    :class:`MissingResults` note."""
    try:
        frame = load_table(name, preset)
    except MissingResults as missing:
        return missing
    if columns is not None:
        frame = frame[[c for c in columns if c in frame.columns]]
    return format_table(frame, precision, source=name, preset=preset, **options)


def table_or_note(name: str, preset: str | None = None) -> pd.DataFrame | None:
    """The table, or None after displaying the :class:`MissingResults` note in the notebook, so
    a chapter goes on (and builds) without it."""
    try:
        return load_table(name, preset)
    except MissingResults as missing:
        from IPython.display import display  # only notebooks call this

        display(missing)
        return None


def _markdown_cell(text: Any) -> str:
    """Text for a Markdown table cell that renders as written: no column break, no maths, no
    emphasis, no HTML."""
    out = str(text).replace("\\", "\\\\")
    for char in "|$*`[]":
        out = out.replace(char, "\\" + char)
    return out.replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def show_verdicts(verdicts: Iterable[Any]) -> Any:
    """Verdicts (:class:`mvae.verdicts.Verdict`) as a Markdown table of claim, verdict and
    evidence: formatted text on the page, not console output."""
    from IPython.display import Markdown

    rows = ["| claim | verdict | evidence |", "| --- | --- | --- |"]
    rows += [f"| {_markdown_cell(v.claim)} | **{_markdown_cell(v.status)}** | "
             f"{_markdown_cell(v.evidence)} |" for v in verdicts]
    return Markdown("\n".join(rows))


def show_checks(table: Any, *checks: Any) -> Any:
    """The verdicts of each of ``checks`` (functions of :mod:`mvae.verdicts`) on ``table``, as
    :func:`show_verdicts` shows them, each read twice so that a fragile one says so
    (:func:`mvae.verdicts.read_twice`, as on the claims page)."""
    from mvae.verdicts import read_twice

    return show_verdicts([v for check in checks for v in read_twice(check, table)])


def say(*sentences: Any) -> Any:
    """Sentences computed from the results, shown as a paragraph of the page (Markdown, with
    the characters Markdown would read as markup escaped), not as console output."""
    from IPython.display import Markdown

    return Markdown(" ".join(_markdown_cell(s) for s in sentences if s))


#: Column headers of the results tables as the book shows them (short, with their unit); the
#: CSV's own name stays in each header's tooltip. Columns not listed keep their name.
LABELS = {
    "sse_per_image": "SSE / image", "sse_std": "SSE sd", "sse_sampled": "SSE, sampled",
    "sse_mean": "SSE / image", "sse_sd": "SSE sd", "mse_per_pixel": "MSE / pixel",
    "best_component_sse": "best component SSE", "worst_component_sse": "worst component SSE",
    "dominant_sse": "dominant component SSE", "mean_image_sse": "mean-image SSE",
    "paper_sse_per_image": "paper SSE / image", "paper_setup": "paper setup",
    "latent_dim": "d", "n_test": "test images", "parameters": "parameters",
    "mean_offdiag_cka": "mean CKA", "knn_concatenated": "KNN (%)",
    "mlp_concatenated": "MLP (%)", "linear_svm_concatenated": "linear SVM (%)",
    "knn_mean_component": "KNN, one component (%)", "concentration_sum": "concentration sum",
    "active_dims": "active dims", "beta_warmup": "beta warm-up",
    "dhsic_independent": "dhsic shuffled", "dhsic_ceiling": "dhsic identical",
    "penalty_dhsic": "penalty dhsic", "penalty_independent": "penalty shuffled",
    "penalty_ceiling": "penalty identical", "effective_kl_weight": "KL weight",
    "rate_gauss": "Gaussian KL", "rate_total": "total KL", "vae_sse_at_rate": "VAE SSE at rate",
    "vae_sse_at_rate_se": "its SE",
    "vae_kl_weight": "VAE KL weight", "vae_n_seeds": "VAE seeds", "vae_sse_mean": "VAE SSE",
    "n_seeds": "seeds", "kl_dirichlet": "Dirichlet KL", "neg_elbo": "-ELBO",
    "sampled_minus_deterministic_percent": "sampled - mean (%)",
}
#: Each probe classifier as the book names it.
PROBE_NAMES = dict(zip(PROBE_CLASSIFIERS, ("MLP", "linear SVM", "KNN"), strict=True))
#: Columns holding fractions of one that the book shows as percentages (probe accuracies).
PERCENT_PREFIXES = PROBE_CLASSIFIERS


def _is_fraction_column(name: str, values: pd.Series) -> bool:
    numeric = pd.to_numeric(values, errors="coerce").dropna()
    return (name.startswith(PERCENT_PREFIXES)
            and not name.endswith(("_n_seeds", "percent", "_not_converged"))
            and len(numeric) > 0 and numeric.abs().max() <= 1.0)


def _is_whole_column(values: pd.Series) -> bool:
    """Numbers that are all whole (K, seeds, epochs, image counts), shown without decimals."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    numeric = values.dropna()
    return len(numeric) > 0 and bool(((numeric % 1) == 0).all())


def _cell(value: Any, whole: bool, precision: int, na: str) -> tuple[str, bool]:
    """(text, is a number) of one cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return na, False
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), False
    if isinstance(value, int | np.integer) or (whole and isinstance(value, float | np.floating)):
        return f"{int(value):,}", True
    if isinstance(value, float | np.floating):
        return f"{value:,.{precision}f}", True
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value), False
    return str(value), False


class Table:
    """A results table as the book shows it: short headers (:data:`LABELS`, the CSV's column
    name in each header's tooltip), whole numbers without decimals, probe accuracies in percent,
    numbers right-aligned, no index. With ``source`` the ``<table>`` names the CSV it shows
    (``data-csv``, and ``data-csv-key``/``data-csv-where`` when it shows one row per distinct
    ``key`` among the CSV rows where ``where`` is set), so ``scripts/check_book.py`` can fail a
    page whose table lost rows of its CSV. ``to_html()`` as on a Styler; the caption is an
    argument."""

    def __init__(self, frame: pd.DataFrame, precision: int = 2, *, source: str | None = None,
                 preset: str | None = None, key: str | None = None, where: str | None = None,
                 caption: str = "", labels: Mapping[str, str] | None = None,
                 percent: Iterable[str] | None = None, precisions: Mapping[str, int] | None = None,
                 na: str = "–") -> None:
        named = any(n is not None for n in frame.index.names)  # a pivot's rows: a column
        self.frame = frame.reset_index() if named else frame.reset_index(drop=True)
        self.precision, self.caption, self.na = precision, caption, na
        self.labels = {**LABELS, **(labels or {})}
        self.precisions = dict(precisions or {})
        self.percent = set(percent) if percent is not None else {
            c for c in self.frame.columns if _is_fraction_column(str(c), self.frame[c])}
        self.attributes: dict[str, str] = {}
        if source is not None:
            preset = preset or current_preset()
            csv = results_dir(preset) / "tables" / f"{source}.csv"
            with contextlib.suppress(ValueError):
                csv = csv.relative_to(repo_root())
            self.attributes["data-csv"] = csv.as_posix()
            if key:
                self.attributes["data-csv-key"] = key
            if where:
                self.attributes["data-csv-where"] = where

    def _header(self, column: Any) -> str:
        name = str(column)
        per_component = re.fullmatch(r"(knn|mlp|linear_svm)_(C\d+)", name)
        capped = re.fullmatch(r"(knn|mlp|linear_svm)_not_converged", name)
        label = self.labels.get(name, f"{PROBE_NAMES[per_component.group(1)]}, "
                                f"{per_component.group(2)}" if per_component else
                                f"{PROBE_NAMES[capped.group(1)]} hit its cap" if capped else name)
        if name in self.percent and "%" not in label:
            label += " (%)"
        return (f'<th title="{html.escape(name)}">{html.escape(label)}</th>' if label != name
                else f"<th>{html.escape(label)}</th>")

    def to_html(self) -> str:
        frame = self.frame
        attrs = "".join(f' {k}="{html.escape(v)}"' for k, v in self.attributes.items())
        parts = [f'<table class="mvae-table"{attrs}>']
        if self.caption:
            parts.append(f"<caption>{html.escape(self.caption)}</caption>")
        parts.append("<thead><tr>" + "".join(self._header(c) for c in frame.columns)
                     + "</tr></thead><tbody>")
        whole = {c: _is_whole_column(frame[c]) for c in frame.columns}
        numeric = {c: pd.api.types.is_numeric_dtype(frame[c])
                   and not pd.api.types.is_bool_dtype(frame[c]) for c in frame.columns}
        for row in frame.itertuples(index=False):
            cells = []
            for column, value in zip(frame.columns, row, strict=True):
                if column in self.percent and isinstance(value, float | int | np.number):
                    value = 100 * float(value)
                digits = self.precisions.get(
                    column, min(self.precision, 2) if column in self.percent else self.precision)
                text, number = _cell(value, whole[column] and column not in self.percent,
                                     digits, self.na)
                number = number or (text == self.na and numeric[column])
                kind = "num" if number else "run" if column == "run" else ""
                cells.append(f'<td class="{kind}">{html.escape(text)}</td>' if kind
                             else f"<td>{html.escape(text)}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


def format_table(frame: pd.DataFrame, precision: int = 2, **options: Any) -> Table:
    """``frame`` as a :class:`Table` (see there for ``source``, ``key``, ``where``, ``caption``,
    ``labels``, ``percent`` and ``precisions``)."""
    return Table(frame, precision, **options)


_PAPER_FIGURE = re.compile(r"^Fig\. (\d+): (.*)$", re.S)


def _numbered(caption: str, number: str | None) -> tuple[str, str]:
    """(label, text) of a caption: "Figure 5.1 (the paper's Fig. 1)." and the rest."""
    if not number:
        return "", caption
    paper = _PAPER_FIGURE.match(caption)
    if paper:
        rest = paper.group(2)
        return (f"Figure {number} (the paper's Fig. {paper.group(1)}).",
                rest[:1].upper() + rest[1:])
    return f"Figure {number}.", caption


def show_figure(name: str, preset: str | None = None, width: int | None = None,
                caption: str | None = None, number: str | None = None) -> Any:
    """The pipeline's PNG inside a ``<figure>`` with a caption (numbered "Figure <number>" when
    ``number`` is given) and alt text (the image embedded, so the page does not depend on where
    results live), or the :class:`MissingResults` note."""
    try:
        path = figure_path(name, preset)
    except MissingResults as missing:
        return missing
    default_caption, alt = registry.caption(name)
    return _figure(path.read_bytes(), caption or default_caption, alt, width, number)


def show_plot(fig: Any, caption: str, alt: str, width: int | None = None,
              number: str | None = None) -> HTML:
    """A matplotlib Figure drawn in the chapter, shown like the pipeline's figures: embedded PNG,
    caption (numbered "Figure <number>" when given), alt text. The figure is closed, so the
    notebook's inline backend does not draw it a second time."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return _figure(buffer.getvalue(), caption, alt, width, number)


def _figure(png: bytes, caption: str, alt: str, width: int | None,
            number: str | None = None) -> HTML:
    import base64

    data = base64.b64encode(png).decode()
    style = f"width:{width}px;max-width:100%" if width else "max-width:100%"
    label, text = _numbered(caption, number)
    shown = (f'<span class="caption-number">{html.escape(label)}</span> ' if label else "") \
        + html.escape(text)
    markup = (f'<figure class="mvae-figure" style="margin:0 0 1em 0">'
              f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
              f'style="{style}"><figcaption style="font-size:0.9em">{shown}</figcaption>'
              "</figure>")
    return HTML(markup, f"[figure: {alt}] {(label + ' ' + text).strip()}")


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


def table_notes(name: str, preset: str | None = None) -> HTML:
    """The data source(s) and the paper-side notes recorded in a table's rows, as a note box."""
    try:
        meta = load_table_meta(name, preset)
    except MissingResults:
        return HTML("")
    rows = meta.get("rows", []) if isinstance(meta, Mapping) else []
    sources = _unique(r["source"] for r in rows if isinstance(r, Mapping) and r.get("source"))
    notes = _unique(r["paper_note"] for r in rows
                    if isinstance(r, Mapping) and r.get("paper_note"))
    items = [f"data: {s}" for s in sources] + [f"paper: {n}" for n in notes]
    if not items:
        return HTML("")
    body = "".join(f"<li>{html.escape(v)}</li>" for v in items)
    return HTML(_admonition("note", "Data source and paper notes", f"<ul>{body}</ul>"),
                "\n".join(items))
