"""Every invalid config value is rejected before any work, with a message naming the key."""

from __future__ import annotations

import pytest

from mvae import Config, ConfigError, load_config
from mvae.cli import main

BAD = [
    ({"components": 0}, "components"),
    ({"beta": -0.5}, "beta"),
    ({"latent_dim": 0}, "latent_dim"),
    ({"dataset": "imagenet"}, "dataset must be one of mnist, fashion_mnist, cifar10"),
    ({"likelihood": "poisson"}, "likelihood must be one of auto, bernoulli, gaussian"),
    ({"lr": 0}, "lr"),
    ({"lr": -1e-3}, "lr"),
    ({"epochs": 0}, "epochs"),
    ({"batch_size": -4}, "batch_size"),
    ({"kl_reduction": "max"}, "kl_reduction must be one of sum, mean"),
    ({"reconstruction": "best"}, "reconstruction"),
    ({"weight_sampler": "uniform"}, "weight_sampler"),
    ({"dhsic_estimator": "mean"}, "dhsic_estimator"),
    ({"components": 2.5}, "components"),
    ({"components": True}, "components"),
    ({"conv_channels": [8, 8]}, "conv_channels"),
    ({"device": "tpu"}, "device must be one of auto, cpu, cuda"),
    ({"learning_rate": 1e-3}, "unknown config key(s) 'learning_rate'; allowed keys:"),
    # issue 11: values that passed validation and failed (or trained on NaN) later
    ({"lr": float("inf")}, "lr must be a finite number, got inf"),
    ({"beta": float("nan")}, "beta must be a finite number, got nan"),
    ({"beta": "nan"}, "beta must be a finite number, got nan"),
    ({"gaussian_std": float("inf")}, "gaussian_std must be a finite number"),
    ({"dirichlet_prior": float("inf")}, "dirichlet_prior must be a finite number"),
    ({"batch_size": 1, "components": 2}, "batch_size must be >= 2 with components=2"),
    ({"beta_warmup": -1}, "beta_warmup"),
    ({"beta_warmup": 2.5}, "beta_warmup"),
    ({"train_subset": 333}, "train_subset must be a multiple of 10"),
    ({"test_subset": 25}, "test_subset must be a multiple of 10"),
    ({"train_subset": 60010}, "train_subset=60010 is larger than the mnist split (60000"),
    ({"dataset": "cifar10", "train_subset": 60000}, "larger than the cifar10 split (50000"),
    ({"test_subset": 10010}, "test_subset=10010 is larger"),
    ({"name": "/abs/path"}, "name must be 1-100 letters, digits"),
    ({"name": "../up"}, "it names the folder runs/<name>"),
    ({"name": ".hidden"}, "not starting with '.'"),
]


@pytest.mark.parametrize(("values", "message"), BAD, ids=[str(v) for v, _ in BAD])
def test_invalid_values_are_rejected_with_their_key(values: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        Config.from_dict(values)
    assert message in str(err.value)


def test_defaults_are_the_paper_mnist_setup() -> None:
    c = Config().validate()
    assert (c.components, c.latent_dim, c.hidden_dim, c.hidden_layers) == (4, 20, 500, 2)
    assert (c.lr, c.epochs, c.beta) == (1e-3, 100, 1.0)
    assert c.resolved_architecture == "mlp" and c.resolved_likelihood == "bernoulli"
    cifar = Config(dataset="cifar10")
    assert cifar.resolved_architecture == "conv" and cifar.resolved_likelihood == "gaussian"


def test_yaml_file_and_overrides(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("components: 3\nlatent_dim: 2\nname: two-d\n")
    c = load_config(path, ["lr=1e-4", "beta=0", "train_subset=100"])
    assert (c.components, c.latent_dim, c.lr, c.beta, c.train_subset) == (3, 2, 1e-4, 0, 100)
    with pytest.raises(ConfigError, match="key=value"):
        load_config(path, ["lr"])


def test_cli_reports_config_errors_without_training(tmp_path, capsys) -> None:
    code = main(["train", "--run-dir", str(tmp_path / "run"), "components=0"])
    assert code == 2
    assert "components must be an integer >= 1" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_valid_edge_values_still_pass() -> None:
    Config(batch_size=1, components=1, train_subset=60000, test_subset=10).validate()
    Config(dataset="cifar10", train_subset=50000, name="cifar10-k4.v2_b").validate()


def test_config_file_errors_name_the_file(tmp_path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=f"config file {missing} does not exist"):
        load_config(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("components: 4\nlr: [1e-3\n")
    with pytest.raises(ConfigError, match=f"config file {broken} is not valid YAML.*line"):
        load_config(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- components\n")
    with pytest.raises(ConfigError, match=f"config file {listed} must hold a mapping"):
        load_config(listed)
    with pytest.raises(ConfigError, match="override 'lr=\\[1': the value is not"):
        load_config(None, ["lr=[1"])


def test_default_run_name_follows_the_config(tmp_path) -> None:
    assert load_config(None, ["components=1"]).name == "mnist-k1"
    assert load_config(None, ["dataset=fashion_mnist"]).name == "fashion-k4"
    assert load_config(None, []).name == "mnist-k4"
    path = tmp_path / "c.yaml"
    path.write_text("dataset: cifar10\ncomponents: 2\n")
    assert load_config(path).name == "cifar10-k2"
    assert load_config(path, ["name=mine"]).name == "mine"


def test_archived_run_configs_load_with_the_median_dhsic_estimator() -> None:
    """Archived runs predate ``dhsic_estimator``: their stored config.yaml lacks the key and
    loads with the default, the median estimator they trained with; one that names it keeps it."""
    from pathlib import Path

    import yaml

    stored = sorted((Path(__file__).resolve().parents[1] / "results" / "paper" / "runs")
                    .glob("*/config.yaml"))
    if not stored:
        pytest.skip("no archived runs in this checkout")
    without = 0
    for path in stored:
        values = yaml.safe_load(path.read_text())
        config = Config.from_dict(values)
        assert config.dhsic_estimator == values.get("dhsic_estimator", "median"), path
        without += "dhsic_estimator" not in values
    assert without > 0
    assert Config.from_dict({"dhsic_estimator": "authors"}).dhsic_estimator == "authors"
