"""The committed results archive: a run's small outputs, copied out of a pipeline results folder.

Paper-scale runs train for hours in a results folder outside the checkout (checkpoints and
latent codes are hundreds of megabytes). What the tables, figures and book need from a finished
run is small: its evaluation files, its config, history and provenance, and the wall time of its
jobs. :func:`export_run` copies exactly those into ``results/<preset>/`` of the repository, with
the same layout, so the pipeline's report rules (``--config committed=true``) and the book read the
archive as if the runs had just finished there, without any checkpoint.

The manifest. ``results/<preset>/MANIFEST.sha256`` holds the SHA-256 of every archived file, one
``<sha256>  <path>`` line each (the format of ``sha256sum``: ``cd results/paper && sha256sum -c
MANIFEST.sha256`` checks it too). :func:`export_run` adds a run's files as it copies them;
:func:`create_manifest` writes one for an archive that has none. It also covers the report
products built from them (:data:`REPORT_PATTERNS`: tables, figures, claims.md and the run
selections, which the book reads): the rules that rebuild them record them
(:func:`record_products`), so a table edited by hand is named, not read.
:func:`verify_archive` lists, one line each, every archived file that is missing, edited,
truncated or not in the manifest, and every edited report product, and deletes nothing::

    python -m mvae.archive verify results/paper        # exit 1 and one line per problem
    python -m mvae.archive manifest results/paper      # once, for an archive without a manifest
    python -m mvae.archive export OTHER/paper results/paper RUN   # archive a run trained elsewhere

An archived run whose checkpoint is not here (a clone of the repository) cannot be trained on or
re-evaluated: :func:`frozen_runs` names those runs for the pipeline, which makes no job for them
(``pipeline/rules/train.smk``), and :func:`stop_if_archived` stops a job script that would
replace an archived file before it touches anything.

An archive knows itself without its manifest: a folder holding finished runs without their
checkpoints is one (:func:`mvae.guard.archived_runs`), and with its manifest gone nothing is built
from it or written into it (:func:`refuse_unmanifested`) until the manifest is restored.

Whether a path may be written at all is :mod:`mvae.guard`'s call; no path here is written,
replaced or removed through a symbolic link (:mod:`mvae.files`).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from mvae import layout
from mvae.files import LinkError, atomic_write_text, refuse_link

#: Files of a run folder that go into the archive (never the checkpoint or the latent codes).
RUN_FILES = (*layout.RUN_RECORDS, layout.DONE)

#: Files in an eval folder that are not results: temporaries of a write in progress.
SKIPPED_EVAL_SUFFIXES = (".tmp", ".part")

#: The archive's manifest, in results/<preset>/.
MANIFEST = "MANIFEST.sha256"

#: A manifest line: 64 hex digits, two spaces (or " *", sha256sum's binary mark), a path.
_LINE = re.compile(r"(?P<digest>[0-9a-f]{64}) [ *](?P<path>\S.*)")

#: What the report rules rebuild from the archived files and the preset, and the book reads
#: (relative paths; ``selections.json``: :data:`mvae.layout.SELECTIONS`).
REPORT_PATTERNS = ("tables/*.csv", "tables/*.json", "figures/*.png", "figures/*.svg", "claims.md",
                   "selections.json")


class ArchiveError(RuntimeError):
    """A run cannot be archived, or an archive does not match its manifest."""


# --------------------------------------------------------------------------- what is archived
def archived_files(source: Path, run: str) -> list[Path]:
    """Paths, relative to ``source``, of what :func:`export_run` copies for ``run``."""
    source = Path(source)
    eval_dir = source / layout.eval_dir(run)
    if not (source / layout.run_file(run, layout.DONE)).is_file():
        raise ArchiveError(f"{source / layout.run_dir(run)}: training has not finished "
                           "(no done.json)")
    if not (eval_dir / "evaluated.json").is_file():
        raise ArchiveError(f"{eval_dir}: evaluation has not finished (no evaluated.json)")
    files = [p for p in sorted(eval_dir.iterdir())
             if p.is_file() and not p.name.endswith(SKIPPED_EVAL_SUFFIXES)]
    files += [source / layout.run_file(run, name) for name in RUN_FILES
              if (source / layout.run_file(run, name)).is_file()]
    files += sorted((source / "benchmarks").glob(f"*/{run}.tsv"))
    return [p.relative_to(source) for p in files]


def baseline_files(source: Path, dataset: str) -> list[Path]:
    """Paths, relative to ``source``, of one dataset's baselines record and its benchmark."""
    source = Path(source)
    record = Path(layout.baseline_file(dataset))
    if not (source / record).is_file():
        raise ArchiveError(f"{source / record}: the baselines have not been computed")
    bench = Path(layout.benchmark_file("baselines", dataset))
    return [record] + ([bench] if (source / bench).is_file() else [])


