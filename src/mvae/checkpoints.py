"""A run folder's checkpoint and records: reading them once, checking them, and refusing the
folders that training or evaluation must not touch.

:func:`load_run` reads a run folder once (its ``config.yaml`` parsed once, its dataset looked up
once) and returns the model with its config; :func:`open_run` returns everything it read
(:class:`LoadedRun`). Every way in (resume, evaluate, the pipeline's steps) goes through
:func:`load_checkpoint` and :func:`verify_run`:

* the checkpoint is read with ``weights_only=True`` (nothing unpickled) after its zip members
  pass their CRC check: a flipped byte is a :class:`CheckpointError`, not a silently different
  model;
* its types, shapes and values are those ``train`` writes (finite weights and moments);
* its SHA-256 is the one ``provenance.json`` recorded when training last stopped
  (``"checkpoint": {"sha256", "epoch"}``), so a checkpoint replaced by another valid one is
  refused too (runs trained before the record existed have none to compare);
* your own images (``dataset=<path>``) are the files the run started on: the first checkpoint
  pins each data file's SHA-256 (``"data_sha256"``), and a changed, added or removed file is a
  :class:`DataChangedError` naming it with both digests. The built-in datasets are verified by
  their own hashes on every load (:mod:`mvae.data`).

:func:`refuse_unresumable` and :func:`move_aside` (``--fresh``) are the run-folder guards of
:func:`mvae.train.train`; where a path may be written at all is :mod:`mvae.guard`'s call.
None of this changes what training computes: the records are read and written beside it.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from mvae.config import Config, ConfigError, load_yaml, short_repr
from mvae.files import LOCK_NAME, refuse_link
from mvae.layout import CHECKPOINT, DONE
from mvae.model import MVAE
from mvae.provenance import write_json

CHECKPOINT_KEYS = ("model", "optimizer", "epoch", "history", "train_seconds")
#: The checkpoint key holding the SHA-256 of each of your own data files when the run started.
DATA_KEY = "data_sha256"
#: The provenance.json key recording the checkpoint's SHA-256 when training last stopped.
DIGEST_KEY = "checkpoint"


class RunMismatchError(RuntimeError):
    """A run folder already holds a run made with a different config."""


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be read or is not one of ``train``'s; the message names it."""


class RunFolderError(RuntimeError):
    """A run folder holds finished or foreign work that training there would replace."""


class DataChangedError(RuntimeError):
    """A data file of your own changed since the run started; the message names it and both
    SHA-256 digests."""


# --------------------------------------------------------------------------- the checkpoint
def sha256_file(path: Path) -> str:
    from mvae.data.integrity import sha256_file as digest

    return digest(Path(path))


def restart_advice(run_dir: Path) -> str:
    """How to start a run folder's training afresh, done.json included (so that the pipeline,
    which trusts done.json, retrains it too)."""
    return (f"retrain from scratch: rerun mvae train with --fresh (the folder's files move to "
            f"{run_dir.parent / '.replaced'}/), or move {run_dir} away (the pipeline then "
            "retrains it)")


def missing_checkpoint(path: Path) -> str:
    run_dir = path.parent
    if (run_dir / DONE).exists():
        return (f"{path} does not exist, but {run_dir} holds a finished run ({DONE}): its "
                "checkpoint was removed or never archived, so it cannot be resumed or evaluated "
                f"here; evaluate it where it was trained, or {restart_advice(run_dir)}")
    return f"{path} does not exist: the run has not finished an epoch"


