"""The command line: overrides anywhere, one-line errors that name the problem, --debug."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch

from mvae.cli import main
from mvae.files import RunLockedError

train_module = importlib.import_module("mvae.train")  # mvae.train is also the function's name


@pytest.fixture
def calls(monkeypatch) -> list[dict]:
    """Replace training by a recorder: these tests are about the command line only."""
    seen: list[dict] = []

    def fake_train(config, run_dir, *, progress, until_epoch, fresh=False):
        seen.append({"config": config, "run_dir": Path(run_dir), "progress": progress,
                     "until_epoch": until_epoch, "fresh": fresh})
        return train_module.TrainResult(model=None, history=[], run_dir=Path(run_dir),
                                        finished=False)

    monkeypatch.setattr(train_module, "train", fake_train)
    return seen


def _one_line_error(capsys, *parts: str) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in err, err
    return err


def test_overrides_before_between_and_after_options(calls, tmp_path) -> None:
    assert main(["train", "epochs=1", "--quiet", "components=3", "--run-dir", str(tmp_path),
                 "lr=1e-4", "--until-epoch", "1"]) == 0
    (call,) = calls
    assert (call["config"].epochs, call["config"].components, call["config"].lr) == (1, 3, 1e-4)
    assert call["run_dir"] == tmp_path and not call["progress"] and call["until_epoch"] == 1


def test_default_run_name_follows_the_config(calls) -> None:
    assert main(["train", "--quiet", "components=1"]) == 0
    assert calls[0]["run_dir"] == Path("runs") / "mnist-k1"


def test_until_epoch_must_be_positive(calls, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--until-epoch", "-5"])
    assert exit_.value.code == 2
    assert "must be an epoch number >= 1, got -5" in capsys.readouterr().err
    assert not calls


def test_a_missing_config_file_is_one_line(calls, capsys, tmp_path) -> None:
    assert main(["train", "--config", str(tmp_path / "nope.yaml")]) == 2
    _one_line_error(capsys, "config file", "nope.yaml does not exist")


def test_a_yaml_error_names_the_file(calls, capsys, tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("lr: [1\n")
    assert main(["train", "--config", str(path)]) == 2
    _one_line_error(capsys, f"config file {path} is not valid YAML")


def test_a_name_that_is_a_path_is_refused(calls, capsys, tmp_path) -> None:
    assert main(["train", f"name={tmp_path / 'elsewhere'}"]) == 2
    _one_line_error(capsys, "name must be")
    assert not calls and not (tmp_path / "elsewhere").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_a_gpu_is_one_line(capsys, tmp_path) -> None:
    assert main(["train", "--run-dir", str(tmp_path / "run"), "device=cuda"]) == 2
    _one_line_error(capsys, "device=cuda", "use device=auto or device=cpu")
    assert not (tmp_path / "run").exists()


def test_unknown_dataset_in_mvae_data_is_one_line(capsys, tmp_path) -> None:
    assert main(["data", "svhn", "--root", str(tmp_path)]) == 2
    _one_line_error(capsys, "unknown dataset(s) 'svhn'; allowed: mnist, fashion_mnist, cifar10")
    assert list(tmp_path.iterdir()) == []


def test_other_errors_are_one_line_and_debug_shows_the_traceback(monkeypatch, capsys) -> None:
    def locked(*args, **kwargs):
        raise RunLockedError("runs/x is being trained by process 7 on host h; wait for it")

    monkeypatch.setattr(train_module, "train", locked)
    assert main(["train", "--quiet"]) == 1
    _one_line_error(capsys, "mvae: error: runs/x is being trained by process 7 on host h")
    with pytest.raises(RunLockedError):
        main(["train", "--quiet", "--debug"])
