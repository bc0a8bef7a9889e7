"""Whether runs pooled as seeds of one setting trained with the same code, and witnesses for it.

A seed group (:attr:`mvae.selections.Selections.seed_groups`) pools runs that trained at
different commits and on different machines. Each run records its commit
(``runs/<run>/provenance.json``, under ``git``); this module turns a commit into a digest of the
*training code* at that commit, read from git (read-only, ``git ls-tree`` and ``git cat-file``),
so that a table can say whether the runs of a group ran the same code.

The training code (:data:`TRAINING`) is what decides a run's numbers given its config: the
modules that ``mvae.train`` imports, directly or through each other, read from the commit's own
sources (so a module split off ``train`` later, or ``data.py`` becoming the ``data`` package,
is found at every commit without a list to keep up). At the time of writing they are

* ``config``: the Config, its defaults and what ``auto`` resolves to;
* ``model``, ``networks``: the encoders, decoders and the mixture weights' sampler;
* ``objective``, ``dhsic``: the loss;
* ``fast``: the training step actually run (compiled / captured, optimiser);
* ``train``: the loop, seeding, batching and the per-epoch test loss;
* ``data`` (one module, then a package): reading, decoding, caching and preprocessing the
  images, the dataset registry and its sources.

Left out, and not followed: what ``train`` imports to keep records (``provenance``, ``files``,
``layout``), ``likelihood`` (``train`` takes only the binarised runs' fixed *test* binarisation
from it; the rest is evaluation) and the ``mvae`` package's ``__init__`` (exports). Nothing that
``train`` does not import (evaluation, probes, tables, the pipeline) can change a trained model.

Two digests of the files' *contents*, sorted, never of their paths: a module moved unchanged
adds no difference of its own (only the lines that now import it from elsewhere differ, and
:func:`differing_modules` names those, not the moved module):

* ``blobs``: SHA-256 of the sorted git blob ids of those files, i.e. of their exact bytes;
* ``code``: SHA-256 of the sorted hashes of each file's syntax tree with docstrings and comments
  dropped (:func:`normalized_source`), so a commit that only rewords a docstring or a comment
  keeps it. It is computed from the sources by the Python reading them, so compare it only
  within one table.

Equal digests show equal code; a different digest does not show different numbers (a split
module, a renamed helper or a new config key all change it). For that, :func:`witnesses` finds
archived runs whose *resolved objective* is the same (:func:`objective_key`) and compares their
numbers bit for bit: identical numbers from two commits show that the changes between those
commits left training's numbers as they were, on that path and device.

A commit that is not in the repository (a shallow clone, a run from elsewhere, ``unknown``)
gives :data:`UNKNOWN` digests, never an error.
"""

from __future__ import annotations

import ast
import hashlib
import json
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from mvae import layout
from mvae.config import Config, ConfigError, read_config_file

#: What a digest or a commit reads when the repository cannot tell.
UNKNOWN = "unknown"
#: Digits shown of a commit and of a digest.
SHORT = 9
#: The terms of ``done.json``'s ``final`` train / test records and ``history.json``'s epochs.
LOSS_TERMS = ("loss", "reconstruction", "kl_gauss", "kl_dirichlet", "dhsic")
#: Keys of ``reconstruction.json`` that say which run and when, not what it measured.
RECORD_KEYS = ("run", "config", "provenance")


@dataclass(frozen=True)
class Scope:
    """Which code counts: the modules under ``package_dir`` that ``roots`` import, directly or
    through each other (``excluded`` neither counted nor followed)."""

    package_dir: str = "src/mvae"
    roots: tuple[str, ...] = ("mvae.train",)
    excluded: frozenset[str] = frozenset({"mvae", "mvae.provenance", "mvae.files",
                                          "mvae.layout", "mvae.likelihood"})


#: The training code; see the module docstring.
TRAINING = Scope()


@dataclass(frozen=True)
class CodeDigest:
    """The training code at one commit (every field :data:`UNKNOWN` / empty when unknown)."""

    commit: str
    blobs: str = UNKNOWN
    code: str = UNKNOWN
    #: Module name (``mvae.data.loading``) -> hash of its normalised source.
    modules: Mapping[str, str] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return self.blobs != UNKNOWN


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes | None:
    """``git -C repo args`` (stdout), or None when git fails or is missing."""
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], input=stdin,
                              capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def resolve(commit: str | None, repo: str | Path = ".") -> str | None:
    """The full hash of ``commit`` (a hash, short or long, or ``<hash>^``) in ``repo``, or None
    when it names no commit there (a shallow clone's missing history, ``unknown``)."""
    if not commit or commit.startswith("-") or commit == UNKNOWN:
        return None
    out = _git(Path(repo), "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}")
    return out.decode().strip() if out else None


