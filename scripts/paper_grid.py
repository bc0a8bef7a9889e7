"""Run a preset's grid run by run in the background, committing each finished run's small outputs.

The paper preset is about three days of a 2-core CPU (``pipeline/config/paper.yaml``), longer than
any working session, and a session's processes die with it. So runs are trained and evaluated one
at a time, each by the Snakemake pipeline, in a results folder outside the checkout (checkpoints
resume after a kill); as soon as a run is evaluated, its small outputs are copied into
``results/<preset>/`` of this repository (:mod:`mvae.archive`) and committed, so a session that
ends loses only the runs in progress. Rerunning the same command skips archived runs and resumes
the interrupted ones, on the same machine: a checkpoint does not survive a change of machine, so
``--finish-by`` starts only runs estimated (:mod:`mvae.planning`) to be evaluated before the
session ends.

Each lane trains from its own git worktree of this repository's HEAD (updated before each run),
so editing the checkout while the grid runs cannot change code under a running job; every run's
provenance records the commit it ran from.

    nohup .venv/bin/python scripts/paper_grid.py --results-root ~/mvae-runs \\
        > ~/mvae-runs/grid.log 2>&1 &
    touch ~/mvae-runs/PAUSE   # finish the runs in progress, start no new one (benchmarks)
    .venv/bin/python scripts/paper_grid.py --results-root ~/mvae-runs --plan  # minutes/run
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from mvae import layout  # noqa: E402
from mvae.archive import archive_bytes, export_run  # noqa: E402
from mvae.planning import Estimate, estimate  # noqa: E402
from mvae.presets import load_preset  # noqa: E402
from mvae.selections import select  # noqa: E402


def grid_order(experiment: Any) -> list[str]:
    """The preset's runs in file order (the preset lists the runs that feed the most tables
    first), each dataset's ``baselines:<dataset>`` job right after the run whose shape it copies."""
    after = {run: f"baselines:{dataset}" for dataset, run in select(experiment).baselines.items()}
    return [job for run in experiment.runs for job in (run, after.get(run)) if job]


COMMIT_LOCK = threading.Lock()
DATA_LOCK = threading.Lock()  # one data job at a time (prepare_data)


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


def git(*args: str, cwd: Path = REPO, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, check=check, capture_output=True, text=True)


def archived(dest: Path, run: str) -> bool:
    if run.startswith("baselines:"):
        return (dest / layout.baseline_file(run.split(":", 1)[1])).is_file()
    return (dest / layout.run_file(run, layout.DONE)).is_file() and \
        (dest / layout.eval_file(run, "evaluated.json")).is_file()


def epochs_done(results: Path, run: str) -> int:
    """How many epochs of ``run`` are trained in ``results`` (its checkpoint, on this machine)."""
    history = results / layout.run_file(run, "history.json")
    return 0 if run.startswith("baselines:") or not history.is_file() else len(
        json.loads(history.read_text()))


def sync_worktree(path: Path) -> str:
    """Point the lane's worktree at the repository's HEAD commit (created on first use)."""
    head = git("rev-parse", "HEAD").stdout.strip()
    if not (path / ".git").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        git("worktree", "add", "--detach", str(path), head)
    else:
        git("checkout", "--detach", "--force", "-q", head, cwd=path)
    return head


DATA_DIR = REPO / "data"  # every lane's data_dir: one cache for all


def data_marker(dataset: str) -> Path:
    """The data rule's output for ``dataset``: the cache every lane reads."""
    return DATA_DIR / dataset / layout.DATA_READY


def snakemake_command(results_root: Path, preset: str, run: str, cores: int,
                      target: Path | None = None) -> list[str]:
    """The Snakemake call that trains and evaluates one run (or one dataset's baselines), or
    that makes ``target`` instead."""
    target = target or (results_root / preset / layout.baseline_file(run.split(":", 1)[1])
                        if run.startswith("baselines:") else
                        results_root / preset / layout.eval_file(run, "evaluated.json"))
    cifar = os.environ.get("MVAE_CIFAR10_PATH")  # an offline CIFAR-10 copy (pipeline/README.md)
    return [sys.executable, "-m", "snakemake", "--cores", str(cores), "--nolock",
            "--rerun-incomplete", "--rerun-triggers", "mtime", "--config", f"preset={preset}",
            f"results_dir={results_root}", f"data_dir={DATA_DIR}",
            *([f"cifar10_path={cifar}"] if cifar else []),
            # the preset trains with 1 thread (two 1-thread lanes beat one 2-thread job); a lane
            # given several cores trains with all of them, its evaluation jobs run side by side
            *(["--set-threads", f"train={cores}"] if cores > 1 else []), "--", str(target)]