def archive_members(dest: Path) -> list[str]:
    """Every file of ``dest`` that is archived material (what :func:`export_run` copies there):
    ``eval/<run>/*``, ``runs/<run>/{config.yaml,history.json,provenance.json,done.json}``,
    ``baselines/*.json`` and ``benchmarks/<rule>/*.tsv``, as POSIX paths relative to ``dest``.
    Tables, figures, claims.md and provenance.json are rebuilt from these, so they are not."""
    dest = Path(dest)
    found = [p for p in dest.glob("eval/*/*") if not p.name.endswith(SKIPPED_EVAL_SUFFIXES)]
    found += [p for name in RUN_FILES for p in dest.glob(f"runs/*/{name}")]
    found += list(dest.glob("baselines/*.json")) + list(dest.glob("benchmarks/*/*.tsv"))
    return sorted(p.relative_to(dest).as_posix() for p in found
                  if p.is_symlink() or p.is_file())


def is_report_product(rel: str) -> bool:
    """Whether ``rel`` (relative to an archive) is a table, figure, claims page or the
    selections."""
    return any(PurePosixPath(rel).match(pattern) and len(PurePosixPath(rel).parts) == len(
        PurePosixPath(pattern).parts) for pattern in REPORT_PATTERNS)


def report_members(dest: Path) -> list[str]:
    """Every report product (:data:`REPORT_PATTERNS`) ``dest`` holds, as POSIX paths."""
    dest = Path(dest)
    found = {p for pattern in REPORT_PATTERNS for p in dest.glob(pattern)}
    return sorted(p.relative_to(dest).as_posix() for p in found if p.is_symlink() or p.is_file())


def owner(rel: str) -> str | None:
    """The run (or ``baselines:<dataset>``) an archived path belongs to."""
    parts = PurePosixPath(rel).parts
    if len(parts) == 3 and parts[0] in ("eval", "runs"):
        return parts[1]
    if len(parts) == 2 and parts[0] == "baselines":
        return f"baselines:{PurePosixPath(parts[1]).stem}"
    if len(parts) == 3 and parts[0] == "benchmarks":
        stem = PurePosixPath(parts[2]).stem
        return f"baselines:{stem}" if parts[1] == "baselines" else stem
    return None


def _no_links(root: Path, rel: Path | str, what: str) -> None:
    """Refuse a link anywhere from ``root`` (exclusive) down to ``root / rel``."""
    path = Path(root)
    for part in Path(rel).parts:
        path = path / part
        refuse_link(path, what)


# --------------------------------------------------------------------------- export
def export_run(source: Path, dest: Path, run: str) -> list[Path]:
    """Copy one finished run's small outputs from ``source`` to ``dest`` (both results/<preset>)
    and record their SHA-256 in ``dest``'s manifest.

    Each file is copied to a temporary name and renamed, so an interrupted export leaves either
    the old file or the new one. Returns the copied paths, relative to ``dest``. A run named
    ``baselines:<dataset>`` exports that dataset's baselines instead. A file or folder on either
    side that is a symbolic link is refused before anything is copied.
    """
    source, dest = Path(source), Path(dest)
    relative = (baseline_files(source, run.split(":", 1)[1]) if run.startswith("baselines:")
                else archived_files(source, run))
    from mvae import guard

    for rel in relative:
        _no_links(source, rel, "archive")
        _no_links(dest, rel, "archive")
    guard.check_all([dest / rel for rel in relative], "archive")  # not over a lost manifest
    for rel in relative:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        with contextlib.suppress(FileNotFoundError):
            if tmp.is_symlink():
                tmp.unlink()  # the link itself, never what it points to
        shutil.copyfile(source / rel, tmp, follow_symlinks=False)
        tmp.replace(target)
    update_manifest(dest, [rel.as_posix() for rel in relative])
    return relative


