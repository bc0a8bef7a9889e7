"""Training lowers the loss; checkpoints round-trip; an interrupted run resumes exactly."""

from __future__ import annotations

import json

import pytest
import torch

from mvae import Config, NonFiniteLossError, load_run, train
from mvae import fast as fast_module
from mvae.train import RunMismatchError, load_checkpoint

TINY = dict(components=3, latent_dim=4, hidden_dim=32, batch_size=32, device="cpu", lr=2e-3)


def _state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


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


def test_checkpoint_round_trip(tmp_path, blobs) -> None:
    result = train(Config(epochs=1, **TINY), tmp_path / "run", progress=False, datasets=blobs)
    model, config = load_run(tmp_path / "run")
    assert config == result.model.config
    assert _state_equal(model.state_dict(), result.model.state_dict())
    x = blobs[1].floats()[:8]
    torch.testing.assert_close(model.reconstruct(x), result.model.reconstruct(x))


def test_resume_after_interrupt_gives_identical_parameters(tmp_path, blobs) -> None:
    config = Config(epochs=3, **TINY)
    straight = train(config, tmp_path / "a", progress=False, datasets=blobs)
    first = train(config, tmp_path / "b", progress=False, datasets=blobs, until_epoch=1)
    assert not first.finished and len(first.history) == 1
    resumed = train(config, tmp_path / "b", progress=False, datasets=blobs)
    assert resumed.finished
    assert _state_equal(straight.model.state_dict(), resumed.model.state_dict())
    assert straight.history[-1]["train"] == resumed.history[-1]["train"]
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
