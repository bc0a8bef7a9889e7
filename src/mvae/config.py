"""Run configuration: one flat, validated record per experiment.

Every knob of an M-VAE run lives here so that a run folder's ``config.yaml`` alone says how the
run was made. Validation happens before any data is touched or any tensor is allocated: a bad key
must cost the user a second, not an epoch.

Switches that reproduce the authors' public code rather than the paper's text (see the book's
"paper, code and us" chapter) are plain fields with the paper's reading as default:

``normalize_alpha``  The authors normalise the K concentrations to sum to 1 before sampling
                     ``w ~ Dir(alpha)``. Default ``False`` (the paper samples from Dir(a) as given).
``dirichlet_prior``  Concentration of the symmetric Dirichlet prior. Paper: unspecified, we use 1
                     (uniform over the simplex); the authors' code uses 0.25.
``kl_reduction``     ``"sum"`` adds the K Gaussian KLs, as the mixture ELBO derivation requires;
                     ``"mean"`` averages them, as the authors' code does (a KL weight of 1/K).
``kl_weight``        Weight of the Gaussian KL term in the training loss, default 1 (the ELBO).
                     With weight g the run minimises -E[log p(x | .)] + g * KL_gauss + KL_dir +
                     beta * dHSIC (KL_gauss reduced by ``kl_reduction``): a beta-VAE-style point
                     on the rate-distortion curve, the control for the authors' averaged KLs.
                     It is independent of ``beta`` (the dHSIC weight) and of ``kl_reduction``.
                     Whatever the weight, the ELBO and the IWAE estimate that runs report are
                     the unweighted ones (:func:`mvae.objective.elbo`).
``reconstruction``   ``"mixture"``: log p(x | sum_i w_i y_i), the likelihood of the mixed output
                     (the model's generative story and the authors' code). ``"expected"``:
                     sum_i E[w_i] log p(x | y_i), the literal reading of the paper's eq. 8.
``precision``        Matmul precision of the training step (evaluation is always float32).
                     ``"fp32"`` (default), ``"bf16"`` (several times faster on CPUs with AMX or
                     AVX512-BF16, ~60x slower on CPUs without), ``"bf16-emulated"`` (bf16's
                     roundings around float32 matmuls, MLP only: shows bf16's effect on any
                     CPU). Not the default: 10 epochs of MNIST K=4 in bf16 end 0.46 nats and
                     2.6% per-image SSE behind float32 (``benchmarks/precision_quality.py``).
``binarize``         Dynamically binarised digits: every training batch is redrawn as
                     x ~ Bernoulli(grey level), and the test loss uses one fixed binarisation
                     (seed 0); the setting under which VAE papers report log-likelihoods.
``beta_warmup``      Epochs over which the dHSIC weight rises linearly from 0 to ``beta`` (epoch
                     e trains with beta * min(1, (e - 1) / beta_warmup)); 0, the default, is the
                     paper's constant weight. In neither the paper nor the authors' code: a
                     remedy tried for the collapse of the authors' settings at beta = 1e4 in
                     their first epoch (the book's claims chapter).
``weight_sampler``   ``"dirichlet"``: torch.distributions.Dirichlet.rsample. ``"gamma"``:
                     normalised Gamma draws with the implicit reparameterisation gradient; the
                     same distribution, a different (equally exact) gradient estimator that needs
                     no Dirichlet kernel, used by the fast path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DATASETS = ("mnist", "fashion_mnist", "cifar10")
ARCHITECTURES = ("auto", "mlp", "conv")
LIKELIHOODS = ("auto", "bernoulli", "gaussian")
KL_REDUCTIONS = ("sum", "mean")
RECONSTRUCTIONS = ("mixture", "expected")
WEIGHT_SAMPLERS = ("dirichlet", "gamma")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "bf16", "bf16-emulated")
#: Images per split of each dataset (train, test): a subset larger than this cannot be drawn.
SPLIT_SIZES = {"mnist": (60_000, 10_000), "fashion_mnist": (60_000, 10_000),
               "cifar10": (50_000, 10_000)}
#: Every dataset has ten classes; subsets are class-balanced, so they come in multiples of ten.
CLASSES = 10
#: A run name becomes a folder (``runs/<name>``): no separators, no leading dot.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
#: Short dataset names for default run names (as the presets spell them).
SHORT_NAMES = {"mnist": "mnist", "fashion_mnist": "fashion", "cifar10": "cifar10"}


class ConfigError(ValueError):
    """A configuration value or key is invalid; the message names the key and what is allowed."""


@dataclass
class Config:
    """Everything that defines one training run. Defaults are the paper's MNIST setup (K=4)."""

    name: str = "mnist-k4"
    dataset: str = "mnist"
    # model
    components: int = 4
    latent_dim: int = 20
    architecture: str = "auto"
    hidden_dim: int = 500
    hidden_layers: int = 2
    conv_channels: list[int] = field(default_factory=lambda: [64, 128, 256, 512, 512])
    # objective
    likelihood: str = "auto"
    gaussian_std: float = 0.1
    beta: float = 1.0
    beta_warmup: int = 0
    dirichlet_prior: float = 1.0
    normalize_alpha: bool = False
    kl_reduction: str = "sum"
    kl_weight: float = 1.0
    reconstruction: str = "mixture"
    weight_sampler: str = "dirichlet"
    binarize: bool = False
    # optimisation
    lr: float = 1e-3
    epochs: int = 100
    batch_size: int = 128
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    # data
    train_subset: int | None = None
    test_subset: int | None = None
    data_dir: str | None = None
    cifar10_path: str | None = None

    # ----------------------------------------------------------------- derived values
    @property
    def resolved_architecture(self) -> str:
        """``auto`` means the paper's choice: an MLP for 28x28 digits, convolutions for CIFAR."""
        if self.architecture != "auto":
            return self.architecture
        return "conv" if self.dataset == "cifar10" else "mlp"

    @property
    def resolved_likelihood(self) -> str:
        """``auto``: Bernoulli for grey-level digits, Gaussian (squared error) for CIFAR-10."""
        if self.likelihood != "auto":
            return self.likelihood
        return "gaussian" if self.dataset == "cifar10" else "bernoulli"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (3, 32, 32) if self.dataset == "cifar10" else (1, 28, 28)

    # ----------------------------------------------------------------- validation
    def validate(self) -> Config:
        """Check every field; raise :class:`ConfigError` naming the key and the allowed values."""
        _choice("dataset", self.dataset, DATASETS)
        _choice("architecture", self.architecture, ARCHITECTURES)
        _choice("likelihood", self.likelihood, LIKELIHOODS)
        _choice("kl_reduction", self.kl_reduction, KL_REDUCTIONS)
        _choice("reconstruction", self.reconstruction, RECONSTRUCTIONS)
        _choice("weight_sampler", self.weight_sampler, WEIGHT_SAMPLERS)
        _choice("device", self.device, DEVICES)
        _choice("precision", self.precision, PRECISIONS)
        if self.precision == "bf16-emulated" and self.resolved_architecture != "mlp":
            raise ConfigError("precision bf16-emulated covers the MLP only; use fp32 or bf16 "
                              "for the convolutional model")
        for key in ("components", "latent_dim", "hidden_dim", "hidden_layers", "epochs",
                    "batch_size"):
            _integer(key, getattr(self, key), minimum=1)
        _integer("seed", self.seed, minimum=0)
        _integer("beta_warmup", self.beta_warmup, minimum=0)
        if self.components > 1 and self.batch_size < 2:
            raise ConfigError(f"batch_size must be >= 2 with components={self.components}: the "
                              "dHSIC between components is a batch statistic; got 1")
        for split, key in enumerate(("train_subset", "test_subset")):
            _subset(key, getattr(self, key), SPLIT_SIZES[self.dataset][split], self.dataset)
        for key in ("lr", "gaussian_std", "dirichlet_prior", "kl_weight"):
            _number(key, getattr(self, key), positive=True)
        _number("beta", self.beta, positive=False)
        if self.beta < 0:
            raise ConfigError(f"beta must be >= 0 (the dHSIC weight), got {self.beta!r}")
        if (not isinstance(self.conv_channels, list | tuple) or len(self.conv_channels) != 5
                or not all(isinstance(c, int) and c >= 1 for c in self.conv_channels)):
            raise ConfigError("conv_channels must be a list of 5 positive integers (one per "
                              f"3x3 convolution layer), got {self.conv_channels!r}")
        if not isinstance(self.name, str) or not NAME_PATTERN.fullmatch(self.name):
            raise ConfigError("name must be 1-100 letters, digits, '.', '-' or '_', not starting "
                              f"with '.' (it names the folder runs/<name>), got {self.name!r}")
        if not isinstance(self.binarize, bool):
            raise ConfigError(f"binarize must be true or false, got {self.binarize!r}")
        if self.binarize and self.resolved_likelihood != "bernoulli":
            raise ConfigError("binarize needs the Bernoulli likelihood (MNIST, Fashion-MNIST)")
        if not isinstance(self.normalize_alpha, bool):
            raise ConfigError("normalize_alpha must be true or false, "
                              f"got {self.normalize_alpha!r}")
        return self

    # ----------------------------------------------------------------- (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        """Build and validate; unknown keys are rejected with the list of known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown config key(s) {', '.join(map(repr, unknown))}; "
                              f"allowed keys: {', '.join(sorted(known))}")
        values = dict(values)
        for f in dataclasses.fields(cls):
            # YAML 1.1 reads "1e-3" (no dot) as a string; accept it for float fields.
            if f.type == "float" and isinstance(values.get(f.name), str):
                with contextlib.suppress(ValueError):  # else validate() names the key
                    values[f.name] = float(values[f.name])
        if isinstance(values.get("conv_channels"), tuple):
            values["conv_channels"] = list(values["conv_channels"])
        return cls(**values).validate()

    def replace(self, **changes: Any) -> Config:
        return Config.from_dict({**self.to_dict(), **changes})