def archive_bytes(dest: Path) -> int:
    """Total size of the archive folder, its git-ignored logs/ aside (the issue caps
    results/paper at 20 MB)."""
    dest = Path(dest)
    return sum(p.stat().st_size for p in dest.rglob("*")
               if p.is_file() and p.relative_to(dest).parts[0] != "logs")


# --------------------------------------------------------------------------- the manifest
def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(dest: Path) -> dict[str, str] | None:
    """``{path: sha256}`` of ``dest``'s manifest; None when there is none. A malformed line, or
    a path that leaves the archive, is an :class:`ArchiveError` naming the line."""
    path = Path(dest) / MANIFEST
    if not path.is_file():
        return None
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        rel = PurePosixPath(match["path"]) if match else None
        if rel is None or rel.is_absolute() or ".." in rel.parts:
            raise ArchiveError(f"{path}, line {number}: not '<sha256>  <path inside the "
                               f"archive>': {line[:120]!r}")
        entries[rel.as_posix()] = match["digest"]
    return entries


def write_manifest(dest: Path, entries: dict[str, str]) -> None:
    dest = Path(dest)
    lines = [f"# SHA-256 of every archived file under {dest.name}/ (mvae.archive). Check: "
             f"python -m mvae.archive verify results/{dest.name}"]
    lines += [f"{digest}  {rel}" for rel, digest in sorted(entries.items())]
    atomic_write_text(dest / MANIFEST, "\n".join(lines) + "\n")


@contextlib.contextmanager
def _manifest_lock(dest: Path) -> Iterator[None]:
    """One writer of the manifest at a time (two grid lanes may archive at once); waits."""
    import fcntl

    folder = Path(dest) / "logs"  # git-ignored
    refuse_link(folder, "lock")
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".manifest.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def create_manifest(dest: Path, replace: bool = False) -> dict[str, str]:
    """Write the manifest of an existing archive from the files it holds now (run once on an
    archive made before manifests; its files must be the committed ones). An existing manifest
    is kept unless ``replace``: re-creating it would bless whatever was edited since."""
    dest = Path(dest)
    with _manifest_lock(dest):
        if not replace and (dest / MANIFEST).exists():
            raise ArchiveError(f"{dest / MANIFEST} exists; verify the archive against it "
                               f"(python -m mvae.archive verify {dest}), or pass --replace")
        members = archive_members(dest) + report_members(dest)
        for rel in members:
            _no_links(dest, rel, "archive")
        entries = {rel: sha256_file(dest / rel) for rel in members}
        write_manifest(dest, entries)
    return entries


def update_manifest(dest: Path, relative: Iterable[str]) -> None:
    """Record the SHA-256 of ``relative`` (just archived) in ``dest``'s manifest; an archive
    without one gets one for everything it holds."""
    dest = Path(dest)
    with _manifest_lock(dest):
        entries = read_manifest(dest)
        if entries is None:
            entries = {rel: sha256_file(dest / rel) for rel in archive_members(dest)}
        entries.update({rel: sha256_file(dest / rel) for rel in relative})
        write_manifest(dest, entries)


#: The report products a rule forced to rerun (``--forcerun RULE``) rebuilds, as path prefixes:
#: a table rebuilt reruns the claims that read it.
REBUILT_BY = {"table": ("tables/", "claims.md"), "figure": ("figures/",),
              "claims": ("claims.md", "tables/verdicts"), "selections": ("selections.json",)}


def rebuilt_prefixes(forced: Iterable[str], forceall: bool = False) -> tuple[str, ...]:
    """The report products that ``--forcerun`` (rule names) or ``--forceall`` rebuild anyway."""
    if forceall:
        return ("tables/", "figures/", "claims.md", "selections.json")
    return tuple(prefix for rule in forced for prefix in REBUILT_BY.get(str(rule), ()))


