"""mvae.yaml_strict: PyYAML's reading (yaml.safe_load is the oracle) with a key given twice, an
alias bomb, a huge text or number refused as one line naming the source."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from mvae.yaml_strict import MAX_YAML_BYTES, MAX_YAML_VALUES, YAMLInputError, load, short_repr

ROOT = Path(__file__).resolve().parents[1]


def test_it_reads_what_safe_load_reads() -> None:
    """The same dialect as yaml.safe_load (YAML 1.1: ``1e-3`` is a string, ``yes`` a bool) on
    every committed config and preset file and on a few tricky scalars."""
    texts = [p.read_text() for p in sorted(ROOT.glob("results/*/runs/*/config.yaml"))]
    texts += [p.read_text() for p in sorted(ROOT.glob("pipeline/config/*.yaml"))]
    texts.append("lr: 1e-3\nbeta: 1.0e-3\nbinarize: yes\nseed: 0x10\nn: ~\nl: [1, 2.5, .inf]\n")
    texts.append("a: &x [1, 2]\nb: *x\n")  # aliases within the bound are fine
    assert len(texts) > 3
    for text in texts:
        assert load(text, "t") == yaml.safe_load(text)
    assert load("", "t") is None and load("lr: 1e-3", "t") == {"lr": "1e-3"}


@pytest.mark.parametrize(("text", "where"), [
    ("components: 3\nlr: 0.1\nepochs: 1\nlr: 0.001\n", "(lines 2 and 4)"),
    ("{lr: 1, lr: 2}\n", "(on line 1)"),
    ("grid:\n  - name: a\n    epochs: 3\n    epochs: 30\n", "(lines 3 and 4)"),
])
def test_a_key_given_twice_names_the_key_and_both_lines(text: str, where: str) -> None:
    key = "lr" if "lr" in text else "epochs"
    with pytest.raises(YAMLInputError) as err:
        load(text, "f.yaml")
    assert str(err.value) == f"f.yaml: key '{key}' is given twice {where}; keep one"


def test_an_alias_bomb_is_refused_before_it_is_expanded() -> None:
    levels = ["&a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"&{name} [{', '.join([f'*{prev}'] * 9)}]")  # 9^9 values expanded
    start = time.perf_counter()
    with pytest.raises(YAMLInputError, match=f"more than {MAX_YAML_VALUES:,} values") as err:
        load(f"x: [{', '.join(levels)}]\n", "bomb.yaml")
    assert time.perf_counter() - start < 5 and len(str(err.value)) < 300
    assert str(err.value).startswith("bomb.yaml expands to")
    with pytest.raises(YAMLInputError, match="YAML aliases"):  # one that contains itself
        load("&a [*a]", "loop")


def test_other_failures_are_one_line_naming_the_source() -> None:
    with pytest.raises(YAMLInputError, match=r"^big\.yaml is 1,000,001 characters long"):
        load("#" * (MAX_YAML_BYTES + 1), "big.yaml")
    with pytest.raises(YAMLInputError, match=r"^b\.yaml is not valid YAML: .*line 2") as err:
        load("components: 4\nlr: [1e-3\n", "b.yaml")
    assert "\n" not in str(err.value)
    with pytest.raises(YAMLInputError, match=r"^s\.yaml cannot be read as a config \(ValueError"):
        load("seed: 1" + "0" * 5000, "s.yaml")  # more digits than Python converts


def test_short_repr() -> None:
    assert short_repr(2 ** 1000) == "an integer of 1001 bits"
    assert short_repr(2 ** 64) == repr(2 ** 64) and short_repr(True) == "True"
    assert short_repr("x" * 100) == repr("x" * 100)[:80] + "..."
