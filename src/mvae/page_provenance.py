"""Where a table's numbers came from, as the book shows it: the provenance record of a table
or of some of its runs (:func:`provenance`), folded into one line (:func:`provenance_box`), the
banner saying which preset's results a chapter shows (:func:`preset_banner`) and the data sources
and paper notes recorded in a table's rows (:func:`table_notes`)."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from mvae import layout
from mvae.markup import HTML, admonition
from mvae.pages import repository_url
from mvae.results_files import (
    DEFAULT_PRESET,
    MissingResults,
    command_for,
    current_preset,
    load_table_meta,
    read_json,
    results_dir,
    run_config,
)

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
    if preset == DEFAULT_PRESET:  # the expected case: one quiet line, not a box on the first screen
        text = (f"Numbers and figures below are read from <code>results/{preset}/</code>, the "
                "paper-scale run of the pipeline.")
        return HTML(f'<p class="mvae-preset-line">{text}</p>', _TAG.sub("", text))
    body = (f"<p>Numbers and figures below are read from <code>results/{preset}/</code>: a "
            f"<strong>small {html.escape(preset)} run</strong> (subsets of the data, a few "
            "epochs) that shows the pipeline works. They are <strong>not</strong> the "
            "paper-scale results and should not be compared with the paper's numbers. The "
            f"paper-scale results are committed in <code>results/{DEFAULT_PRESET}/</code> "
            f"(build the book with <code>MVAE_PRESET={DEFAULT_PRESET}</code>); "
            f"<code>{command_for(DEFAULT_PRESET)}</code> retrains them (days of CPU time; "
            "<code>scripts/paper_grid.py --plan</code> estimates each run's hours from the "
            "archive).</p>")
    return HTML(admonition("attention", f"Results: {preset} preset, not paper scale", body),
                f"Results from the {preset} preset: a small run, not the paper-scale results.")


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
    return HTML(admonition("note", "Data source and paper notes", f"<ul>{body}</ul>"),
                "\n".join(items))
