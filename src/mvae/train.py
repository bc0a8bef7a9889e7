"""Training: Adam on the M-VAE objective, with resumable, atomic, per-epoch checkpoints.

A run folder holds ``config.yaml`` (the resolved config), ``checkpoint.pt`` (model, optimiser,
epoch, history; loaded with ``weights_only=True``), ``history.json`` (per-epoch train and test loss
terms) and ``provenance.json`` (commit, versions, device, wall time, data source).

Determinism: every epoch reseeds the global RNG and the shuffling generator from (seed, epoch).
An interrupted run that is started again resumes at the last finished epoch and, on the CPU, ends
in exactly the state an uninterrupted run reaches.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from tqdm import tqdm

from mvae import data as mvae_data
from mvae.config import Config
from mvae.fast import TrainStep, make_optimizer
from mvae.likelihood import fixed_binarization
from mvae.model import MVAE
from mvae.objective import TERMS, mixture_loss
from mvae.provenance import collect, write_json

CHECKPOINT = "checkpoint.pt"
TERM_NAMES = ("loss", *TERMS)


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or inf; the message names it and the checkpoint that was kept."""


class RunMismatchError(RuntimeError):
    """A run folder already holds a run made with a different config."""


@dataclass
class TrainResult:
    model: MVAE
    history: list[dict[str, Any]]
    run_dir: Path
    finished: bool


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when it is available, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device=cuda was asked for but torch sees no CUDA GPU; use device=auto")
    return torch.device(name)


def epoch_seed(seed: int, epoch: int) -> int:
    """A distinct, reproducible seed per (run seed, epoch): resuming needs no saved RNG state."""
    return (seed * 1_000_003 + epoch * 7_919 + 12_345) % (2 ** 63 - 1)


def load_split(config: Config, split: str) -> mvae_data.ImageDataset:
    """The config's dataset split with its subset option applied (class-balanced, deterministic)."""
    subset = config.train_subset if split == "train" else config.test_subset
    root = Path(config.data_dir) if config.data_dir else None
    return mvae_data.load(config.dataset, split, root, subset=subset,
                          cifar10_path=config.cifar10_path)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write to a temp file then rename: a checkpoint on disk is always a whole one."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    return torch.load(path, map_location=map_location, weights_only=True)


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> tuple[MVAE, Config]:
    """Rebuild a trained model from its run folder (eval mode)."""
    run_dir = Path(run_dir)
    config = Config.from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()))
    model = MVAE(config)
    model.load_state_dict(load_checkpoint(run_dir / CHECKPOINT)["model"])
    return model.to(device).eval(), config


def batches(n: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """Shuffled index batches (n_batches, batch_size). The ragged tail is dropped: dHSIC is a batch
    statistic and a batch of one or two images would make it (and its bandwidth) meaningless."""
    perm = torch.randperm(n, generator=generator)
    if n <= batch_size:
        return perm.unsqueeze(0)
    count = n // batch_size
    return perm[: count * batch_size].view(count, batch_size)


def _check_finite(first_bad: torch.Tensor, epoch: int, run_dir: Path, last_good: int) -> None:
    bad = first_bad >= 0
    if bool(bad.any()):
        # Name the term that went bad first; on a tie prefer a part over the total it feeds.
        step, _, index = min((int(first_bad[i]), rank, i)
                             for rank, i in enumerate((1, 2, 3, 4, 0)) if bool(bad[i]))
        name = TERM_NAMES[index]
        kept = (f"the last good checkpoint (epoch {last_good}) is kept in {run_dir / CHECKPOINT}"
                if last_good > 0 else "no checkpoint had been written yet")
        raise NonFiniteLossError(
            f"loss term {name!r} became NaN/inf at step {step} of epoch {epoch}; "
            f"training stopped and {kept}. Try a smaller lr or check the input data.")


@torch.no_grad()
def evaluate_loss(model: MVAE, images: torch.Tensor, batch_size: int) -> dict[str, float]:
    """Mean loss terms over a whole image set (one sampled draw per image, model in eval mode)."""
    was_training = model.training
    model.eval()
    total, count = torch.zeros(len(TERM_NAMES), device=images.device), 0
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size]
        if len(x) < 2:
            continue
        total += mixture_loss(model(x), x, model.config).stacked() * len(x)
        count += len(x)
    model.train(was_training)
    return dict(zip(TERM_NAMES, (total / max(count, 1)).tolist(), strict=True))


