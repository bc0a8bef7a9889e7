"""The one place that decides whether mvae may write a path.

Every writer of the library asks :func:`check` (or :func:`refusal`) before it writes, moves or
replaces anything, saying who it is:

``"evaluate"``  ``mvae evaluate``'s outputs (``--out`` and the default ``<run>/evaluation``);
``"fresh"``     ``mvae train --fresh`` and the pipeline moving a stale run folder aside;
``"train"``     training in a run folder (``mvae train``, the pipeline's train job);
``"job"``       a pipeline job's outputs (its scripts, first thing: :func:`stop_unless_writable`);
``"report"``    the tables, figures, claims and provenance the report rules rebuild;
``"archive"``   :mod:`mvae.archive` copying finished runs into an archive.

The rules, the same for everyone:

* **never through a link**: the path, or a folder between it and the archive it lies in (or its
  own folder), that is a symbolic link is refused (:class:`mvae.files.LinkError`), so the file a
  link points to is never written;
* **never inside an archive** (a results folder with a ``MANIFEST.sha256``, or one holding
  finished runs without their checkpoints: an archive whose manifest was deleted is still one):
  ``evaluate`` and ``fresh`` write nothing there; a job or training replaces no archived file
  (one listed in the manifest) unless the run's checkpoint is here to recompute it; and an
  archive without its manifest takes no write at all, from anyone (its files could no longer be
  told from edited ones, and an export would bless them);
* **never in place of a finished run's files**: ``evaluate`` writes no checkpoint or run record
  (``config.yaml``, ``history.json``, ``provenance.json``, ``done.json``) and nothing into a run
  folder or into a pipeline evaluation (a folder with ``evaluated.json``); training's own
  checks (:mod:`mvae.checkpoints`) keep it from replacing another run.

A refusal is one line naming the path, the reason and what to do instead (:class:`WriteRefused`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from mvae import layout
from mvae.files import LinkError

WRITERS = ("evaluate", "fresh", "train", "job", "report", "archive")
#: Writers whose path is a run folder, not a file.
FOLDER_WRITERS = ("fresh", "train")
#: The archive's manifest file (:mod:`mvae.archive`).
MANIFEST = "MANIFEST.sha256"
#: What a finished run folder holds that only training may write.
RUN_FILE_NAMES = (layout.CHECKPOINT, *layout.RUN_RECORDS, layout.DONE)
#: The file the pipeline writes when a run's evaluation is complete.
EVALUATED = "evaluated.json"


class WriteRefused(RuntimeError):
    """mvae does not write this path; the one-line message says why and what to do instead."""


# --------------------------------------------------------------------------- archives
def archived_runs(folder: str | Path) -> list[str]:
    """Runs of a results folder that look archived whatever its manifest says: a finished run
    (``runs/<run>/done.json``) or evaluation (``eval/<run>/evaluated.json``) whose checkpoint is
    not here. A folder where training happens keeps its checkpoints beside its records."""
    folder = Path(folder)
    found = {p.parent.name for p in folder.glob(f"runs/*/{layout.DONE}")}
    found |= {p.parent.name for p in folder.glob(f"eval/*/{EVALUATED}")}
    return sorted(run for run in found
                  if not (folder / layout.run_file(run, layout.CHECKPOINT)).exists())


def is_archive(folder: str | Path) -> bool:
    """Whether ``folder`` is an archive: it has a manifest, or holds archived-looking runs."""
    folder = Path(folder)
    return (folder / MANIFEST).is_file() or (
        ((folder / "runs").is_dir() or (folder / "eval").is_dir()) and bool(
            archived_runs(folder)))


def archive_of(path: str | Path) -> Path | None:
    """The archive that ``path`` lies in (``path`` itself or the nearest folder above it), or
    None. Paths are taken as given (made absolute, links not followed)."""
    path = Path(os.path.abspath(path))
    for folder in (path, *path.parents):
        if folder.is_dir() and not folder.is_symlink() and is_archive(folder):
            return folder
    return None


def missing_manifest(archive: Path) -> str:
    """The refusal for an archive whose manifest is gone."""
    runs = archived_runs(archive)
    shown = ", ".join(runs[:3]) + (f" and {len(runs) - 3} more" if len(runs) > 3 else "")
    return (f"{archive} holds {len(runs)} archived run(s) ({shown}: finished, without their "
            f"checkpoints) but no {MANIFEST}, so its files cannot be told from edited ones and "
            f"nothing may be built from or written into it: restore the manifest (git checkout "
            f"-- {archive / MANIFEST}); only for an archive whose files you know are the "
            f"committed ones, write a new one: python -m mvae.archive manifest {archive}")


# --------------------------------------------------------------------------- the rules
def _links(path: Path, top: Path) -> str | None:
    """The first symbolic link from ``top`` (exclusive) down to ``path`` (inclusive)."""
    try:
        below = path.relative_to(top).parts
    except ValueError:
        below = (path.name,)
        top = path.parent
    current = top
    for part in below:
        current = current / part
        if current.is_symlink():
            try:
                target = os.readlink(current)
            except OSError:
                target = "?"
            return (f"{current} is a symbolic link (to {target}); mvae does not write through "
                    "or replace links: replace it with a regular file or folder, or use another "
                    "path")
    return None


def _run_files(path: Path) -> str | None:
    """Why ``evaluate`` must not write ``path``: a run's own file, a run folder, or a pipeline
    evaluation (finished runs' files)."""
    folder = path if path.is_dir() else path.parent
    if path.name in RUN_FILE_NAMES and any((folder / n).exists() for n in RUN_FILE_NAMES):
        return f"{path} is a run's {path.name}, which only training writes"
    held = [n for n in (*RUN_FILE_NAMES, EVALUATED) if (folder / n).exists()]
    if held:
        what = ("a pipeline evaluation" if held == [EVALUATED] else "a run folder")
        return (f"{folder} is {what} (it holds {', '.join(held)}), and mvae evaluate writes "
                "nothing in place of a run's files")
    return None


def _archived_file(path: Path, archive: Path, run_dir: Path | None) -> str | None:
    """Why a job or training must not replace ``path`` in ``archive``: an archived file (or
    run) whose checkpoint is not in ``run_dir`` to recompute it."""
    from mvae.archive import ArchiveError, read_manifest, retrain_hint

    try:
        entries = read_manifest(archive) or {}
    except ArchiveError as err:
        return str(err)
    rel = PurePosixPath(path.relative_to(archive).as_posix())
    parts = rel.parts
    run = parts[1] if len(parts) >= 2 and parts[0] in ("runs", "eval") else None
    listed = rel.as_posix() in entries or (
        run is not None and len(parts) == 2 and layout.run_file(run, layout.DONE) in entries)
    if not listed:
        return None
    checkpoint = Path(run_dir) / layout.CHECKPOINT if run_dir is not None else None
    if checkpoint is not None and checkpoint.exists():
        return None  # the run is live here: its files can be recomputed from the checkpoint
    why = (f"{checkpoint} is absent, so this job cannot recompute it" if checkpoint is not None
           else "the archive's files are not recomputed in place")
    owner = run or rel.as_posix()
    if parts and parts[0] == "baselines":
        owner = f"baselines:{PurePosixPath(parts[-1]).stem}"
    hint = (retrain_hint(archive, owner) if not owner.startswith("baselines:") else
            f"to recompute them, run the pipeline with --config results_dir=OTHER and archive "
            f"them with python -m mvae.archive export OTHER/{archive.name} {archive} {owner}")
    return (f"{path} is an archived result (listed in {archive / MANIFEST}) and {why}; "
            "nothing was written (if Snakemake removed the file before the job started, restore "
            f"it: git checkout -- {path}); {hint}")


def _why(path: str | Path, writer: str, run_dir: str | Path | None) -> tuple[type, str] | None:
    if writer not in WRITERS:
        raise ValueError(f"unknown writer {writer!r}; one of {', '.join(WRITERS)}")
    path = Path(os.path.abspath(path))
    archive = archive_of(path)
    # in an archive, no link from its top down; elsewhere the path and, for a file, its folder
    # (folders above may be links: a results folder on another disk)
    top = archive if archive is not None else (
        path.parent if writer in FOLDER_WRITERS else path.parent.parent)
    link = _links(path, top)
    if link:
        return LinkError, link
    if archive is not None:
        if not (archive / MANIFEST).is_file():
            return WriteRefused, missing_manifest(archive)
        if writer in ("evaluate", "fresh"):
            verb = "moves no files" if writer == "fresh" else "writes nothing"
            return WriteRefused, (
                f"{path} is inside the archive {archive} ({MANIFEST}): mvae {verb} there (the "
                f"archive is filled by the pipeline and python -m mvae.archive export); "
                + ("evaluate into another folder: --out OTHER" if writer == "evaluate" else
                   f"train into another folder (--run-dir OTHER); {_retrain(archive, path)}"))
        if writer in ("job", "train"):
            reason = _archived_file(path, archive, run_dir if writer == "job" else path)
            if reason:
                return WriteRefused, reason
    if writer == "evaluate":
        reason = _run_files(path)
        if reason:
            return WriteRefused, reason
    return None


def _retrain(archive: Path, path: Path) -> str:
    from mvae.archive import retrain_hint

    parts = path.relative_to(archive).parts
    return retrain_hint(archive, parts[1]) if len(parts) >= 2 and parts[0] == "runs" else (
        "archive runs with python -m mvae.archive export")


def refusal(path: str | Path, writer: str, *, run_dir: str | Path | None = None) -> str | None:
    """Why ``writer`` must not write ``path`` (one line), or None when it may. ``run_dir``: the
    run folder a job's outputs belong to (its checkpoint lets it recompute archived files)."""
    found = _why(path, writer, run_dir)
    return None if found is None else found[1]


def check(path: str | Path, writer: str, *, run_dir: str | Path | None = None) -> None:
    """Raise :class:`WriteRefused` (or :class:`mvae.files.LinkError`) when ``writer`` must not
    write ``path`` (:func:`refusal`)."""
    found = _why(path, writer, run_dir)
    if found is not None:
        kind, message = found
        raise kind(message)


def check_all(paths: Iterable[str | Path], writer: str, *,
              run_dir: str | Path | None = None) -> None:
    """:func:`check` every path, before any is written."""
    for path in paths:
        check(path, writer, run_dir=run_dir)


def stop_unless_writable(outputs: Iterable[str | Path], writer: str = "job", *,
                         run_dir: str | Path | None = None) -> None:
    """For a pipeline job script, first thing: exit with one line (no traceback) when any of
    its outputs may not be written."""
    for output in outputs:
        reason = refusal(output, writer, run_dir=run_dir)
        if reason:
            sys.exit(f"mvae: {reason}")
