"""Training lowers the loss; checkpoints round-trip; an interrupted run resumes exactly; `mvae
train` refuses, rather than overwrites, finished or foreign work, damaged checkpoints and records
lead somewhere, and NaN messages blame the right setting."""

from __future__ import annotations

import errno
import importlib
import json
import os
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from mvae import Config, ConfigError, NonFiniteLossError, load_run, train
from mvae import fast as fast_module
from mvae.cli import main
from mvae.files import RunLockedError, WriteError, run_lock
from mvae.train import CheckpointError, RunFolderError, RunMismatchError, load_checkpoint

train_module = importlib.import_module("mvae.train")  # mvae.train is also the function's name
TINY = dict(components=3, latent_dim=4, hidden_dim=32, batch_size=32, device="cpu", lr=2e-3)


def _state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_short_training_lowers_the_loss(tmp_path, blobs) -> None:
    result = train(Config(epochs=6, **TINY), tmp_path / "run", progress=False, datasets=blobs)
    losses = [h["train"]["loss"] for h in result.history]
    assert losses[-1] < 0.9 * losses[0], losses
    assert result.history[-1]["test"]["loss"] < result.history[0]["test"]["loss"]
    assert result.finished
    for name in ("config.yaml", "checkpoint.pt", "history.json", "provenance.json"):
        assert (tmp_path / "run" / name).exists(), name
    prov = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert prov["seed"] == 0 and prov["data"]["train_size"] == 256 and "git" in prov


@pytest.mark.slow
def test_a_dhsic_warmup_trains_each_epoch_at_its_ramped_weight(tmp_path, blobs) -> None:
    """beta = 100 over a 2-epoch warm-up: epochs train at 0, 50, 100. Epoch 1 must equal a
    beta = 0 epoch exactly, and every epoch's loss must add dHSIC at that epoch's weight."""
    warm = Config(epochs=3, beta=100.0, beta_warmup=2, **TINY)
    first = train(warm, tmp_path / "warm", progress=False, datasets=blobs, until_epoch=1)
    at_zero = train(warm.replace(beta=0.0, beta_warmup=0), tmp_path / "zero", progress=False,
                    datasets=blobs, until_epoch=1)
    at_full = train(warm.replace(beta_warmup=0), tmp_path / "full", progress=False,
                    datasets=blobs, until_epoch=1)
    assert _state_equal(first.model.state_dict(), at_zero.model.state_dict())
    assert not _state_equal(at_full.model.state_dict(), at_zero.model.state_dict())  # it matters
    done = train(warm, tmp_path / "warm", progress=False, datasets=blobs)  # resumes the ramp
    assert [h["beta"] for h in done.history] == [0.0, 50.0, 100.0]
    for h in done.history:  # train and test losses both weigh dHSIC at the epoch's beta
        for t in (h["train"], h["test"]):
            assert t["loss"] == pytest.approx(t["reconstruction"] + t["kl_gauss"]
                                              + t["kl_dirichlet"] + h["beta"] * t["dhsic"],
                                              rel=1e-5)
    assert "beta" not in at_full.history[0]  # a constant weight is the config's


def test_checkpoint_round_trip(tmp_path, blobs) -> None:
    result = train(Config(epochs=1, **TINY), tmp_path / "run", progress=False, datasets=blobs)
    model, config = load_run(tmp_path / "run")
    assert config == result.model.config
    assert _state_equal(model.state_dict(), result.model.state_dict())
    x = blobs[1].floats()[:8]
    torch.testing.assert_close(model.reconstruct(x), result.model.reconstruct(x))


