"""Which runs of a preset feed which table and figure: selections by what a run *is*.

Every selection is a whitelist against the preset's ``defaults`` (the paper's setup,
:attr:`mvae.presets.Experiment.reference`): a run belongs to a comparison only if every Config key
it changes is one that the comparison varies. ``name``, ``components`` and ``seed`` identify a run
within a setup and never count as a change. So a run with a key no selection knows (a new
objective switch, a KL weight) joins no paper table until a selection names that key: it cannot
slip into Table I by accident.

:func:`select` computes all of them once; the Snakefile, ``scripts/batch_runs.py`` and the tests
read the one :class:`Selections` it returns, and :meth:`Selections.evaluations` is the one
evaluation plan per run that the pipeline's rules and the batch runner both follow. The pipeline
writes them to ``results/<preset>/selections.json`` (:data:`mvae.layout.SELECTIONS`), and the
table and figure builders and the book read that file back as the same object
(:meth:`Selections.read`): one shape everywhere, K and KL-weight keys as numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from mvae.config import DHSIC_ESTIMATORS, Config
from mvae.files import atomic_write_text
from mvae.presets import Experiment

#: Keys that tell runs of one setup apart without changing what the setup is.
IDENTITY_KEYS = frozenset({"name", "components", "seed"})

#: The authors' public code, where it departs from the paper's text (``mvae.config``): all three
#: together are "the authors' reading"; each alone is one switch of ``authors_switches``.
AUTHORS_SETTINGS: dict[str, object] = {"normalize_alpha": True, "dirichlet_prior": 0.25,
                                       "kl_reduction": "mean"}
#: One-key departures from the paper's objective measured alone at the Table II K (the authors'
#: three, and eq. 8 read literally).
SWITCHES: dict[str, object] = {**AUTHORS_SETTINGS, "reconstruction": "expected"}


def changed_keys(config: Config, reference: Config) -> set[str]:
    """The Config keys on which ``config`` differs from ``reference``, identity keys aside."""
    mine, theirs = config.to_dict(), reference.to_dict()
    return {key for key, value in mine.items() if value != theirs[key]} - IDENTITY_KEYS


def in_setup(config: Config, reference: Config, varies: Iterable[str] = ()) -> bool:
    """Whether ``config`` is ``reference``'s setup, allowing changes only to ``varies``."""
    return changed_keys(config, reference) <= set(varies)


def has_authors_settings(config: Config) -> bool:
    """Whether ``config`` has all of the authors' settings (:data:`AUTHORS_SETTINGS`)."""
    return all(getattr(config, key) == value for key, value in AUTHORS_SETTINGS.items())


