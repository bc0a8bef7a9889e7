"""The committed results archive: a run's small outputs, copied out of a pipeline results folder.

Paper-scale runs train for hours in a results folder outside the checkout (checkpoints and
latent codes are hundreds of megabytes). What the tables, figures and book need from a finished
run is small: its evaluation files, its config, history and provenance, and the wall time of its
jobs. :func:`export_run` copies exactly those into ``results/<preset>/`` of the repository, with
the same layout, so the pipeline's report rules (``--config committed=true``) and the book read the
archive as if the runs had just finished there, without any checkpoint.
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: Files of a run folder that go into the archive (never the checkpoint or the latent codes).
RUN_FILES = ("config.yaml", "history.json", "provenance.json", "done.json")

#: Files in an eval folder that are not results: temporaries of a write in progress.
SKIPPED_EVAL_SUFFIXES = (".tmp", ".part")


class ArchiveError(RuntimeError):
    """A run cannot be archived: it has not finished training or evaluation."""


def archived_files(source: Path, run: str) -> list[Path]:
    """Paths, relative to ``source``, of what :func:`export_run` copies for ``run``."""
    source = Path(source)
    eval_dir = source / "eval" / run
    if not (source / "runs" / run / "done.json").is_file():
        raise ArchiveError(f"{source / 'runs' / run}: training has not finished (no done.json)")
    if not (eval_dir / "evaluated.json").is_file():
        raise ArchiveError(f"{eval_dir}: evaluation has not finished (no evaluated.json)")
    files = [p for p in sorted(eval_dir.iterdir())
             if p.is_file() and not p.name.endswith(SKIPPED_EVAL_SUFFIXES)]
    files += [source / "runs" / run / name for name in RUN_FILES
              if (source / "runs" / run / name).is_file()]
    files += sorted((source / "benchmarks").glob(f"*/{run}.tsv"))
    return [p.relative_to(source) for p in files]


def baseline_files(source: Path, dataset: str) -> list[Path]:
    """Paths, relative to ``source``, of one dataset's baselines record and its benchmark."""
    source = Path(source)
    record = Path("baselines") / f"{dataset}.json"
    if not (source / record).is_file():
        raise ArchiveError(f"{source / record}: the baselines have not been computed")
    bench = Path("benchmarks") / "baselines" / f"{dataset}.tsv"
    return [record] + ([bench] if (source / bench).is_file() else [])


def export_run(source: Path, dest: Path, run: str) -> list[Path]:
    """Copy one finished run's small outputs from ``source`` to ``dest`` (both results/<preset>).

    Each file is copied to a temporary name and renamed, so an interrupted export leaves either
    the old file or the new one. Returns the copied paths, relative to ``dest``. A run named
    ``baselines:<dataset>`` exports that dataset's baselines instead.
    """
    source, dest = Path(source), Path(dest)
    relative = (baseline_files(source, run.split(":", 1)[1]) if run.startswith("baselines:")
                else archived_files(source, run))
    for rel in relative:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(source / rel, tmp)
        tmp.replace(target)
    return relative


def archive_bytes(dest: Path) -> int:
    """Total size of the archive folder (the issue caps results/paper at 20 MB)."""
    return sum(p.stat().st_size for p in Path(dest).rglob("*") if p.is_file())
