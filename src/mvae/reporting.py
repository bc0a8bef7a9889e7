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
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mvae import layout, registry
from mvae.page_table import (  # noqa: F401  (the chapters' names for them)
    LABELS,
    PERCENT_PREFIXES,
    PROBE_NAMES,
    Table,
    format_table,
)

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
    are listed, with their own commits and devices where their records name them (a chapter
    that uses two runs of Table I shows two). Whatever is missing is left out (the box then
    says "unknown"), never an error.
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
    table_commits, table_devices = len(commits), len(devices)
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
    if runs:  # a box about some runs of a table lists those runs only, and their commits
        own_commits, own_devices = commits[table_commits:], devices[table_devices:]
        commits, devices = own_commits or commits, own_devices or devices
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


def commit_range(runs: Iterable[str], preset: str | None = None) -> list[tuple[str, str, str]]:
    """(commit, time, run) of each run's training, oldest first, from
    ``runs/<run>/provenance.json`` (runs without one are left out): the order in which the
    commits trained the runs, which a list of hashes does not tell."""
    root = results_dir(preset)
    found = []
    for run in runs:
        path = root / layout.run_file(run, "provenance.json")
        if path.is_file():
            record = read_json(path)
            git = _find(record, ("git",))
            if isinstance(git, Mapping) and git.get("commit"):
                commit = f"{git['commit']}{'+dirty' if git.get('dirty') else ''}"
                found.append((commit, str(record.get("time") or ""), run))
    return sorted(found, key=lambda item: item[1])


def _commit_summary(commits: list[str], trained: list[tuple[str, str, str]]) -> str:
    """"40 commits, 0446328790e7 (2026-11-25) to 9a1b2c3d4e5f (2027-01-02)": how many, and the
    first and last by training time where the runs record it."""
    if not commits:
        return "unknown"
    count = _count(len(commits), "commit")
    if len(commits) == 1:
        return f"{count}: {_short_commit(commits[0])}"
    if len(trained) < 2:
        return count
    (first, start, _), (last, end, _) = trained[0], trained[-1]
    return (f"{count}, from {_short_commit(first)} ({start[:10]}) to {_short_commit(last)} "
            f"({end[:10]}), by training time")


def provenance_box(name: str | None = None, preset: str | None = None,
                   runs: Iterable[str] = (), config_keys: Iterable[str] = _CONFIG_KEYS) -> HTML:
    """What a table came from, folded: one line (preset, runs, seeds, commits as a count and a
    range, devices) that opens on a click into a summary of the record (the results file, linked
    where the repository's address is set, with every commit and configuration in it; each
    run's config), so that it takes one line of the page, not a screen."""
    from mvae.pages import repository_url

    info = provenance(name, preset, runs)
    preset = info["preset"]
    commits = info["commits"]
    seeds = _unique(info["seeds"].values())
    commit_text = _commit_summary(commits, commit_range(info["runs"], preset))
    record = f"results/{preset}/" + (f"tables/{name}.json" if name else "")
    url = repository_url()
    record_cell = (f'<a href="{html.escape(url)}/blob/main/{html.escape(record)}">'
                   f"<code>{html.escape(record)}</code></a>" if url and name
                   else f"<code>{html.escape(record)}</code>")
    rows = [("preset", html.escape(f"{preset}" + (" (small quick run, not the paper-scale run)"
                                                  if preset != DEFAULT_PRESET else ""))),
            ("full record", record_cell + " (every commit, device and configuration)"),
            ("commits", html.escape(commit_text)),
            ("device", html.escape("; ".join(info["devices"]) or "unknown")),
            ("seeds", html.escape(_range_or_list(seeds) or "unknown"))]
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
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    body += "".join(f"<tr><th>{html.escape(run)}</th><td><code>{html.escape(v)}</code></td></tr>"
                    for run, v in config_rows)
    markup = (f'<details class="mvae-provenance"><summary>{html.escape(summary)} '
              '<span class="mvae-provenance-hint">(details)</span></summary>'
              f'<table class="provenance-box">{body}</table></details>')
    text = summary + ". " + "; ".join(f"{k}: {_TAG.sub('', v)}" for k, v in rows) + "; " + \
        "; ".join(f"{k}: {v}" for k, v in config_rows)
    return HTML(markup, html.unescape(text))


_TAG = re.compile(r"<[^>]+>")


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


