"""The SLURM profile on a real one-node cluster (scripts/slurm_localhost.py): the documented
command runs jobs through SLURM, side by side where the node has room, and they compute what a
local run computes. Skips, saying why, where SLURM cannot start (not installed, not root). The
plugin's version floor is the one tested, and its fall-back to sacct is documented."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

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


# ---------------------------------------------------- the plugin's version (issue 41, case 14)
# Issue 41, case 14: the SLURM profile's setting exists in the plugin version the package asks
# for, and the plugin's fall-back to sacct (the hang the profile avoids) is documented.


def _floor(spec_list: list[str], name: str) -> tuple[int, ...]:
    spec = next(s for s in spec_list if s.startswith(name))
    return tuple(int(p) for p in re.search(r">=\s*([\d.]+)", spec)[1].split("."))


def _as_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.match(r"[\d.]+", text)[0].rstrip(".").split("."))


def test_the_plugin_floor_is_the_version_tested() -> None:
    """Before: >=1.0, which has no slurm-status-command; the floor is the version named as
    tested in pipeline/README.md, and the installed plugin is at least that."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floor = _floor(project["optional-dependencies"]["pipeline"], "snakemake-executor-plugin-slurm")
    readme = (ROOT / "pipeline" / "README.md").read_text()
    tested = _as_tuple(re.search(r"Tested with snakemake-executor-plugin-slurm ([\d.]+)",
                                 readme)[1])
    assert floor == tested[:len(floor)] and floor >= (2,), (floor, tested)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _floor(pip, "snakemake-executor-plugin-slurm") == floor
    plugin = pytest.importorskip("snakemake_executor_plugin_slurm")
    assert _as_tuple(version("snakemake-executor-plugin-slurm")) >= floor
    # the profile's setting is one of the plugin's
    fields = {f for f in plugin.ExecutorSettings.__dataclass_fields__}
    profile = yaml.safe_load((ROOT / "pipeline" / "profiles" / "slurm" / "config.yaml")
                             .read_text())
    for key in profile:
        if key.startswith("slurm-"):
            assert key.removeprefix("slurm-").replace("-", "_") in fields, key


def test_the_fallback_to_sacct_is_documented() -> None:
    readme = (ROOT / "pipeline" / "README.md").read_text()
    profile = (ROOT / "pipeline" / "profiles" / "slurm" / "config.yaml").read_text()
    for text in (readme, profile):
        assert "scontrol show config" in text and "MinJobAge" in text
    init = yaml.safe_load(profile)["slurm-init-seconds-before-status-checks"]
    assert f"({3 * init} s" in readme and f"({3 * init} s)" in profile
