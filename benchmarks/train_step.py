"""Training-step benchmark: the fp32 eager step as it was before the fast path, against mvae's
fast step (``precision=auto``), measured in the same process with interleaved timing windows.

    python benchmarks/train_step.py                 # everything below (about 10 min on 2 cores)
    python benchmarks/train_step.py --smoke         # seconds: checks that every part runs
    python benchmarks/train_step.py --only steps    # just the per-step table
    python benchmarks/train_step.py --json benchmarks/results/cpu.json

Parts (``--only`` picks a subset):

``steps``       MNIST MLP 784-500-500, latent 20, batch 128, K in {1, 4, 10}, and the CIFAR-10 conv
                net at the paper preset's widths (K = 4, batch 64): ms/step and images/s of the
                baseline and of the fast step, and their ratio. The baseline is mvae as of commit
                ``BASELINE_COMMIT`` (fp32, eager, grouped convolutions), imported from git into this
                process; ``--looped`` adds K separate nn.Modules in a Python loop.
``threads``     machine throughput: one training process with 2 threads against two 1-thread
                processes at once (MNIST K = 4 and CIFAR K = 4), total images/s.
``epoch``       one full 60,000-image MNIST K = 4 epoch through ``mvae.train`` (test loss included),
                wall seconds; needs MNIST under ``data/`` (``mvae data mnist``).
``test_loss``   the per-epoch test loss (``mvae.train.evaluate_loss``, eval mode, no gradient) of
                the MNIST K = 4 MLP and the CIFAR-10 K = 4 conv net at several batch sizes:
                images/s (a CIFAR epoch evaluates as many test images, 10,000, as it trains on).
``eval``        with ``--run-dir`` of a trained MNIST run: seconds for reconstruction errors, latent
                extraction (train + test) and the three probes on the concatenated codes.

Every timing is a median over windows; the baseline and fast windows alternate, so a noisy
neighbour slows both alike. The JSON record carries CPU model, torch version and commit.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from mvae import MVAE, Config
from mvae.fast import TrainStep, make_optimizer
from mvae.presets import load_preset
from mvae.provenance import collect

ROOT = Path(__file__).resolve().parents[1]
#: The last commit before the fast CPU path (issue "fast training on this CPU").
BASELINE_COMMIT = "b310806"
PARTS = ("steps", "threads", "epoch", "test_loss", "eval")
#: This checkout's mvae, in the shape :func:`load_baseline` gives the old one.
CURRENT = SimpleNamespace(Config=Config, MVAE=MVAE, TrainStep=TrainStep,
                          make_optimizer=make_optimizer)


# ----------------------------------------------------------------------------- the baseline
def load_baseline(commit: str = BASELINE_COMMIT) -> SimpleNamespace | None:
    """mvae's package as of ``commit``, imported beside the current one (None outside git).

    ``git archive`` extracts the old ``src/mvae``; it is imported with the current ``mvae``
    modules set aside, then those are put back. The old classes keep their own module globals, so
    both versions live in one process and are timed on the same machine state.
    """
    tmp = Path(tempfile.mkdtemp(prefix="mvae-baseline-"))
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src/mvae"],
                                 capture_output=True, check=True, timeout=60).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    current = {k: v for k, v in sys.modules.items() if k == "mvae" or k.startswith("mvae.")}
    for k in current:
        del sys.modules[k]
    sys.path.insert(0, str(tmp / "src"))
    try:
        mods = {m: importlib.import_module(f"mvae.{m}") for m in ("config", "model", "fast")}
        return SimpleNamespace(Config=mods["config"].Config, MVAE=mods["model"].MVAE,
                               TrainStep=mods["fast"].TrainStep,
                               make_optimizer=mods["fast"].make_optimizer, commit=commit)
    finally:
        sys.path.remove(str(tmp / "src"))
        for k in [k for k in sys.modules if k == "mvae" or k.startswith("mvae.")]:
            del sys.modules[k]
        sys.modules.update(current)


# ----------------------------------------------------------------------------- timing
def _stepper(lib: Any, config: dict[str, Any], images: torch.Tensor, batch: int,
             **step_kwargs: Any) -> Callable[[int], None]:
    """A function that runs ``n`` training steps of ``lib``'s TrainStep on random batches."""
    torch.manual_seed(0)
    cfg = lib.Config(**config)
    model = lib.MVAE(cfg)
    step = lib.TrainStep(model, lib.make_optimizer(model, cfg.lr, torch.device("cpu")), images,
                         batch, graph=False, **step_kwargs)
    perm = torch.randperm(len(images))

    def run(n: int) -> None:
        for i in range(n):
            start = (i * batch) % (len(images) - batch)
            step(perm[start:start + batch])

    return run


