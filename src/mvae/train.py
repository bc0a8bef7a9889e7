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
* resume damage: a checkpoint of the wrong types or shapes, or with NaN/inf weights, is a
  :class:`CheckpointError` naming it (never "the last good checkpoint"), and a damaged
  ``config.yaml`` or ``history.json`` of a resumed run is rewritten from the checkpoint. Temp files
  a killed writer left (``checkpoint.pt.<pid>.<hex>.tmp``) are removed when training starts.

Determinism: every epoch reseeds the global RNG and the shuffling generator from (seed, epoch).
An interrupted run that is started again resumes at the last finished epoch and, on the CPU, ends
in exactly the state an uninterrupted run reaches.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from tqdm import tqdm

from mvae import data as mvae_data
from mvae.config import Config, ConfigError, load_yaml, short_repr
from mvae.fast import TrainStep, make_optimizer
from mvae.files import (
    LOCK_NAME,
    atomic_write,
    atomic_write_text,
    refuse_link,
    remove_temporaries,
    run_lock,
)
from mvae.layout import CHECKPOINT, DONE, RUN_RECORDS
from mvae.likelihood import fixed_binarization
from mvae.model import MVAE
from mvae.objective import TERMS, dhsic_weight, mixture_loss
from mvae.provenance import collect, write_json

CHECKPOINT_KEYS = ("model", "optimizer", "epoch", "history", "train_seconds")
TERM_NAMES = ("loss", *TERMS)
#: Below this, a Gaussian likelihood's 1/(2 std^2) overflows float32 training in a few steps.
SMALLEST_GAUSSIAN_STD = 1e-3


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or inf; the message names it and the checkpoint that was kept."""


class RunMismatchError(RuntimeError):
    """A run folder already holds a run made with a different config."""


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be read or is not one of ``train``'s; the message names it."""


class RunFolderError(RuntimeError):
    """A run folder holds finished or foreign work that training there would replace."""


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


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A checkpoint's state (tensors and plain data only: ``weights_only``, nothing unpickled).

    Anything else (a truncated file, a foreign pickle) is a :class:`CheckpointError` naming it.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(_missing_checkpoint(path)) from None
    except Exception as err:  # torch raises many kinds for a damaged or foreign file
        raise CheckpointError(
            f"{path} cannot be read as a checkpoint ({' '.join(str(err).split())[:200]}); "
            f"restore it, or {restart_advice(path.parent)}") from err
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(f"{path} is not a checkpoint of mvae train (no {', '.join(missing)});"
                              f" restore it, or {restart_advice(path.parent)}")
    problem = _checkpoint_problem(state)
    if problem:
        raise CheckpointError(f"{path} is damaged or was tampered with ({problem}); it cannot be "
                              f"resumed or evaluated: restore it, or {restart_advice(path.parent)}")
    return state


def restart_advice(run_dir: Path) -> str:
    """How to start a run folder's training afresh, done.json included (so that the pipeline,
    which trusts done.json, retrains it too)."""
    return (f"retrain from scratch: rerun mvae train with --fresh (the folder's files move to "
            f"{run_dir.parent / '.replaced'}/), or move {run_dir} away (the pipeline then "
            "retrains it)")


def _missing_checkpoint(path: Path) -> str:
    run_dir = path.parent
    if (run_dir / DONE).exists():
        return (f"{path} does not exist, but {run_dir} holds a finished run ({DONE}): its "
                "checkpoint was removed or never archived, so it cannot be resumed or evaluated "
                f"here; evaluate it where it was trained, or {restart_advice(run_dir)}")
    return f"{path} does not exist: the run has not finished an epoch"


def _nonfinite(tensors: dict[str, Any]) -> str | None:
    """The first name whose floating-point tensor holds NaN or inf."""
    for name, value in tensors.items():
        if torch.is_tensor(value) and value.is_floating_point() and not bool(
                torch.isfinite(value).all()):
            return name
    return None