def forced_by(argv: list[str]) -> tuple[set[str], bool]:
    """The rules a Snakemake command line forces (``--forcerun``/``-R RULE ...``) and whether
    it forces all (``--forceall``/``-F``). The workflow reads its own command line: Snakemake
    hands the Snakefile its DAG settings only after parsing it, too late for a check made then."""
    forced: set[str] = set()
    forceall, taking = False, False
    for arg in argv:
        if arg in ("--forceall", "-F"):
            forceall, taking = True, False
        elif arg in ("--forcerun", "-R"):
            taking = True
        elif arg.startswith("--forcerun="):
            forced.add(arg.split("=", 1)[1])
            taking = True
        elif arg.startswith("-"):
            taking = False
        elif taking:
            forced.add(arg)
    return forced, forceall


def record_products(outputs: Iterable[str | Path]) -> list[str]:
    """Record the SHA-256 of the report products among ``outputs`` (just rebuilt by a report
    rule) in the manifest of the archive they lie in; nothing outside an archive. Returns what
    was recorded, relative to the archive."""
    by_archive: dict[Path, list[str]] = {}
    for output in map(Path, outputs):
        results = _results_of(output)
        if results is None:
            continue
        rel = Path(os.path.abspath(output)).relative_to(
            Path(os.path.abspath(results))).as_posix()
        if is_report_product(rel) and output.is_file() and not output.is_symlink():
            by_archive.setdefault(results, []).append(rel)
    for results, relative in by_archive.items():
        update_manifest(results, relative)
    return [rel for relative in by_archive.values() for rel in relative]


def _damage(path: Path) -> str | None:
    """Why a file cannot be what it claims to be (cut short, not parseable), or None."""
    try:
        if path.stat().st_size == 0:
            return "empty: truncated to 0 bytes"
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".npz":
            with zipfile.ZipFile(path) as archive:
                if archive.testzip() is not None:
                    return "truncated or damaged: a member of the .npz fails its CRC"
        elif path.suffix == ".tsv" and len(path.read_text().splitlines()) < 2:
            return "truncated: a benchmark record needs a header and a row"
    except (ValueError, UnicodeDecodeError):
        return f"truncated or damaged: not valid {path.suffix[1:].upper()}"
    except (zipfile.BadZipFile, EOFError, OSError):
        return "truncated or damaged: not a readable .npz"
    return None


def verify_archive(dest: Path, runs: Iterable[str] | None = None,
                   rebuilt: Iterable[str] = ()) -> list[str]:
    """Every way ``dest`` differs from its manifest, one line each, naming the file: missing,
    edited, truncated, a link, or archived material the manifest does not list; and a report
    product (table, figure, claims.md) that differs from the one its rule recorded. ``runs``
    (run names, ``baselines:<dataset>``) limits the check to those. A report product missing,
    or under one of the ``rebuilt`` prefixes (``tables/``: a rebuild by force is about to replace
    it), is not a problem: it is rebuilt and recorded again. Reads only; deletes nothing."""
    dest = Path(dest)
    manifest = dest / MANIFEST
    try:
        entries = read_manifest(dest)
    except ArchiveError as err:
        return [str(err)]
    if entries is None:
        return [f"{manifest}: missing, so nothing in {dest} can be checked; write it once from "
                f"the committed files: python -m mvae.archive manifest {dest}"]
    wanted = None if runs is None else set(runs)
    rebuilt = tuple(rebuilt)
    problems = []
    for rel, digest in sorted(entries.items()):
        product = is_report_product(rel)
        if product and (wanted is not None or rel.startswith(rebuilt) or not (
                dest / rel).is_file()):
            continue
        if not product and wanted is not None and owner(rel) not in wanted:
            continue
        path = dest / rel
        if product and not path.is_symlink() and sha256_file(path) != digest:
            problems.append(f"{path}: edited by hand (its SHA-256 differs from the one its rule "
                            f"recorded in {manifest}), and committed mode builds the book from "
                            f"it: restore it (git checkout -- {path}), or rebuild the report "
                            "(snakemake ... --forcerun selections table figure claims)")
        elif path.is_symlink():
            problems.append(f"{path}: a symbolic link, not the archived file")
        elif not path.is_file():
            problems.append(f"{path}: missing (listed in {manifest}); restore it (git checkout "
                            f"-- {path})")
        elif sha256_file(path) != digest:
            problems.append(f"{path}: {_damage(path) or 'edited'} (its SHA-256 differs from "
                            f"{manifest}); restore it (git checkout -- {path})")
    for rel in archive_members(dest):
        if rel not in entries and (wanted is None or owner(rel) in wanted):
            problems.append(f"{dest / rel}: not in {manifest} (added or renamed after archiving;"
                            f" archive runs with mvae.archive export)")
    return problems


