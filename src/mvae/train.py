"""Training: Adam on the M-VAE objective, with resumable, atomic, per-epoch checkpoints.

A run folder holds ``config.yaml`` (the resolved config), ``checkpoint.pt`` (model, optimiser,
epoch, history, config; loaded with ``weights_only=True``), ``history.json`` (per-epoch train and
test loss terms), ``provenance.json`` (commit, versions, device, wall time, data source) and
``.lock`` (who trains there now).

What a mistake cannot do to a run folder:

* lock it: ``config.yaml`` is written only when the first epoch is about to start, and a folder
  without a checkpoint has trained nothing, so a later call with another config replaces it (a
  typo, a failed data load or a NaN in epoch 1 costs nothing);
* mix two runs: a checkpoint is resumed only if its own config, and ``config.yaml``, equal the
  config asked for (:class:`RunMismatchError` names the keys that differ);
* corrupt it: every file is written atomically (:mod:`mvae.files`), and a second process that
  tries to train in the same folder is refused at once with the holder's PID and host.

Determinism: every epoch reseeds the global RNG and the shuffling generator from (seed, epoch).
An interrupted run that is started again resumes at the last finished epoch and, on the CPU, ends
in exactly the state an uninterrupted run reaches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from tqdm import tqdm

from mvae import data as mvae_data
from mvae.config import Config, ConfigError
from mvae.fast import TrainStep, make_optimizer
from mvae.files import atomic_write, atomic_write_text, run_lock
from mvae.likelihood import fixed_binarization
from mvae.model import MVAE
from mvae.objective import TERMS, dhsic_weight, mixture_loss
from mvae.provenance import collect, write_json

CHECKPOINT = "checkpoint.pt"
CHECKPOINT_KEYS = ("model", "optimizer", "epoch", "history", "train_seconds")
TERM_NAMES = ("loss", *TERMS)


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or inf; the message names it and the checkpoint that was kept."""


class RunMismatchError(RuntimeError):
    """A run folder already holds a run made with a different config."""


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be read or is not one of ``train``'s; the message names it."""


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
        raise ConfigError("device=cuda was asked for but torch sees no CUDA GPU; use device=auto "
                          "or device=cpu")
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
    """Write atomically (unique temp file, fsync, rename): a checkpoint on disk is always a whole
    one, and a failed write (disk full) keeps the previous one and names the file."""
    atomic_write(path, lambda fh: torch.save(state, fh))


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A checkpoint's state (tensors and plain data only: ``weights_only``, nothing unpickled).

    Anything else (a truncated file, a foreign pickle) is a :class:`CheckpointError` naming it.
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path} does not exist: the run has not finished an epoch") from None
    except Exception as err:  # torch raises many kinds for a damaged or foreign file
        raise CheckpointError(
            f"{path} cannot be read as a checkpoint ({' '.join(str(err).split())[:200]}); "
            "restore it, or move it away to start the run afresh") from err
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(f"{path} is not a checkpoint of mvae train (no {', '.join(missing)});"
                              " restore it, or move it away to start the run afresh")
    return state


def _config_diff(stored: dict[str, Any], wanted: dict[str, Any]) -> str:
    """``key: stored -> wanted`` for every key that differs (the first few)."""
    keys = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
    shown = [f"{k}: {stored.get(k)!r} there, {wanted.get(k)!r} now" for k in keys[:6]]
    return "; ".join(shown) + (f"; and {len(keys) - 6} more" if len(keys) > 6 else "")