def _crc_problem(path: Path) -> str | None:
    """Why a zip checkpoint's bytes are damaged (a member fails its CRC), or None. torch reads
    a zip member without checking its CRC, so one flipped byte changes a weight silently."""
    try:
        if not zipfile.is_zipfile(path):
            return None  # not torch's zip format: torch.load says what it is
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        return f"not a readable zip file: {' '.join(str(err).split())[:120]}"
    return None if bad is None else f"its member {bad} fails its CRC check: the bytes changed"


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A checkpoint's state (tensors and plain data only: ``weights_only``, nothing unpickled).

    A file whose zip members fail their CRC, a truncated file, a foreign pickle, or values that
    ``train`` never writes are a :class:`CheckpointError` naming it.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(missing_checkpoint(path))
    damage = _crc_problem(path)
    if damage:
        raise CheckpointError(f"{path} cannot be read as a checkpoint ({damage}); restore it, or "
                              f"{restart_advice(path.parent)}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(missing_checkpoint(path)) from None
    except Exception as err:  # torch raises many kinds for a damaged or foreign file
        raise CheckpointError(
            f"{path} cannot be read as a checkpoint ({' '.join(str(err).split())[:200]}); "
            f"restore it, or {restart_advice(path.parent)}") from err
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(f"{path} is not a checkpoint of mvae train (no {', '.join(missing)});"
                              f" restore it, or {restart_advice(path.parent)}")
    problem = checkpoint_problem(state)
    if problem:
        raise CheckpointError(f"{path} is damaged or was tampered with ({problem}); it cannot be "
                              f"resumed or evaluated: restore it, or {restart_advice(path.parent)}")
    return state


def nonfinite(tensors: dict[str, Any]) -> str | None:
    """The first name whose floating-point tensor holds NaN or inf."""
    for name, value in tensors.items():
        if torch.is_tensor(value) and value.is_floating_point() and not bool(
                torch.isfinite(value).all()):
            return name
    return None


def checkpoint_problem(state: dict[str, Any]) -> str | None:
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
    bad = nonfinite(model)
    if bad:
        return f"model parameter {bad!r} holds NaN/inf"
    optimizer = state["optimizer"]
    if (not isinstance(optimizer, dict) or not isinstance(optimizer.get("state"), dict)
            or not isinstance(optimizer.get("param_groups"), list)):
        return "optimizer is not an optimiser state"
    for index, moments in optimizer["state"].items():
        bad = nonfinite(moments) if isinstance(moments, dict) else "?"
        if bad:
            return f"optimizer state {bad!r} of parameter {index} holds NaN/inf"
    pins = state.get(DATA_KEY, {})
    if not isinstance(pins, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in pins.items()):
        return f"{DATA_KEY} is not a mapping of file: SHA-256"
    return None


def load_model(model: MVAE, state: dict[str, Any], path: Path) -> None:
    """``load_state_dict`` whose failure (a shape or a name that does not fit the config's
    model) is a :class:`CheckpointError` naming the file."""
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, TypeError, ValueError) as err:
        raise CheckpointError(
            f"{path} does not fit the model its config describes "
            f"({' '.join(str(err).split())[:200]}); restore it, or "
            f"{restart_advice(path.parent)}") from None


def load_optimizer(optimizer: torch.optim.Optimizer, state: dict[str, Any], path: Path) -> None:
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


# --------------------------------------------------------------------------- content records
def digest_record(path: Path, epoch: int) -> dict[str, Any]:
    """What ``provenance.json`` records of the checkpoint training leaves (``"checkpoint"``)."""
    return {"file": Path(path).name, "sha256": sha256_file(path), "epoch": int(epoch)}


def verify_digest(path: Path, state: dict[str, Any]) -> None:
    """Refuse a checkpoint whose SHA-256 is not the one ``provenance.json`` recorded for the
    same epoch. A record of another epoch is not compared: a run killed after a later epoch's
    checkpoint (and before its provenance) resumes from that checkpoint as before."""
    path = Path(path)
    try:
        record = json.loads((path.parent / "provenance.json").read_text()).get(DIGEST_KEY)
    except (OSError, ValueError, AttributeError, UnicodeDecodeError):
        return
    if not isinstance(record, dict) or record.get("epoch") != state["epoch"]:
        return
    got = sha256_file(path)
    if got != record.get("sha256"):
        raise CheckpointError(
            f"{path} is not the checkpoint training wrote at epoch {state['epoch']}: its SHA-256 "
            f"is {got}, {path.parent / 'provenance.json'} recorded {record.get('sha256')}; it "
            f"was replaced or edited, and cannot be resumed or evaluated: restore it, or "
            f"{restart_advice(path.parent)}")