def _package_sources(full: str, repo: Path, package_dir: str) -> dict[str, tuple[str, str, str]]:
    """``{module: (path, blob, text)}`` of every ``.py`` file under ``package_dir`` at ``full``."""
    listing = _git(repo, "ls-tree", "-r", "--full-tree", full, "--", package_dir) or b""
    files = {}
    for line in listing.decode().splitlines():
        meta, path = line.split("\t", 1)
        _mode, kind, blob = meta.split()
        if kind == "blob" and path.endswith(".py"):
            files[module_name(path)] = (path, blob)
    texts = _blob_texts(repo, [blob for _, blob in files.values()]) if files else {}
    return {m: (path, blob, texts[blob]) for m, (path, blob) in files.items()}


def imported_modules(module: str, text: str, known: Iterable[str]) -> set[str]:
    """The modules of ``known`` that ``module``'s source imports anywhere in it (function-level
    imports included), with the packages whose ``__init__`` such an import runs."""
    known = set(known)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    package = module if _is_package(module, known) else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    out = set()
    for name in names:
        parts = name.split(".")
        out |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & known
    return out - {module}


def _is_package(module: str, known: set[str]) -> bool:
    return any(other.startswith(module + ".") for other in known)


def training_files(commit: str | None, repo: str | Path = ".", scope: Scope = TRAINING
                   ) -> dict[str, str] | None:
    """``{path: blob id}`` of the training code at ``commit`` (:class:`Scope`), or None when
    ``commit`` is not a commit of ``repo``."""
    sources = _training_sources(commit, Path(repo), scope)
    return None if sources is None else {path: blob for path, blob, _ in sources.values()}


def _training_sources(commit: str | None, repo: Path, scope: Scope
                      ) -> dict[str, tuple[str, str, str]] | None:
    full = resolve(commit, repo)
    if full is None:
        return None
    sources = _package_sources(full, repo, scope.package_dir)
    todo = [m for m in scope.roots if m in sources]
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen or module in scope.excluded:
            continue
        seen.add(module)
        todo += imported_modules(module, sources[module][2], sources)
    return {m: sources[m] for m in sorted(seen)}


def _blob_texts(repo: Path, blobs: Iterable[str]) -> dict[str, str]:
    """The contents of ``blobs`` (one ``git cat-file --batch``)."""
    blobs = sorted(set(blobs))
    raw = _git(repo, "cat-file", "--batch", stdin="".join(b + "\n" for b in blobs).encode())
    if raw is None:
        raise RuntimeError(f"git cat-file could not read {len(blobs)} blobs in {repo}")
    out, at = {}, 0
    for blob in blobs:
        end = raw.index(b"\n", at)
        header = raw[at:end].split()
        size = int(header[2])
        out[blob] = raw[end + 1:end + 1 + size].decode("utf-8", errors="replace")
        at = end + 1 + size + 1
    return out


