"""The preset files' JSON Schema (pipeline/schemas/preset.schema.yaml), which the Snakefile checks
with ``snakemake.utils.validate``: every committed preset passes, a bad one is refused with one
line naming the key, and its keys, choices and bounds are those of the code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from mvae.config import Config
from mvae.limits import MAX_IWAE_SAMPLES
from mvae.presets import (
    DEFAULT_SETTINGS,
    PROBE_CLASSIFIERS,
    SETTING_BOUNDS,
    read_preset_file,
    schema_problem,
)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "pipeline" / "schemas" / "preset.schema.yaml"


def refusal(preset: dict[str, Any]) -> str | None:
    """The one line the Snakefile prints for ``preset`` (None: the schema accepts it)."""
    try:
        validate(preset, str(SCHEMA), set_default=False)
    except WorkflowError as err:
        return schema_problem("bad.yaml", err)
    return None


@pytest.mark.parametrize("path", sorted((ROOT / "pipeline" / "config").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_every_committed_preset_passes(path: Path) -> None:
    assert refusal(read_preset_file(path)) is None


def test_what_the_code_accepts_passes() -> None:
    """Null sections, YAML 1.1's ``1e-3`` (a string that Config reads as the number), nulls for
    subsets and paths, the largest seed."""
    assert refusal({"name": "mine", "description": "x", "defaults": None, "settings": None,
                    "grid": [{"name": "a", "lr": "1e-3", "train_subset": None,
                              "data_dir": None, "seed": 2 ** 64 - 1}]}) is None


BAD = [
    ({"grids": [], "grid": [{"name": "a"}]}, "the top level: ", "'grids' was unexpected"),
    ({"grid": [{"name": "a", "learning_rate": 1}]}, "grid/0: ", "'learning_rate' was unexpected"),
    ({"grid": [{"name": "a"}, {"name": "b", "components": 0}]}, "grid/1/components: ",
     "less than the minimum of 1"),
    ({"grid": [{"name": "a", "lr": "fast"}]}, "grid/0/lr: ", "'fast' does not match"),
    ({"grid": [{"name": "a", "kl_weight": 0}]}, "grid/0/kl_weight: ", "minimum of 0"),
    ({"grid": [{"name": "a", "architecture": "rnn"}]}, "grid/0/architecture: ", "'rnn' is not one"),
    ({"grid": [{"name": "a", "binarize": "yes"}]}, "grid/0/binarize: ", "not of type 'boolean'"),
    ({"grid": [{"name": "a", "conv_channels": [8, 8]}]}, "grid/0/conv_channels: ", "too short"),
    ({"grid": [{"epochs": 1}]}, "grid/0: ", "'name' is a required property"),
    ({"grid": [{"name": "a/b"}]}, "grid/0/name: ", "does not match"),
    ({"grid": []}, "grid: ", "should be non-empty"),
    ({"description": [1, 2], "grid": [{"name": "a"}]}, "description: ", "not of type 'string'"),
    ({"defaults": {"seed": -1}, "grid": [{"name": "a"}]}, "defaults/seed: ", "minimum of 0"),
    ({"grid": [{"name": "a"}], "settings": {"nll_samples": MAX_IWAE_SAMPLES + 1}},
     "settings/nll_samples: ", "maximum of 10000"),
    ({"grid": [{"name": "a"}], "settings": {"probe_classifiers": ["svm"]}},
     "settings/probe_classifiers/0: ", "'svm' is not one"),
    ({"grid": [{"name": "a"}], "settings": {"books": True}}, "settings: ",
     "'books' was unexpected"),
]


@pytest.mark.parametrize(("preset", "where", "why"), BAD, ids=[w + y for _, w, y in BAD])
def test_a_bad_preset_is_refused_naming_the_key(preset: dict, where: str, why: str) -> None:
    line = refusal(preset)
    assert line is not None and line.startswith(f"bad.yaml: {where}"), line
    assert why in line and "\n" not in line, line


def test_the_schema_keys_are_the_codes() -> None:
    """A new Config key, setting, choice or bound fails here until the schema has it."""
    schema = yaml.safe_load(SCHEMA.read_text())
    config = schema["$defs"]["config"]["properties"]
    assert list(config) == list(Config.model_fields)
    choices = {key: list(get_args(field.annotation)) for key, field in Config.model_fields.items()
               if get_args(field.annotation) and all(isinstance(a, str)
                                                     for a in get_args(field.annotation))}
    assert {"architecture", "precision"} <= set(choices)
    assert {key: config[key]["enum"] for key in choices} == choices
    settings = schema["$defs"]["settings"]["properties"]
    assert list(settings) == list(DEFAULT_SETTINGS)
    assert settings["probe_classifiers"]["items"]["enum"] == list(PROBE_CLASSIFIERS)
    for key, (low, high) in SETTING_BOUNDS.items():
        assert (settings[key]["minimum"], settings[key].get("maximum")) == (low, high), key
    assert config["seed"]["maximum"] == 2 ** 64 - 1


@pytest.mark.slow
def test_the_snakefile_refuses_what_only_the_schema_checks(tmp_path: Path) -> None:
    """``description`` is not read by mvae.presets, so a list there passes load_preset; the
    Snakefile's schema check stops the workflow, naming the file and the key, before any job."""
    preset = tmp_path / "mine.yaml"
    preset.write_text(json.dumps({"description": [1, 2], "defaults": {"epochs": 1},
                                  "grid": [{"name": "a"}]}))
    done = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--config",
                           f"preset={preset}", f"results_dir={tmp_path / 'results'}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert (f"mvae pipeline: bad configuration: {preset}: description: [1, 2] is not of type "
            "'string'") in done.stdout + done.stderr, done.stdout[-2000:]
    assert "Job stats" not in done.stdout + done.stderr