def _checkpoint_problem(state: dict[str, Any]) -> str | None:
    """What is wrong with a loaded checkpoint's values, or None: the types ``train`` writes, and
    finite weights and optimiser moments (a NaN checkpoint is not a state to resume)."""
    epoch, history, seconds = state["epoch"], state["history"], state["train_seconds"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        return f"epoch is {short_repr(epoch)}, not an epoch number"
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        return "history is not a list of epoch records"
    if len(history) != epoch:
        return f"epoch is {epoch} but the history holds {len(history)} epochs"
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(
            seconds) or seconds < 0:
        return f"train_seconds is {short_repr(seconds)}"
    model = state["model"]
    if not isinstance(model, dict) or not all(torch.is_tensor(v) for v in model.values()):
        return "model is not a mapping of tensors"
    bad = _nonfinite(model)
    if bad:
        return f"model parameter {bad!r} holds NaN/inf"
    optimizer = state["optimizer"]
    if (not isinstance(optimizer, dict) or not isinstance(optimizer.get("state"), dict)
            or not isinstance(optimizer.get("param_groups"), list)):
        return "optimizer is not an optimiser state"
    for index, moments in optimizer["state"].items():
        bad = _nonfinite(moments) if isinstance(moments, dict) else "?"
        if bad:
            return f"optimizer state {bad!r} of parameter {index} holds NaN/inf"
    return None


def _load_model(model: MVAE, state: dict[str, Any], path: Path) -> None:
    """``load_state_dict`` whose failure (a shape or a name that does not fit the config's
    model) is a :class:`CheckpointError` naming the file."""
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, TypeError, ValueError) as err:
        raise CheckpointError(
            f"{path} does not fit the model its config describes "
            f"({' '.join(str(err).split())[:200]}); restore it, or "
            f"{restart_advice(path.parent)}") from None


def _load_optimizer(optimizer: torch.optim.Optimizer, state: dict[str, Any], path: Path) -> None:
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, KeyError, TypeError, ValueError, IndexError) as err:
        raise CheckpointError(
            f"{path} holds an optimiser state that does not fit the model "
            f"({' '.join(str(err).split())[:200]}); restore it, or "
            f"{restart_advice(path.parent)}") from None
    for group in optimizer.param_groups:
        for param in group["params"]:
            for key, value in optimizer.state.get(param, {}).items():
                moment = key.startswith(("exp_avg", "max_exp_avg"))  # Adam's, param-shaped
                if moment and torch.is_tensor(value) and value.shape != param.shape:
                    raise CheckpointError(
                        f"{path} holds an optimiser state that does not fit the model ({key} of "
                        f"shape {tuple(value.shape)} for a parameter of shape "
                        f"{tuple(param.shape)}); restore it, or {restart_advice(path.parent)}")


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
    path = run_dir / "config.yaml"
    try:
        stored = load_yaml(path.read_text(), str(path))  # a key twice, an alias bomb: damaged
    except (OSError, UnicodeDecodeError, ConfigError):
        return None
    return stored if isinstance(stored, dict) else None


def _written_by_train(text: str) -> bool:
    """Whether a ``config.yaml`` text is what :func:`write_config` writes for some valid config:
    its dump, every key in the order of Config's fields (one written before a few keys were
    added lacks those), not a hand-written file of a few keys."""
    fields = [f.name for f in dataclasses.fields(Config)]
    try:
        stored = load_yaml(text, "config.yaml")
        if not isinstance(stored, dict) or len(stored) < len(fields) - 5 or list(stored) != [
                name for name in fields if name in stored]:
            return False
        Config.from_dict(stored)
        return text == yaml.safe_dump(stored, sort_keys=False)
    except (ConfigError, TypeError, ValueError):
        return False


def _epochs_in(path: Path, key: str | None) -> str:
    """``N epochs`` from a JSON record (a list of epochs, or a mapping's ``key``), else
    ``unreadable``."""
    try:
        record = json.loads(path.read_text())
        count = len(record) if key is None else int(record[key])
        return f"{count} epochs"
    except (OSError, ValueError, TypeError, KeyError, UnicodeDecodeError):
        return "unreadable"