def normalized_source(text: str) -> str:
    """The code of a Python source without its docstrings and comments: the syntax tree as
    :func:`ast.dump` writes it (no line numbers), with every statement that is only a string
    literal (a docstring) removed. A file that does not parse is returned as it is."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            kept = [s for s in body if not (isinstance(s, ast.Expr)
                                            and isinstance(s.value, ast.Constant)
                                            and isinstance(s.value.value, str))]
            node.body = kept or [ast.Pass()]
    return ast.dump(tree, annotate_fields=True, include_attributes=False)


def module_name(path: str) -> str:
    """``src/mvae/data/loading.py`` -> ``mvae.data.loading`` (``__init__`` is the package)."""
    parts = Path(path).with_suffix("").parts
    parts = parts[parts.index("mvae"):] if "mvae" in parts else parts
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sha(items: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()


@lru_cache(maxsize=1024)
def _digest(commit: str, repo: Path, scope: Scope) -> CodeDigest:
    sources = _training_sources(commit, repo, scope)
    if sources is None:
        return CodeDigest(commit=commit)
    modules = {m: hashlib.sha256(normalized_source(text).encode()).hexdigest()
               for m, (_path, _blob, text) in sources.items()}
    return CodeDigest(commit=commit, blobs=_sha(blob for _, blob, _ in sources.values()),
                      code=_sha(modules.values()), modules=modules)


def code_digest(commit: str | None, repo: str | Path = ".", scope: Scope = TRAINING
                ) -> CodeDigest:
    """The training code's digests at ``commit`` in the git repository ``repo`` (its root);
    ``commit`` keeps its spelling unless it resolves, then it is the full hash."""
    repo = Path(repo).resolve()
    return _digest(resolve(commit, repo) or commit or UNKNOWN, repo, scope)


def differing_modules(a: CodeDigest, b: CodeDigest) -> list[str]:
    """The modules of ``a`` or ``b`` whose code the other lacks, by content: a module moved
    unchanged is not among them, a changed or new one is; ``[UNKNOWN]`` when either is
    unknown."""
    if not (a.known and b.known):
        return [UNKNOWN]
    mine, theirs = set(a.modules.values()), set(b.modules.values())
    return sorted({m for m, h in a.modules.items() if h not in theirs}
                  | {m for m, h in b.modules.items() if h not in mine})


# ------------------------------------------------------------------------------ run records
def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot be read as JSON ({err})") from None


def run_provenance(results: Path, run: str) -> dict[str, Any] | None:
    """``runs/<run>/provenance.json`` of a results folder, or None when not archived."""
    return _read_json(Path(results) / layout.run_file(run, "provenance.json"))


def _short(value: str | None) -> str:
    return UNKNOWN if not value or value == UNKNOWN else value[:SHORT]


def part(module: str) -> str:
    """The part of the training code a module belongs to: ``mvae.data.loading`` -> ``data``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _parts(modules: Iterable[str]) -> str:
    return " ".join(dict.fromkeys(part(m) if m != UNKNOWN else m for m in modules))


def _ancestors(repo: Path, commit: str) -> int | None:
    out = _git(repo, "rev-list", "--count", commit)
    return int(out) if out else None


def code_changes(older: str, newer: str, repo: str | Path = ".", scope: Scope = TRAINING
                 ) -> list[tuple[str, list[str]]] | None:
    """The commits after ``older`` up to ``newer`` that changed the training code's ``code``
    digest (not a docstring or comment only), oldest first, each with the parts it changed
    (:func:`part`); None when either commit is unknown."""
    repo = Path(repo).resolve()
    if not (code_digest(older, repo, scope).known and code_digest(newer, repo, scope).known):
        return None
    listing = _git(repo, "rev-list", "--reverse", f"{older}..{newer}", "--", scope.package_dir)
    out = []
    for commit in (listing or b"").decode().split():
        before, after = code_digest(f"{commit}^", repo, scope), code_digest(commit, repo, scope)
        if before.code != after.code:
            out.append((commit[:SHORT], [part(m) for m in differing_modules(before, after)]))
    return out


def witnessed_commits(pairs: pd.DataFrame, repo: str | Path = ".") -> set[str]:
    """The commits (short) that bit-identical witness pairs span: for a pair trained at commits
    A (older) and B, every commit after A up to B. A code change among them left the numbers of
    the pair's objective, on its device, as they were."""
    repo, out = Path(repo).resolve(), set()
    for row in pairs.itertuples():
        if not row.bit_identical or UNKNOWN in (row.commit_a, row.commit_b):
            continue
        a, b = sorted((row.commit_a, row.commit_b), key=lambda c: _ancestors(repo, c) or 0)
        listing = _git(repo, "rev-list", f"{a}..{b}") or b""
        out |= {c[:SHORT] for c in listing.decode().split()}
    return out