def show_claims(*ids: str, preset: str | None = None, details: bool = True) -> Any:
    """The verdicts of the claims ``ids`` (default: every claim) as ``claims.md`` renders them,
    from the table the pipeline writes (``tables/verdicts.csv``): a summary row per claim, then
    (``details``) the comparison tables that hold them (:mod:`mvae.claims.page`). Without the
    table, the note saying why."""
    from IPython.display import Markdown

    from mvae.claims.page import GROUPS, group_table, markdown_table, summary_rows

    try:
        frame = load_table("verdicts", preset)
    except MissingResults as missing:
        return missing
    mine = frame[frame.claim_id.isin(ids)] if ids else frame
    parts = [markdown_table(summary) for summary in (summary_rows(mine, True),
                                                     summary_rows(mine, False)) if len(summary)]
    if not details:
        return Markdown("\n\n".join(parts))
    tested = set(mine.loc[mine.setting.notna() & (mine.wants != "reading"), "claim_id"])
    for heading, claims in GROUPS:
        chosen = tuple((c, name) for c, name in claims if c in tested)
        if chosen:
            parts += [f"**{heading}**", markdown_table(group_table(frame, chosen))]
    return Markdown("\n\n".join(parts))


def say(*sentences: Any) -> Any:
    """Sentences computed from the results, shown as a paragraph of the page (Markdown, with
    the characters Markdown would read as markup escaped), not as console output."""
    from IPython.display import Markdown

    return Markdown(" ".join(_markdown_cell(s) for s in sentences if s))


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
    """Figure ``name`` inside a ``<figure>`` with a caption (numbered "Figure <number>" when
    ``number`` is given) and alt text, or the :class:`MissingResults` note. The figure is drawn
    again from its inputs at the page's width (:func:`mvae.pages.redraw`), so its text has the
    size the page shows; where its inputs are not there, the pipeline's PNG is shown instead."""
    from mvae.pages import redraw

    default_caption, alt = registry.caption(name)
    drawn = redraw(name, preset)
    if drawn is not None:
        return show_plot(drawn, caption or default_caption, alt, width, number)
    try:
        path = figure_path(name, preset)
    except MissingResults as missing:
        return missing
    from mvae.figures import PIPELINE_DPI, SCREEN_DPI

    png = path.read_bytes()
    return _figure(png, caption or default_caption, alt,
                   width or round(_png_width(png) * SCREEN_DPI / PIPELINE_DPI), number)


def show_plot(fig: Any, caption: str, alt: str, width: int | None = None,
              number: str | None = None) -> HTML:
    """A matplotlib Figure drawn in the chapter, shown like the pipeline's figures: embedded PNG
    (at twice the screen's resolution, with its smallest text recorded for the browser check:
    :func:`mvae.figures.png_bytes`), caption (numbered "Figure <number>" when given), alt text,
    as wide on the page as it was drawn (``width`` in CSS pixels to change that). The figure is
    closed, so the notebook's inline backend does not draw it a second time."""
    from mvae.figures import PIXEL_RATIO, png_bytes

    png = png_bytes(fig)
    return _figure(png, caption, alt, width or round(_png_width(png) / PIXEL_RATIO), number)


def _png_width(png: bytes) -> int:
    """The width in pixels of a PNG, from its header (IHDR)."""
    return int.from_bytes(png[16:20], "big")


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


def table_notes(name: str, preset: str | None = None, runs: Iterable[str] | None = None) -> HTML:
    """The data source(s) and the paper-side notes recorded in a table's rows (only the rows of
    ``runs`` when given: a chapter's own dataset), as a note box."""
    try:
        meta = load_table_meta(name, preset)
    except MissingResults:
        return HTML("")
    rows = meta.get("rows", []) if isinstance(meta, Mapping) else []
    if runs is not None:
        keep = set(runs)
        rows = [r for r in rows if isinstance(r, Mapping) and r.get("run") in keep]
    sources = _unique(r["source"] for r in rows if isinstance(r, Mapping) and r.get("source"))
    notes = _unique(r["paper_note"] for r in rows
                    if isinstance(r, Mapping) and r.get("paper_note"))
    items = [f"data: {s}" for s in sources] + [f"paper: {n}" for n in notes]
    if not items:
        return HTML("")
    body = "".join(f"<li>{html.escape(v)}</li>" for v in items)
    return HTML(_admonition("note", "Data source and paper notes", f"<ul>{body}</ul>"),
                "\n".join(items))
