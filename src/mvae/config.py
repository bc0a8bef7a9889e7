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
                     ``"fp32"`` (default), ``"bf16"`` (faster on CPUs with AMX or AVX512-BF16,
                     far slower on CPUs without), ``"bf16-emulated"`` (bf16's roundings around
                     float32 matmuls, MLP only: shows bf16's effect on any CPU). Not the
                     default: bf16 ends behind float32 in loss and per-image SSE
                     (``benchmarks/precision_quality.py``; figures in ``benchmarks/README.md``).
``binarize``         Dynamically binarised digits: every training batch is redrawn as
                     x ~ Bernoulli(grey level), and the test loss uses one fixed binarisation
                     (seed 0); the setting under which VAE papers report log-likelihoods.
``beta_warmup``      Epochs over which the dHSIC weight rises linearly from 0 to ``beta`` (epoch
                     e trains with beta * min(1, (e - 1) / beta_warmup)); 0, the default, is the
                     paper's constant weight. In neither the paper nor the authors' code: a
                     remedy tried for the collapse of the authors' settings at beta = 1e4 in
                     their first epoch (the book's claims chapter).
``dhsic_estimator``  ``"median"`` (default): the dHSIC V-statistic with Pfister's median-heuristic
                     bandwidths. ``"authors"``: the square root of the V-statistic with a fixed
                     bandwidth set by the latent size alone, as the authors' code computes it
                     (:mod:`mvae.dhsic`). Changes nothing at ``beta = 0`` but the logged value.
``weight_sampler``   ``"dirichlet"``: torch.distributions.Dirichlet.rsample. ``"gamma"``:
                     normalised Gamma draws with the implicit reparameterisation gradient; the
                     same distribution, a different (equally exact) gradient estimator that needs
                     no Dirichlet kernel, used by the fast path.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    model_validator,
)

from mvae import yaml_strict
from mvae.data.registry import REGISTRY
from mvae.yaml_strict import short_repr

#: The built-in datasets (:mod:`mvae.data.registry`); ``dataset`` may also be a path to your own
#: images (:mod:`mvae.data.own_images`).
DATASETS = tuple(REGISTRY)
#: The keys with a fixed set of values: each a ``Literal`` the model checks, and its values as a
#: tuple (``ARCHITECTURES``, ...) for the modules that list or branch on them.
Architecture = Literal["auto", "mlp", "conv"]
Likelihood = Literal["auto", "bernoulli", "gaussian"]
KLReduction = Literal["sum", "mean"]
Reconstruction = Literal["mixture", "expected"]
WeightSampler = Literal["dirichlet", "gamma"]
DHSICEstimator = Literal["median", "authors"]
Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["fp32", "bf16", "bf16-emulated"]
ARCHITECTURES: tuple[str, ...] = get_args(Architecture)
LIKELIHOODS: tuple[str, ...] = get_args(Likelihood)
KL_REDUCTIONS: tuple[str, ...] = get_args(KLReduction)
RECONSTRUCTIONS: tuple[str, ...] = get_args(Reconstruction)
WEIGHT_SAMPLERS: tuple[str, ...] = get_args(WeightSampler)
DHSIC_ESTIMATORS: tuple[str, ...] = get_args(DHSICEstimator)
DEVICES: tuple[str, ...] = get_args(Device)
PRECISIONS: tuple[str, ...] = get_args(Precision)
#: Images per split of each dataset (train, test): a subset larger than this cannot be drawn.
SPLIT_SIZES = {name: entry.split_sizes for name, entry in REGISTRY.items()}
#: A run name becomes a folder (``runs/<name>``): no separators, no leading dot.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
#: Short dataset names for default run names (as the presets spell them).
SHORT_NAMES = {name: entry.short_name for name, entry in REGISTRY.items()}
#: Seeds are unsigned 64-bit integers (torch.manual_seed refuses anything larger).
MAX_SEED = 2 ** 64 - 1


class ConfigError(ValueError):
    """A configuration value or key is invalid; the message names the key and what is allowed."""


# --------------------------------------------------------------------------- one key's rules
def _rule(default: str, separator: str = ",", **by_error: str) -> WrapValidator:
    """Pydantic's refusal of a key's value as one line of ours, ``<key> must be <rule>, got
    <value>``: the rule of the first of pydantic's error types named in ``by_error``
    (``finite_number="a finite number"``), else ``default``. The line is a :class:`ConfigError`,
    which pydantic carries out in its error's context (:func:`_one_line`)."""
    def check(value: Any, handler: Any, info: ValidationInfo) -> Any:
        try:
            return handler(value)
        except ValidationError as err:
            rule = next((by_error[e["type"]] for e in err.errors() if e["type"] in by_error),
                        default)
            raise ConfigError(f"{info.field_name} must be {rule}{separator} got "
                              f"{short_repr(value)}") from None
    return WrapValidator(check)


def _one_of(choices: Any) -> WrapValidator:
    """The rule of a ``Literal``: ``<key> must be one of a, b; got 'c'``."""
    return _rule("one of " + ", ".join(get_args(choices)), separator=";")


def _yaml_float(value: Any) -> Any:
    """YAML 1.1 reads ``1e-3`` (no dot) as a string: a number field takes it as the float."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):  # else the field's rule names the key
            return float(value)
    return value


def _known_dataset(value: Any) -> Any:
    dataset_facts(value)  # a ConfigError naming the built-in datasets, or your images' fault
    return value


#: The types of the other keys: pydantic's strict types (no bool for an int, no "3" for a number)
#: with bounds, each refusal in our words (:func:`_rule`). A number keeps its type: ``beta: 0``
#: stays the int 0, as written in archived ``config.yaml`` files and in the keys that compare runs.
_NUMBER = StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)]
Positive = Annotated[StrictInt, Field(ge=1), _rule("an integer >= 1")]
NonNegative = Annotated[StrictInt, Field(ge=0), _rule("an integer >= 0")]
Seed = Annotated[StrictInt, Field(ge=0, le=MAX_SEED), _rule(
    "an integer >= 0", less_than_equal=f"an integer from 0 to {MAX_SEED} "
    f"({MAX_SEED.bit_length()} bits, what torch's generator takes)")]
PositiveNumber = Annotated[_NUMBER, Field(gt=0), _rule(
    "a number", finite_number="a finite number", greater_than="> 0"), BeforeValidator(_yaml_float)]
NonNegativeNumber = Annotated[_NUMBER, Field(ge=0), _rule(
    "a number", finite_number="a finite number", greater_than_equal=">= 0 (the dHSIC weight)"),
    BeforeValidator(_yaml_float)]
Flag = Annotated[StrictBool, _rule("true or false")]
Folder = Annotated[StrictStr, _rule("a path")]
Name = Annotated[StrictStr, Field(pattern=f"^{NAME_PATTERN.pattern}$"), _rule(
    "1-100 letters, digits, '.', '-' or '_', not starting with '.' (it names the folder "
    "runs/<name>)")]
Dataset = Annotated[StrictStr, BeforeValidator(_known_dataset)]
Channels = Annotated[list[Annotated[StrictInt, Field(ge=1)]], Field(min_length=5, max_length=5),
                     _rule("a list of 5 positive integers (one per 3x3 convolution layer)")]


class Config(BaseModel):
    """Everything that defines one training run. Defaults are the paper's MNIST setup (K=4).

    Every key is a field here, an entry of a run's ``config.yaml`` and a ``key=value`` override
    of ``mvae train``. However it is built (``Config(...)``, :meth:`from_dict`, :func:`load_config`)
    or changed (``config.lr = 1e-4``), it is validated: pydantic checks each key's type and bounds
    and refuses unknown keys, then :meth:`validate` the rules across keys; every refusal is one
    :class:`ConfigError` line naming the key. The API reference lists each key's default and
    allowed values, read from these fields and from those refusals, beside its meaning:

    Keys:
        name: The run's name: its folder ``runs/<name>`` (``mvae train``'s default) and its
            label in every table.
        dataset: The image set; the built-in ones are downloaded and verified on first use
            (``mvae data``).
        components: K, the number of VAE components; 1 is a plain VAE, the baseline.
        latent_dim: d, the size of each component's latent code.
        architecture: The encoders and decoders: ``auto`` is the paper's choice, an MLP for the
            digits and convolutions for CIFAR-10.
        hidden_dim: Units per hidden layer of the MLP.
        hidden_layers: Hidden layers of the MLP encoders and decoders.
        conv_channels: Channels of the five 3x3 convolution layers of the convolutional model.
        likelihood: The pixel likelihood: ``auto`` is Bernoulli for the digits and a Gaussian
            (squared error) for CIFAR-10.
        gaussian_std: Standard deviation of the Gaussian likelihood.
        beta: Weight of dHSIC in the loss; at 0 it is still measured but does not steer training.
        beta_warmup: Epochs over which the dHSIC weight rises linearly from 0 to ``beta`` (0:
            the paper's constant weight).
        dhsic_estimator: How dHSIC is estimated: ``median``, the V-statistic with median-heuristic
            bandwidths; ``authors``, its square root with a bandwidth fixed by the latent size
            (the authors' code).
        dirichlet_prior: Concentration of the symmetric Dirichlet prior on the mixing weights
            (the authors' code: 0.25).
        normalize_alpha: Normalise the K concentrations to sum to 1 before w ~ Dir(alpha) is
            drawn, as the authors' code does.
        kl_reduction: ``sum`` adds the K Gaussian KLs (the ELBO); ``mean`` averages them (the
            authors' code).
        kl_weight: Weight of the Gaussian KL in the training loss (1: the ELBO); reported ELBOs
            are unweighted.
        reconstruction: ``mixture``: the likelihood of the mixed output; ``expected``: the
            weighted likelihoods of the components (the paper's eq. 8 read literally).
        weight_sampler: How w ~ Dir(a) is drawn and differentiated: torch's Dirichlet, or
            normalised Gamma draws (the same distribution, another exact gradient).
        binarize: Dynamically binarised digits in training and one fixed binarisation of the
            test set (the setting of published log-likelihoods).
        lr: Adam's learning rate.
        epochs: Passes over the training set.
        batch_size: Images per training step; dHSIC is a statistic of the batch.
        seed: Seeds the initialisation, the shuffling and every draw of training.
        device: Where to train: ``auto`` takes a CUDA GPU when torch sees one.
        precision: Matmul precision of the training step (evaluation is always float32).
        train_subset: Train on a class-balanced subset of this many images (null: all).
        test_subset: Evaluate on a class-balanced subset of this many test images (null: all).
        data_dir: Folder of the dataset cache (null: ``$MVAE_DATA_DIR``, else ``data/``).
        cifar10_path: A folder with a local CIFAR-10 copy, the fallback when the download fails.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: Name = "mnist-k4"
    dataset: Dataset = "mnist"
    # model
    components: Positive = 4
    latent_dim: Positive = 20
    architecture: Annotated[Architecture, _one_of(Architecture)] = "auto"
    hidden_dim: Positive = 500
    hidden_layers: Positive = 2
    conv_channels: Channels = Field(default_factory=lambda: [64, 128, 256, 512, 512])
    # objective
    likelihood: Annotated[Likelihood, _one_of(Likelihood)] = "auto"
    gaussian_std: PositiveNumber = 0.1
    beta: NonNegativeNumber = 1.0
    beta_warmup: NonNegative = 0
    dhsic_estimator: Annotated[DHSICEstimator, _one_of(DHSICEstimator)] = "median"
    dirichlet_prior: PositiveNumber = 1.0
    normalize_alpha: Flag = False
    kl_reduction: Annotated[KLReduction, _one_of(KLReduction)] = "sum"
    kl_weight: PositiveNumber = 1.0
    reconstruction: Annotated[Reconstruction, _one_of(Reconstruction)] = "mixture"
    weight_sampler: Annotated[WeightSampler, _one_of(WeightSampler)] = "dirichlet"
    binarize: Flag = False
    # optimisation
    lr: PositiveNumber = 1e-3
    epochs: Positive = 100
    batch_size: Positive = 128
    seed: Seed = 0
    device: Annotated[Device, _one_of(Device)] = "auto"
    precision: Annotated[Precision, _one_of(Precision)] = "fp32"
    # data
    train_subset: Positive | None = None
    test_subset: Positive | None = None
    data_dir: Folder | None = None
    cifar10_path: Folder | None = None

    def __init__(self, **values: Any) -> None:
        with _one_line():
            super().__init__(**values)

    def __setattr__(self, key: str, value: Any) -> None:
        with _one_line():  # an assignment is validated too (pydantic's validate_assignment)
            super().__setattr__(key, value)

    # ----------------------------------------------------------------- derived values
    @property
    def resolved_architecture(self) -> str:
        """``auto`` means the paper's choice: an MLP for 28x28 digits, convolutions for CIFAR
        (for your own images: convolutions for colour 32x32 ones, else an MLP)."""
        if self.architecture != "auto":
            return self.architecture
        return dataset_facts(self.dataset).architecture

    @property
    def resolved_likelihood(self) -> str:
        """``auto``: Bernoulli for grey levels (digits), Gaussian (squared error) for colour."""
        if self.likelihood != "auto":
            return self.likelihood
        return dataset_facts(self.dataset).likelihood

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the dataset's images (read from the file for your own images)."""
        return dataset_facts(self.dataset).image_shape

    # ----------------------------------------------------------------- validation
    @model_validator(mode="after")
    def _across_keys(self) -> Config:
        return self.validate()

    def validate(self) -> Config:  # type: ignore[override]  # pydantic v1's classmethod
        """The checks that involve more than one key (pydantic checks each key alone, then calls
        this on every construction and assignment; :class:`mvae.model.MVAE` calls it on the
        config it is given). Raise :class:`ConfigError` naming the key; return the config."""
        facts = dataset_facts(self.dataset)
        if self.precision == "bf16-emulated" and self.resolved_architecture != "mlp":
            raise ConfigError("precision bf16-emulated covers the MLP only; use fp32 or bf16 "
                              "for the convolutional model")
        _model_size(self, facts.image_shape)
        if self.components > 1 and self.batch_size < 2:
            raise ConfigError(f"batch_size must be >= 2 with components={self.components}: the "
                              "dHSIC between components is a batch statistic; got 1")
        for split, key in enumerate(("train_subset", "test_subset")):
            if self.dataset in REGISTRY:
                _subset(key, getattr(self, key), SPLIT_SIZES[self.dataset][split], self.dataset,
                        REGISTRY[self.dataset].classes)
            elif getattr(self, key) is not None:
                raise ConfigError(f"{key} is for the built-in datasets; with your own images "
                                  f"({self.dataset}) leave it unset and pass the images you want")
        if self.dataset not in REGISTRY and self.resolved_architecture == "conv":
            _, height, width = facts.image_shape
            if height != width or height % 8:
                raise ConfigError(f"architecture conv needs square images whose side is a "
                                  f"multiple of 8 (its strides take 32x32 to 4x4); "
                                  f"{self.dataset} holds {width}x{height} images: use "
                                  "architecture mlp or auto")
        if self.binarize and self.resolved_likelihood != "bernoulli":
            raise ConfigError("binarize needs the Bernoulli likelihood (MNIST, Fashion-MNIST)")
        return self

    # ----------------------------------------------------------------- (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """Every key and its value, as ``config.yaml`` holds them (plain data, a fresh copy)."""
        return self.model_dump()

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        """Build and validate; unknown keys are rejected with the list of known ones."""
        if not all(isinstance(key, str) for key in values):  # a file's keys may be of any type
            raise _unknown_keys([key for key in values if key not in cls.model_fields])
        return cls(**values)  # not model_validate, which calls __init__ and validates twice

    def replace(self, **changes: Any) -> Config:
        """A validated copy with ``changes`` applied (``config.replace(lr=1e-4)``)."""
        return Config.from_dict({**self.to_dict(), **changes})


@contextlib.contextmanager
def _one_line() -> Iterator[None]:
    """Pydantic's :class:`~pydantic.ValidationError` as one :class:`ConfigError` line: every
    unknown key with the list of known ones, else the first refusal (our own line, which
    :func:`_rule` and :meth:`Config.validate` wrote)."""
    try:
        yield
    except ValidationError as err:
        errors = err.errors()
        unknown = [e["loc"][0] for e in errors
                   if e["type"] in ("extra_forbidden", "no_such_attribute")]
        if unknown:
            raise _unknown_keys(unknown) from None
        cause = errors[0].get("ctx", {}).get("error")
        if isinstance(cause, ConfigError):
            raise cause from None
        where = ".".join(map(str, errors[0]["loc"])) or "config"
        raise ConfigError(f"{where}: {errors[0]['msg']}") from None


def _unknown_keys(keys: list[Any]) -> ConfigError:
    return ConfigError(f"unknown config key(s) {', '.join(map(repr, sorted(keys, key=str)))}; "
                       f"allowed keys: {', '.join(sorted(Config.model_fields))}")


def default_run_name(values: dict[str, Any]) -> str:
    """``<dataset>-k<K>`` (``mnist-k1``, ``fashion-k4``): what the config is, not the default's
    name, so that a K=1 run is not called mnist-k4."""
    dataset = values.get("dataset", Config.model_fields["dataset"].default)
    components = values.get("components", Config.model_fields["components"].default)
    if isinstance(dataset, str) and dataset not in SHORT_NAMES:  # a path: its file or folder name
        dataset = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(dataset).stem).strip(".-_") or "images"
    return f"{SHORT_NAMES.get(dataset, dataset)}-k{components}"


def dataset_facts(dataset: Any) -> Any:
    """What the config needs to know of ``dataset`` (``image_shape``, ``architecture`` and
    ``likelihood`` that ``auto`` picks): its registry entry, or your images read from the path.
    Anything else is a :class:`ConfigError`."""
    if isinstance(dataset, str) and dataset in REGISTRY:
        return REGISTRY[dataset]
    from mvae.data import own_images  # on use: the built-in names need the registry only

    if not own_images.is_own_images(dataset):
        raise ConfigError(f"dataset must be one of {', '.join(DATASETS)}, or the path of an .npz "
                          f"file or a folder of images; got {dataset!r}")
    try:
        return own_images.read_own_images(dataset)
    except own_images.OwnImagesError as err:
        raise ConfigError(" ".join(str(err).split())) from None


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``["components=3", "lr=1e-4"]`` into typed values (YAML scalars: 3 -> int, etc.)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {pair!r} is not of the form key=value")
        key = key.strip()
        if key in out:
            raise ConfigError(f"override {key!r} is given twice ({key}={short_repr(out[key])} and "
                              f"{pair!r}); give it once")
        try:
            out[key] = load_yaml(raw, f"override {pair!r}") if raw.strip() else None
        except ConfigError as err:
            if "is not valid YAML: " not in str(err):
                raise
            raise ConfigError(f"override {pair!r}: the value is not a YAML scalar or list "
                              f"({str(err).split('is not valid YAML: ', 1)[1]})") from None
    return out


def load_yaml(text: str, source: str) -> Any:
    """:func:`mvae.yaml_strict.load` (a key given twice, an alias bomb: refused), its errors as
    :class:`ConfigError`."""
    try:
        return yaml_strict.load(text, source)
    except yaml_strict.YAMLInputError as err:
        raise ConfigError(str(err)) from None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML config file; every failure is a :class:`ConfigError` naming it."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {path} cannot be read ({err})") from None
    loaded = load_yaml(text, f"config file {path}")
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping of key: value, "
                          f"not a {type(loaded).__name__}")
    for key in loaded:
        if not isinstance(key, str):
            raise ConfigError(f"config file {path}: key {short_repr(key)} is a "
                              f"{type(key).__name__}, not a name; config keys are names such "
                              "as lr or epochs")
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


def _model_size(config: Config, image_shape: tuple[int, int, int]) -> None:
    """Refuse, naming the key, a model too large to allocate (``hidden_dim=1000000000`` failed
    in torch's allocator, naming nothing): about ``components`` x the weights of one encoder and
    decoder, against :data:`mvae.limits.MAX_WEIGHTS`."""
    from mvae.limits import MAX_WEIGHTS

    pixels = image_shape[0] * image_shape[1] * image_shape[2]
    h, layers, d = config.hidden_dim, config.hidden_layers, config.latent_dim
    if config.resolved_architecture == "mlp":
        one = (pixels + d) * h + 2 * (layers - 1) * h * h + h * (2 * d + 1) + h * pixels
    else:  # five 3x3 convolutions each way, a linear layer at 4x4 each way
        channels = config.conv_channels
        one = 18 * sum(a * b for a, b in zip(channels, channels[1:], strict=False)) + 16 * (
            channels[-1] * (2 * d + 1) + channels[0] * d)
    weights = config.components * one
    if weights <= MAX_WEIGHTS:
        return
    defaults = {"hidden_dim": 500, "hidden_layers": 2, "latent_dim": 20, "components": 4}
    key = max(defaults, key=lambda k: getattr(config, k) / defaults[k])
    raise ConfigError(
        f"{key}={short_repr(getattr(config, key))} makes a model of about {weights:.2g} weights "
        f"(components={config.components}, hidden_dim={h}, hidden_layers={layers}, latent_dim="
        f"{d}, {pixels} pixels), more than the {MAX_WEIGHTS:,} one run may hold (8 GiB of "
        f"float32, before Adam's two moments); lower {key}")


def _subset(key: str, value: Any, size: int, dataset: str, classes: int) -> None:
    """A class-balanced subset: None (all), or a multiple of the classes up to the split (its
    type and sign are the field's)."""
    if value is None:
        return
    if value % classes:
        raise ConfigError(f"{key} must be a multiple of {classes} (subsets are class-balanced), "
                          f"got {value!r}; e.g. {max(classes, value - value % classes)}")
    if value > size:
        raise ConfigError(f"{key}={value} is larger than the {dataset} split ({size} images); "
                          "use at most that, or leave it unset for all")
