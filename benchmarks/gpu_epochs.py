"""Seconds per full-MNIST epoch of one run alone on a GPU, CUDA-graph-captured against eager
steps, for K = 4, 1 and 10 (paper architecture, batch 128): the schedule question of
``pipeline/README.md`` ("GPU") and the per-step targets of ``benchmarks/README.md``.

    python benchmarks/gpu_epochs.py [--epochs 3] [--json out.json]   # needs CUDA and MNIST

Each setting trains ``--epochs`` epochs through :func:`mvae.train.train`; the first epoch holds
the capture and warm-up, so the rate is taken from the later ones.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mvae import data as mvae_data  # noqa: E402
from mvae.config import Config  # noqa: E402
from mvae.provenance import collect  # noqa: E402
from mvae.train import train  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="per setting (>= 2)")
    parser.add_argument("--components", type=int, nargs="+", default=[4, 1, 10])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("gpu_epochs: no CUDA device; nothing measured", file=sys.stderr)
        return 2
    sets = tuple(mvae_data.load("mnist", split) for split in ("train", "test"))
    rows = []
    for k in args.components:
        for graph in (True, False):
            config = Config(components=k, epochs=args.epochs, device="cuda")
            with tempfile.TemporaryDirectory() as run_dir:
                t0 = time.perf_counter()
                result = train(config, run_dir, progress=False, datasets=sets, graph=graph)
                wall = time.perf_counter() - t0
            cumulative = [h["seconds"] for h in result.history]
            later = (cumulative[-1] - cumulative[0]) / (len(cumulative) - 1)
            steps = math.ceil(len(sets[0]) / config.batch_size)
            rows.append({"components": k, "graph": graph, "epoch_seconds": later,
                         "ms_per_step": 1000 * later / steps, "first_epoch_seconds": cumulative[0],
                         "wall_seconds": wall, "test_loss": result.history[-1]["test"]["loss"]})
            print(f"K={k:2d} {'captured' if graph else 'eager   '}: {later:.2f} s/epoch "
                  f"({1000 * later / steps:.2f} ms/step; 100 epochs ~{100 * later:.0f} s), "
                  f"first epoch {cumulative[0]:.2f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps({**collect(torch.device("cuda")), "rows": rows},
                                        indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