def refuse_unresumable(run_dir: Path) -> None:
    """Refuse (:class:`RunFolderError`) a folder without a checkpoint that holds work training
    would replace: a finished run (done.json), a history or provenance record, or a config.yaml
    that :func:`write_config` did not write. An empty folder, and what a first attempt that
    never finished an epoch leaves (its own config.yaml, or an empty one), pass."""
    run_dir = Path(run_dir)
    if (run_dir / CHECKPOINT).exists():
        return  # resume_state matches it to the config
    found = []
    if (run_dir / DONE).exists():
        found.append(f"a finished run ({DONE}: {_epochs_in(run_dir / DONE, 'epochs')})")
    if (run_dir / "history.json").exists():
        found.append(f"a training history (history.json: "
                     f"{_epochs_in(run_dir / 'history.json', None)})")
    if (run_dir / "provenance.json").exists():
        found.append("a provenance.json")
    config_path = run_dir / "config.yaml"
    if config_path.exists() and not found:
        try:
            text = config_path.read_text()
        except (OSError, UnicodeDecodeError):
            text = "?"
        if text.strip() and not _written_by_train(text):
            found.append("a config.yaml that mvae train did not write (someone's own config?)")
    if found:
        raise RunFolderError(
            f"{run_dir} holds {' and '.join(found)} but no {CHECKPOINT} (an archived or copied "
            "run?), and training there would replace it: train into a new folder (--run-dir or "
            f"name=...), move {run_dir} away, or rerun mvae train with --fresh to move its files "
            f"to {run_dir.parent / '.replaced'}/ and start afresh")


def move_aside(run_dir: Path) -> Path | None:
    """Move everything in ``run_dir`` but its lock to ``<parent>/.replaced/<name>-<time>/``
    (``--fresh``); the folder where they went, or None when there was nothing."""
    entries = [e for e in sorted(run_dir.iterdir()) if e.name != LOCK_NAME]
    if not entries:
        return None
    refuse_link(run_dir.parent / ".replaced", "move files")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = run_dir.parent / ".replaced" / f"{run_dir.name}-{stamp}"
    for n in range(1, 1000):
        if not aside.exists():
            break
        aside = run_dir.parent / ".replaced" / f"{run_dir.name}-{stamp}-{n}"
    aside.mkdir(parents=True)
    for entry in entries:
        os.replace(entry, aside / entry.name)  # a link is moved as a link, never followed
    print(f"mvae: --fresh: moved {len(entries)} entries of {run_dir} to {aside}", file=sys.stderr)
    return aside


def _restore_records(run_dir: Path, config: Config, history: list[dict[str, Any]]) -> None:
    """A resumed run's config.yaml and history.json as its checkpoint says, where they are
    missing or damaged (a truncated history.json stayed so after a finished run's rerun)."""
    if stored_config(run_dir) is None:
        write_config(run_dir, config)
    try:
        intact = json.loads((run_dir / "history.json").read_text()) == history
    except (OSError, ValueError, UnicodeDecodeError):
        intact = False
    if not intact:
        write_json(run_dir / "history.json", history)


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
        raise CheckpointError(_missing_checkpoint(run_dir / CHECKPOINT))
    model = MVAE(config)
    _load_model(model, state, run_dir / CHECKPOINT)
    return model.to(device).eval(), config


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
        _restore_records(run_dir, config, state["history"])
        if state["epoch"] >= stop and (run_dir / "provenance.json").is_file():
            # nothing to train: no data to load, and the record of who trained it stays
            model = MVAE(config).to(device)
            _load_model(model, state, ckpt_path)
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
        _load_model(model, state, ckpt_path)
        _load_optimizer(optimizer, state, ckpt_path)
        start_epoch, history, seconds = state["epoch"], state["history"], state["train_seconds"]
        # checkpoints written before wall seconds were kept: count their epochs' training only
        wall = history[-1].get("wall_seconds", seconds) if history else seconds
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
                _check_finite(first_bad, epoch, run_dir, epoch - 1, config, epoch == 1)
                bar.set_postfix(epoch=epoch, **{k: f"{v:.2f}" for k, v in
                                                zip(TERM_NAMES, values.tolist(), strict=True)})
        _check_finite(first_bad, epoch, run_dir, epoch - 1, config, epoch == 1)
        bad = _nonfinite(model.state_dict())
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