def default_run_name(values: dict[str, Any]) -> str:
    """``<dataset>-k<K>`` (``mnist-k1``, ``fashion-k4``): what the config is, not the default's
    name, so that a K=1 run is not called mnist-k4."""
    dataset = values.get("dataset", Config.dataset)
    components = values.get("components", Config.components)
    return f"{SHORT_NAMES.get(dataset, dataset)}-k{components}"


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``["components=3", "lr=1e-4"]`` into typed values (YAML scalars: 3 -> int, etc.)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {pair!r} is not of the form key=value")
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as err:
            raise ConfigError(f"override {pair!r}: the value is not a YAML scalar or list "
                              f"({' '.join(str(err).split())})") from None
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML config file; every failure is a :class:`ConfigError` naming it."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {path} cannot be read ({err})") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: "
                          f"{' '.join(str(err).split())}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping of key: value, "
                          f"not a {type(loaded).__name__}")
    return loaded


def load_config(path: str | Path | None = None,
                overrides: list[str] | dict | None = None) -> Config:
    """Read a YAML config file (or start from defaults) and apply ``key=value`` overrides.

    Without a ``name`` in either, the run is named after what it is (:func:`default_run_name`).
    """
    values: dict[str, Any] = {}
    if path is not None:
        values.update(read_config_file(path))
    if isinstance(overrides, dict):
        values.update(overrides)
    elif overrides:
        values.update(parse_overrides(overrides))
    if "name" not in values:
        values["name"] = default_run_name(values)
    return Config.from_dict(values)


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(allowed)}; got {value!r}")


def _integer(key: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key} must be an integer >= {minimum}, got {value!r}")


def _number(key: str, value: Any, *, positive: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key} must be a number, got {value!r}")
    if not math.isfinite(value):  # inf and nan pass every comparison-based check below
        raise ConfigError(f"{key} must be a finite number, got {value!r}")
    if positive and not value > 0:
        raise ConfigError(f"{key} must be > 0, got {value!r}")


def _subset(key: str, value: Any, size: int, dataset: str) -> None:
    """A class-balanced subset: None (all), or a multiple of the ten classes up to the split."""
    if value is None:
        return
    _integer(key, value, minimum=1)
    if value % CLASSES:
        raise ConfigError(f"{key} must be a multiple of {CLASSES} (subsets are class-balanced), "
                          f"got {value!r}; e.g. {max(CLASSES, value - value % CLASSES)}")
    if value > size:
        raise ConfigError(f"{key}={value} is larger than the {dataset} split ({size} images); "
                          "use at most that, or leave it unset for all")