@pytest.mark.slow
def test_resume_after_interrupt_gives_identical_parameters(tmp_path, blobs) -> None:
    config = Config(epochs=3, **TINY)
    straight = train(config, tmp_path / "a", progress=False, datasets=blobs)
    first = train(config, tmp_path / "b", progress=False, datasets=blobs, until_epoch=1)
    assert not first.finished and len(first.history) == 1
    resumed = train(config, tmp_path / "b", progress=False, datasets=blobs)
    assert resumed.finished
    assert _state_equal(straight.model.state_dict(), resumed.model.state_dict())
    assert straight.history[-1]["train"] == resumed.history[-1]["train"]
    # wall seconds (training + test loss) add up across the resume, and never fall below the
    # training seconds they include
    walls = [h["wall_seconds"] for h in resumed.history]
    assert walls == sorted(walls) and walls[0] == first.history[0]["wall_seconds"]
    assert all(h["wall_seconds"] >= h["seconds"] > 0 for h in resumed.history)
    prov = json.loads((tmp_path / "b" / "provenance.json").read_text())
    assert prov["wall_seconds"] == walls[-1] and prov["train_seconds"] < walls[-1]
    opt_a = load_checkpoint(tmp_path / "a" / "checkpoint.pt")["optimizer"]["state"]
    opt_b = load_checkpoint(tmp_path / "b" / "checkpoint.pt")["optimizer"]["state"]
    assert all(torch.equal(opt_a[k]["exp_avg"], opt_b[k]["exp_avg"]) for k in opt_a)


def test_rerunning_a_finished_run_is_a_no_op(tmp_path, blobs) -> None:
    config = Config(epochs=1, **TINY)
    train(config, tmp_path / "run", progress=False, datasets=blobs)
    mtime = (tmp_path / "run" / "checkpoint.pt").stat().st_mtime_ns
    again = train(config, tmp_path / "run", progress=False, datasets=blobs)
    assert again.finished and (tmp_path / "run" / "checkpoint.pt").stat().st_mtime_ns == mtime


def test_a_different_config_in_the_same_folder_is_refused(tmp_path, blobs) -> None:
    train(Config(epochs=1, **TINY), tmp_path / "run", progress=False, datasets=blobs)
    with pytest.raises(RunMismatchError, match="lr"):
        train(Config(epochs=1, **{**TINY, "lr": 1e-2}), tmp_path / "run", progress=False,
              datasets=blobs)


def test_nan_stops_the_run_naming_the_term_and_keeps_the_checkpoint(tmp_path, blobs,
                                                                    monkeypatch) -> None:
    real = fast_module.mixture_loss
    calls = {"n": 0}

    def poisoned(out, x, config):
        terms = real(out, x, config)
        calls["n"] += 1
        if calls["n"] > 2:  # the resumed run starts at epoch 2: poison its third step
            terms.kl_gauss = terms.kl_gauss * float("nan")
            terms.loss = terms.loss + terms.kl_gauss
        return terms

    config = Config(epochs=3, **TINY)
    train(config, tmp_path / "run", progress=False, datasets=blobs, until_epoch=1)
    good = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    monkeypatch.setattr(fast_module, "mixture_loss", poisoned)
    with pytest.raises(NonFiniteLossError, match="'kl_gauss'.*epoch 2.*epoch 1"):
        train(config, tmp_path / "run", progress=False, datasets=blobs)
    kept = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert kept["epoch"] == 1 and _state_equal(kept["model"], good["model"])


# --------------------------------------------------------------------------- issue 11: run folders
def test_a_failed_first_attempt_does_not_lock_the_folder(tmp_path, blobs, monkeypatch) -> None:
    def no_data(config, split):
        raise ValueError("the data could not be loaded")

    monkeypatch.setattr(train_module, "load_split", no_data)
    with pytest.raises(ValueError, match="could not be loaded"):
        train(Config(epochs=1, **TINY), tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "config.yaml").exists()
    fixed = Config(epochs=1, **{**TINY, "lr": 1e-3})
    assert train(fixed, tmp_path / "run", progress=False, datasets=blobs).finished
    assert load_run(tmp_path / "run")[1] == fixed


