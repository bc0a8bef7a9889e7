"""The Snakemake pipeline: the DAG of every preset is complete, bad configurations stop before any
job, the SLURM profile resolves, the tiny preset runs end to end with sane numbers, and an
archived run in a fresh clone is never retrained, rerun or deleted."""

from __future__ import annotations

import json
import math
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
from mvae.mixture_kind import mixture_kind
from mvae.presets import Experiment
from mvae.presets import load_preset as _load
from mvae.selections import select

ROOT = Path(__file__).resolve().parents[1]


def load_preset(preset: str, **kwargs: object) -> Experiment:
    return _load(preset, ROOT / "pipeline" / "config", **kwargs)


SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TABLES = ("table1_reconstruction", "table2_probes", "table3_cifar", "fig4_knn_vs_k",
          "ablation_dhsic", "fashion")
FIGURES = ("mixing_weights", "samples", "fig1_reconstructions", "fig2_components",
           "fig3_latents", "fig4_knn_vs_k",
           "fig5_cifar", "ablation")


def snakemake(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SNAKEMAKE, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    table = output.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    return counts


def claims_tables(exp: Experiment) -> list[str]:
    """The claims-grid tables a preset makes (only where it has the runs)."""
    sel = select(exp)
    return [t for t, has in (("latents_2d", sel.latent2d), ("beta_sweep", sel.betas),
                             ("authors_settings", sel.authors),
                             ("nll", sel.nll), ("rate_distortion", sel.kl_vaes),
                             ("table1_readings", sel.authors_sweep),
                             ("authors_switches", sel.switches),
                             ("cifar_capacity", sel.cifar_capacity),
                             ("disentanglement", sel.disentanglement),
                             ("seed_spread", sel.seed_groups), ("seed_code", sel.seed_groups),
                             ("dhsic_estimators", sel.dhsic_estimators)) if has]


def claims_figures(exp: Experiment) -> list[str]:
    sel = select(exp)
    return (["rate_distortion"] if sel.kl_vaes else []) + (
        ["disentanglement_traversals"] if sel.disentanglement else [])


def expected_counts(preset: str, book: bool = True) -> dict[str, int]:
    exp = load_preset(preset)
    sel = select(exp)
    n = len(exp.runs)
    counts = {"data": len(exp.datasets), "train": n, "reconstruct": n, "latents": n, "probe": n,
              "diversity": len(sel.diverse), "latents_2d": len(sel.latent2d),
              "score": len(sel.cifar), "table": len(TABLES) + len(claims_tables(exp)),
              "figure": len(FIGURES) + len(claims_figures(exp)), "provenance": 1, "claims": 1,
              "selections": 1, "all": 1, "evaluated": n,
              "baselines": len(sel.baselines)}
    if sel.nll:
        counts["nll"] = len(sel.nll)
    scored = {run for runs in sel.disentanglement.values() for run in runs}
    if scored:
        counts["disentanglement"] = len(scored)
    if exp.settings["fetch_fid_weights"]:
        counts["fid_weights"] = 1
    if book:
        counts["book"] = 1
    counts["total"] = sum(counts.values())
    return counts


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["paper", "quick", "tiny"])
def test_dry_run_builds_the_full_dag(preset: str, tmp_path: Path) -> None:
    # -F: count every job even where this checkout already holds results or cached data
    done = snakemake("-n", "-F", "--cores", "8", "--config", f"preset={preset}",
                     f"results_dir={tmp_path}")
    assert done.returncode == 0, done.stderr + done.stdout
    counts = job_counts(done.stdout)
    assert counts == expected_counts(preset, book=preset != "tiny")
    if preset == "paper":
        assert counts["train"] == 102 and counts["total"] == 623 and counts["nll"] == 2
        assert counts["disentanglement"] == 9
        # every configuration of the grid is a train job
        for k in range(1, 11):
            assert f"{tmp_path}/paper/runs/mnist-k{k}-s0/done.json" in done.stdout
        for name in ("mnist-k1-s2", "mnist-k4-s2", "mnist2d-k4", "mnist2d-k1", "mnist-k4-beta0",
                     "cifar10-k4", "cifar10-k1", "fashion-k4", "fashion-k1", "mnist-k4-beta1e4",
                     "mnist-k4-authors", "mnist-k1-d80", "mnistbin-k4"):
            assert f"{tmp_path}/paper/runs/{name}/done.json" in done.stdout


