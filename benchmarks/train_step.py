"""Training-step benchmark: the looped baseline against mvae's step, in one process.

    python benchmarks/train_step.py                       # MNIST MLP, K in 1 4 10, + CIFAR conv K=4
    python benchmarks/train_step.py --smoke               # seconds on a CPU: checks it runs
    python benchmarks/train_step.py --json out.json

Variants, all on the same random [0,1] images (never zeros), batch 128, Adam, dHSIC:
``looped``   K separate nn.Module VAEs called in a Python loop, batches from a CPU DataLoader,
             torch.distributions with argument validation: the straightforward implementation.
``stacked``  mvae's model (K components in batched matmuls), data resident on the device, fused
             Adam, eager execution.
``graph``    ``stacked`` captured once into a CUDA graph and replayed (CUDA only; ``--sampler
             gamma`` draws w with the graph-safe Gamma sampler).
Each is timed as the median over repeated windows of steps, with the device synchronised around
each window. The GPU-busy fraction is CUDA kernel time (torch.profiler) over wall time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.distributions import Dirichlet, Normal, kl_divergence
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from mvae import MVAE, Config, dhsic
from mvae.fast import TrainStep, make_optimizer
from mvae.provenance import collect


class LoopedVAE(nn.Module):
    """One component as a plain module: 784-500-500-(2d+1) encoder, d-500-500-784 decoder."""

    def __init__(self, d: int, hidden: int = 500, pixels: int = 784) -> None:
        super().__init__()
        self.d = d
        self.enc = nn.Sequential(nn.Linear(pixels, hidden), nn.Softplus(),
                                 nn.Linear(hidden, hidden), nn.Softplus(),
                                 nn.Linear(hidden, 2 * d + 1))
        self.dec = nn.Sequential(nn.Linear(d, hidden), nn.Softplus(),
                                 nn.Linear(hidden, hidden), nn.Softplus(),
                                 nn.Linear(hidden, pixels))


def looped_loss(parts: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    """The mixture loss written the obvious way: a Python loop over K modules."""
    x = x.flatten(1)
    mus, vars_, alphas, zs, means = [], [], [], [], []
    for part in parts:
        h = part.enc(x)
        mu, var = h[:, :part.d], F.softplus(h[:, part.d:2 * part.d]) + 1e-6
        z = mu + var.sqrt() * torch.randn_like(mu)
        mus.append(mu), vars_.append(var), zs.append(z)
        alphas.append(F.softplus(h[:, 2 * part.d]) + 1e-6)
        means.append(torch.sigmoid(part.dec(z)))
    alpha = torch.stack(alphas, 1)
    loss = sum(kl_divergence(Normal(m, v.sqrt()), Normal(0.0, 1.0)).sum(1)
               for m, v in zip(mus, vars_, strict=True))
    if len(parts) > 1:
        w = Dirichlet(alpha).rsample()
        mixed = sum(w[:, k:k + 1] * means[k] for k in range(len(parts)))
        loss = loss + kl_divergence(Dirichlet(alpha), Dirichlet(torch.ones_like(alpha)))
    else:
        mixed = means[0]
    loss = loss + F.binary_cross_entropy(mixed.clamp(1e-6, 1 - 1e-6), x, reduction="none").sum(1)
    loss = loss.mean()
    return loss + dhsic(zs) if len(parts) > 1 else loss


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _median_ms(run_window, steps: int, windows: int, device: torch.device) -> float:
    run_window(steps)  # warm-up: allocations, cuDNN/cuBLAS handles, graph capture
    times = []
    for _ in range(windows):
        _sync(device)
        t0 = time.perf_counter()
        run_window(steps)
        _sync(device)
        times.append((time.perf_counter() - t0) * 1e3 / steps)
    return statistics.median(times)


def bench_looped(K: int, images: torch.Tensor, batch: int, device: torch.device, steps: int,
                 windows: int) -> float:
    parts = nn.ModuleList(LoopedVAE(20) for _ in range(K)).to(device)
    opt = torch.optim.Adam(parts.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(images), batch_size=batch, shuffle=True, drop_last=True,
                        pin_memory=device.type == "cuda")
    stream = iter(())

    def window(n: int) -> None:
        nonlocal stream
        for _ in range(n):
            try:
                (x,) = next(stream)
            except StopIteration:
                stream = iter(loader)
                (x,) = next(stream)
            loss = looped_loss(parts, x.to(device, non_blocking=True))
            opt.zero_grad()
            loss.backward()
            opt.step()

    return _median_ms(window, steps, windows, device)


def make_step(config: Config, images: torch.Tensor, batch: int, device: torch.device,
              graph: bool) -> TrainStep:
    model = MVAE(config).to(device)
    return TrainStep(model, make_optimizer(model, config.lr, device), images.to(device), batch,
                     graph=graph)


def bench_step(step: TrainStep, n_images: int, batch: int, device: torch.device, steps: int,
               windows: int) -> float:
    def window(n: int) -> None:
        perm = torch.randperm(n_images, device=device)
        for i in range(n):
            start = (i * batch) % (n_images - batch)
            step(perm[start:start + batch])

    return _median_ms(window, steps, windows, device)


def gpu_busy_fraction(step: TrainStep, n_images: int, batch: int, device: torch.device,
                      steps: int = 50) -> float | None:
    """CUDA kernel time over wall time for ``steps`` steps (None on the CPU)."""
    if device.type != "cuda":
        return None
    from torch.profiler import ProfilerActivity, profile

    perm = torch.randperm(n_images, device=device)
    step(perm[:batch])
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        t0 = time.perf_counter()
        for i in range(steps):
            step(perm[(i * batch) % (n_images - batch):][:batch])
        torch.cuda.synchronize()
        wall = time.perf_counter() - t0
    kernel_us = sum(e.self_device_time_total for e in prof.key_averages())
    return kernel_us / 1e6 / wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: check it runs")
    parser.add_argument("--components", type=int, nargs="+", default=[1, 4, 10])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--cifar-batch", type=int, default=128)
    parser.add_argument("--sampler", default="gamma", choices=["dirichlet", "gamma"])
    parser.add_argument("--no-cifar", action="store_true")
    parser.add_argument("--steps", type=int, help="steps per timed window (default 200)")
    parser.add_argument("--windows", type=int, help="timed windows; the median is reported")
    parser.add_argument("--json", type=Path, help="write the record here")
    args = parser.parse_args(argv)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    graph = device.type == "cuda"
    steps, windows, n_images = (3, 2, 512) if args.smoke else (200, 5, 60_000)
    steps, windows = args.steps or steps, args.windows or windows
    torch.manual_seed(0)
    mnist = torch.rand(n_images, 1, 28, 28)
    rows = []
    for K in args.components:
        config = Config(components=K, weight_sampler=args.sampler, device=device.type)
        looped = bench_looped(K, mnist, args.batch, device, steps, windows)
        stacked = bench_step(make_step(config, mnist, args.batch, device, graph=False),
                             n_images, args.batch, device, steps, windows)
        row = {"model": "mnist-mlp", "K": K, "batch": args.batch, "looped_ms": looped,
               "stacked_ms": stacked}
        if graph:
            fast = make_step(config, mnist, args.batch, device, graph=True)
            row["graph_ms"] = bench_step(fast, n_images, args.batch, device, steps, windows)
            row["gpu_busy"] = gpu_busy_fraction(fast, n_images, args.batch, device)
        best = min(v for k, v in row.items() if k.endswith("_ms"))
        row["speedup_vs_looped"] = looped / best
        rows.append(row)
    if not args.no_cifar:
        n_cifar = 512 if args.smoke else 10_000
        cifar = torch.rand(n_cifar, 3, 32, 32)
        config = Config(dataset="cifar10", components=4, latent_dim=256,
                        weight_sampler=args.sampler, device=device.type,
                        **({"conv_channels": [8, 8, 16, 16, 16]} if args.smoke else {}))
        step = make_step(config, cifar, args.cifar_batch, device, graph=graph)
        ms = bench_step(step, n_cifar, args.cifar_batch, device, steps, windows)
        rows.append({"model": "cifar10-conv", "K": 4, "batch": args.cifar_batch,
                     ("graph_ms" if graph else "stacked_ms"): ms,
                     "images_per_s": args.cifar_batch / ms * 1e3,
                     "gpu_busy": gpu_busy_fraction(step, n_cifar, args.cifar_batch, device)})

    record = {"provenance": collect(device), "smoke": args.smoke, "sampler": args.sampler,
              "rows": rows}
    print(f"device: {record['provenance']['device']}  torch {torch.__version__}  "
          f"commit {record['provenance']['git']['commit'][:10]}")
    cols = ["model", "K", "batch", "looped_ms", "stacked_ms", "graph_ms", "speedup_vs_looped",
            "images_per_s", "gpu_busy"]
    print(" | ".join(cols))
    for row in rows:
        print(" | ".join(f"{row[c]:.3f}" if isinstance(row.get(c), float) else str(row.get(c, "-"))
                         for c in cols))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
