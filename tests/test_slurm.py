"""The SLURM profile on a real one-node cluster (scripts/slurm_localhost.py): the documented
command runs jobs through SLURM, side by side where the node has room, and they compute what a
local run computes. Skips, saying why, where SLURM cannot start (not installed, not root)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import slurm_localhost  # noqa: E402

RUNS = ("mnist-k1-s0", "mnist-k2-s0")


def _snakemake(results: Path, *args: str, env: dict[str, str] | None = None,
               timeout: int = 900) -> subprocess.CompletedProcess[str]:
    targets = [str(results / "tiny" / "eval" / run / "evaluated.json") for run in RUNS]
    return subprocess.run([sys.executable, "-m", "snakemake", *args, "--config", "preset=tiny",
                           f"results_dir={results}", "--", *targets], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def _running(env: dict[str, str], stop: threading.Event, seen: list[int]) -> None:
    """Sample how many SLURM jobs run at once until ``stop`` is set."""
    while not stop.is_set():
        out = subprocess.run(["squeue", "-h", "-t", "R", "-o", "%i"], capture_output=True,
                             text=True, env={**os.environ, **env})
        seen.append(len(out.stdout.split()))
        time.sleep(0.5)


@pytest.mark.slow
def test_the_slurm_profile_runs_the_pipeline_on_a_real_cluster(tmp_path: Path) -> None:
    missing = slurm_localhost.missing_programs()
    if missing:
        pytest.skip(f"SLURM is not installed ({', '.join(missing)}): apt-get install slurmctld "
                    "slurmd slurm-client munge")
    if os.geteuid() != 0:
        pytest.skip("a local SLURM needs root (slurmd)")
    try:
        with slurm_localhost.cluster(tmp_path / "cluster") as env:
            stop, seen = threading.Event(), []
            sampler = threading.Thread(target=_running, args=(env, stop, seen))
            sampler.start()
            try:
                done = _snakemake(tmp_path / "slurm", "--profile", "pipeline/profiles/slurm",
                                  env=env)
            finally:
                stop.set()
                sampler.join()
    except slurm_localhost.ClusterError as err:
        pytest.skip(f"SLURM could not start here: {err}")
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    submitted = done.stdout + done.stderr
    assert submitted.count("has been submitted with SLURM jobid") >= 3
    assert max(seen) >= 2, f"jobs never ran side by side: {max(seen)} at most"
    local = _snakemake(tmp_path / "local", "--cores", "2")
    assert local.returncode == 0, local.stderr[-3000:]
    for run in RUNS:
        ours, theirs = (json.loads((tmp_path / where / "tiny" / "eval" / run /
                                    "reconstruction.json").read_text())
                        for where in ("slurm", "local"))
        assert ours["mixture"] == theirs["mixture"], run
        assert ours["components"] == theirs["components"], run