def _with_defaults(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored config with the keys added to Config since it was written set to their defaults
    (a new key's default keeps the old behaviour), so old runs still resume and load."""
    try:
        return Config.from_dict(stored).to_dict()
    except (ConfigError, TypeError, ValueError):
        return stored  # unreadable as a Config: compared as it is, and the diff names the keys


def _mismatch(run_dir: Path, what: str, stored: dict[str, Any], config: Config) -> None:
    stored = _with_defaults(stored)
    if stored != config.to_dict():
        raise RunMismatchError(
            f"{what} was made with a different config ({_config_diff(stored, config.to_dict())});"
            f" use another run folder (--run-dir, or name=...) or move {run_dir} away")


def stored_config(run_dir: Path) -> dict[str, Any] | None:
    """``config.yaml`` as a mapping, or None when it is missing or damaged (empty, not YAML)."""
    try:
        stored = yaml.safe_load((run_dir / "config.yaml").read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return stored if isinstance(stored, dict) else None


def resume_state(run_dir: str | Path, config: Config,
                 map_location: str | torch.device = "cpu") -> dict[str, Any] | None:
    """The checkpoint to resume ``config`` from, or None when nothing has trained in ``run_dir``.

    Only a checkpoint means "trained": a ``config.yaml`` without one is what an attempt that never
    finished an epoch left (a typo, a failed data load, a NaN), and it is replaced. A checkpoint is
    resumed only if the config it records and ``config.yaml`` (when readable) equal ``config``, so
    a checkpoint copied from another run is refused, not reported as this run.
    """
    run_dir = Path(run_dir)
    ckpt_path = run_dir / CHECKPOINT
    if not ckpt_path.exists():
        return None
    state = load_checkpoint(ckpt_path, map_location)
    if not isinstance(state.get("config"), dict):
        raise CheckpointError(f"{ckpt_path} records no config, so it cannot be matched to this "
                              f"run; move it away to start afresh")
    _mismatch(run_dir, f"the checkpoint {ckpt_path}", state["config"], config)
    stored = stored_config(run_dir)
    if stored is not None:
        _mismatch(run_dir, f"the run in {run_dir} (config.yaml)", stored, config)
    return state


def write_config(run_dir: Path, config: Config) -> None:
    """``config.yaml``, atomically: a full disk leaves the old file or none, never an empty one."""
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> tuple[MVAE, Config]:
    """Rebuild a trained model from its run folder (eval mode); the checkpoint must be this
    run's (its recorded config equals ``config.yaml``)."""
    run_dir = Path(run_dir)
    stored = stored_config(run_dir)
    if stored is None:
        raise CheckpointError(f"{run_dir / 'config.yaml'} is missing or not a YAML mapping; "
                              "train the run (again) to write it")
    config = Config.from_dict(stored)
    state = resume_state(run_dir, config)
    if state is None:
        raise CheckpointError(f"{run_dir / CHECKPOINT} does not exist: the run has not "
                              "finished an epoch")
    model = MVAE(config)
    model.load_state_dict(state["model"])
    return model.to(device).eval(), config


def batches(n: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """Shuffled index batches (n_batches, batch_size). The ragged tail is dropped: dHSIC is a batch
    statistic and a batch of one or two images would make it (and its bandwidth) meaningless."""
    perm = torch.randperm(n, generator=generator)
    if n <= batch_size:
        return perm.unsqueeze(0)
    count = n // batch_size
    return perm[: count * batch_size].view(count, batch_size)


def _check_finite(first_bad: torch.Tensor, epoch: int, run_dir: Path, last_good: int,
                  lr: float) -> None:
    bad = first_bad >= 0
    if bool(bad.any()):
        # Name the term that went bad first; on a tie prefer a part over the total it feeds.
        step, _, index = min((int(first_bad[i]), rank, i)
                             for rank, i in enumerate((1, 2, 3, 4, 0)) if bool(bad[i]))
        name = TERM_NAMES[index]
        if last_good > 0:  # a checkpoint made with this lr: a smaller one is a new run
            what = (f"the last good checkpoint (epoch {last_good}) is kept in "
                    f"{run_dir / CHECKPOINT}. To try an lr below {lr:g}, start a new run folder "
                    "(--run-dir or name=...), since this one resumes only its own config; or "
                    "check the input data.")
        else:
            what = (f"no checkpoint had been written yet, so {run_dir} accepts a changed config: "
                    f"rerun with an lr below {lr:g}, or check the input data.")
        raise NonFiniteLossError(
            f"loss term {name!r} became NaN/inf at step {step} of epoch {epoch}; "
            f"training stopped and {what}")


@torch.no_grad()
def evaluate_loss(model: MVAE, images: torch.Tensor, batch_size: int,
                  config: Config | None = None) -> dict[str, float]:
    """Mean loss terms over a whole image set (one sampled draw per image, model in eval mode).
    ``config`` (default the model's) sets the loss's weights: during a dHSIC warm-up, the epoch's
    beta, so an epoch's train and test losses weigh dHSIC alike.

    Training passes its own batch size: dHSIC is a statistic of a batch (its V-statistic shifts
    with n), so the test value is then on the training value's scale, and on this CPU that size
    is also the fastest (``benchmarks/train_step.py --only test_loss``: CIFAR-10 K = 4 169
    images/s at 64 against 100 at 500; runs archived before 2026-11-27 evaluated at 500)."""
    config = config or model.config
    was_training = model.training
    model.eval()
    total, count = torch.zeros(len(TERM_NAMES), device=images.device), 0
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size]
        if len(x) < 2:
            continue
        total += mixture_loss(model(x), x, config).stacked() * len(x)
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
    ``graph`` captures the training step in a CUDA graph (default: on CUDA, unless
    ``$MVAE_CUDA_GRAPH=0``; see mvae.fast).
    """
    config = config.validate()
    if until_epoch is not None and (isinstance(until_epoch, bool)
                                    or not isinstance(until_epoch, int) or until_epoch < 1):
        raise ValueError(f"until_epoch must be an epoch number >= 1, got {until_epoch!r}")
    device = resolve_device(config.device)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_dir):
        return _train_locked(config, run_dir, device, progress=progress, until_epoch=until_epoch,
                             datasets=datasets, graph=graph)


def _train_locked(config: Config, run_dir: Path, device: torch.device, *, progress: bool,
                  until_epoch: int | None,
                  datasets: tuple[mvae_data.ImageDataset, mvae_data.ImageDataset] | None,
                  graph: bool | None) -> TrainResult:
    """:func:`train` once the run folder's lock is held."""
    ckpt_path = run_dir / CHECKPOINT
    state = resume_state(run_dir, config, map_location=device)  # before the (slow) data load
    train_set, test_set = datasets or (load_split(config, "train"), load_split(config, "test"))
    torch.manual_seed(config.seed)
    model = MVAE(config).to(device)
    optimizer = make_optimizer(model, config.lr, device)
    history: list[dict[str, Any]] = []
    start_epoch, seconds, wall = 0, 0.0, 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, history, seconds = state["epoch"], state["history"], state["train_seconds"]
        # checkpoints written before wall seconds were kept: count their epochs' training only
        wall = history[-1].get("wall_seconds", seconds) if history else seconds
        if stored_config(run_dir) is None:  # lost or left empty by an older version: restore it
            write_config(run_dir, config)

    stop = min(config.epochs, until_epoch) if until_epoch is not None else config.epochs
    x_train = train_set.floats().to(device)
    x_test = test_set.floats().to(device)
    if config.binarize:
        x_test = fixed_binarization(x_test)
    n_batches, batch = batches(len(x_train), config.batch_size, torch.Generator()).shape
    step_fn = TrainStep(model, optimizer, x_train, batch, graph=graph)
    if state is None:  # the first epoch is about to start: from now on the folder is this run's
        write_config(run_dir, config)
    bar = tqdm(total=(stop - start_epoch) * n_batches, disable=not progress or stop <= start_epoch,
               desc=config.name, unit="step", dynamic_ncols=True, mininterval=1.0)
    model.train()
    for epoch in range(start_epoch + 1, stop + 1):
        t0 = time.perf_counter()
        seed = epoch_seed(config.seed, epoch)
        torch.manual_seed(seed)
        order = batches(len(x_train), config.batch_size, torch.Generator().manual_seed(seed))
        beta = dhsic_weight(config, epoch)
        epoch_config = config.replace(beta=beta)
        step_fn.use_config(epoch_config)
        sums = torch.zeros(len(TERM_NAMES), device=device)
        first_bad = torch.full((len(TERM_NAMES),), -1, dtype=torch.long, device=device)
        for step, idx in enumerate(order.to(device)):
            values = step_fn(idx)
            sums += values
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(values), step, first_bad)
            bar.update()
            if progress and step % 25 == 0:
                _check_finite(first_bad, epoch, run_dir, epoch - 1, config.lr)
                bar.set_postfix(epoch=epoch, **{k: f"{v:.2f}" for k, v in
                                                zip(TERM_NAMES, values.tolist(), strict=True)})
        _check_finite(first_bad, epoch, run_dir, epoch - 1, config.lr)
        seconds += time.perf_counter() - t0
        record = {"epoch": epoch, "seconds": seconds,
                  **({"beta": beta} if config.beta_warmup else {}),
                  "train": dict(zip(TERM_NAMES, (sums / len(order)).tolist(), strict=True)),
                  "test": evaluate_loss(model, x_test, config.batch_size, epoch_config)}
        # "seconds" is training alone; planning needs the epoch's whole cost, test loss included
        # (on CIFAR-10 the test set is as large as the training subset)
        wall += time.perf_counter() - t0
        record["wall_seconds"] = wall
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
        "wall_seconds": wall,
        "data": {"train": train_set.source, "test": test_set.source,
                 "train_size": len(train_set), "test_size": len(test_set)}})
    return TrainResult(model=model.eval(), history=history, run_dir=run_dir, finished=finished)