@pytest.mark.slow
def test_default_preset_is_paper(tmp_path: Path) -> None:
    done = snakemake("-n", "-F", "--cores", "8", "--config", f"results_dir={tmp_path}")
    assert done.returncode == 0, done.stderr
    assert f"{tmp_path}/paper/runs/mnist-k10-s0/done.json" in done.stdout


@pytest.mark.slow
def test_committed_mode_builds_only_what_is_archived(tmp_path: Path) -> None:
    """committed=true: no data, train or evaluate job, ever; tables where the archive holds
    some of their runs, figures where it holds all (here two MNIST runs: Table I, Table II,
    Fig. 4; the figures of the K = 4 mixture alone)."""
    for run in ("mnist-k1-s0", "mnist-k4-s0"):
        (tmp_path / "paper" / "eval" / run).mkdir(parents=True)
        for name in ("reconstruction.json", "probes.json", "examples.npz"):
            (tmp_path / "paper" / "eval" / run / name).write_text("{}")
    done = snakemake("-n", "--cores", "2", "--config", "committed=true",
                     f"results_dir={tmp_path}")
    assert done.returncode == 0, done.stderr + done.stdout
    counts = job_counts(done.stdout)
    assert not {"data", "train", "reconstruct", "latents", "probe", "score"} & set(counts)
    tables = set(re.findall(r"tables/(\w+)\.csv", done.stdout))
    # and the verdicts the claims rule writes from them
    assert tables == {"table1_reconstruction", "table2_probes", "fig4_knn_vs_k", "verdicts"}
    figures = set(re.findall(r"figures/(\w+)\.png", done.stdout))
    # Figs. 1 and the samples also show the wide VAE (mnist-k1-d80), not archived here
    assert figures == {"fig2_components", "fig4_knn_vs_k", "mixing_weights"}
    assert f"{tmp_path}/paper/claims.md" in done.stdout
    # the selections the table and figure rules read, written once into the archive
    assert counts["selections"] == 1 and f"{tmp_path}/paper/selections.json" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize(("entry", "message"), [
    ({"name": "mnist-k0", "components": 0}, "grid entry 'mnist-k0': components must be an "
                                            "integer >= 1"),
    ({"name": "svhn-k4", "dataset": "svhn"}, "grid entry 'svhn-k4': dataset must be one of"),
])
def test_bad_grid_entry_stops_before_any_job(entry: dict, message: str, tmp_path: Path) -> None:
    preset = tmp_path / "bad.yaml"
    preset.write_text(json.dumps({"defaults": {"epochs": 1},
                                  "grid": [{"name": "mnist-k1", "components": 1}, entry]}))
    done = snakemake("--cores", "2", "--config", f"preset={preset}", f"results_dir={tmp_path}")
    assert done.returncode != 0
    assert "bad configuration" in done.stderr and message in done.stderr
    assert "Job stats" not in done.stdout + done.stderr
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_unknown_preset_stops_before_any_job(tmp_path: Path) -> None:
    done = snakemake("--cores", "2", "--config", "preset=nope", f"results_dir={tmp_path}")
    assert done.returncode != 0
    assert "unknown preset 'nope'; available presets: paper, quick, tiny" in done.stderr
    assert "Job stats" not in done.stdout + done.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_slurm_profile_resolves(tmp_path: Path) -> None:
    """A dry run through the SLURM executor plugin: the profile parses, every job resolves, the
    training jobs ask for no GPU unless `train_gpu=1` says so, and a run's evaluation jobs go as
    one group. (Nothing is submitted; tests/test_slurm.py submits to a real cluster.)"""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    for gpus in (0, 1):
        done = snakemake("-n", "-F", "--profile", "pipeline/profiles/slurm", "--config",
                         f"results_dir={tmp_path}", *([f"train_gpu={gpus}"] if gpus else []))
        assert done.returncode == 0, done.stderr + done.stdout
        assert re.search(r"Using profiles? pipeline/profiles/slurm", done.stdout + done.stderr)
        assert job_counts(done.stdout)["total"] == expected_counts("paper")["total"]
        train_jobs = re.findall(r"rule train:.*?wildcards: run=(\S+)\n\s+resources: ([^\n]*)",
                                done.stdout, re.S)
        assert len(train_jobs) == len(load_preset("paper").runs)
        assert all(f"gpu={gpus}" in r for _, r in train_jobs), train_jobs[0]
        # each run asks for twice its archived estimate, so a long run is not cut at 4 hours
        minutes = {run: int(re.search(r"runtime=(\d+)", r)[1]) for run, r in train_jobs}
        assert min(minutes.values()) >= 60
        assert minutes["cifar10-k4-full"] > 4 * 60 > minutes["mnist-k1-s0"]
        assert minutes["mnist-k10-s0"] > minutes["mnist-k2-s0"]
        # one group job per run: the run's evaluated job connects its evaluation jobs
        assert done.stdout.count("Group job evaluation") == len(load_preset("paper").runs)