@pytest.mark.slow
def test_after_a_nan_in_epoch_1_a_smaller_lr_is_accepted(tmp_path, blobs, monkeypatch) -> None:
    real = fast_module.mixture_loss
    calls = {"n": 0}

    def poisoned(out, x, config):  # from the second step: after an update, the lr may be it
        terms = real(out, x, config)
        calls["n"] += 1
        if calls["n"] > 1:
            terms.loss = terms.loss * float("nan")
        return terms

    monkeypatch.setattr(fast_module, "mixture_loss", poisoned)
    with pytest.raises(NonFiniteLossError, match="accepts a changed config: rerun with an lr"):
        train(Config(epochs=1, **TINY), tmp_path / "run", progress=False, datasets=blobs)
    monkeypatch.setattr(fast_module, "mixture_loss", real)
    smaller = Config(epochs=1, **{**TINY, "lr": 1e-4})
    assert train(smaller, tmp_path / "run", progress=False, datasets=blobs).finished


def test_an_empty_config_yaml_is_replaced_or_restored(tmp_path, blobs) -> None:
    """A full disk once left config.yaml empty, and the rerun crashed on it (TypeError)."""
    config = Config(epochs=2, **TINY)
    (tmp_path / "fresh").mkdir()
    (tmp_path / "fresh" / "config.yaml").write_text("")
    assert train(config, tmp_path / "fresh", progress=False, datasets=blobs).finished
    train(config, tmp_path / "run", progress=False, datasets=blobs, until_epoch=1)
    (tmp_path / "run" / "config.yaml").write_text("")
    resumed = train(config, tmp_path / "run", progress=False, datasets=blobs)
    assert resumed.finished and len(resumed.history) == 2
    assert load_run(tmp_path / "run")[1] == config


def test_a_foreign_checkpoint_is_refused(tmp_path, blobs) -> None:
    ours, theirs = Config(epochs=2, **TINY), Config(epochs=2, **{**TINY, "lr": 1e-2})
    train(theirs, tmp_path / "theirs", progress=False, datasets=blobs)
    train(ours, tmp_path / "ours", progress=False, datasets=blobs, until_epoch=1)
    shutil.copy(tmp_path / "theirs" / "checkpoint.pt", tmp_path / "ours" / "checkpoint.pt")
    with pytest.raises(RunMismatchError, match=r"checkpoint .*ours/checkpoint.pt was made with a "
                                               r"different config \(lr: 0.01 there, 0.002 now"):
        train(ours, tmp_path / "ours", progress=False, datasets=blobs)
    with pytest.raises(RunMismatchError, match="lr"):
        load_run(tmp_path / "ours")
    (tmp_path / "copy").mkdir()  # a checkpoint alone, without config.yaml
    shutil.copy(tmp_path / "theirs" / "checkpoint.pt", tmp_path / "copy" / "checkpoint.pt")
    with pytest.raises(RunMismatchError, match="lr"):
        train(ours, tmp_path / "copy", progress=False, datasets=blobs)


def test_a_run_from_before_a_new_config_key_still_resumes_and_loads(tmp_path, blobs) -> None:
    """A checkpoint and config.yaml written before a key existed (here: binarize) hold no value
    for it; the key's default stands in, so the run resumes instead of being called foreign."""
    config = Config(epochs=2, **TINY)
    train(config, tmp_path / "run", progress=False, datasets=blobs, until_epoch=1)
    ckpt = tmp_path / "run" / "checkpoint.pt"
    state = torch.load(ckpt, weights_only=True)
    del state["config"]["binarize"]
    torch.save(state, ckpt)
    stored = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    del stored["binarize"]
    (tmp_path / "run" / "config.yaml").write_text(yaml.safe_dump(stored))
    # nor did such a run record its checkpoint's SHA-256 (mvae.checkpoints)
    provenance = json.loads((tmp_path / "run" / "provenance.json").read_text())
    del provenance["checkpoint"]
    (tmp_path / "run" / "provenance.json").write_text(json.dumps(provenance))
    load_run(tmp_path / "run")
    assert train(config, tmp_path / "run", progress=False, datasets=blobs).finished