@dataclass
class Selections:
    """The run selections of one preset (each a subset of its runs, in grid order)."""

    #: How :meth:`from_dict` reads a record (pydantic): no unknown key, no value of another type.
    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)

    #: Every run of the preset, in grid order.
    runs: list[str] = field(default_factory=list)
    #: The K of Table II and of the one-switch runs (4 in the paper).
    table2_k: int = 4
    #: The MNIST K sweep of the paper's setup, {K: [runs, one per seed]}: Table I, Fig. 4.
    sweep: dict[int, list[str]] = field(default_factory=dict)
    #: Table II: mixture (K = 4, all seeds), VAE (K = 1) and VAEs as wide as the concatenation.
    table2: dict[str, list[str]] = field(default_factory=dict)
    #: The 2-D latent runs of Fig. 3, mixture first.
    latent2d: list[str] = field(default_factory=list)
    #: The dHSIC ablation at the Table II mixture's K: {"with_dhsic": [runs], "without_dhsic":
    #: [runs]}, every seed of the paper's setup against every seed at beta = 0.
    ablation: dict[str, list[str]] = field(default_factory=dict)
    #: The dHSIC-weight sweep at the Table II mixture's K and seed: {beta: run}.
    betas: dict[float, str] = field(default_factory=dict)
    #: The dHSIC estimators compared at the Table II mixture's K: {estimator: {beta:
    #: [runs, by seed]}}, at beta = 0 and at every beta a run with another estimator than the
    #: preset's has (``dhsic_estimator``, :mod:`mvae.dhsic`). At beta = 0 no estimator enters the
    #: loss, so the beta = 0 runs stand under every estimator. Empty without such runs.
    dhsic_estimators: dict[str, dict[float, list[str]]] = field(default_factory=dict)
    #: MNIST runs under the authors' reading (all of :data:`AUTHORS_SETTINGS`), any beta.
    authors: list[str] = field(default_factory=list)
    #: The authors' reading across K at the paper's beta: {K: [runs]} (Table I, second reading).
    authors_sweep: dict[int, list[str]] = field(default_factory=dict)
    #: VAEs (K = 1) of the paper's setup but for the Gaussian-KL weight: {kl_weight: [runs]}.
    kl_vaes: dict[float, list[str]] = field(default_factory=dict)
    #: Every MNIST run on the rate-distortion plane: the paper's setup with any objective
    #: switch or KL weight (not other betas, latent sizes or binarised digits).
    rate_distortion: list[str] = field(default_factory=list)
    #: One switch alone at the Table II K: {switch key: [runs]}.
    switches: dict[str, list[str]] = field(default_factory=dict)
    #: Runs on dynamically binarised digits (IWAE NLL).
    nll: list[str] = field(default_factory=list)
    #: Table III and the Fashion-MNIST pair: {"mixture": run, "vae": run}.
    cifar: dict[str, str] = field(default_factory=dict)
    fashion: dict[str, str] = field(default_factory=dict)
    #: CIFAR-10 at the authors' widths (the Config's default ``conv_channels``): {"mixture": run,
    #: "vae": the run that differs from it only in K, "large_vae": a VAE that differs from it
    #: only in K, widths and latent size (the grid sizes it to the mixture's parameters)}.
    cifar_capacity: dict[str, str] = field(default_factory=dict)
    #: Figs. 1, 2 and 5's MNIST runs: the Table II mixture and VAE (first seed).
    figures: dict[str, str] = field(default_factory=dict)
    #: Per probed dataset, the run whose shape the baselines copy.
    baselines: dict[str, str] = field(default_factory=dict)
    #: Runs with more than one component (CKA / dHSIC between components).
    diverse: list[str] = field(default_factory=list)
    #: The MNIST runs of the paper's setup (any objective switch, KL weight or dHSIC weight)
    #: that repeat one setting over seeds: {first run: [its runs]}, settings with two or more
    #: seeds only. Their pooled spread is the one seed spread every verdict lends a side that has
    #: a single seed (``mvae.tables.seed_spread``).
    seed_groups: dict[str, list[str]] = field(default_factory=dict)
    #: The disentanglement test on dSprites (its factors are known): {"mixture": [the first
    #: dSprites mixture's runs, by seed], "vae_small": [VAEs that differ from it only in K, a
    #: component's latent size], "vae_wide": [VAEs that differ in K and latent size, the size of
    #: the mixture's concatenation]}. Empty without a dSprites mixture.
    disentanglement: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The selections as plain data (what ``selections.json`` holds)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "selections") -> Selections:
        """The selections from plain data as JSON holds it (every key text) or as
        :meth:`as_dict` gives it, validated by pydantic against the field types: ``sweep`` and
        ``authors_sweep`` get their K back as int keys, ``kl_vaes``, ``betas`` and the
        ``dhsic_estimators`` their weights as float keys. A selection this code does not know,
        or a value of another type, is a :class:`SelectionsError` naming it (``where``: the
        file, for the message); one missing keeps its default (empty)."""
        try:
            return _adapter().validate_json(json.dumps(data))
        except ValidationError as err:
            first = err.errors()[0]
            more = err.error_count() - 1
            raise SelectionsError(
                f"{where}: {'.'.join(map(str, first['loc'])) or 'the record'}: {first['msg']} "
                f"(got {first['input']!r})" + (f"; and {more} more" if more else "")) from None

    def write(self, path: str | Path) -> None:
        """Write the selections as JSON (atomically: a reader never sees half a file)."""
        atomic_write_text(path, json.dumps(self.as_dict(), indent=2) + "\n")

    @classmethod
    def read(cls, path: str | Path) -> Selections:
        """The selections :meth:`write` wrote to ``path`` (``results/<preset>/selections.json``);
        an unreadable or malformed file is a :class:`SelectionsError` naming it."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise SelectionsError(f"{path}: cannot read the selections ({err})") from None
        return cls.from_dict(data, where=str(path))

    def evaluations(self, run: str) -> list[str]:
        """The evaluation files (``eval/<run>/<file>``) of one run, in the order they are made:
        the one plan that Snakemake's rules and ``scripts/batch_runs.py`` both follow."""
        out = ["reconstruction.json", "examples.npz", "probes.json"]
        if run in self.diverse:
            out.append("diversity.json")
        if run in self.latent2d:
            out.append("latents_2d.npz")
        if run in self.cifar.values():
            out.append("scores.json")
        if run in self.nll:
            out.append("nll.json")
        if any(run in runs for runs in self.disentanglement.values()):
            out += ["disentanglement.json", "traversals.npz"]
        return out


