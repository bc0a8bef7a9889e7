"""Preset settings are checked before any job runs; the pipeline retires only run folders that
trained with another config, and never one that is training."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mvae import Config, train
from mvae.files import RunLockedError, run_lock
from mvae.presets import PresetError
from mvae.presets import load_preset as _load
from mvae.steps import _retire_stale_run

PRESETS = Path(__file__).resolve().parents[1] / "pipeline" / "config"


def load_preset(preset: str) -> object:
    return _load(preset, PRESETS)


TINY = dict(components=2, latent_dim=4, hidden_dim=32, batch_size=32, device="cpu", epochs=1)


def _preset(tmp_path: Path, **settings: object) -> str:
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump({"defaults": {"epochs": 1}, "grid": [{"name": "a"}],
                                    "settings": settings}))
    return str(path)


BAD_SETTINGS = [
    ("nll_samples", 0, "an integer >= 1"),
    ("nll_samples", "many", "an integer >= 1"),
    ("score_images", True, "an integer >= 1"),
    ("train_threads", 0, "an integer >= 1"),
    ("probe_max_train", -1, "an integer >= 1 (or null: all)"),
    ("probe_max_train", 1.5, "an integer >= 1 (or null: all)"),
    ("diversity_max", 1, "an integer >= 2"),
    ("figure_images", 11, "an integer >= 1 and <= 10"),
    ("probe_classifiers", ["svm"], "a non-empty list of mlp, linear_svm, knn"),
    ("probe_classifiers", [], "a non-empty list"),
    ("probe_classifiers", "knn", "a non-empty list"),
    ("book", "yes", "true or false"),
]


@pytest.mark.parametrize(("key", "value", "rule"), BAD_SETTINGS,
                         ids=[f"{k}={v!r}" for k, v, _ in BAD_SETTINGS])
def test_bad_settings_are_named(tmp_path: Path, key: str, value: object, rule: str) -> None:
    with pytest.raises(PresetError) as err:
        load_preset(_preset(tmp_path, **{key: value}))
    assert f"setting {key} must be {rule}" in str(err.value) and "custom.yaml" in str(err.value)


def test_good_settings_pass(tmp_path: Path) -> None:
    exp = load_preset(_preset(tmp_path, probe_max_train=None, probe_classifiers=["knn"],
                              figure_images=10, diversity_max=2, book=False))
    assert exp.settings["probe_classifiers"] == ["knn"]


def test_a_yaml_error_in_a_preset_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("grid: [\n")
    with pytest.raises(PresetError, match=f"{path} is not valid YAML"):
        load_preset(str(path))


def test_a_key_given_twice_in_a_preset_is_an_error_not_the_last_value(tmp_path: Path) -> None:
    """PyYAML keeps the last of two equal keys without a word; a preset whose run says
    ``epochs`` twice would train with whichever came last."""
    path = tmp_path / "twice.yaml"
    path.write_text("grid:\n  - name: a\n    epochs: 3\n    epochs: 30\n")
    with pytest.raises(PresetError, match="epochs"):
        load_preset(str(path))


def test_a_folder_that_never_trained_is_reused_not_retired(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "a"
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(Config(lr=0.5, **TINY).to_dict()))
    _retire_stale_run(run_dir, Config(**TINY))
    assert run_dir.is_dir() and not (tmp_path / "runs" / ".replaced").exists()


def test_a_folder_trained_with_another_config_is_retired(tmp_path: Path, blobs, capsys) -> None:
    run_dir = tmp_path / "runs" / "a"
    train(Config(lr=1e-2, **TINY), run_dir, progress=False, datasets=blobs)
    _retire_stale_run(run_dir, Config(**TINY))
    assert not run_dir.exists()
    (aside,) = (tmp_path / "runs" / ".replaced").iterdir()
    assert (aside / "checkpoint.pt").exists() and "lr: 0.01 there, 0.001 now" in capsys.readouterr(
        ).out


def test_a_folder_in_training_is_not_moved(tmp_path: Path, blobs) -> None:
    run_dir = tmp_path / "runs" / "a"
    train(Config(lr=1e-2, **TINY), run_dir, progress=False, datasets=blobs)
    with run_lock(run_dir), pytest.raises(RunLockedError):
        _retire_stale_run(run_dir, Config(**TINY))
    assert (run_dir / "checkpoint.pt").exists()
