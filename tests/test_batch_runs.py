"""scripts/batch_runs.py runs the pipeline's job chain without Snakemake: its runs must archive
exactly like the pipeline's (same files, benchmarks the provenance reads), and resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mvae.archive import archived_files

ROOT = Path(__file__).resolve().parents[1]
RUNS = ["mnist2d-k2", "mnistbin-k2"]  # 2-D codes and the NLL: every optional step but CIFAR's


def _batch(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MVAE_DATA_DIR=os.environ.get("MVAE_DATA_DIR", str(ROOT / "data")))
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "batch_runs.py"),
                           "--preset", "tiny", "--results-root", str(tmp_path / "runs"),
                           "--archive", str(tmp_path / "archive"), "--workers", "2",
                           "--threads", "1", "--runs", ",".join(RUNS), *extra],
                          capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)


@pytest.mark.slow
def test_batch_runs_archive_what_the_pipeline_archives_and_resume(tmp_path: Path) -> None:
    done = _batch(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 of 2 runs archived" in done.stdout
    source, archive = tmp_path / "runs" / "tiny", tmp_path / "archive"
    for run in RUNS:
        expected = set(archived_files(source, run))
        mine = {p.relative_to(archive) for p in archive.rglob("*") if p.is_file()
                and (run in p.relative_to(archive).parts or p.stem == run)}
        assert mine == expected
        evaluated = json.loads((archive / "eval" / run / "evaluated.json").read_text())
        assert {"eval/" + run + "/" + n for n in ("reconstruction.json", "probes.json",
                                                   "diversity.json")} <= set(evaluated["files"])
        for rule in ("train", "reconstruct", "latents", "probe"):
            bench = pd.read_csv(archive / "benchmarks" / rule / f"{run}.tsv", sep="\t")
            assert bench.loc[0, "s"] > 0 and bench.loc[0, "max_rss"] > 0, (rule, run)
    assert (archive / "eval" / "mnist2d-k2" / "latents_2d.npz").is_file()
    assert json.loads((archive / "eval" / "mnistbin-k2" / "nll.json").read_text())["nll"] > 0
    # a second call finds every step's outputs and redoes nothing
    stamp = (source / "runs" / "mnist2d-k2" / "checkpoint.pt").stat().st_mtime_ns
    again = _batch(tmp_path)
    assert again.returncode == 0 and "2 of 2 runs archived" in again.stdout
    assert (source / "runs" / "mnist2d-k2" / "checkpoint.pt").stat().st_mtime_ns == stamp