def refuse_unmanifested(dest: str | Path) -> None:
    """Raise :class:`ArchiveError` when ``dest`` is an archive (it holds finished runs without
    their checkpoints) whose manifest is gone: deleting the manifest must not turn every check
    off (:func:`mvae.guard.missing_manifest` says what to do)."""
    from mvae import guard

    dest = Path(dest)
    if not (dest / MANIFEST).exists() and dest.is_dir() and guard.is_archive(dest):
        raise ArchiveError(guard.missing_manifest(dest))


def require_intact(dest: Path, runs: Iterable[str] | None = None, *,
                   require_manifest: bool = True, rebuilt: Iterable[str] = ()) -> None:
    """:func:`verify_archive`, as an :class:`ArchiveError` listing every problem, one a line.
    Without ``require_manifest``, a folder with no manifest passes only when it is no archive
    (no finished run without its checkpoint: nothing archived to check);
    ``rebuilt``: report products about to be rebuilt (:func:`verify_archive`)."""
    refuse_unmanifested(dest)
    if not require_manifest and not (Path(dest) / MANIFEST).exists():
        return
    problems = verify_archive(dest, runs, rebuilt)
    if problems:
        raise ArchiveError(f"the archive {dest} does not match its manifest ({len(problems)} "
                           f"problem{'s' * (len(problems) > 1)}); nothing was built from it:\n"
                           + "\n".join(problems))


# --------------------------------------------------------------------------- the pipeline's view
def frozen_runs(results: str | Path, runs: Iterable[str]) -> list[str]:
    """Runs of ``results`` that are archived (their done.json is in the manifest) and whose
    checkpoint is not here: they cannot be trained on or re-evaluated in this folder."""
    entries = read_manifest(Path(results)) or {}
    return [run for run in runs if layout.run_file(run, layout.DONE) in entries
            and not (Path(results) / layout.run_file(run, layout.CHECKPOINT)).exists()]


def archived_baselines(results: str | Path, datasets: Iterable[str]) -> list[str]:
    """Datasets whose baselines record is in ``results``' manifest."""
    entries = read_manifest(Path(results)) or {}
    return [d for d in datasets if f"baselines/{d}.json" in entries]


def retrain_hint(results: str | Path, run: str) -> str:
    """How to retrain an archived run by name without touching the archive until it is done."""
    results = Path(results)
    return (f"to retrain {run}, train it in another results folder and archive it from there: "
            f"snakemake --cores all --config preset={results.name} results_dir=OTHER -- "
            f"OTHER/{results.name}/eval/{run}/evaluated.json && python -m mvae.archive export "
            f"OTHER/{results.name} {results} {run}")


def frozen_note(results: str | Path, frozen: list[str]) -> str:
    """The pipeline's one line about the runs it leaves alone."""
    return (f"mvae pipeline: {len(frozen)} run(s) of {results} are archived without their "
            f"checkpoint here ({MANIFEST}): they are read as archived, never retrained or "
            "re-evaluated in place (python -m mvae.archive verify checks them); to train them "
            "again, use another folder: --config results_dir=OTHER")


def _results_of(path: Path) -> Path | None:
    """The archive (folder with a manifest) that ``path`` lies in, up to three levels up."""
    for parent in list(path.parents)[:3]:
        if (parent / MANIFEST).is_file():
            return parent
    return None