def interleaved_ms(runners: dict[str, Callable[[int], None]], steps: int,
                   windows: int) -> dict[str, float]:
    """Median ms/step of each runner; one window of each in turn, after one warm-up window."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    for run in runners.values():
        run(max(1, steps // 4))
    for _ in range(windows):
        for name, run in runners.items():
            t0 = time.perf_counter()
            run(steps)
            times[name].append((time.perf_counter() - t0) * 1e3 / steps)
    return {name: statistics.median(t) for name, t in times.items()}


def paper_cifar_config() -> dict[str, Any]:
    """The CIFAR-10 K = 4 entry of the paper preset: the widths the paper-scale run uses."""
    runs = load_preset("paper", ROOT / "pipeline" / "config").runs
    cfg = next(c for c in runs.values() if c.dataset == "cifar10" and c.components == 4)
    return {"dataset": "cifar10", "components": 4, "latent_dim": cfg.latent_dim,
            "conv_channels": list(cfg.conv_channels)}


def bench_steps(args: argparse.Namespace, baseline: SimpleNamespace | None) -> list[dict]:
    rows = []
    n_mnist = 512 if args.smoke else 60_000
    mnist = torch.rand(n_mnist, 1, 28, 28)
    specs = [("mnist-mlp", {"components": K, "hidden_dim": 32 if args.smoke else 500},
              mnist, args.batch) for K in args.components]
    if not args.no_cifar:
        cifar_cfg = paper_cifar_config()
        if args.smoke:
            cifar_cfg.update(conv_channels=[4, 4, 8, 8, 8], latent_dim=8)
        specs.append(("cifar10-conv", cifar_cfg, torch.rand(256 if args.smoke else 2_000, 3, 32,
                                                            32), args.cifar_batch))
    for model_name, cfg, images, batch in specs:
        cfg = {**cfg, "device": "cpu", "precision": args.precision}
        conv = model_name.startswith("cifar")
        steps = max(1, args.steps // (20 if conv else 1))
        runners = {"fast": _stepper(CURRENT, cfg, images, batch)}
        if baseline is not None:
            runners["baseline"] = _stepper(baseline, {k: v for k, v in cfg.items()
                                                      if k != "precision"}, images, batch)
        if args.looped and not conv:
            runners["looped"] = looped_runner(cfg["components"], cfg["hidden_dim"], images, batch)
        ms = interleaved_ms(runners, steps, args.windows)
        row: dict[str, Any] = {"model": model_name, "K": cfg["components"], "batch": batch,
                               "precision": cfg["precision"]}
        if conv:
            row["channels"] = cfg["conv_channels"]
        for name, value in ms.items():
            row[f"{name}_ms"] = value
            row[f"{name}_images_per_s"] = batch / value * 1e3
        if "baseline" in ms:
            row["speedup"] = ms["baseline"] / ms["fast"]
        rows.append(row)
        print(_row_text(row), flush=True)
    return rows


def _row_text(row: dict[str, Any]) -> str:
    parts = [f"{row['model']:<12} K={row['K']:<2} batch {row['batch']:<3} [{row['precision']}]"]
    for name in ("baseline", "fast", "looped"):
        if f"{name}_ms" in row:
            parts.append(f"{name} {row[f'{name}_ms']:8.2f} ms {row[f'{name}_images_per_s']:7.0f} "
                         "img/s")
    if "speedup" in row:
        parts.append(f"x{row['speedup']:.2f}")
    return " | ".join(parts)


def looped_runner(K: int, hidden: int, images: torch.Tensor, batch: int) -> Callable[[int], None]:
    """K separate nn.Module VAEs in a Python loop: the straightforward implementation."""
    from torch import nn
    from torch.distributions import Dirichlet, Normal, kl_divergence
    from torch.nn import functional as F

    from mvae import dhsic

    def mlp(a: int, b: int, out: int) -> nn.Sequential:
        return nn.Sequential(nn.Linear(a, b), nn.Softplus(), nn.Linear(b, b), nn.Softplus(),
                             nn.Linear(b, out))

    d = 20
    parts = nn.ModuleList(nn.ModuleList([mlp(784, hidden, 2 * d + 1), mlp(d, hidden, 784)])
                          for _ in range(K))
    opt = torch.optim.Adam(parts.parameters(), lr=1e-3)

    def loss_of(x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        kls, alphas, zs, means = [], [], [], []
        for enc, dec in parts:
            h = enc(x)
            mu, var = h[:, :d], F.softplus(h[:, d:2 * d]) + 1e-6
            z = mu + var.sqrt() * torch.randn_like(mu)
            kls.append(kl_divergence(Normal(mu, var.sqrt()), Normal(0.0, 1.0)).sum(1))
            alphas.append(F.softplus(h[:, 2 * d]) + 1e-6)
            zs.append(z)
            means.append(torch.sigmoid(dec(z)))
        loss = sum(kls)
        if K > 1:
            alpha = torch.stack(alphas, 1)
            w = Dirichlet(alpha).rsample()
            mixed = sum(w[:, k:k + 1] * means[k] for k in range(K))
            loss = loss + kl_divergence(Dirichlet(alpha), Dirichlet(torch.ones_like(alpha)))
        else:
            mixed = means[0]
        loss = loss + F.binary_cross_entropy(mixed.clamp(1e-6, 1 - 1e-6), x,
                                             reduction="none").sum(1)
        return loss.mean() + (dhsic(zs) if K > 1 else 0)

    def run(n: int) -> None:
        for _ in range(n):
            x = images[torch.randint(len(images), (batch,))]
            loss = loss_of(x)
            opt.zero_grad()
            loss.backward()
            opt.step()

    return run


# ----------------------------------------------------------------------------- threads
def worker(args: argparse.Namespace) -> int:
    """``--worker MODEL``: train steps with the threads set by the parent, print images/s."""
    torch.set_num_threads(args.threads)
    if args.worker == "mnist":
        cfg, images, batch = {"components": 4}, torch.rand(10_000, 1, 28, 28), args.batch
    else:
        cfg, images, batch = paper_cifar_config(), torch.rand(1_000, 3, 32, 32), args.cifar_batch
    if args.smoke:
        cfg.update(hidden_dim=32) if args.worker == "mnist" else cfg.update(
            conv_channels=[4, 4, 8, 8, 8], latent_dim=8)
    run = _stepper(CURRENT, {**cfg, "device": "cpu"}, images, batch)
    run(2)
    t0 = time.perf_counter()
    run(args.steps)
    print(json.dumps({"images_per_s": args.steps * batch / (time.perf_counter() - t0)}))
    return 0


def bench_threads(args: argparse.Namespace) -> list[dict]:
    """One 2-thread process against two concurrent 1-thread processes: total images/s."""
    rows = []
    for model in ("mnist", "cifar"):
        steps = max(2, args.steps // (20 if model == "cifar" else 1))

        def launch(threads: int, steps: int = steps, model: str = model) -> subprocess.Popen:
            cmd = [sys.executable, __file__, "--worker", model, "--threads", str(threads),
                   "--steps", str(steps), *(["--smoke"] if args.smoke else [])]
            env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
            return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)

        def rate(proc: subprocess.Popen) -> float:
            out, _ = proc.communicate(timeout=3600)
            return json.loads(out.strip().splitlines()[-1])["images_per_s"]

        one = rate(launch(2))
        pair = [launch(1), launch(1)]
        two = sum(rate(p) for p in pair)
        row = {"model": model, "one_2thread_images_per_s": one,
               "two_1thread_images_per_s": two, "best": "two 1-thread jobs" if two > one
               else "one 2-thread job"}
        rows.append(row)
        print(f"threads {model:<6} one 2-thread job {one:7.0f} img/s | two 1-thread jobs "
              f"{two:7.0f} img/s in all -> {row['best']}", flush=True)
    return rows


# ----------------------------------------------------------------------------- epoch, eval
def bench_epoch(args: argparse.Namespace) -> dict | None:
    from mvae import data as mvae_data
    from mvae.train import train

    subset = 500 if args.smoke else None
    try:
        sets = tuple(mvae_data.load("mnist", split, None, subset=subset)
                     for split in ("train", "test"))
    except Exception as err:  # no data here: say so, do not fail the other parts
        print(f"epoch: skipped ({type(err).__name__}: {err}); run `mvae data mnist` first")
        return None
    config = Config(components=4, epochs=1, device="cpu",
                    **({"hidden_dim": 32} if args.smoke else {}))
    with tempfile.TemporaryDirectory() as run_dir:
        t0 = time.perf_counter()
        result = train(config, run_dir, progress=False, datasets=sets)
        wall = time.perf_counter() - t0
    record = {"train_images": len(sets[0]), "test_images": len(sets[1]), "wall_s": wall,
              "train_s": result.history[-1]["seconds"],
              "test_loss": result.history[-1]["test"]["loss"]}
    print(f"epoch  MNIST K=4, {record['train_images']} train + {record['test_images']} test "
          f"images: {wall:.1f} s wall ({record['train_s']:.1f} s training)", flush=True)
    return record


def bench_test_loss(args: argparse.Namespace) -> list[dict]:
    from mvae.train import evaluate_loss

    specs = [("mnist-mlp", {"components": 4, "hidden_dim": 32 if args.smoke else 500},
              (1, 28, 28), 512 if args.smoke else 10_000)]
    if not args.no_cifar:
        cifar_cfg = paper_cifar_config()
        if args.smoke:
            cifar_cfg.update(conv_channels=[4, 4, 8, 8, 8], latent_dim=8)
        specs.append(("cifar10-conv", cifar_cfg, (3, 32, 32), 256 if args.smoke else 1_000))
    rows = []
    for model_name, cfg, shape, n in specs:
        torch.manual_seed(0)
        model = MVAE(Config(**cfg, device="cpu"))
        images = torch.rand(n, *shape)
        seconds: dict[int, list[float]] = {b: [] for b in args.eval_batches}
        for window in range(1 + max(1, args.windows // 2)):  # window 0 warms up
            for b, times in seconds.items():  # batch sizes in turn, as in interleaved_ms
                t0 = time.perf_counter()
                evaluate_loss(model, images, b)
                if window:
                    times.append(time.perf_counter() - t0)
        for b, times in seconds.items():
            row = {"model": model_name, "K": cfg["components"], "batch": b, "images": n,
                   "images_per_s": n / statistics.median(times)}
            rows.append(row)
            print(f"test_loss {model_name:<12} K={row['K']} batch {b:<4} "
                  f"{row['images_per_s']:8.0f} images/s", flush=True)
    return rows


def bench_eval(args: argparse.Namespace) -> dict | None:
    from mvae import evaluate, probes
    from mvae.train import load_run, load_split

    if not args.run_dir:
        print("eval: skipped (give --run-dir of a trained MNIST run)")
        return None
    model, config = load_run(args.run_dir)
    train_set, test_set = load_split(config, "train"), load_split(config, "test")
    x_train, x_test = train_set.floats(), test_set.floats()
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    evaluate.reconstruction_errors(model, x_test)
    seconds["reconstruction_errors_test"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    train_codes, test_codes = evaluate.latent_codes(model, x_train), evaluate.latent_codes(
        model, x_test)
    seconds["latent_codes_train_test"] = time.perf_counter() - t0
    for name in probes.CLASSIFIERS:  # each component's codes and their concatenation
        t0 = time.perf_counter()
        probes.probe_codes(train_codes, train_set.labels, test_codes, test_set.labels,
                           classifiers=[name])
        seconds[f"probe_{name}"] = time.perf_counter() - t0
    for name, s in seconds.items():
        print(f"eval   {name:<28} {s:7.1f} s", flush=True)
    return {"run_dir": str(args.run_dir), "codes": list(train_codes.shape), "seconds": seconds}


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: check it runs")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--components", type=int, nargs="+", default=[1, 4, 10])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--cifar-batch", type=int, default=64)
    parser.add_argument("--no-cifar", action="store_true")
    parser.add_argument("--looped", action="store_true", help="add the Python-loop variant")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                        help="the fast step's matmuls (bf16 pays off only with AMX/AVX512-BF16)")
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT)
    parser.add_argument("--steps", type=int, help="MNIST steps per window (CIFAR: 1/20)")
    parser.add_argument("--windows", type=int, help="timed windows per variant")
    parser.add_argument("--eval-batches", type=int, nargs="+", default=[64, 128, 256, 500],
                        help="batch sizes of the test_loss part")
    parser.add_argument("--run-dir", type=Path, help="trained MNIST run for the eval part")
    parser.add_argument("--json", type=Path, help="write the record here")
    parser.add_argument("--worker", choices=["mnist", "cifar"], help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    steps, windows = (3, 2) if args.smoke else (60, 5)
    args.steps, args.windows = args.steps or steps, args.windows or windows
    if args.worker:
        return worker(args)

    baseline = load_baseline(args.baseline_commit) if "steps" in args.only else None
    provenance = collect("cpu")
    print(f"{provenance['device']} | torch {torch.__version__} | threads "
          f"{torch.get_num_threads()} | commit {provenance['git']['commit'][:10]} | baseline "
          f"{baseline.commit if baseline else 'not available (no git history)'}", flush=True)
    record: dict[str, Any] = {"provenance": provenance, "threads": torch.get_num_threads(),
                              "smoke": args.smoke,
                              "baseline_commit": baseline.commit if baseline else None}
    if "steps" in args.only:
        record["steps"] = bench_steps(args, baseline)
    if "threads" in args.only:
        record["threads_per_job"] = bench_threads(args)
    if "epoch" in args.only:
        record["epoch"] = bench_epoch(args)
    if "test_loss" in args.only:
        record["test_loss"] = bench_test_loss(args)
    if "eval" in args.only:
        record["eval"] = bench_eval(args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