def snakemake(lane_code: Path, results_root: Path, preset: str, run: str, cores: int,
              logfile: Path) -> int:
    cmd = snakemake_command(results_root, preset, run, cores)
    env = dict(os.environ, PYTHONPATH=str(lane_code / "src"))
    with open(logfile, "a") as fh:
        fh.write(f"\n### {time.ctime()} {' '.join(cmd)}\n")
        fh.flush()
        return subprocess.run(cmd, cwd=lane_code, env=env, stdout=fh, stderr=subprocess.STDOUT
                              ).returncode


def refresh_commands(archive: Path) -> list[list[str]]:
    """The Snakemake calls that rebuild the committed selections, tables, figures, claims and
    provenance from the archive and the preset alone, in order. Two calls: forcing ``selections``
    together with the rules that read it leaves those rules out of the plan (Snakemake 9.27,
    measured: ``--forcerun selections table ...`` ran only selections and report, so the tables
    went stale), so the selections are rewritten first."""
    base = [sys.executable, "-m", "snakemake", "--cores", "1", "--nolock"]
    config = ["--config", f"preset={archive.name}", "committed=true", "archive_provenance=true",
              f"results_dir={archive.parent}"]
    return [[*base, "--forcerun", "selections", *config, "--", str(archive / layout.SELECTIONS)],
            [*base, "--forcerun", "table", "figure", "provenance", *config, "--", "report"]]


def refresh_report(lane_code: Path, archive: Path, logfile: Path) -> int:
    """Run :func:`refresh_commands` from ``lane_code``; the first non-zero exit status, or 0."""
    env = dict(os.environ, PYTHONPATH=str(lane_code / "src"))
    with COMMIT_LOCK, open(logfile, "a") as fh:
        for cmd in refresh_commands(archive):
            rc = subprocess.run(cmd, cwd=lane_code, env=env, stdout=fh,
                                stderr=subprocess.STDOUT).returncode
            if rc != 0:
                return rc
    return 0


def commit(dest: Path, run: str, files: list[Path]) -> None:
    """Commit only the archive's paths (whatever else is staged stays staged), retrying on lock."""
    done_file = dest / layout.run_file(run, layout.DONE)
    done = json.loads(done_file.read_text()) if done_file.is_file() else {}
    train, wall = done.get("train_seconds"), done.get("wall_seconds")
    message = (f"Results ({dest.name}): {run}, {len(files)} files"
               + (f", trained in {float(train) / 60:.0f} min" if train else "")
               + (f" ({float(wall) / 60:.0f} min with the test loss)" if wall else "")
               + f"; archive {archive_bytes(dest) / 1e6:.1f} MB")
    rel = dest.relative_to(REPO)
    for _attempt in range(30):
        with COMMIT_LOCK:
            added = git("add", "--", str(rel), check=False)
            if added.returncode == 0 and git("diff", "--cached", "--quiet", "--", str(rel),
                                             check=False).returncode == 0:
                log(f"{run}: nothing new to commit")
                return
            committed = added.returncode == 0 and git(
                "commit", "-q", "-m", message, "--", str(rel), check=False).returncode == 0
        if committed:
            log(f"committed {run}: {message}")
            return
        time.sleep(10)  # another git command holds index.lock: wait for it
    log(f"could not commit {run} (git busy); its files are in {dest}, commit them by hand")


def run_estimate(run: str, args: argparse.Namespace) -> Estimate | None:
    """What the run still needs to be evaluated (:mod:`mvae.planning`), from its epochs done
    here; None for a baseline job or a run with no archived reference."""
    if run.startswith("baselines:"):
        return None
    return estimate(args.archive, args.experiment.runs[run],
                    epochs_done(args.results_root / args.preset, run))


def seconds_needed(run: str, args: argparse.Namespace) -> float | None:
    """:func:`run_estimate` in seconds over ``--speed``."""
    found = run_estimate(run, args)
    return None if found is None else found.seconds / args.speed


def clock_today(text: str) -> float:
    """``HH:MM`` today (local time) as a Unix time; an error if it has passed."""
    hours, minutes = (int(part) for part in text.split(":"))
    moment = time.mktime(time.localtime()[:3] + (hours, minutes, 0, 0, 0, -1))
    if moment <= time.time():
        raise argparse.ArgumentTypeError(f"{text} has already passed today")
    return moment


def lane(index: int, todo: queue.Queue[str], args: argparse.Namespace) -> None:
    code = args.code_root / f"lane{index}"
    dest = args.archive
    logs = args.results_root / "grid-logs"
    logs.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            run = todo.get_nowait()
        except queue.Empty:
            return
        while (args.results_root / "PAUSE").exists():
            time.sleep(30)
        if archived(dest, run):  # another lane or driver did it
            continue
        need = seconds_needed(run, args) if args.finish_by else None
        if need is not None and time.time() + need > args.finish_by:
            log(f"lane {index}: {run} not started: needs ~{need / 60:.0f} min, "
                f"{(args.finish_by - time.time()) / 60:.0f} min left before --finish-by")
            continue
        head = sync_worktree(code)
        log(f"lane {index}: {run} at {head[:8]}")
        start = time.time()
        if not prepare_data(dataset_of(run, args), code, args):
            log(f"lane {index}: {run} not started: its data could not be prepared; see {logs}")
            continue
        rc = snakemake(code, args.results_root, args.preset, run, args.cores, logs / f"{run}.log")
        if rc != 0:
            log(f"lane {index}: {run} FAILED (exit {rc}) after {time.time() - start:.0f} s; "
                f"see {logs / (run + '.log')}")
            continue
        files = export_run(args.results_root / args.preset, dest, run)
        log(f"lane {index}: {run} done in {time.time() - start:.0f} s")
        sync_worktree(code)  # the run is over: tables and figures from the newest committed code
        if refresh_report(code, dest, logs / "report.log") != 0:
            log(f"lane {index}: the tables and figures could not be rebuilt; see {logs}/report.log")
        if args.commit:
            commit(dest, run, files)