def archived_output(outputs: Iterable[str | Path], run_dir: str | Path | None = None
                    ) -> str | None:
    """Why a pipeline job must not write ``outputs``, or None (:func:`mvae.guard.refusal` for a
    job): one of them is an archived file (in its archive's manifest) and the run's checkpoint
    (in ``run_dir``) is absent, so the job could not recompute it, only destroy it; or it lies
    in an archive whose manifest is gone, or is reached through a link. Jobs with no run folder
    (baselines) pass None."""
    from mvae import guard

    for output in outputs:
        reason = guard.refusal(output, "job", run_dir=run_dir)
        if reason:
            return reason
    return None


def stop_if_archived(outputs: Iterable[str | Path], run_dir: str | Path | None = None) -> None:
    """For a pipeline job script, first thing: exit with one line (no traceback) when
    :func:`archived_output` says the job would replace an archived file."""
    reason = archived_output(outputs, run_dir)
    if reason:
        sys.exit(f"mvae: {reason}")


def provenance_target(results: str, archiving: bool = False) -> str:
    """Where the pipeline's provenance rule writes: ``<results>/provenance.json``, except in an
    archive (a folder with a manifest, such as the committed results/paper), where a rebuild's
    record (its commit, device and time are the reader's) goes to the git-ignored
    ``<results>/logs/provenance.json`` and the committed record stays as it is. ``archiving``
    (the grid refreshing the archive it is filling) writes the archive's own record."""
    if archiving or not (Path(results) / MANIFEST).is_file():
        return f"{results}/provenance.json"
    return f"{results}/logs/provenance.json"


def note_rebuild(out: str | Path) -> None:
    """Mark a provenance record written beside an archive (``<results>/logs/provenance.json``)
    as a rebuild's, naming the archive's own record and its commit."""
    out = Path(out)
    results = out.parent.parent if out.parent.name == "logs" else out.parent
    archived = results / "provenance.json"
    if out.resolve() == archived.resolve() or not out.is_file():
        return
    from mvae.provenance import write_json

    record = json.loads(out.read_text())
    try:
        original = json.loads(archived.read_text())
    except (OSError, ValueError):
        original = {}
    record["rebuild_of"] = {
        "record": str(archived), "git": original.get("git"), "time": original.get("time"),
        "note": "this record describes a rebuild of the tables and figures from the archive on "
                "this machine; the archive's own provenance is the record named here"}
    write_json(out, record)


# --------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mvae.archive",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("verify", help="check an archive against its manifest (deletes nothing)")
    p.add_argument("dest", type=Path, help="the archive, e.g. results/paper")
    p.add_argument("--run", action="append", help="only this run (repeat; baselines:<dataset>)")
    p = sub.add_parser("manifest", help="write the manifest of an archive from its files now")
    p.add_argument("dest", type=Path)
    p.add_argument("--replace", action="store_true", help="replace an existing manifest")
    p = sub.add_parser("export", help="archive finished runs of a pipeline results folder")
    p.add_argument("source", type=Path, help="the results folder they ran in, OTHER/<preset>")
    p.add_argument("dest", type=Path, help="the archive, e.g. results/paper")
    p.add_argument("runs", nargs="+", metavar="RUN")
    args = parser.parse_args(argv)
    try:
        if args.command == "verify":
            problems = verify_archive(args.dest, args.run)
            for line in problems:
                print(line, file=sys.stderr)
            if problems:
                print(f"{args.dest}: {len(problems)} problem(s); nothing was changed",
                      file=sys.stderr)
                return 1
            checked = read_manifest(args.dest) or {}
            print(f"{args.dest}: all {len(checked)} archived files match {MANIFEST}")
            return 0
        if args.command == "manifest":
            entries = create_manifest(args.dest, replace=args.replace)
            print(f"{args.dest / MANIFEST}: {len(entries)} files")
            return 0
        for run in args.runs:
            files = export_run(args.source, args.dest, run)
            print(f"{run}: {len(files)} files archived in {args.dest}")
        return 0
    except (ArchiveError, LinkError, OSError, RuntimeError) as err:
        print(f"mvae.archive: {' '.join(str(err).split())}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
