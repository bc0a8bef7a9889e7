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
  tries to train in the same folder is refused at once with the holder's PID and host;
* overwrite finished or foreign work: a folder that holds a ``done.json``, a ``history.json`` or
  a ``provenance.json`` but no checkpoint (an archived run, someone's copy), or a ``config.yaml``
  that ``train`` did not write, is refused with one line saying what is there; ``fresh=True``
  (``mvae train --fresh``) moves its files to ``<parent>/.replaced/<name>-<time>/`` first;
* write through links: a run folder, checkpoint or record that is a symbolic link is refused;
* resume damage: a checkpoint whose bytes fail their CRC or differ from the SHA-256 recorded in
  ``provenance.json``, of the wrong types or shapes, or with NaN/inf weights, is a
  :class:`CheckpointError` naming it (never "the last good checkpoint"), and a damaged
  ``config.yaml`` or ``history.json`` of a resumed run is rewritten from the checkpoint. Temp files
  a killed writer left (``checkpoint.pt.<pid>.<hex>.tmp``) are removed when training starts;
* resume on other data: your own data files' SHA-256 are pinned in the checkpoint when the run
  starts, and a changed file is refused (:class:`DataChangedError`, both digests);
* write where it must not: an archive, a link, a finished run's files (:mod:`mvae.guard`).

The checks live in :mod:`mvae.checkpoints` (re-exported here: ``mvae.train.load_run`` and the
error classes keep working); this module is the training loop.

Determinism: every epoch reseeds the global RNG and the shuffling generator from (seed, epoch).
An interrupted run that is started again resumes at the last finished epoch and, on the CPU, ends
in exactly the state an uninterrupted run reaches.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from mvae import data as mvae_data
from mvae import guard
from mvae.checkpoints import (  # noqa: F401  (re-exported: mvae.train's names before the split)
    CHECKPOINT_KEYS,
    DATA_KEY,
    CheckpointError,
    DataChangedError,
    LoadedRun,
    RunFolderError,
    RunMismatchError,
    data_pins,
    digest_record,
    load_checkpoint,
    load_model,
    load_optimizer,
    move_aside,
    nonfinite,
    open_run,
    refuse_unresumable,
    restart_advice,
    restore_records,
    resume_state,
    stored_config,
    verify_run,
    write_config,
)
from mvae.config import Config, ConfigError
from mvae.fast import TrainStep, make_optimizer
from mvae.files import atomic_write, refuse_link, remove_temporaries, run_lock
from mvae.layout import CHECKPOINT, DONE, RUN_RECORDS
from mvae.likelihood import fixed_binarization
from mvae.model import MVAE
from mvae.objective import TERMS, dhsic_weight, mixture_loss
from mvae.provenance import collect, write_json

TERM_NAMES = ("loss", *TERMS)
#: Below this, a Gaussian likelihood's 1/(2 std^2) overflows float32 training in a few steps.
SMALLEST_GAUSSIAN_STD = 1e-3


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or inf; the message names it and the checkpoint that was kept."""


@dataclass
class TrainResult:
    """What :func:`train` returns: the model (in eval mode), the history of its finished epochs
    (as ``history.json`` holds it), the run folder, and whether every epoch has finished."""

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
    """The config's dataset split with its subset option applied (class-balanced, deterministic);
    for your own images (``dataset=<path>``) the split of :mod:`mvae.data.own_images`, saying on
    stderr, with the training split, what ``auto`` chose for them."""
    if mvae_data.is_own_images(config.dataset):
        try:
            own = mvae_data.read_own_images(config.dataset)
        except mvae_data.OwnImagesError as err:
            raise ConfigError(" ".join(str(err).split())) from None
        if split == "train":
            print(f"mvae: {config.dataset}: {own.summary()}; architecture "
                  f"{config.resolved_architecture} ({config.architecture}), likelihood "
                  f"{config.resolved_likelihood} ({config.likelihood})", file=sys.stderr)
        return own.dataset(split)
    subset = config.train_subset if split == "train" else config.test_subset
    root = Path(config.data_dir) if config.data_dir else None
    return mvae_data.load(config.dataset, split, root, subset=subset,
                          cifar10_path=config.cifar10_path)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write atomically (unique temp file, fsync, rename): a checkpoint on disk is always a whole
    one, and a failed write (disk full) keeps the previous one and names the file."""
    atomic_write(path, lambda fh: torch.save(state, fh))


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> tuple[MVAE, Config]:
    """Rebuild a trained model from its run folder (eval mode), with its config: the folder read
    once and checked (:func:`mvae.checkpoints.open_run`: the checkpoint is this run's, its bytes
    are the ones training recorded, your own data files are the ones it started on)."""
    run = open_run(run_dir, device)
    return run.model, run.config


def batches(n: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """Shuffled index batches (n_batches, batch_size). The ragged tail is dropped: dHSIC is a batch
    statistic and a batch of one or two images would make it (and its bandwidth) meaningless."""
    perm = torch.randperm(n, generator=generator)
    if n <= batch_size:
        return perm.unsqueeze(0)
    count = n // batch_size
    return perm[: count * batch_size].view(count, batch_size)


def _nan_fix(config: Config, before_any_update: bool) -> str | None:
    """What to change after a NaN, or None when nothing in the config is to blame: a tiny
    gaussian_std before the learning rate, and never the learning rate for a loss that was not
    finite before the first update."""
    std = config.gaussian_std
    if config.resolved_likelihood == "gaussian" and std < SMALLEST_GAUSSIAN_STD:
        scale = 1 / (2 * std ** 2)
        beyond = ", beyond float32's largest number (3.4e38)" if scale > 3.4e38 else ""
        return (f"a gaussian_std of at least {SMALLEST_GAUSSIAN_STD:g} (default 0.1): "
                f"gaussian_std={std:g} weighs the squared error by 1/(2 std^2) = {scale:.1e}"
                f"{beyond}")
    return None if before_any_update else f"an lr below {config.lr:g}"


def _stopped(run_dir: Path, last_good: int, fix: str | None) -> str:
    """The end of a NaN message: which checkpoint is kept, and what to change."""
    if last_good > 0:  # a checkpoint made with this config: another config is a new run
        kept = (f"the last good checkpoint (epoch {last_good}, its weights checked finite) is "
                f"kept in {run_dir / CHECKPOINT}.")
        if fix is None:
            return f"{kept} Check the input data."
        return (f"{kept} To try {fix}, start a new run folder (--run-dir or name=...), since "
                "this one resumes only its own config; or check the input data.")
    head = f"no checkpoint had been written yet, so {run_dir} accepts a changed config"
    if fix is None:
        return (f"{head}; the loss was not finite before the first update, so the learning rate "
                "is not the cause: check the input data and the config's scales (gaussian_std, "
                "kl_weight, beta).")
    return f"{head}: rerun with {fix}, or check the input data."


def _check_finite(first_bad: torch.Tensor, epoch: int, run_dir: Path, last_good: int,
                  config: Config, first_epoch: bool = False) -> None:
    bad = first_bad >= 0
    if bool(bad.any()):
        # Name the term that went bad first; on a tie prefer a part over the total it feeds.
        step, _, index = min((int(first_bad[i]), rank, i)
                             for rank, i in enumerate((1, 2, 3, 4, 0)) if bool(bad[i]))
        name = TERM_NAMES[index]
        fix = _nan_fix(config, before_any_update=first_epoch and step == 0)
        raise NonFiniteLossError(
            f"loss term {name!r} became NaN/inf at step {step} of epoch {epoch}; "
            f"training stopped and {_stopped(run_dir, last_good, fix)}")


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
    if count == 0:  # the mean of nothing is not a loss of 0
        raise ValueError(f"cannot evaluate the loss on {len(images)} image(s): it needs a batch "
                         "of at least 2 (dHSIC is a batch statistic)")
    return dict(zip(TERM_NAMES, (total / max(count, 1)).tolist(), strict=True))


def train(config: Config, run_dir: str | Path, *, progress: bool = True,
          until_epoch: int | None = None,
          datasets: tuple[mvae_data.ImageDataset, mvae_data.ImageDataset] | None = None,
          graph: bool | None = None, fresh: bool = False) -> TrainResult:
    """Train (or resume) the run in ``run_dir``.

    A folder holding finished or foreign work without a checkpoint is refused
    (:func:`refuse_unresumable`); ``fresh`` first moves whatever the folder holds (a checkpoint
    too) to ``<parent>/.replaced/<name>-<time>/`` and trains from scratch.

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
    refuse_link(run_dir, "train")
    guard.check(run_dir, "fresh" if fresh else "train")  # never in an archive's runs
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_dir):
        return _train_locked(config, run_dir, device, progress=progress, until_epoch=until_epoch,
                             datasets=datasets, graph=graph, fresh=fresh)


def _train_locked(config: Config, run_dir: Path, device: torch.device, *, progress: bool,
                  until_epoch: int | None,
                  datasets: tuple[mvae_data.ImageDataset, mvae_data.ImageDataset] | None,
                  graph: bool | None, fresh: bool = False) -> TrainResult:
    """:func:`train` once the run folder's lock is held."""
    ckpt_path = run_dir / CHECKPOINT
    remove_temporaries(run_dir, (CHECKPOINT, *RUN_RECORDS, DONE))  # what a kill -9 left
    for name in (CHECKPOINT, *RUN_RECORDS, DONE):
        refuse_link(run_dir / name)
    if fresh:
        move_aside(run_dir)
    refuse_unresumable(run_dir)
    state = resume_state(run_dir, config, map_location=device)  # before the (slow) data load
    stop = min(config.epochs, until_epoch) if until_epoch is not None else config.epochs
    if state is not None:
        verify_run(run_dir, state, config, digest=False)  # your data: the files it started on
        restore_records(run_dir, config, state["history"])
        if state["epoch"] >= stop and (run_dir / "provenance.json").is_file():
            # nothing to train: no data to load, and the record of who trained it stays
            model = MVAE(config).to(device)
            load_model(model, state, ckpt_path)
            verify_run(run_dir, state, config, data=False)
            history = state["history"]
            return TrainResult(model=model.eval(), history=history, run_dir=run_dir,
                               finished=(history[-1]["epoch"] if history else 0) >= config.epochs)
    train_set, test_set = datasets or (load_split(config, "train"), load_split(config, "test"))
    torch.manual_seed(config.seed)
    model = MVAE(config).to(device)
    optimizer = make_optimizer(model, config.lr, device)
    history: list[dict[str, Any]] = []
    start_epoch, seconds, wall = 0, 0.0, 0.0
    if state is not None:
        load_model(model, state, ckpt_path)
        load_optimizer(optimizer, state, ckpt_path)
        verify_run(run_dir, state, config, data=False)  # the bytes provenance.json recorded
        start_epoch, history, seconds = state["epoch"], state["history"], state["train_seconds"]
        # checkpoints written before wall seconds were kept: count their epochs' training only
        wall = history[-1].get("wall_seconds", seconds) if history else seconds
    x_train = train_set.floats().to(device)
    x_test = test_set.floats().to(device)
    if config.binarize:
        x_test = fixed_binarization(x_test)
    n_batches, batch = batches(len(x_train), config.batch_size, torch.Generator()).shape
    step_fn = TrainStep(model, optimizer, x_train, batch, graph=graph)
    # your own data files as the run started on them (the checkpoint keeps them: resume and
    # evaluate refuse a changed file); read beside training, never part of it
    pins = state[DATA_KEY] if state is not None and DATA_KEY in state else data_pins(config)
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
                _check_finite(first_bad, epoch, run_dir, epoch - 1, config, epoch == 1)
                bar.set_postfix(epoch=epoch, **{k: f"{v:.2f}" for k, v in
                                                zip(TERM_NAMES, values.tolist(), strict=True)})
        _check_finite(first_bad, epoch, run_dir, epoch - 1, config, epoch == 1)
        bad = nonfinite(model.state_dict())
        if bad:  # finite losses, but the last update broke a weight: do not keep it
            raise NonFiniteLossError(
                f"model parameter {bad!r} became NaN/inf in epoch {epoch} (its losses were "
                f"finite); training stopped and "
                f"{_stopped(run_dir, epoch - 1, _nan_fix(config, False))}")
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
                                    "train_seconds": seconds, "config": config.to_dict(),
                                    **({DATA_KEY: pins} if pins else {})})
        write_json(run_dir / "history.json", history)
    bar.close()

    finished = (history[-1]["epoch"] if history else 0) >= config.epochs
    write_json(run_dir / "provenance.json", {
        **collect(device), "precision": step_fn.precision, "threads": torch.get_num_threads(),
        "run": config.name, "seed": config.seed, "epochs_done":
        history[-1]["epoch"] if history else 0, "finished": finished, "train_seconds": seconds,
        "wall_seconds": wall,
        "data": {"train": train_set.source, "test": test_set.source,
                 "train_size": len(train_set), "test_size": len(test_set),
                 **({"files": pins} if pins else {})},
        # what evaluate and resume check the checkpoint's bytes against (mvae.checkpoints)
        **({"checkpoint": digest_record(ckpt_path, history[-1]["epoch"])} if history else {})})
    return TrainResult(model=model.eval(), history=history, run_dir=run_dir, finished=finished)
