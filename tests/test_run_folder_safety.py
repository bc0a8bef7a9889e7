"""`mvae train` refuses, rather than overwrites, finished or foreign work; damaged checkpoints
and records lead somewhere; NaN messages blame the right setting."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import pytest
import torch

from mvae import Config, NonFiniteLossError, load_run, train
from mvae.cli import main
from mvae.train import CheckpointError, RunFolderError, load_checkpoint

train_module = importlib.import_module("mvae.train")
ROOT = Path(__file__).resolve().parents[1]
ARCHIVED = ROOT / "results" / "paper" / "runs" / "mnist-k1-s0"  # committed: no checkpoint
TINY = dict(components=3, latent_dim=4, hidden_dim=32, batch_size=32, device="cpu", lr=2e-3)
TINY_ARGS = [f"{k}={v}" for k, v in TINY.items()]


@pytest.fixture
def blob_data(monkeypatch, blobs):
    monkeypatch.setattr(train_module, "load_split",
                        lambda config, split: blobs[0] if split == "train" else blobs[1])


def _one_line(capsys, *parts: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if not line.startswith("mvae: --fresh")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in err, err
    return err


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()
            and p.name != ".lock"}


def test_training_into_a_copy_of_an_archived_run_is_refused(tmp_path, capsys, blob_data) -> None:
    """Before: exit 0, the 100-epoch history.json replaced by 1 epoch, done.json left saying
    100."""
    run = tmp_path / "mnist-k1-s0"
    shutil.copytree(ARCHIVED, run)
    before = _files(run)
    assert main(["train", "--run-dir", str(run), "--quiet", "epochs=1", *TINY_ARGS]) == 1
    _one_line(capsys, f"{run} holds a finished run (done.json: 100 epochs)",
              "history.json: 100 epochs", "--fresh")
    assert _files(run) == before
    # the explicit way on: --fresh moves the archived files aside and trains
    assert main(["train", "--run-dir", str(run), "--quiet", "--fresh", "epochs=1",
                 *TINY_ARGS]) == 0
    (aside,) = (tmp_path / ".replaced").iterdir()
    assert _files(aside) == before
    assert not (run / "done.json").exists() and len(json.loads(
        (run / "history.json").read_text())) == 1


def test_a_users_own_config_and_history_are_not_replaced(tmp_path, blobs) -> None:
    """Before: both were replaced without a word."""
    run = tmp_path / "mine"
    run.mkdir()
    (run / "config.yaml").write_text("lr: 0.1  # my notes\n")
    (run / "history.json").write_text('[{"epoch": 1, "mine": true}]')
    before = _files(run)
    with pytest.raises(RunFolderError, match=r"history.json: 1 epochs\) but no checkpoint.pt"):
        train(Config(epochs=1, **TINY), run, progress=False, datasets=blobs)
    (run / "history.json").unlink()
    with pytest.raises(RunFolderError, match="config.yaml that mvae train did not write"):
        train(Config(epochs=1, **TINY), run, progress=False, datasets=blobs)
    assert _files(run) == {"config.yaml": before["config.yaml"]}


def test_a_truncated_history_of_a_finished_run_is_restored(tmp_path, blobs) -> None:
    """Before: config.yaml was restored from the checkpoint, history.json stayed truncated."""
    config = Config(epochs=2, **TINY)
    result = train(config, tmp_path / "run", progress=False, datasets=blobs)
    history = tmp_path / "run" / "history.json"
    provenance = (tmp_path / "run" / "provenance.json").read_bytes()
    history.write_text(history.read_text()[:40])
    (tmp_path / "run" / "config.yaml").write_text("")
    again = train(config, tmp_path / "run", progress=False, datasets=blobs)
    assert again.finished and json.loads(history.read_text()) == result.history
    assert load_run(tmp_path / "run")[1] == config
    # a rerun that trains nothing keeps the record of the machine that trained it
    assert (tmp_path / "run" / "provenance.json").read_bytes() == provenance


def test_a_corrupt_checkpoint_of_a_finished_run_leads_to_a_retrain(tmp_path, blobs) -> None:
    """Before: the advice (move the checkpoint away) led to 'has not finished an epoch', and
    done.json, left in place, kept the pipeline from ever retraining the run."""
    config = Config(epochs=1, **TINY)
    run = tmp_path / "run"
    train(config, run, progress=False, datasets=blobs)
    (run / "done.json").write_text('{"epochs": 1}')
    ckpt = run / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:500])
    for attempt in (lambda: train(config, run, progress=False, datasets=blobs),
                    lambda: load_run(run)):
        with pytest.raises(CheckpointError, match=f"{ckpt} cannot be read.*--fresh.*move {run} "
                                                  "away"):
            attempt()
    ckpt.unlink()  # what the old advice said to do
    with pytest.raises(CheckpointError) as err:
        load_run(run)
    assert "has not finished an epoch" not in str(err.value)
    assert "holds a finished run (done.json)" in str(err.value) and "--fresh" in str(err.value)
    with pytest.raises(RunFolderError, match="holds a finished run"):
        train(config, run, progress=False, datasets=blobs)
    result = train(config, run, progress=False, datasets=blobs, fresh=True)  # the advice
    assert result.finished and load_run(run)[1] == config
    assert not (run / "done.json").exists()  # so the pipeline retrains and re-evaluates it


@pytest.mark.parametrize(("tamper", "message"), [
    (lambda s: s["model"].update({next(iter(s["model"])): torch.zeros(3, 3)}),
     "does not fit the model its config describes"),
    (lambda s: s.update(epoch="1"), "epoch is '1', not an epoch number"),
    (lambda s: s.update(history=s["history"] * 2), "epoch is 1 but the history holds 2"),
    (lambda s: s["optimizer"]["state"][0].update(
        exp_avg=torch.zeros_like(s["optimizer"]["state"][0]["exp_avg"]).flatten()[:3]),
     "optimiser state that does not fit the model"),
])
def test_a_tampered_checkpoint_is_one_line_naming_it(tmp_path, blobs, capsys, tamper,
                                                     message) -> None:
    """Before: a shape mismatch was a traceback from load_state_dict naming no file, a string
    epoch a TypeError in range()."""
    config = Config(epochs=2, **TINY)
    train(config, tmp_path / "run", progress=False, datasets=blobs, until_epoch=1)
    ckpt = tmp_path / "run" / "checkpoint.pt"
    state = torch.load(ckpt, weights_only=True)
    tamper(state)
    torch.save(state, ckpt)
    with pytest.raises(CheckpointError, match=message) as err:
        train(config, tmp_path / "run", progress=False, datasets=blobs)
    assert str(ckpt) in str(err.value)


def test_a_nan_checkpoint_is_not_resumed_as_the_last_good_one(tmp_path, blobs) -> None:
    config = Config(epochs=2, **TINY)
    train(config, tmp_path / "run", progress=False, datasets=blobs, until_epoch=1)
    ckpt = tmp_path / "run" / "checkpoint.pt"
    state = torch.load(ckpt, weights_only=True)
    name = next(iter(state["model"]))
    state["model"][name] = state["model"][name] * float("nan")
    torch.save(state, ckpt)
    with pytest.raises(CheckpointError, match=f"model parameter '{name}' holds NaN/inf") as err:
        train(config, tmp_path / "run", progress=False, datasets=blobs)
    assert "last good" not in str(err.value)
    with pytest.raises(CheckpointError, match="holds NaN/inf"):
        load_run(tmp_path / "run")  # nor evaluated


def test_a_tiny_gaussian_std_is_blamed_not_the_learning_rate(tmp_path, blobs) -> None:
    config = Config(epochs=1, likelihood="gaussian", gaussian_std=1e-30, **TINY)
    with pytest.raises(NonFiniteLossError) as err:
        train(config, tmp_path / "run", progress=False, datasets=blobs)
    message = str(err.value)
    assert "gaussian_std=1e-30" in message and "gaussian_std of at least" in message
    assert "lr below" not in message


def test_leftover_temp_files_are_cleaned(tmp_path, blobs) -> None:
    config = Config(epochs=2, **TINY)
    run = tmp_path / "run"
    train(config, run, progress=False, datasets=blobs, until_epoch=1)
    left = [run / "checkpoint.pt.12345.0badc0de.tmp", run / "history.json.99.abcdef01.tmp"]
    for path in left:
        path.write_bytes(b"half a file from a kill -9")
    theirs = run / "notes.txt.12345.0badc0de.tmp"  # not a temp file of train's
    theirs.write_text("mine")
    assert train(config, run, progress=False, datasets=blobs).finished
    assert not any(p.exists() for p in left) and theirs.read_text() == "mine"
    assert load_checkpoint(run / "checkpoint.pt")["epoch"] == 2
