"""mvae.archive: the committed archive takes a finished run's small outputs and nothing else, and
its manifest (every archived file's SHA-256) tells committed results from edited, truncated or
deleted ones."""

from __future__ import annotations

import json
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from mvae.archive import (
    MANIFEST,
    ArchiveError,
    archive_bytes,
    archived_output,
    create_manifest,
    export_run,
    frozen_runs,
    provenance_target,
    read_manifest,
    sha256_file,
    verify_archive,
)


def _run(root: Path, run: str, evaluated: bool = True) -> None:
    (root / "runs" / run).mkdir(parents=True)
    for name in ("config.yaml", "history.json", "provenance.json", "done.json"):
        (root / "runs" / run / name).write_text(name)
    (root / "runs" / run / "checkpoint.pt").write_bytes(b"x" * 1000)
    (root / "runs" / run / "latents.npz").write_bytes(b"x" * 1000)
    (root / "eval" / run).mkdir(parents=True)
    for name in ("reconstruction.json", "probes.json", "examples.npz", "probes.json.tmp"):
        (root / "eval" / run / name).write_text(name)
    if evaluated:
        (root / "eval" / run / "evaluated.json").write_text("{}")
    (root / "benchmarks" / "train").mkdir(parents=True, exist_ok=True)
    (root / "benchmarks" / "train" / f"{run}.tsv").write_text("s\n1\n")


def test_export_copies_the_small_outputs_only(tmp_path: Path) -> None:
    _run(tmp_path / "src", "mnist-k1-s0")
    copied = export_run(tmp_path / "src", tmp_path / "dst", "mnist-k1-s0")
    names = {p.as_posix() for p in copied}
    assert "eval/mnist-k1-s0/probes.json" in names
    assert "runs/mnist-k1-s0/history.json" in names
    assert "benchmarks/train/mnist-k1-s0.tsv" in names
    assert not any(n.endswith((".pt", "latents.npz", ".tmp")) for n in names)
    assert all((tmp_path / "dst" / p).read_bytes() == (tmp_path / "src" / p).read_bytes()
               for p in copied)
    assert archive_bytes(tmp_path / "dst") == sum((tmp_path / "dst" / p).stat().st_size
                                                  for p in [*copied, Path(MANIFEST)])


def test_an_unfinished_run_is_not_archived(tmp_path: Path) -> None:
    _run(tmp_path / "src", "mnist-k4-s0", evaluated=False)
    with pytest.raises(ArchiveError, match="evaluation has not finished"):
        export_run(tmp_path / "src", tmp_path / "dst", "mnist-k4-s0")
    (tmp_path / "src" / "runs" / "mnist-k4-s0" / "done.json").unlink()
    with pytest.raises(ArchiveError, match="training has not finished"):
        export_run(tmp_path / "src", tmp_path / "dst", "mnist-k4-s0")
    assert not (tmp_path / "dst").exists()


def test_baselines_are_exported_by_dataset(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="baselines have not been computed"):
        export_run(tmp_path / "src", tmp_path / "dst", "baselines:mnist")
    (tmp_path / "src" / "baselines").mkdir(parents=True)
    (tmp_path / "src" / "baselines" / "mnist.json").write_text("{}")
    assert [p.as_posix() for p in export_run(tmp_path / "src", tmp_path / "dst",
                                             "baselines:mnist")] == ["baselines/mnist.json"]


# --------------------------------------------------------------------------- the manifest
# The archive's manifest: every archived file's SHA-256, so that committed mode can tell the
# committed results from edited, truncated or deleted ones (and say which), and a rebuild's
# provenance that does not overwrite the archive's own.

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "results" / "paper"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and "logs" not in p.parts}


def _finished_run(root: Path, run: str) -> None:
    for name in ("config.yaml", "history.json", "provenance.json", "done.json"):
        (root / "runs" / run).mkdir(parents=True, exist_ok=True)
        (root / "runs" / run / name).write_text(f"{name} of {run}\n")
    (root / "runs" / run / "checkpoint.pt").write_bytes(b"x" * 100)
    (root / "eval" / run).mkdir(parents=True)
    for name in ("reconstruction.json", "evaluated.json"):
        (root / "eval" / run / name).write_text(json.dumps({"run": run}))
    (root / "benchmarks" / "train").mkdir(parents=True, exist_ok=True)
    (root / "benchmarks" / "train" / f"{run}.tsv").write_text("s\n1\n")


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """A copy of the committed paper archive with a manifest written from it."""
    dest = tmp_path / "paper"
    shutil.copytree(PAPER, dest, ignore=shutil.ignore_patterns("logs", MANIFEST))
    create_manifest(dest)
    return dest