def dataset_of(run: str, args: argparse.Namespace) -> str:
    return run.split(":", 1)[1] if run.startswith("baselines:") else \
        args.experiment.runs[run].dataset


def prepare_data(dataset: str, lane_code: Path, args: argparse.Namespace) -> bool:
    """Make ``dataset``'s cache unless it is there, one lane at a time. Two lanes that both start
    with a dataset's data job race: Snakemake deletes a job's output before running it, so one
    lane's data job removed the marker the other lane's training was waiting for (measured: both
    first runs failed within 16 s)."""
    with DATA_LOCK:
        if data_marker(dataset).is_file():
            return True
        log(f"preparing {dataset}")
        logfile = args.results_root / "grid-logs" / f"data-{dataset}.log"
        cmd = snakemake_command(args.results_root, args.preset, "", 1, data_marker(dataset))
        with open(logfile, "a") as fh:
            return subprocess.run(cmd, cwd=lane_code, stdout=fh, stderr=subprocess.STDOUT,
                                  env=dict(os.environ, PYTHONPATH=str(lane_code / "src"))
                                  ).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results-root", type=Path, required=True,
                        help="results_dir for Snakemake, outside the checkout (checkpoints)")
    parser.add_argument("--code-root", type=Path, default=None,
                        help="where the lanes' worktrees live (default RESULTS_ROOT/code)")
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--lanes", type=int, default=1, help="runs trained at once")
    parser.add_argument("--cores", type=int, default=1,
                        help="cores per lane: training threads, and evaluation jobs at once")
    parser.add_argument("--runs", nargs="*", help="these runs, in this order (default: all, the "
                        "interrupted ones first, most epochs first; then the preset's order)")
    parser.add_argument("--no-commit", dest="commit", action="store_false")
    parser.add_argument("--archive-root", type=Path, default=REPO / "results",
                        help="where finished runs are archived, as <this>/<preset>/ (default: "
                             "this repository's results/; a folder elsewhere needs --no-commit)")
    parser.add_argument("--finish-by", type=clock_today, metavar="HH:MM",
                        help="start only runs estimated to be evaluated by then (a checkpoint "
                             "does not survive a change of machine; mvae.planning); a run with "
                             "no archived reference starts anyway")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="how much faster than the archived runs this machine and lane "
                             "train (estimates are divided by it; pipeline/README.md)")
    parser.add_argument("--plan", action="store_true",
                        help="print each run's estimated minutes and exit")
    args = parser.parse_args()
    args.results_root = args.results_root.resolve()
    args.code_root = (args.code_root or args.results_root / "code").resolve()

    experiment = args.experiment = load_preset(args.preset, REPO / "pipeline" / "config")
    grid = grid_order(experiment)
    unknown = sorted(set(args.runs or []) - set(grid))
    if unknown:
        parser.error(f"not in the {args.preset} preset: {', '.join(unknown)}")
    dest = args.archive = (args.archive_root / args.preset).resolve()
    if args.commit and not dest.is_relative_to(REPO):
        parser.error(f"{dest} is outside this repository: add --no-commit")
    # a restarted grid first finishes what it had started, the most advanced run first
    order = args.runs or sorted(grid, key=lambda run: -epochs_done(args.results_root /
                                                                   args.preset, run))
    todo: queue.Queue[str] = queue.Queue()
    for run in order:
        if archived(dest, run):
            log(f"{run}: already archived in {dest}")
        else:
            todo.put(run)
    if args.plan:
        for run in list(todo.queue):
            found = run_estimate(run, args)
            print(f"{run}: " + ("no estimate" if found is None else
                                f"~{found.seconds / args.speed / 60:.0f} min")
                  + (f" (from {', '.join(found.basis)}, scaled by FLOPs per image)"
                     if found and found.flop_scaled else ""))
        return
    log(f"{todo.qsize()} runs to do, {args.lanes} lane(s) x {args.cores} core(s)")
    threads = [threading.Thread(target=lane, args=(i, todo, args)) for i in range(args.lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log("grid finished" if all(archived(dest, r) for r in order) else "grid stopped with gaps")


if __name__ == "__main__":
    main()