def data_pins(config: Config) -> dict[str, str]:
    """``{file: SHA-256}`` of your own data files (``dataset=<path>``); {} for the built-in
    datasets, which :mod:`mvae.data` verifies by hash on every load."""
    from mvae import data as mvae_data

    if not mvae_data.is_own_images(config.dataset):
        return {}
    try:
        return dict(mvae_data.read_own_images(config.dataset).files)
    except mvae_data.OwnImagesError as err:
        raise ConfigError(" ".join(str(err).split())) from None


def verify_data(run_dir: Path, state: dict[str, Any], config: Config) -> None:
    """Refuse (:class:`DataChangedError`) when a data file pinned by the run's checkpoint is not
    the file there now: one line naming the first such file, with both digests."""
    pinned = state.get(DATA_KEY)
    if not pinned:
        return  # a built-in dataset, or a checkpoint written before the pins
    now = data_pins(config)
    for name in sorted(set(pinned) | set(now)):
        old, new = pinned.get(name), now.get(name)
        if old == new:
            continue
        if new is None:
            change = f"{name} is gone (SHA-256 {old} when the run started)"
        elif old is None:
            change = f"{name} was added since the run started (SHA-256 {new})"
        else:
            change = f"{name} changed since the run started: SHA-256 {old} then, {new} now"
        raise DataChangedError(
            f"dataset of {run_dir}: {change}; the run is trained and evaluated on the data it "
            "started with: restore that file, or train a new run on the new data (another "
            "--run-dir or name=...)")


# --------------------------------------------------------------------------- configs
def config_diff(stored: dict[str, Any], wanted: dict[str, Any]) -> str:
    """``key: stored -> wanted`` for every key that differs (the first few)."""
    keys = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
    shown = [f"{k}: {stored.get(k)!r} there, {wanted.get(k)!r} now" for k in keys[:6]]
    return "; ".join(shown) + (f"; and {len(keys) - 6} more" if len(keys) > 6 else "")