def seed_group_table(results: str | Path, groups: Mapping[str, list[str]],
                     repo: str | Path = ".", witnessed: Iterable[str] = ()) -> pd.DataFrame:
    """One row per run of each seed group: group, run, seed, device, commit, dirty, the two
    training-code digests and the parts of the code (:func:`part`) that differ from the group's
    first archived run; and per group (``None`` with fewer than two archived runs): whether
    all archived runs agree on each digest (``same_blobs``, ``same_code``), how many devices
    and commits it spans, the commits between its oldest and newest run that changed the code
    (:func:`code_changes`, ``changes``), how many of them a witness covers (``witnessed``; the
    commits :func:`witnessed_commits` gives) and the others (``unwitnessed``: short hashes with
    the parts they changed). Runs not archived yet are listed with ``archived`` False."""
    results, repo, witnessed = Path(results), Path(repo).resolve(), set(witnessed)
    rows = []
    for group, runs in groups.items():
        first: CodeDigest | None = None
        mine = []
        for run in runs:
            prov = run_provenance(results, run)
            if prov is None:
                mine.append({"group": group, "run": run, "archived": False})
                continue
            git = prov.get("git") or {}
            digest = code_digest(git.get("commit"), repo)
            first = first or digest
            mine.append({"group": group, "run": run, "archived": True, "seed": prov.get("seed"),
                         "device": prov.get("device", UNKNOWN),
                         "commit": _short(git.get("commit")), "dirty": git.get("dirty"),
                         "blobs": _short(digest.blobs), "code": _short(digest.code),
                         "differs_in": _parts(differing_modules(first, digest)),
                         "_digest": digest})
        rows += [{**{k: v for k, v in r.items() if k != "_digest"},
                  **_group_summary([r for r in mine if r["archived"]], repo, witnessed)}
                 for r in mine]
    columns = ["group", "run", "archived", "seed", "device", "commit", "dirty", "blobs", "code",
               "differs_in", "archived_in_group", "same_blobs", "same_code", "devices_in_group",
               "commits_in_group", "changes", "witnessed", "unwitnessed"]
    table = pd.DataFrame(rows, columns=columns)
    for column in ("seed", "changes", "witnessed"):
        table[column] = table[column].astype("Int64")
    return table


