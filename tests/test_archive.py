"""The committed archive takes a finished run's small outputs and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvae.archive import MANIFEST, ArchiveError, archive_bytes, export_run


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
