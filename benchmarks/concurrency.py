"""How many training runs to put on one device at once: N processes each train the same MNIST
model for a few epochs at the same time, and the device's throughput is the images per second
of all N together (each from its later epochs: the first holds start-up and CUDA-graph capture).
The schedule question of ``pipeline/README.md`` ("GPU") and the issue that asked for the grid's
throughput at 1, 2, 4 and 8 concurrent runs; ``benchmarks/gpu_session.sh`` runs it first and
hands the best N to ``scripts/batch_runs.py --trainers``.

    python benchmarks/concurrency.py [--concurrent 1 2 4 8] [--components 4] [--epochs 3]
                                     [--device cuda] [--json out.json]   # needs MNIST
    python benchmarks/concurrency.py --smoke   # CPU, synthetic images: checks that it runs

The last line printed is ``best: N`` (the N with the most images per second), for a script to
read. On a CPU each process gets its share of the cores (``OMP_NUM_THREADS``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _datasets(smoke: bool) -> tuple:
    """Full MNIST, or for ``--smoke`` 512 random 28 x 28 images (256 to test on)."""
    if not smoke:
        from mvae import data as mvae_data

        return tuple(mvae_data.load("mnist", split) for split in ("train", "test"))
    import torch

    from mvae.data import ImageDataset

    g = torch.Generator().manual_seed(0)
    return tuple(ImageDataset(name="random", split=split,
                              images=torch.randint(0, 256, (n, 1, 28, 28), generator=g,
                                                   dtype=torch.uint8),
                              labels=torch.arange(n) % 10, source="random (smoke run)")
                 for split, n in (("train", 512), ("test", 256)))


def worker(args: argparse.Namespace) -> int:
    """One of the N processes: train, then print one JSON line with its epoch times."""
    from mvae.config import Config
    from mvae.train import train

    sets = _datasets(args.smoke)
    config = Config(components=args.components, epochs=args.epochs, device=args.device,
                    seed=args.worker_index)
    with tempfile.TemporaryDirectory() as run_dir:
        result = train(config, run_dir, progress=False, datasets=sets)
    cumulative = [h["seconds"] for h in result.history]
    print(json.dumps({"images": len(sets[0]), "cumulative_seconds": cumulative}), flush=True)
    return 0


def measure(n: int, args: argparse.Namespace) -> dict:
    """N workers at once: their later-epoch seconds and the images per second of all N."""
    threads = max(1, (os.cpu_count() or 1) // n) if args.device == "cpu" else 1
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, __file__, "--components", str(args.components), "--epochs",
               str(args.epochs), "--device", args.device] + (["--smoke"] if args.smoke else [])
    t0 = time.perf_counter()
    procs = [subprocess.Popen([*command, "--worker-index", str(i)], env=env,
                              stdout=subprocess.PIPE, text=True) for i in range(n)]
    outputs = [p.communicate()[0] for p in procs]
    wall = time.perf_counter() - t0
    if any(p.returncode for p in procs):
        raise SystemExit(f"concurrency: a worker failed with N = {n}")
    records = [json.loads(out.strip().splitlines()[-1]) for out in outputs]
    # each worker's later epochs (the first holds start-up, capture and warm-up)
    epoch_seconds = [(r["cumulative_seconds"][-1] - r["cumulative_seconds"][0])
                     / (len(r["cumulative_seconds"]) - 1) for r in records]
    return {"concurrent": n, "threads_per_run": threads,
            "epoch_seconds": epoch_seconds,
            "images_per_second": sum(r["images"] / s for r, s in zip(records, epoch_seconds,
                                                                       strict=True)),
            "wall_seconds": wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--components", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3, help="per run (>= 2)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--smoke", action="store_true",
                        help="CPU, 512 random images, N = 1 and 2: seconds")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch is not timed)")
    if args.worker_index is not None:
        return worker(args)
    if args.smoke:
        args.device, args.concurrent = "cpu", [1, 2]
    import torch

    from mvae.provenance import collect

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("concurrency: no CUDA device; nothing measured (--device cpu times the CPU)",
              file=sys.stderr)
        return 2
    rows = []
    for n in args.concurrent:
        row = measure(n, args)
        rows.append(row)
        print(f"{n} at once ({row['threads_per_run']} thread(s) each): "
              f"{row['images_per_second']:,.0f} images/s in all, "
              f"{max(row['epoch_seconds']):.2f} s per epoch for the slowest run, "
              f"{row['wall_seconds']:.0f} s of wall time", flush=True)
    best = max(rows, key=lambda r: r["images_per_second"])
    if args.json:
        args.json.write_text(json.dumps({**collect(torch.device(args.device)),
                                         "components": args.components, "epochs": args.epochs,
                                         "rows": rows, "best": best["concurrent"]}, indent=1))
    print(f"best: {best['concurrent']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
