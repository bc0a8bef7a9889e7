"""Reading config YAML: a key given twice, a key that is not a name, an alias bomb and a seed
beyond 64 bits are each one line naming the key or file, before any work."""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import pytest

from mvae.cli import main
from mvae.config import ConfigError, load_config, parse_overrides

train_module = importlib.import_module("mvae.train")


def _one_line(capsys, code: int, expected: int, *parts: str) -> str:
    err = capsys.readouterr().err
    assert code == expected, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err[:2000]
    for part in parts:
        assert part in err, err[:2000]
    return err


@pytest.fixture
def no_data(monkeypatch, blobs):
    """Training, if it started, would get the blobs, not MNIST (and the test would say so)."""
    monkeypatch.setattr(train_module, "load_split",
                        lambda config, split: blobs[0] if split == "train" else blobs[1])


def test_a_key_given_twice_is_an_error_naming_it(tmp_path: Path, capsys, no_data) -> None:
    """Before: the last value won without a word (lr 0.001 here)."""
    path = tmp_path / "c.yaml"
    path.write_text("components: 3\nlr: 0.1\nepochs: 1\nlr: 0.001\n")
    with pytest.raises(ConfigError, match=r"key 'lr' is given twice \(lines 2 and 4\)"):
        load_config(path)
    code = main(["train", "--config", str(path), "--run-dir", str(tmp_path / "run"), "--quiet"])
    _one_line(capsys, code, 2, str(path), "'lr' is given twice")
    assert not (tmp_path / "run").exists()
    with pytest.raises(ConfigError, match="override 'lr' is given twice"):
        parse_overrides(["lr=0.1", "epochs=1", "lr=0.001"])


def test_a_key_that_is_not_a_name_is_one_line(tmp_path: Path, capsys, no_data) -> None:
    """Before: sorting the unknown keys (1 and 'lr') raised TypeError, a traceback naming no
    key."""
    path = tmp_path / "c.yaml"
    path.write_text("lr: 0.001\n1: 2\n")
    code = main(["train", "--config", str(path), "--run-dir", str(tmp_path / "run"), "--quiet"])
    _one_line(capsys, code, 2, str(path), "key 1 is a int, not a name")


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path: Path, capsys) -> None:
    """Before: the error message printed conv_channels expanded (9^5 values here, 9^9 and out
    of memory in the reviewer's file)."""
    levels = ["&a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]  # five lists, as conv_channels has five layers
    for prev, name in zip("abcd", "bcde", strict=True):
        levels.append(f"&{name} [{', '.join([f'*{prev}'] * 9)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text(f"conv_channels: [{', '.join(levels)}]\n")
    start = time.perf_counter()
    code = main(["train", "--config", str(path), "--run-dir", str(tmp_path / "run")])
    err = _one_line(capsys, code, 2, str(path), "YAML aliases")
    assert len(err) < 500 and time.perf_counter() - start < 10
    with pytest.raises(ConfigError, match="YAML aliases"):  # one that refers to itself, too
        parse_overrides(["conv_channels=&a [*a]"])


def test_a_seed_beyond_64_bits_is_a_config_error(tmp_path: Path, capsys, no_data) -> None:
    """Before: training started and torch.manual_seed failed ('Overflow when unpacking long')."""
    code = main(["train", "--run-dir", str(tmp_path / "run"), "--quiet", "epochs=1",
                 f"seed={2 ** 64}"])
    _one_line(capsys, code, 2, "seed must be an integer from 0 to 18446744073709551615")
    assert not (tmp_path / "run").exists()
    huge = tmp_path / "huge.yaml"
    huge.write_text("seed: 1" + "0" * 5000 + "\n")  # more digits than Python will print
    code = main(["train", "--config", str(huge), "--run-dir", str(tmp_path / "run")])
    _one_line(capsys, code, 2, str(huge))
    assert load_config(None, [f"seed={2 ** 64 - 1}"]).seed == 2 ** 64 - 1