class SelectionsError(ValueError):
    """A selections record that does not fit :class:`Selections` (one line, naming the key)."""


@functools.cache
def _adapter() -> TypeAdapter[Selections]:
    """pydantic's validator of :class:`Selections` (built once, on first use). JSON keys are
    text: strict mode still reads ``"4"`` as the int key 4 and ``"0.5"`` as the float 0.5."""
    return TypeAdapter(Selections)


def select(experiment: Experiment, table2_k: int = 4) -> Selections:
    """Every selection of ``experiment`` (see :class:`Selections`)."""
    runs, ref = experiment.runs, experiment.reference

    def mnist(varies: Iterable[str] = ()) -> dict[str, Config]:
        return {n: c for n, c in runs.items()
                if c.dataset == "mnist" and in_setup(c, ref, varies)}

    sel = Selections(runs=list(runs))
    sel.sweep = _by_k(mnist())
    k = sel.table2_k = table2_k if table2_k in sel.sweep else max(
        (key for key in sel.sweep if key > 1), default=table2_k)
    mixture = sel.sweep.get(k, [])
    width = k * ref.latent_dim
    sel.table2 = {"mixture": mixture, "vae": sel.sweep.get(1, []),
                  "wide_vae": [n for n, c in mnist({"latent_dim"}).items()
                               if c.components == 1 and c.latent_dim == width and mixture]}
    sel.latent2d = sorted((n for n, c in mnist({"latent_dim"}).items() if c.latent_dim == 2),
                          key=lambda n: -runs[n].components)
    main = runs[mixture[0]] if mixture else None
    if main is not None:
        same = {n: c for n, c in mnist({"beta"}).items()
                if c.components == main.components and c.seed == main.seed}
        betas: dict[float, str] = {}
        for name, c in same.items():
            betas.setdefault(c.beta, name)
        sel.betas = dict(sorted(betas.items())) if len(betas) > 1 else {}
        without = sorted((n for n, c in mnist({"beta"}).items()
                          if c.components == main.components and c.beta == 0),
                         key=lambda n: runs[n].seed)
        if without:
            sel.ablation = {"with_dhsic": mixture, "without_dhsic": without}
        sel.dhsic_estimators = _estimators(
            {n: c for n, c in mnist({"beta", "dhsic_estimator"}).items()
             if c.components == main.components}, ref.dhsic_estimator)
    authors = mnist({*AUTHORS_SETTINGS, "beta", "beta_warmup"})
    sel.authors = [n for n, c in authors.items() if has_authors_settings(c)]
    sel.authors_sweep = _by_k({n: c for n, c in mnist(AUTHORS_SETTINGS).items()
                               if has_authors_settings(c)})
    for name, c in mnist({"kl_weight"}).items():
        if c.components == 1 and c.kl_weight != ref.kl_weight:
            sel.kl_vaes.setdefault(c.kl_weight, []).append(name)
    sel.kl_vaes = dict(sorted(sel.kl_vaes.items(), reverse=True))
    sel.rate_distortion = list(mnist({*SWITCHES, "kl_weight"}))
    for name, c in mnist(SWITCHES).items():
        changed = changed_keys(c, ref)
        if c.components == k and len(changed) == 1:
            sel.switches.setdefault(changed.pop(), []).append(name)
    sel.nll = [n for n, c in runs.items() if in_setup(c, ref, {"binarize"}) and c.binarize]
    sel.cifar = _pair(runs, "cifar10")
    sel.cifar_capacity = _capacity(runs)
    sel.fashion = _pair(runs, "fashion_mnist")
    sel.figures = {role: names[0] for role, names in sel.table2.items() if names}
    if mixture:
        sel.baselines["mnist"] = mixture[0]
    if sel.fashion:
        sel.baselines["fashion_mnist"] = sel.fashion.get("mixture") or sel.fashion["vae"]
    sel.diverse = [n for n, c in runs.items() if c.components > 1]
    sel.seed_groups = _seed_groups(mnist({*SWITCHES, "kl_weight", "beta", "beta_warmup"}))
    sel.disentanglement = _disentanglement(runs)
    return sel


