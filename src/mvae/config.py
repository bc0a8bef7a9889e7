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
import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mvae.data.registry import REGISTRY

#: The built-in datasets (:mod:`mvae.data.registry`); ``dataset`` may also be a path to your own
#: images (:mod:`mvae.data.own_images`).
DATASETS = tuple(REGISTRY)
ARCHITECTURES = ("auto", "mlp", "conv")
LIKELIHOODS = ("auto", "bernoulli", "gaussian")
KL_REDUCTIONS = ("sum", "mean")
RECONSTRUCTIONS = ("mixture", "expected")
WEIGHT_SAMPLERS = ("dirichlet", "gamma")
DHSIC_ESTIMATORS = ("median", "authors")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "bf16", "bf16-emulated")
#: Images per split of each dataset (train, test): a subset larger than this cannot be drawn.
SPLIT_SIZES = {name: entry.split_sizes for name, entry in REGISTRY.items()}
#: A run name becomes a folder (``runs/<name>``): no separators, no leading dot.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
#: Short dataset names for default run names (as the presets spell them).
SHORT_NAMES = {name: entry.short_name for name, entry in REGISTRY.items()}


class ConfigError(ValueError):
    """A configuration value or key is invalid; the message names the key and what is allowed."""


@dataclass
class Config:
    """Everything that defines one training run. Defaults are the paper's MNIST setup (K=4).

    Every key is a field here, an entry of a run's ``config.yaml`` and a ``key=value`` override
    of ``mvae train``. Build one with :func:`load_config` or :meth:`from_dict` (both validate);
    the API reference lists each key's default and allowed values, read from these fields and
    from :meth:`validate`, beside its meaning:

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
    dhsic_estimator: str = "median"
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
    def validate(self) -> Config:
        """Check every field; raise :class:`ConfigError` naming the key and the allowed values."""
        facts = dataset_facts(self.dataset)
        _choice("architecture", self.architecture, ARCHITECTURES)
        _choice("likelihood", self.likelihood, LIKELIHOODS)
        _choice("kl_reduction", self.kl_reduction, KL_REDUCTIONS)
        _choice("reconstruction", self.reconstruction, RECONSTRUCTIONS)
        _choice("weight_sampler", self.weight_sampler, WEIGHT_SAMPLERS)
        _choice("dhsic_estimator", self.dhsic_estimator, DHSIC_ESTIMATORS)
        _choice("device", self.device, DEVICES)
        _choice("precision", self.precision, PRECISIONS)
        if self.precision == "bf16-emulated" and self.resolved_architecture != "mlp":
            raise ConfigError("precision bf16-emulated covers the MLP only; use fp32 or bf16 "
                              "for the convolutional model")
        for key in ("components", "latent_dim", "hidden_dim", "hidden_layers", "epochs",
                    "batch_size"):
            _integer(key, getattr(self, key), minimum=1)
        _integer("seed", self.seed, minimum=0, maximum=MAX_SEED)
        _integer("beta_warmup", self.beta_warmup, minimum=0)
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
        """Every key and its value, as ``config.yaml`` holds them (plain data, a fresh copy)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        """Build and validate; unknown keys are rejected with the list of known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known, key=str)  # a file's keys may be of any type
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
        """A validated copy with ``changes`` applied (``config.replace(lr=1e-4)``)."""
        return Config.from_dict({**self.to_dict(), **changes})


def default_run_name(values: dict[str, Any]) -> str:
    """``<dataset>-k<K>`` (``mnist-k1``, ``fashion-k4``): what the config is, not the default's
    name, so that a K=1 run is not called mnist-k4."""
    dataset = values.get("dataset", Config.dataset)
    components = values.get("components", Config.components)
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


#: A config file is a page of ``key: value`` lines: these bounds leave room for any of them and
#: stop a YAML "billion laughs" (aliases of aliases) before it is expanded in memory.
MAX_YAML_BYTES = 1_000_000
MAX_YAML_VALUES = 10_000


class _DuplicateKey(Exception):
    def __init__(self, key: Any, first: int, again: int) -> None:
        super().__init__(key, first, again)
        self.key, self.first, self.again = key, first, again


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping key given twice (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:  # an unhashable key (a list): PyYAML's own error names it
                continue
            if first is not key_node.start_mark:
                raise _DuplicateKey(key, first.line + 1, key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)


def _expanded_values(node: yaml.Node, limit: int) -> int:
    """How many values ``node`` holds once every alias is expanded (counting stops past
    ``limit``); a node that contains itself counts as over the limit."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(n: yaml.Node) -> int:
        if id(n) in sizes:
            return sizes[id(n)]
        if id(n) in busy:  # a recursive structure (&a [*a]) never ends when expanded
            return limit + 1
        busy.add(id(n))
        if isinstance(n, yaml.SequenceNode):
            children = n.value
        elif isinstance(n, yaml.MappingNode):
            children = [part for pair in n.value for part in pair]
        else:
            children = []
        total = 1
        for child in children:
            total += size(child)
            if total > limit:
                break
        busy.discard(id(n))
        sizes[id(n)] = total
        return total

    return size(node)


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML text strictly; every failure is one :class:`ConfigError` naming ``source``.

    Beyond ``yaml.safe_load``: a key given twice in a mapping is an error naming the key and both
    lines (PyYAML silently keeps the last); a text over :data:`MAX_YAML_BYTES`, or one whose
    aliases expand to more than :data:`MAX_YAML_VALUES` values, is refused before anything is
    built, so an alias bomb costs neither memory nor an error message that prints it.
    """
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"{source} is {len(text):,} characters long; a config is a few lines "
                          f"(at most {MAX_YAML_BYTES:,})")
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_values(node, MAX_YAML_VALUES) > MAX_YAML_VALUES:
            raise ConfigError(f"{source} expands to more than {MAX_YAML_VALUES:,} values through "
                              "YAML aliases (*name); a config needs no aliases: write the values "
                              "out")
        return loader.construct_document(node)
    except ConfigError:
        raise
    except _DuplicateKey as dup:
        where = (f"on line {dup.first}" if dup.first == dup.again
                 else f"lines {dup.first} and {dup.again}")
        raise ConfigError(f"{source}: key {short_repr(dup.key)} is given twice ({where}); keep one"
                          ) from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{source} is not valid YAML: {' '.join(str(err).split())[:500]}"
                          ) from None
    except (RecursionError, ValueError, OverflowError) as err:  # deep nesting, a 5000-digit int
        raise ConfigError(f"{source} cannot be read as a config ({type(err).__name__}: "
                          f"{' '.join(str(err).split())[:200]})") from None
    finally:
        loader.dispose()


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


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(allowed)}; got {value!r}")


#: Seeds are unsigned 64-bit integers (torch.manual_seed refuses anything larger).
MAX_SEED = 2 ** 64 - 1


def _integer(key: str, value: Any, *, minimum: int, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key} must be an integer >= {minimum}, got {short_repr(value)}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{key} must be an integer from {minimum} to {maximum} "
                          f"({maximum.bit_length()} bits, what torch's generator takes), got "
                          f"{short_repr(value)}")


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
        channels = [c if isinstance(c, int) else 1 for c in config.conv_channels]
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


def short_repr(value: Any) -> str:
    """A value for an error message: a huge integer by its size (Python will not print one of
    over 4,300 digits), anything else by its repr cut to 80 characters."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "..."


def _number(key: str, value: Any, *, positive: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key} must be a number, got {value!r}")
    if not math.isfinite(value):  # inf and nan pass every comparison-based check below
        raise ConfigError(f"{key} must be a finite number, got {value!r}")
    if positive and not value > 0:
        raise ConfigError(f"{key} must be > 0, got {value!r}")


def _subset(key: str, value: Any, size: int, dataset: str, classes: int) -> None:
    """A class-balanced subset: None (all), or a multiple of the classes up to the split."""
    if value is None:
        return
    _integer(key, value, minimum=1)
    if value % classes:
        raise ConfigError(f"{key} must be a multiple of {classes} (subsets are class-balanced), "
                          f"got {value!r}; e.g. {max(classes, value - value % classes)}")
    if value > size:
        raise ConfigError(f"{key}={value} is larger than the {dataset} split ({size} images); "
                          "use at most that, or leave it unset for all")