def group_summary(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`seed_group_table` as one row per group, with its devices and commits listed."""
    done = table[table["archived"]]
    listed = done.groupby("group", sort=False).agg(
        devices=("device", lambda d: " | ".join(dict.fromkeys(d))),
        commits=("commit", lambda c: " ".join(dict.fromkeys(c))))
    keep = ["group", "archived_in_group", "same_blobs", "same_code", "changes", "witnessed",
            "unwitnessed"]
    out = table.drop_duplicates("group")[keep].set_index("group").join(listed)
    out.insert(0, "runs", table.groupby("group", sort=False).size())
    return out.rename(columns={"archived_in_group": "archived"}).reset_index()


def _group_summary(done: list[dict[str, Any]], repo: Path, witnessed: set[str]
                   ) -> dict[str, Any]:
    summary: dict[str, Any] = {"archived_in_group": len(done),
                               "devices_in_group": len({r["device"] for r in done}),
                               "commits_in_group": len({r["commit"] for r in done})}
    digests = [r["_digest"] for r in done]
    if len(done) < 2:
        return {**summary, "same_blobs": None, "same_code": None, "changes": None,
                "witnessed": None, "unwitnessed": None}
    if not all(d.known for d in digests):
        return {**summary, "same_blobs": None, "same_code": None, "changes": None,
                "witnessed": None, "unwitnessed": UNKNOWN}
    commits = sorted({d.commit for d in digests}, key=lambda c: _ancestors(repo, c) or 0)
    changes: dict[str, list[str]] = {}
    for newer in commits[1:]:
        changes.update(code_changes(commits[0], newer, repo) or [])
    return {**summary, "same_blobs": len({d.blobs for d in digests}) == 1,
            "same_code": len({d.code for d in digests}) == 1, "changes": len(changes),
            "witnessed": len(set(changes) & witnessed),
            "unwitnessed": "; ".join(f"{c} ({' '.join(dict.fromkeys(p))})"
                                     for c, p in changes.items() if c not in witnessed)}


# ----------------------------------------------------------------------------- witnesses
def objective_key(config: Config) -> tuple[tuple[str, Any], ...]:
    """What a run trains, up to the run's name: its config with ``kl_weight`` and
    ``kl_reduction`` resolved into the one weight each component's Gaussian KL gets in the loss
    (``kl_weight``, divided by K under ``kl_reduction: mean``). So K = 4 at KL weight 1/4 and
    K = 4 with averaged KLs share a key: 1/4 x (sum of 4 KLs) is the mean of the 4."""
    values = config.to_dict()
    values.pop("name")
    reduction = values.pop("kl_reduction")
    weight = values.pop("kl_weight")
    values["gaussian_kl_weight"] = weight / config.components if reduction == "mean" else weight
    return tuple(sorted((k, repr(v)) for k, v in values.items()))


def archived_configs(results: str | Path, runs: Iterable[str] | None = None
                     ) -> tuple[dict[str, Config], list[str]]:
    """The archived runs' configs (``runs/<run>/config.yaml``; all archived runs when ``runs`` is
    None) and one line per config that could not be read (file and cause)."""
    results = Path(results)
    if runs is None:
        runs = sorted(p.name for p in (results / "runs").glob("*") if p.is_dir())
    out, problems = {}, []
    for run in runs:
        path = results / layout.run_file(run, "config.yaml")
        if not path.exists():
            continue
        try:
            out[run] = Config.from_dict(read_config_file(path))
        except ConfigError as err:
            problems.append(f"{path}: {err}")
    return out, problems


def _weighted(record: Mapping[str, Any], config: Config) -> dict[str, float]:
    """A loss record's terms with the Gaussian KL as it enters the loss (times ``kl_weight``),
    so two spellings of one objective report the same number."""
    out = {term: record.get(term) for term in LOSS_TERMS}
    if out["kl_gauss"] is not None:
        out["kl_gauss"] = out["kl_gauss"] * config.kl_weight
    return out


def _same_records(a: Any, b: Any, ca: Config, cb: Config) -> bool:
    """Whether two epoch records (or ``done.json`` finals) hold the same train and test terms."""
    return all(a.get(split) is not None and b.get(split) is not None
               and _weighted(a[split], ca) == _weighted(b[split], cb)
               for split in ("train", "test"))


def _numbers(results: Path, run: str) -> dict[str, Any]:
    recon = _read_json(results / layout.eval_file(run, "reconstruction.json")) or {}
    done = _read_json(results / layout.run_file(run, layout.DONE)) or {}
    history = _read_json(results / layout.run_file(run, "history.json")) or []
    return {"reconstruction": {k: v for k, v in recon.items() if k not in RECORD_KEYS},
            "final": done.get("final") or {}, "history": history}


def witnesses(results: str | Path, repo: str | Path = ".",
              runs: Iterable[str] | None = None) -> pd.DataFrame:
    """Pairs of archived runs with one resolved objective (:func:`objective_key`; the seed is
    part of it), each later run against the first, with their commits, devices and code digests
    and whether their numbers are bit-identical: the mixture's SSE per image
    (``eval/<run>/reconstruction.json``), that whole file but :data:`RECORD_KEYS`, the final
    train and test losses (``done.json``) and every epoch of ``history.json`` (terms compared
    with the Gaussian KL as weighted in the loss)."""
    results = Path(results)
    configs, problems = archived_configs(results, runs)
    if problems:
        raise ValueError("; ".join(problems))
    same: dict[tuple, list[str]] = {}
    for run, config in configs.items():
        same.setdefault(objective_key(config), []).append(run)
    rows = []
    for names in same.values():
        for other in names[1:]:
            rows.append(_pair(results, Path(repo), names[0], other, configs))
    columns = ["run_a", "run_b", "seed", "commit_a", "commit_b", "device_a", "device_b",
               "code_a", "code_b", "same_code", "differs_in", "sse_a", "sse_b", "sse_identical",
               "reconstruction_identical", "final_identical", "epochs_identical", "epochs",
               "bit_identical"]
    return pd.DataFrame(rows, columns=columns)


def _pair(results: Path, repo: Path, a: str, b: str, configs: Mapping[str, Config]
          ) -> dict[str, Any]:
    ca, cb = configs[a], configs[b]
    pa, pb = (run_provenance(results, r) or {} for r in (a, b))
    da, db = (code_digest((p.get("git") or {}).get("commit"), repo) for p in (pa, pb))
    na, nb = _numbers(results, a), _numbers(results, b)
    sse_a, sse_b = ((n["reconstruction"].get("mixture") or {}).get("sse_per_image")
                    for n in (na, nb))
    epochs = max(len(na["history"]), len(nb["history"]))
    same_epochs = sum(_same_records(x, y, ca, cb) for x, y in zip(na["history"], nb["history"],
                                                                      strict=False))
    row = {"run_a": a, "run_b": b, "seed": ca.seed,
           "commit_a": _short(da.commit), "commit_b": _short(db.commit),
           "device_a": pa.get("device", UNKNOWN), "device_b": pb.get("device", UNKNOWN),
           "code_a": _short(da.code), "code_b": _short(db.code),
           "same_code": da.known and da.code == db.code,
           "differs_in": _parts(differing_modules(da, db)),
           "sse_a": sse_a, "sse_b": sse_b, "sse_identical": sse_a is not None and sse_a == sse_b,
           "reconstruction_identical": bool(na["reconstruction"])
           and na["reconstruction"] == nb["reconstruction"],
           "final_identical": _same_records(na["final"], nb["final"], ca, cb),
           "epochs_identical": same_epochs, "epochs": epochs}
    row["bit_identical"] = (row["sse_identical"] and row["reconstruction_identical"]
                            and row["final_identical"] and epochs > 0 and same_epochs == epochs)
    return row