def test_export_records_every_copied_file_in_the_manifest(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    _finished_run(src, "mnist-k1-s0")
    _finished_run(src, "mnist-k4-s0")
    first = export_run(src, dst, "mnist-k1-s0")
    assert read_manifest(dst) == {p.as_posix(): sha256_file(dst / p) for p in first}
    second = export_run(src, dst, "mnist-k4-s0")
    assert set(read_manifest(dst)) == {p.as_posix() for p in first + second}
    assert verify_archive(dst) == []
    # the manifest is sha256sum's format: `sha256sum -c` checks it too
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "-c", "--strict", "--quiet", MANIFEST], cwd=dst,
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_an_edited_truncated_or_deleted_archived_file_is_named(archive: Path) -> None:
    """The reviewer's three cases in committed mode, plus a truncated .npz and a file added
    after archiving: each one line, naming the file and what is wrong."""
    assert verify_archive(archive) == []
    edited = archive / "eval" / "mnist-k1-s0" / "reconstruction.json"
    record = json.loads(edited.read_text())
    record["mixture"]["sse_per_image"] = 1.0  # a better Table I number than the run's
    edited.write_text(json.dumps(record, indent=2))
    truncated = archive / "eval" / "mnist-k4-s0" / "reconstruction.json"
    truncated.write_bytes(truncated.read_bytes()[:200])
    cut_npz = archive / "eval" / "mnist-k4-s0" / "examples.npz"
    cut_npz.write_bytes(cut_npz.read_bytes()[:500])
    deleted = archive / "eval" / "mnist-k2-s0" / "reconstruction.json"
    deleted.unlink()
    added = archive / "eval" / "mnist-k3-s0" / "probes-v2.json"
    added.write_text("{}")
    problems = verify_archive(archive)
    assert len(problems) == 5, problems
    assert all("\n" not in line for line in problems)
    by_file = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in problems}
    assert by_file[str(edited)].startswith("edited (its SHA-256 differs")
    assert by_file[str(truncated)].startswith("truncated or damaged: not valid JSON")
    assert by_file[str(cut_npz)].startswith("truncated or damaged")
    assert by_file[str(deleted)].startswith("missing (listed in")
    assert by_file[str(added)].startswith("not in")
    # limited to one run
    assert verify_archive(archive, ["mnist-k1-s0"]) == [f"{edited}: {by_file[str(edited)]}"]


@pytest.mark.slow
def test_the_verify_command_exits_non_zero_and_deletes_nothing(archive: Path) -> None:
    command = [sys.executable, "-m", "mvae.archive", "verify", str(archive)]
    ok = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "archived files match" in ok.stdout, ok.stderr
    truncated = archive / "eval" / "mnist-k1-s0" / "probes.json"
    truncated.write_text(truncated.read_text()[:50])
    before = _snapshot(archive)
    bad = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[0].startswith(f"{truncated}: truncated or damaged")
    assert _snapshot(archive) == before


def test_a_manifest_is_not_rewritten_over_edits(archive: Path) -> None:
    (archive / "eval" / "mnist-k1-s0" / "probes.json").write_text("{}")
    with pytest.raises(ArchiveError, match="exists; verify the archive against it"):
        create_manifest(archive)
    assert len(verify_archive(archive)) == 1
    no_manifest = archive.parent / "other"
    no_manifest.mkdir()
    assert "missing, so nothing" in verify_archive(no_manifest)[0]


def test_archived_runs_without_checkpoints_are_frozen(archive: Path) -> None:
    assert frozen_runs(archive, ["mnist-k1-s0", "not-archived"]) == ["mnist-k1-s0"]
    (archive / "runs" / "mnist-k1-s0" / "checkpoint.pt").write_bytes(b"here")
    assert frozen_runs(archive, ["mnist-k1-s0"]) == []  # trained here: re-evaluated as usual
    assert frozen_runs(archive.parent, ["mnist-k1-s0"]) == []  # no manifest, nothing frozen
    out = archive / "eval" / "mnist-k4-s0" / "reconstruction.json"
    reason = archived_output([out], archive / "runs" / "mnist-k4-s0")
    assert reason and "is an archived result" in reason and "to retrain mnist-k4-s0" in reason
    assert archived_output([archive / "eval" / "mnist-k4-s0" / "new.json"],
                           archive / "runs" / "mnist-k4-s0") is None


def test_a_rebuild_writes_its_provenance_beside_the_archive(archive: Path) -> None:
    """Issue: building the book from the archive rewrote the tracked provenance.json with the
    reader's commit and device. Beside an archive, the provenance rule's output is logs/'s."""
    results = str(archive)
    assert provenance_target(results) == f"{results}/logs/provenance.json"
    assert provenance_target(results, archiving=True) == f"{results}/provenance.json"
    assert provenance_target(str(archive.parent)) == f"{archive.parent}/provenance.json"
    tracked = (archive / "provenance.json").read_bytes()
    out = provenance_target(results)
    sm = SimpleNamespace(params=SimpleNamespace(preset="paper", runs={}, settings={}),
                         input=SimpleNamespace(benchmarks=[]), output=[out],
                         log=[str(archive / "logs" / "provenance.log")])
    runpy.run_path(str(ROOT / "pipeline" / "scripts" / "provenance.py"),
                   init_globals={"snakemake": sm})
    assert (archive / "provenance.json").read_bytes() == tracked
    record = json.loads(Path(out).read_text())
    archived = json.loads(tracked)
    assert record["rebuild_of"]["record"] == str(archive / "provenance.json")
    assert record["rebuild_of"]["git"] == archived["git"]
