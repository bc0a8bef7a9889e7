"""Train a preset's runs one after another (or ``--trainers`` at once) and evaluate the trained
ones in parallel worker processes, without Snakemake, until a deadline; archive each finished run
as :mod:`scripts.paper_grid` does.

Why: a lent GPU machine (``benchmarks/README.md``, "GPU") has PyTorch and scikit-learn but no
package index, so Snakemake and its compiled dependencies cannot be installed there, and each
command ends after 10 minutes. This script runs the same job chain as the pipeline's rules, with
the same step functions of :mod:`mvae.steps` and the same files (logs, benchmark TSVs,
``evaluated.json``), so :func:`mvae.archive.export_run` and the committed-mode report treat its
runs exactly like Snakemake's. A step whose output exists is skipped, so a second call on the
same machine resumes; checkpoints resume mid-run as in the pipeline.

    python scripts/batch_runs.py --results-root /tmp/runs --archive /tmp/archive \\
        --workers 7 --deadline 540 [--runs mnist-k2-s0,mnist-k3-s0]

Why training and evaluation are apart: on an H200 with CUDA graphs, 100 MNIST epochs of one run
alone take about 20 s (K = 1) to 70 s (K = 10), but 435-511 s each when 8 runs share the GPU;
and the probes (scikit-learn, CPU) take minutes per run. Training every run at once, then
evaluating, trained 8 runs and evaluated none inside a 9-minute call (``pipeline/README.md``).

Runs are taken in the preset's order (:func:`paper_grid.grid_order`), skipping those already
archived in ``results/<preset>/`` (and, with ``--cached-only``, those whose dataset is not cached
under ``$MVAE_DATA_DIR``: a machine without network).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from paper_grid import archived, grid_order  # noqa: E402

from mvae import data as mvae_data  # noqa: E402
from mvae import layout  # noqa: E402
from mvae import steps as ex  # noqa: E402
from mvae.archive import export_run  # noqa: E402
from mvae.presets import load_preset  # noqa: E402
from mvae.provenance import write_json  # noqa: E402
from mvae.selections import select  # noqa: E402

PRESETS = REPO / "pipeline" / "config"


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


def _bench(path: Path, seconds: float) -> None:
    """A benchmark row in Snakemake's layout (``s`` and ``max_rss`` in MB are what
    :func:`mvae.steps.gather_provenance` reads); peak RSS is the worker process's so far."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hms = time.strftime("%H:%M:%S", time.gmtime(seconds))
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds:.4f}\t{hms}\t{rss_mb:.2f}\n")


def _step(root: Path, rule: str, run: str, outputs: list[Path], fn: Any, *args: Any) -> None:
    """Run one rule's step function unless its outputs exist, with the rule's log and benchmark."""
    if all(p.is_file() for p in outputs):
        return
    for p in outputs:
        p.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with ex.logged(root / "logs" / rule / f"{run}.log"):
        fn(*args)
    _bench(root / layout.benchmark_file(rule, run), time.perf_counter() - t0)


def train_run(root: str, preset: str, run: str, threads: int) -> str:
    """Train one run (the pipeline's ``train`` rule) in this process; ``root`` is the preset's
    results folder (``<results-root>/<preset>``). A ``baselines:<dataset>`` job trains nothing."""
    if not run.startswith("baselines:"):
        exp = load_preset(preset, PRESETS)
        ex.set_threads(threads)
        rdir = Path(root) / layout.run_dir(run)
        _step(Path(root), "train", run, [rdir / layout.DONE], ex.train_step,
              exp.runs[run].to_dict(), rdir, rdir / layout.DONE)
    return run


def evaluate_run(root: str, preset: str, run: str, threads: int) -> str:
    """Evaluate one trained run (or compute one ``baselines:<dataset>``) in this process, with the
    steps the pipeline's rules would run for it, and write its ``evaluated.json``."""
    exp = load_preset(preset, PRESETS)
    runs, settings, r = exp.runs, exp.settings, Path(root)
    sel = select(exp)
    ex.set_threads(threads)
    if run.startswith("baselines:"):
        dataset = run.split(":", 1)[1]
        shape_of = sel.baselines[dataset]
        record = r / layout.baseline_file(dataset)
        _step(r, "baselines", dataset, [record], ex.baselines_step, runs[shape_of].to_dict(),
              record, settings)
        return run
    rdir, edir = r / layout.run_dir(run), r / layout.eval_dir(run)
    latents = rdir / "latents.npz"
    # the steps of the run's evaluation plan (mvae.selections.Selections.evaluations), in order
    steps = {
        "reconstruction.json": ("reconstruct", ex.reconstruct_step, rdir, edir /
                                "reconstruction.json", edir / "examples.npz",
                                settings["figure_images"]),
        "probes.json": ("probe", ex.probe_step, latents, rdir, edir / "probes.json", settings),
        "diversity.json": ("diversity", ex.diversity_step, latents, rdir,
                           edir / "diversity.json", settings["diversity_max"]),
        "latents_2d.npz": ("latents_2d", ex.latents_2d_step, latents, edir / "latents_2d.npz",
                           settings["scatter_points"]),
        "scores.json": ("score", ex.score_step, rdir, edir / "scores.json",
                        settings["score_images"], mvae_data.default_root()),
        "nll.json": ("nll", ex.nll_step, rdir, edir / "nll.json", settings["nll_samples"]),
    }
    files = [edir / name for name in sel.evaluations(run)]
    for name in sel.evaluations(run):
        if name == "examples.npz":  # written by the reconstruct step
            continue
        if name == "probes.json":  # the codes the probe and diversity steps read
            _step(r, "latents", run, [latents], ex.latents_step, rdir, latents)
        rule, fn, *args = steps[name]
        outputs = [edir / name] + ([edir / "examples.npz"] if rule == "reconstruct" else [])
        _step(r, rule, run, outputs, fn, *args)
    write_json(edir / "evaluated.json",
               {"run": run, "files": [os.path.relpath(p, r) for p in files]})
    return run


