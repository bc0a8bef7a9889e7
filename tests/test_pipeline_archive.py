"""The pipeline never destroys an archived run (issue: data loss in a fresh clone).

A clone of the repository holds results/<preset>/ with every archived run's small files but no
checkpoint, and its files all carry checkout-time mtimes. Snakemake then saw the evaluations of
archived runs as outdated, ran them, and, since a job's outputs are deleted before it runs and
again when it fails, deleted the committed reconstruction.json and examples.npz. These tests
build such an archive in a temporary results folder (the tiny preset, one archived run) and run
Snakemake on it: dry runs, and one real run of a forced job.
"""

from __future__ import annotations

import os
import re
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from mvae.archive import MANIFEST, RUN_FILES, create_manifest
from mvae.presets import load_preset
from mvae.selections import select

ROOT = Path(__file__).resolve().parents[1]
RUN = "mnist-k1-s0"  # the tiny preset's first run: archived here
LIVE = "mnist-k1-s1"  # another run of the preset: not archived, trained as usual


def snakemake(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _archive(results: Path, run: str = RUN, *, data_newest: bool = True) -> Path:
    """``results/tiny`` holding ``run`` as a clone has it: archived files and a manifest, no
    checkpoint; done.json newer than the evaluation files, the data marker newer still (or
    older than everything, ``data_newest=False``)."""
    res = results / "tiny"
    evals = [*select(load_preset("tiny", ROOT / "pipeline" / "config")).evaluations(run),
             "evaluated.json"]
    for name in evals:
        (res / "eval" / run).mkdir(parents=True, exist_ok=True)
        (res / "eval" / run / name).write_text(f'{{"run": "{run}", "file": "{name}"}}\n')
    for name in RUN_FILES:
        (res / "runs" / run).mkdir(parents=True, exist_ok=True)
        (res / "runs" / run / name).write_text(f'{{"run": "{run}", "epochs": 3}}\n')
    for rule in ("train", "reconstruct", "latents", "probe"):  # what export_run copies
        (res / "benchmarks" / rule).mkdir(parents=True)
        (res / "benchmarks" / rule / f"{run}.tsv").write_text("s\tmax_rss\n12.5\t300\n")
    create_manifest(res)
    marker = results / "data" / "mnist" / "pipeline-ready.json"
    marker.parent.mkdir(parents=True)
    marker.write_text("{}\n")
    now = time.time()
    for path in (res / "eval" / run).iterdir():  # checked out first: the oldest
        os.utime(path, (now - 300, now - 300))
    for path in (res / "runs" / run).iterdir():
        os.utime(path, (now - 200, now - 200))
    os.utime(marker, (now - 100, now - 100) if data_newest else (now - 1000, now - 1000))
    return res


def _config(results: Path) -> list[str]:
    return ["--config", "preset=tiny", f"results_dir={results}", f"data_dir={results / 'data'}"]


def _jobs_for(output: str, run: str) -> list[str]:
    """The rules of the planned jobs whose wildcards name ``run``."""
    return re.findall(rf"rule (\w+):\n(?:    .*\n)*?    wildcards: run={re.escape(run)}\n",
                      output)


def _snapshot(res: Path) -> dict[str, bytes]:
    return {p.relative_to(res).as_posix(): p.read_bytes()
            for p in sorted(res.rglob("*")) if p.is_file() and "logs" not in p.parts}


def test_a_clone_plans_no_job_for_an_archived_run(tmp_path: Path) -> None:
    """Before: train (data marker newer), reconstruct (done.json newer) and latents jobs of the
    archived run, i.e. its committed files deleted and retraining over them."""
    res = _archive(tmp_path)
    done = snakemake("-n", "--cores", "1", *_config(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    assert _jobs_for(done.stdout, RUN) == []
    assert "train" in _jobs_for(done.stdout, LIVE)  # the rest of the preset trains as usual
    assert f"1 run(s) of {res} are archived without their checkpoint" in done.stderr
    # the archived evaluation is read by the tables, as it is
    assert f"{res}/eval/{RUN}/reconstruction.json" in done.stdout


def test_an_archived_run_with_its_checkpoint_here_is_rerun_as_usual(tmp_path: Path) -> None:
    res = _archive(tmp_path)
    (res / "runs" / RUN / "checkpoint.pt").write_bytes(b"a checkpoint")
    done = snakemake("-n", "--cores", "1", *_config(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert {"train", "reconstruct"} <= set(_jobs_for(done.stdout, RUN))


def test_forcing_the_evaluation_of_an_archived_run_deletes_nothing(tmp_path: Path) -> None:
    """A real Snakemake run (one job asked for by force). Before: the reconstruct job ran, failed
    on the missing checkpoint, and Snakemake deleted reconstruction.json and examples.npz. Now
    no job exists for it: Snakemake stops before running anything."""
    res = _archive(tmp_path, data_newest=False)
    before = _snapshot(res)
    done = snakemake("--cores", "1", "--forcerun", "reconstruct", *_config(tmp_path), "--",
                     str(res / "eval" / RUN / "reconstruction.json"), timeout=110)
    assert _snapshot(res) == before, done.stderr[-3000:]
    # no job can be made for it (Snakemake: "No rule to produce"), and the line before says why
    assert "archived without their checkpoint here" in done.stderr
    assert "Removing output files" not in done.stdout + done.stderr


def test_an_edited_archive_stops_the_pipeline_naming_the_file(tmp_path: Path) -> None:
    res = _archive(tmp_path)
    edited = res / "eval" / RUN / "reconstruction.json"
    edited.write_text('{"mixture": {"sse_per_image": 1.0}}\n')
    (res / "eval" / RUN / "examples.npz").unlink()
    before = _snapshot(res)
    done = snakemake("-n", "--cores", "1", *_config(tmp_path))
    assert done.returncode != 0
    assert f"{edited}: edited" in done.stdout + done.stderr
    assert f"{res / 'eval' / RUN / 'examples.npz'}: missing" in done.stdout + done.stderr
    assert _snapshot(res) == before


class _Named(list):
    """Snakemake's list of a job's files, which also has them by name."""


def test_a_job_script_stops_before_replacing_an_archived_file(tmp_path: Path) -> None:
    """The second line of defence: a job that is made anyway exits with one line, and neither
    its outputs nor its log are touched. Before: it started evaluating and failed with
    'checkpoint.pt does not exist: the run has not finished an epoch'."""
    res = _archive(tmp_path)
    outputs = _Named([str(res / "eval" / RUN / "reconstruction.json"),
                      str(res / "eval" / RUN / "examples.npz")])
    outputs.errors, outputs.examples = outputs
    before = _snapshot(res)
    sm = SimpleNamespace(output=outputs, log=[str(res / "logs" / "reconstruct.log")], threads=1,
                         params=SimpleNamespace(run_dir=str(res / "runs" / RUN), n=8))
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(ROOT / "pipeline" / "scripts" / "reconstruct.py"),
                       init_globals={"snakemake": sm})
    message = str(stop.value.code)
    assert "\n" not in message and f"{outputs[0]} is an archived result" in message
    assert f"{res / MANIFEST}" in message and f"to retrain {RUN}" in message
    assert _snapshot(res) == before and not (res / "logs" / "reconstruct.log").exists()
    # the train job too: done.json is archived, so it is never retrained over
    sm.output = _Named([str(res / "runs" / RUN / "done.json")])
    sm.output.done = sm.output[0]
    sm.params = SimpleNamespace(run_dir=str(res / "runs" / RUN), config={})
    with pytest.raises(SystemExit, match="done.json is an archived result"):
        runpy.run_path(str(ROOT / "pipeline" / "scripts" / "train.py"),
                       init_globals={"snakemake": sm})
    assert _snapshot(res) == before


# --------------------------------------------------------------------------- committed mode
def test_committed_mode_refuses_an_edited_archive(tmp_path: Path) -> None:
    res = _archive(tmp_path)
    edited = res / "eval" / RUN / "reconstruction.json"
    edited.write_text('{"mixture": {"sse_per_image": 1.0}}\n')
    done = snakemake("-n", "--cores", "1", "--config", "preset=tiny", "committed=true",
                     f"results_dir={tmp_path}")
    assert done.returncode != 0 and f"{edited}: edited" in done.stdout + done.stderr


def test_a_rebuild_writes_its_provenance_beside_the_archive(tmp_path: Path) -> None:
    res = _archive(tmp_path)
    shutil.copy(res / "runs" / RUN / "provenance.json", res / "provenance.json")
    done = snakemake("-n", "--cores", "1", "--config", "preset=tiny", "committed=true",
                     f"results_dir={tmp_path}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"output: {res}/logs/provenance.json" in done.stdout
    assert f"output: {res}/provenance.json" not in done.stdout