def _disentanglement(runs: dict[str, Config]) -> dict[str, list[str]]:
    """:attr:`Selections.disentanglement`: the first dSprites mixture's setting over seeds, and
    the VAEs of its setup with one component's latent size or the concatenation's."""
    mine = {n: c for n, c in runs.items() if c.dataset == "dsprites"}
    mixture = next((c for c in mine.values() if c.components > 1), None)
    if mixture is None:
        return {}
    width = mixture.components * mixture.latent_dim
    return {"mixture": [n for n, c in mine.items()
                        if c.components == mixture.components and in_setup(c, mixture)],
            "vae_small": [n for n, c in mine.items()
                          if c.components == 1 and in_setup(c, mixture)],
            "vae_wide": [n for n, c in mine.items() if c.components == 1
                         and c.latent_dim == width and in_setup(c, mixture, {"latent_dim"})]}


def _seed_groups(runs: dict[str, Config]) -> dict[str, list[str]]:
    """:attr:`Selections.seed_groups`: ``runs`` grouped by every key but name and seed, one run
    per seed (a second run of a seed repeats the same training: no spread to add)."""
    groups: dict[str, dict[int, str]] = {}
    settings: dict[str, str] = {}
    for name, c in runs.items():
        setting = repr(sorted((k, v) for k, v in c.to_dict().items() if k not in ("name", "seed")))
        groups.setdefault(settings.setdefault(setting, name), {}).setdefault(c.seed, name)
    return {first: list(seeds.values()) for first, seeds in groups.items() if len(seeds) > 1}


def _estimators(runs: dict[str, Config], default: str) -> dict[str, dict[float, list[str]]]:
    """:attr:`Selections.dhsic_estimators` from the runs of one K that differ from the paper's
    setup at most in beta and the dHSIC estimator; ``default`` is the preset's estimator."""
    betas = {c.beta for c in runs.values() if c.dhsic_estimator != default and c.beta > 0}
    if not betas:
        return {}
    present = {default, *(c.dhsic_estimator for c in runs.values())}
    out: dict[str, dict[float, list[str]]] = {}
    for estimator in sorted(present, key=lambda e: (e != default, DHSIC_ESTIMATORS.index(e))):
        by_beta: dict[float, list[str]] = {}
        for beta in sorted({0.0, *betas}):
            chosen = [n for n, c in runs.items()
                      if c.beta == beta and (beta == 0 or c.dhsic_estimator == estimator)]
            if chosen:
                by_beta[beta] = sorted(chosen, key=lambda n: runs[n].seed)
        out[estimator] = by_beta
    return out


def _by_k(runs: dict[str, Config]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for name, c in runs.items():
        out.setdefault(c.components, []).append(name)
    return dict(sorted(out.items()))


def _capacity(runs: dict[str, Config]) -> dict[str, str]:
    """:attr:`Selections.cifar_capacity`: the first CIFAR-10 mixture at the default widths,
    its VAE, and the first VAE that changes the widths or the latent size as well (by what the
    runs are; whether it is as large is the table's to say, from the parameter counts)."""
    widths = Config().conv_channels  # the default widths
    mixtures = [c for c in runs.values() if c.dataset == "cifar10" and c.components > 1
                and list(c.conv_channels) == widths]
    if not mixtures:
        return {}
    mixture = mixtures[0]
    out = {"mixture": mixture.name}
    for name, c in runs.items():
        if c.components != 1:
            continue
        if "vae" not in out and in_setup(c, mixture):
            out["vae"] = name
        elif "large_vae" not in out and in_setup(c, mixture, {"conv_channels", "latent_dim"}) \
                and not in_setup(c, mixture):
            out["large_vae"] = name
    return out


def _pair(runs: dict[str, Config], dataset: str) -> dict[str, str]:
    """The first mixture of ``dataset`` and the first VAE that differs from it only in K (or,
    with no mixture, the first VAE): Table III, the Fashion-MNIST pair."""
    mine = {n: c for n, c in runs.items() if c.dataset == dataset}
    mixture = next((n for n, c in mine.items() if c.components > 1), None)
    vaes = [n for n, c in mine.items() if c.components == 1
            and (mixture is None or in_setup(c, mine[mixture]))]
    out = {"mixture": mixture} if mixture else {}
    if vaes:
        out["vae"] = vaes[0]
    return out