def with_defaults(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored config with the keys added to Config since it was written set to their defaults
    (a new key's default keeps the old behaviour), so old runs still resume and load. Filled in
    without validating (which would look the dataset up once more)."""
    filled = dict(stored)
    for key, field in Config.model_fields.items():
        if key not in filled:
            filled[key] = field.get_default(call_default_factory=True)
    return filled


def mismatch(run_dir: Path, what: str, stored: dict[str, Any], config: Config) -> None:
    stored, wanted = with_defaults(stored), config.to_dict()
    if stored != wanted:
        raise RunMismatchError(
            f"{what} was made with a different config ({config_diff(stored, wanted)}); use "
            f"another run folder (--run-dir, or name=...) or move {run_dir} away")


def stored_config(run_dir: Path) -> dict[str, Any] | None:
    """``config.yaml`` as a mapping, or None when it is missing or damaged (empty, not YAML)."""
    path = Path(run_dir) / "config.yaml"
    try:
        stored = load_yaml(path.read_text(), str(path))  # a key twice, an alias bomb: damaged
    except (OSError, UnicodeDecodeError, ConfigError):
        return None
    return stored if isinstance(stored, dict) else None


def write_config(run_dir: Path, config: Config) -> None:
    """``config.yaml``, atomically: a full disk leaves the old file or none, never an empty one."""
    from mvae.files import atomic_write_text

    atomic_write_text(Path(run_dir) / "config.yaml",
                      yaml.safe_dump(config.to_dict(), sort_keys=False))


def written_by_train(text: str) -> bool:
    """Whether a ``config.yaml`` text is what :func:`write_config` writes for some valid config:
    its dump, every key in the order of Config's fields (one written before a few keys were
    added lacks those), not a hand-written file of a few keys."""
    fields = list(Config.model_fields)
    try:
        stored = load_yaml(text, "config.yaml")
        if not isinstance(stored, dict) or len(stored) < len(fields) - 5 or list(stored) != [
                name for name in fields if name in stored]:
            return False
        Config.from_dict(stored)
        return text == yaml.safe_dump(stored, sort_keys=False)
    except (ConfigError, TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- run folders
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
        if text.strip() and not written_by_train(text):
            found.append("a config.yaml that mvae train did not write (someone's own config?)")
    if found:
        raise RunFolderError(
            f"{run_dir} holds {' and '.join(found)} but no {CHECKPOINT} (an archived or copied "
            "run?), and training there would replace it: train into a new folder (--run-dir or "
            f"name=...), move {run_dir} away, or rerun mvae train with --fresh to move its files "
            f"to {run_dir.parent / '.replaced'}/ and start afresh")


def move_aside(run_dir: Path) -> Path | None:
    """Move everything in ``run_dir`` but its lock to ``<parent>/.replaced/<name>-<time>/``
    (``--fresh``); the folder where they went, or None when there was nothing. Where that may
    happen at all (never in an archive) is :mod:`mvae.guard`'s call, made by the caller."""
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


def restore_records(run_dir: Path, config: Config, history: list[dict[str, Any]]) -> None:
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
                 map_location: str | torch.device = "cpu",
                 stored: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The checkpoint to resume ``config`` from, or None when nothing has trained in ``run_dir``.

    Only a checkpoint means "trained": a ``config.yaml`` without one is what an attempt that never
    finished an epoch left (a typo, a failed data load, a NaN), and it is replaced. A checkpoint is
    resumed only if the config it records and ``config.yaml`` (when readable; ``stored`` when the
    caller has read it already) equal ``config``, so a checkpoint copied from another run is
    refused, not reported as this run.
    """
    run_dir = Path(run_dir)
    ckpt_path = run_dir / CHECKPOINT
    if not ckpt_path.exists():
        return None
    state = load_checkpoint(ckpt_path, map_location)
    if not isinstance(state.get("config"), dict):
        raise CheckpointError(f"{ckpt_path} records no config, so it cannot be matched to this "
                              f"run; move it away to start afresh")
    mismatch(run_dir, f"the checkpoint {ckpt_path}", state["config"], config)
    stored = stored if stored is not None else stored_config(run_dir)
    if stored is not None:
        mismatch(run_dir, f"the run in {run_dir} (config.yaml)", stored, config)
    return state


def verify_run(run_dir: Path, state: dict[str, Any], config: Config, *, digest: bool = True,
               data: bool = True) -> None:
    """The checks beyond a checkpoint's structure: its SHA-256 against the record (made once
    its weights have loaded, so that a shape or value problem is named as such first), and your
    own data files against the pins (before a resumed run loads its data)."""
    if digest:
        verify_digest(Path(run_dir) / CHECKPOINT, state)
    if data:
        verify_data(Path(run_dir), state, config)


# --------------------------------------------------------------------------- loading a run
@dataclass
class LoadedRun:
    """A run folder read once: its config, checkpoint state and model (eval mode)."""

    run_dir: Path
    config: Config
    state: dict[str, Any]
    model: MVAE

    @property
    def epochs_done(self) -> int:
        return int(self.state["epoch"])


def open_run(run_dir: str | Path, device: str | torch.device = "cpu") -> LoadedRun:
    """Read ``run_dir`` once: ``config.yaml`` (parsed once, its dataset looked up once), the
    checkpoint (which must be this run's: its recorded config equals ``config.yaml``, its bytes
    are the ones recorded, your own data files are the ones it started on) and the model."""
    run_dir = Path(run_dir)
    stored = stored_config(run_dir)
    if stored is None:
        raise CheckpointError(f"{run_dir / 'config.yaml'} is missing or not a YAML mapping; "
                              "train the run (again) to write it")
    config = Config.from_dict(stored)
    state = resume_state(run_dir, config, stored=stored)
    if state is None:
        raise CheckpointError(missing_checkpoint(run_dir / CHECKPOINT))
    model = MVAE(config)
    load_model(model, state, run_dir / CHECKPOINT)
    verify_run(run_dir, state, config)
    return LoadedRun(run_dir=run_dir, config=config, state=state, model=model.to(device).eval())


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> tuple[MVAE, Config]:
    """Rebuild a trained model from its run folder (eval mode), with its config
    (:func:`open_run`)."""
    run = open_run(run_dir, device)
    return run.model, run.config