def _run_config(run: str, exp: Any) -> Any:
    """The config whose dataset a run reads (a baselines job reads its dataset's shape run's)."""
    if run.startswith("baselines:"):
        return exp.runs[select(exp).baselines[run.split(":", 1)[1]]]
    return exp.runs[run]


def _cached(run: str, exp: Any, data_dir: Path) -> bool:
    return (data_dir / _run_config(run, exp).dataset / "SOURCE.json").is_file()


def prepare_datasets(todo: list[str], exp: Any) -> None:
    """Fetch and verify each dataset the runs read, once, before the workers start: workers that
    fetched the same uncached dataset at once would share (and delete) one download folder."""
    seen = set()
    for run in todo:
        config = _run_config(run, exp)
        if config.dataset not in seen:
            seen.add(config.dataset)
            mvae_data.prepare(config.dataset, Path(config.data_dir) if config.data_dir else None,
                              cifar10_path=config.cifar10_path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--results-root", type=Path, required=True,
                        help="where run folders go (outside the checkout)")
    parser.add_argument("--archive", type=Path, required=True,
                        help="where finished runs' small outputs are exported (results/<preset>)")
    parser.add_argument("--runs", default="", help="comma-separated runs (default: all, in "
                        "priority order, that are not archived yet)")
    parser.add_argument("--trainers", type=int, default=1,
                        help="runs trained at once (default 1: on an H200 one run alone trains "
                        "several times faster than with 7 others sharing the GPU)")
    parser.add_argument("--workers", type=int, default=4,
                        help="runs evaluated at once, beside the training (probes are CPU work)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads per process (default: CPU cores / processes)")
    parser.add_argument("--deadline", type=float, default=540,
                        help="seconds after which workers are stopped; unfinished runs keep "
                        "their checkpoints and resume on the next call")
    parser.add_argument("--keep-going", action="store_true",
                        help="go on with the other runs after a run fails")
    parser.add_argument("--cached-only", action="store_true",
                        help="skip runs whose dataset is not cached under $MVAE_DATA_DIR "
                        "(a machine without network); otherwise datasets are fetched on use")
    args = parser.parse_args()
    exp = load_preset(args.preset, PRESETS)
    data_dir = mvae_data.default_root()
    committed = REPO / "results" / exp.preset
    order = grid_order(exp)
    wanted = [r for r in (args.runs.split(",") if args.runs else order) if r]
    todo = [r for r in wanted if not archived(committed, r)
            and (not args.cached_only or _cached(r, exp, data_dir))]
    threads = args.threads or max(1, (os.cpu_count() or 1) // (args.workers + args.trainers))
    root = args.results_root / exp.preset
    log(f"{len(todo)} runs, {args.trainers} trainer(s) and {args.workers} evaluation workers x "
        f"{threads} threads, deadline {args.deadline:.0f} s: {', '.join(todo)}")
    start = time.time()
    if not args.cached_only:
        prepare_datasets(todo, exp)
    spawn = mp.get_context("spawn")
    trainers = cf.ProcessPoolExecutor(args.trainers, mp_context=spawn)
    evaluators = cf.ProcessPoolExecutor(args.workers, mp_context=spawn)
    job = (str(root), args.preset)
    # each run is trained, then evaluated; a run's future maps to (run, stage)
    pending = {trainers.submit(train_run, *job, run, threads): (run, "training") for run in todo}
    finished = failed = 0
    try:
        while pending:
            left = args.deadline - (time.time() - start)
            done, _ = cf.wait(pending, timeout=max(left, 0), return_when=cf.FIRST_COMPLETED)
            if not done:
                raise cf.TimeoutError
            for future in done:
                run, stage = pending.pop(future)
                try:
                    future.result()
                except Exception:  # noqa: BLE001
                    log(f"{run} FAILED in {stage}:\n{traceback.format_exc()}")
                    failed += 1
                    continue
                if stage == "training":
                    log(f"{run} trained ({time.time() - start:.0f} s)")
                    evaluation = evaluators.submit(evaluate_run, *job, run, threads)
                    pending[evaluation] = (run, "evaluation")
                    continue
                export_run(root, args.archive, run)
                finished += 1
                log(f"{run} evaluated and archived ({time.time() - start:.0f} s)")
            if failed and not args.keep_going:
                log("stopping at the first failure (a lent machine's time is short; "
                    "--keep-going runs the others)")
                break
    except cf.TimeoutError:
        log("deadline reached: stopping the workers (their runs resume on the next call)")
    except KeyboardInterrupt:
        log("interrupted: stopping the workers")
    for pool in (trainers, evaluators):
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
    log(f"{finished} of {len(todo)} runs archived in {time.time() - start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