def test_a_damaged_or_foreign_checkpoint_is_named(tmp_path, blobs) -> None:
    config = Config(epochs=2, **TINY)
    train(config, tmp_path / "run", progress=False, datasets=blobs, until_epoch=1)
    ckpt = tmp_path / "run" / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=f"{ckpt} cannot be read as a checkpoint"):
        train(config, tmp_path / "run", progress=False, datasets=blobs)
    torch.save({"weights": torch.zeros(2)}, ckpt)
    with pytest.raises(CheckpointError, match="not a checkpoint of mvae train .no model"):
        train(config, tmp_path / "run", progress=False, datasets=blobs)


def test_a_run_folder_in_use_is_refused_naming_the_holder(tmp_path, blobs) -> None:
    (tmp_path / "run").mkdir()
    with run_lock(tmp_path / "run"), pytest.raises(RunLockedError, match=f"process {os.getpid()}"):
        train(Config(epochs=1, **TINY), tmp_path / "run", progress=False, datasets=blobs)
    assert not (tmp_path / "run" / "config.yaml").exists()


def test_disk_full_during_a_checkpoint_keeps_the_last_one(tmp_path, blobs, monkeypatch) -> None:
    config = Config(epochs=2, **TINY)
    train(config, tmp_path / "run", progress=False, datasets=blobs, until_epoch=1)
    ckpt = tmp_path / "run" / "checkpoint.pt"
    before = ckpt.read_bytes()
    real_save = torch.save

    def full(obj, fh, *args, **kwargs):
        fh.write(b"PK\x03\x04 half a zip")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(WriteError, match=f"could not write {ckpt} .no space left on device"):
        train(config, tmp_path / "run", progress=False, datasets=blobs)
    assert ckpt.read_bytes() == before
    assert not [p for p in (tmp_path / "run").iterdir() if "tmp" in p.name]
    monkeypatch.setattr(torch, "save", real_save)
    assert train(config, tmp_path / "run", progress=False, datasets=blobs).finished


def test_until_epoch_below_1_is_an_error(tmp_path, blobs) -> None:
    with pytest.raises(ValueError, match="until_epoch must be an epoch number >= 1, got -5"):
        train(Config(epochs=1, **TINY), tmp_path / "run", progress=False, datasets=blobs,
              until_epoch=-5)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_a_gpu_is_a_config_error(tmp_path, blobs) -> None:
    with pytest.raises(ConfigError, match="device=cuda .* use device=auto or device=cpu"):
        train(Config(epochs=1, **{**TINY, "device": "cuda"}), tmp_path / "run", progress=False,
              datasets=blobs)
    assert not (tmp_path / "run").exists()


def test_the_epoch_test_loss_uses_the_training_batch_size(tmp_path, blobs, monkeypatch) -> None:
    """dHSIC is a per-batch statistic: the test loss must see batches of the training size."""
    seen = []
    real = train_module.evaluate_loss

    def spy(model, images, batch_size, config=None):
        seen.append(batch_size)
        return real(model, images, batch_size, config)

    monkeypatch.setattr(train_module, "evaluate_loss", spy)
    train(Config(epochs=2, **TINY), tmp_path / "run", progress=False, datasets=blobs)
    assert seen == [TINY["batch_size"]] * 2


# ------------------------------------------------------- run folders: refused, restored, retrained
# `mvae train` refuses, rather than overwrites, finished or foreign work; damaged checkpoints and
# records lead somewhere; NaN messages blame the right setting.

ROOT = Path(__file__).resolve().parents[1]
ARCHIVED = ROOT / "results" / "paper" / "runs" / "mnist-k1-s0"  # committed: no checkpoint
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