# --------------------------------------------------------------------------- end to end
def _unavailable_datasets() -> list[str]:
    """Datasets this machine cannot obtain (not cached, and no fallback source here)."""
    data = Path(os.environ.get("MVAE_DATA_DIR", ROOT / "data"))
    out = []
    cifar_local = os.environ.get("MVAE_CIFAR10_PATH")
    if not (data / "cifar10" / "SOURCE.json").exists() and not (
            cifar_local and Path(cifar_local).is_dir()):
        out.append("cifar10")
    if not (data / "fashion_mnist" / "SOURCE.json").exists() and not shutil.which("apt-get"):
        out.append("fashion_mnist")
    return out


def _png(path: Path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    assert path.stat().st_size > 5000, path


@pytest.mark.slow
def test_tiny_end_to_end(tmp_path: Path) -> None:
    excluded = _unavailable_datasets()
    args = ["--cores", "2", "--config", "preset=tiny", f"results_dir={tmp_path}"]
    if excluded:
        args.append("exclude_datasets=" + ",".join(excluded))
    done = snakemake(*args, timeout=900)
    assert done.returncode == 0, done.stderr[-5000:]
    res = tmp_path / "tiny"
    exp = load_preset("tiny", exclude_datasets=excluded)
    for run, cfg in exp.runs.items():
        assert json.loads((res / "runs" / run / "done.json").read_text())["epochs"] == cfg.epochs
        assert (res / "benchmarks" / "train" / f"{run}.tsv").exists()
        rec = json.loads((res / "eval" / run / "reconstruction.json").read_text())
        assert rec["mixture"]["sse_per_image"] > 0 and 0 < rec["mixture"]["rmse"] < 1
        assert len(rec["components"]) == cfg.components
        assert rec["source"]
        assert set(rec["modes"]) == {"deterministic", "sampled"}
        assert rec["modes"]["deterministic"]["mixture"] == rec["mixture"]
        assert rec["mean_image_sse"] > 0
        # Any multi-component verdict is a fair reading of a 1-3 epoch run (a tiny CIFAR run can
        # collapse); what must hold is that it is one, and the rule's reading of the stored numbers.
        diag = rec["diagnostics"]
        assert diag["mean_image_sse"] == rec["mean_image_sse"]   # the verdict saw the baseline
        assert diag["verdict"] in (("single",) if cfg.components == 1 else
                                   ("blend", "mixture", "one component", "collapsed")), run
        assert diag["verdict"] == mixture_kind(diag), run
        probes = json.loads((res / "eval" / run / "probes.json").read_text())
        for clf in ("mlp", "linear_svm", "knn"):
            accs = [probes[clf]["concatenated"], *probes[clf]["components"]]
            assert all(0 <= a <= 1 for a in accs), (run, clf, accs)
            if cfg.dataset == "mnist" and cfg.latent_dim > 2:
                assert probes[clf]["concatenated"] > 0.3, (run, clf)  # chance is 0.1
        if cfg.components > 1:
            div = json.loads((res / "eval" / run / "diversity.json").read_text())
            assert math.isfinite(div["dhsic"]) and div["dhsic"] >= 0
            assert len(div["pairwise_cka"]) == cfg.components
        if cfg.latent_dim == 2:
            assert (res / "eval" / run / "latents_2d.npz").stat().st_size > 0
        if cfg.dataset == "cifar10":
            scores = json.loads((res / "eval" / run / "scores.json").read_text())
            assert {"rmse", "is_samples", "is_reconstructions", "fid_samples",
                    "fid_reconstructions"} <= set(scores)
    tables = [t for t in TABLES if not (t == "table3_cifar" and "cifar10" in excluded)
              and not (t == "fashion" and "fashion_mnist" in excluded)]
    for table in tables + claims_tables(exp):
        rows = json.loads((res / "tables" / f"{table}.json").read_text())
        assert rows["rows"], table
        assert rows["provenance"]["configs"], table
        assert (res / "tables" / f"{table}.csv").read_text().count("\n") >= 2
    t1 = json.loads((res / "tables" / "table1_reconstruction.json").read_text())["rows"]
    assert any(r["paper_sse_per_image"] == 13.44 for r in t1)
    assert all(r["source"] for r in t1)
    for figure in (*FIGURES, *claims_figures(exp)):
        if figure == "fig5_cifar" and "cifar10" in excluded:
            continue
        _png(res / "figures" / f"{figure}.png")
        assert (res / "figures" / f"{figure}.svg").stat().st_size > 1000
    claims = (res / "claims.md").read_text()
    assert "`tiny` results" in claims
    assert "our VAE reconstructs as well as the paper's or better |" in claims
    verdicts = (res / "tables" / "verdicts.csv").read_text()
    assert verdicts.startswith("claim_id,") and "t1-mixture-vs-vae" in verdicts
    prov = json.loads((res / "provenance.json").read_text())
    assert prov["preset"] == "tiny" and len(prov["jobs"]) >= len(exp.runs)
    assert all(j["seconds"] >= 0 for j in prov["jobs"])


# ------------------------------------------------------------------------ archived runs in a clone
# The pipeline never destroys an archived run (issue: data loss in a fresh clone).  A clone of the
# repository holds results/<preset>/ with every archived run's small files but no checkpoint, and
# its files all carry checkout-time mtimes. Snakemake then saw the evaluations of archived runs as
# outdated, ran them, and, since a job's outputs are deleted before it runs and again when it
# fails, deleted the committed reconstruction.json and examples.npz. These tests build such an
# archive in a temporary results folder (the tiny preset, one archived run) and run Snakemake on
# it: dry runs, and one real run of a forced job.

RUN = "mnist-k1-s0"  # the tiny preset's first run: archived here
LIVE = "mnist-k1-s1"  # another run of the preset: not archived, trained as usual


def _archive(results: Path, run: str = RUN, *, data_newest: bool = True) -> Path:
    """``results/tiny`` holding ``run`` as a clone has it: archived files and a manifest, no
    checkpoint; done.json newer than the evaluation files, the data marker newer still (or
    older than everything, ``data_newest=False``)."""
    res = results / "tiny"
    evals = [*select(load_preset("tiny")).evaluations(run),
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_an_archived_run_with_its_checkpoint_here_is_rerun_as_usual(tmp_path: Path) -> None:
    res = _archive(tmp_path)
    (res / "runs" / RUN / "checkpoint.pt").write_bytes(b"a checkpoint")
    done = snakemake("-n", "--cores", "1", *_config(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert {"train", "reconstruct"} <= set(_jobs_for(done.stdout, RUN))


@pytest.mark.slow
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


@pytest.mark.slow
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
@pytest.mark.slow
def test_committed_mode_refuses_an_edited_archive(tmp_path: Path) -> None:
    res = _archive(tmp_path)
    edited = res / "eval" / RUN / "reconstruction.json"
    edited.write_text('{"mixture": {"sse_per_image": 1.0}}\n')
    done = snakemake("-n", "--cores", "1", "--config", "preset=tiny", "committed=true",
                     f"results_dir={tmp_path}")
    assert done.returncode != 0 and f"{edited}: edited" in done.stdout + done.stderr


@pytest.mark.slow
def test_a_rebuild_writes_its_provenance_beside_the_archive(tmp_path: Path) -> None:
    res = _archive(tmp_path)
    shutil.copy(res / "runs" / RUN / "provenance.json", res / "provenance.json")
    done = snakemake("-n", "--cores", "1", "--config", "preset=tiny", "committed=true",
                     f"results_dir={tmp_path}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"output: {res}/logs/provenance.json" in done.stdout
    assert f"output: {res}/provenance.json" not in done.stdout