def train(config: Config, run_dir: str | Path, *, progress: bool = True,
          until_epoch: int | None = None,
          datasets: tuple[mvae_data.ImageDataset, mvae_data.ImageDataset] | None = None,
          graph: bool | None = None) -> TrainResult:
    """Train (or resume) the run in ``run_dir``.

    ``until_epoch`` stops after that epoch (the run can be resumed later: a time-sliced job).
    ``datasets`` lets tests and notebooks pass in-memory (train, test) sets instead of loading.
    ``graph`` captures the training step in a CUDA graph (default: on CUDA; see mvae.fast).
    """
    config = config.validate()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(config.device)
    config_path, ckpt_path = run_dir / "config.yaml", run_dir / CHECKPOINT
    if config_path.exists():
        stored = yaml.safe_load(config_path.read_text())
        if stored != config.to_dict():
            diff = sorted(k for k in set(stored) | set(config.to_dict())
                          if stored.get(k) != config.to_dict().get(k))
            raise RunMismatchError(f"{run_dir} holds a run with a different config (keys differ: "
                                   f"{', '.join(diff)}); use another run folder or delete it")
    else:
        config_path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))

    train_set, test_set = datasets or (load_split(config, "train"), load_split(config, "test"))
    torch.manual_seed(config.seed)
    model = MVAE(config).to(device)
    optimizer = make_optimizer(model, config.lr, device)
    history: list[dict[str, Any]] = []
    start_epoch, seconds = 0, 0.0
    if ckpt_path.exists():
        state = load_checkpoint(ckpt_path, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, history, seconds = state["epoch"], state["history"], state["train_seconds"]

    stop = min(config.epochs, until_epoch) if until_epoch is not None else config.epochs
    x_train = train_set.floats().to(device)
    x_test = test_set.floats().to(device)
    if config.binarize:
        x_test = fixed_binarization(x_test)
    n_batches, batch = batches(len(x_train), config.batch_size, torch.Generator()).shape
    step_fn = TrainStep(model, optimizer, x_train, batch, graph=graph)
    bar = tqdm(total=(stop - start_epoch) * n_batches, disable=not progress or stop <= start_epoch,
               desc=config.name, unit="step", dynamic_ncols=True, mininterval=1.0)
    model.train()
    for epoch in range(start_epoch + 1, stop + 1):
        t0 = time.perf_counter()
        seed = epoch_seed(config.seed, epoch)
        torch.manual_seed(seed)
        order = batches(len(x_train), config.batch_size, torch.Generator().manual_seed(seed))
        sums = torch.zeros(len(TERM_NAMES), device=device)
        first_bad = torch.full((len(TERM_NAMES),), -1, dtype=torch.long, device=device)
        for step, idx in enumerate(order.to(device)):
            values = step_fn(idx)
            sums += values
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(values), step, first_bad)
            bar.update()
            if progress and step % 25 == 0:
                _check_finite(first_bad, epoch, run_dir, epoch - 1)
                bar.set_postfix(epoch=epoch, **{k: f"{v:.2f}" for k, v in
                                                zip(TERM_NAMES, values.tolist(), strict=True)})
        _check_finite(first_bad, epoch, run_dir, epoch - 1)
        seconds += time.perf_counter() - t0
        record = {"epoch": epoch, "seconds": seconds,
                  "train": dict(zip(TERM_NAMES, (sums / len(order)).tolist(), strict=True)),
                  "test": evaluate_loss(model, x_test, max(config.batch_size, 500))}
        history.append(record)
        save_checkpoint(ckpt_path, {"model": model.state_dict(), "optimizer":
                                    optimizer.state_dict(), "epoch": epoch, "history": history,
                                    "train_seconds": seconds, "config": config.to_dict()})
        write_json(run_dir / "history.json", history)
    bar.close()

    finished = (history[-1]["epoch"] if history else 0) >= config.epochs
    write_json(run_dir / "provenance.json", {
        **collect(device), "precision": step_fn.precision, "threads": torch.get_num_threads(),
        "run": config.name, "seed": config.seed, "epochs_done":
        history[-1]["epoch"] if history else 0, "finished": finished, "train_seconds": seconds,
        "data": {"train": train_set.source, "test": test_set.source,
                 "train_size": len(train_set), "test_size": len(test_set)}})
    return TrainResult(model=model.eval(), history=history, run_dir=run_dir, finished=finished)
