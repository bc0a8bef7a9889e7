"""One registry of what the pipeline makes from the runs: every table and figure, with its inputs,
its builder, when a preset can make it, and its caption.

The Snakefile loops over :data:`TABLES` and :data:`FIGURES` (``pipeline/rules/common.smk``), the
table and figure scripts call :func:`build`, and the book reads the captions, so adding a table
is one entry here and one builder function. Inputs are paths relative to ``results/<preset>/``
(:mod:`mvae.layout`), computed from a preset's :class:`~mvae.selections.Selections`. Builders are
named as ``module:function`` and imported only when a table or figure is built: Snakemake reads
this module while it parses the workflow, and matplotlib is slow to import.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mvae import layout
from mvae.selections import Selections


@dataclass(frozen=True)
class Product:
    """A table (CSV + JSON) or a figure (PNG + SVG) of the results."""

    name: str
    builder: str                                   # "module:function"
    inputs: Callable[[Selections], list[str]]      # paths under results/<preset>/
    available: Callable[[Selections], bool]        # the preset has the runs it needs
    caption: str = ""
    alt: str = ""
    #: Committed mode: whether the archived runs (names) are enough to build it. Default: any
    #: input archived (a table); figures wait for all of their inputs.
    enough: Callable[[Selections, set[str]], bool] | None = None

    def function(self) -> Callable[..., Any]:
        return pkgutil.resolve_name(self.builder)


def _evals(runs: Iterable[str], *names: str) -> list[str]:
    """``eval/<run>/<name>`` for every run and name, run by run."""
    return [layout.eval_file(run, name) for run in runs for name in names]


def _done(runs: Iterable[str]) -> list[str]:
    return [layout.run_file(run, layout.DONE) for run in runs]


def _flat(groups: Iterable[list[str]]) -> list[str]:
    return [run for group in groups for run in group]


def _baseline(s: Selections, dataset: str) -> list[str]:
    return [layout.baseline_file(dataset)] if dataset in s.baselines else []


def _rate_points(runs: Iterable[str]) -> list[str]:
    """What a run's point on the rate-distortion plane is read from: its reconstruction record
    (the error) and its ``done.json`` (the last epoch's test KL terms, the rate)."""
    runs = list(runs)
    return _evals(runs, "reconstruction.json") + _done(runs)


def _seeds_archived(s: Selections, archived: set[str]) -> bool:
    """Committed mode: some setting repeated over seeds has two or more runs archived."""
    return any(len(set(runs) & archived) > 1 for runs in s.seed_groups.values())


def _estimator_runs(s: Selections) -> list[str]:
    """The dHSIC-estimator ablation's runs, each once (beta = 0 is both estimators' arm)."""
    return list(dict.fromkeys(_flat(runs for by_beta in s.dhsic_estimators.values()
                                    for runs in by_beta.values())))


def _readings_runs(s: Selections) -> list[str]:
    """Table I under both readings: the paper-setup sweep, the authors' sweep, the KL VAEs."""
    return list(dict.fromkeys(_flat(s.sweep.values()) + _flat(s.authors_sweep.values())
                              + _flat(s.kl_vaes.values())))


def _switch_runs(s: Selections) -> list[str]:
    """The switches alone, beside our objective and the authors' (all switches) at their K."""
    reference = s.table2["mixture"] + s.authors_sweep.get(s.table2_k, [])
    return list(dict.fromkeys(_flat(s.switches.values()) + reference))


def _mixture_examples(s: Selections) -> list[str]:
    """The examples of the Table II mixture (first seed): Fig. 2 and the mixing weights."""
    return _evals([s.figures["mixture"]], "examples.npz")


def _has_mixture(s: Selections) -> bool:
    return "mixture" in s.figures


def _some(names: Callable[[Selections], Iterable[str]], at_least: int = 1
          ) -> Callable[[Selections, set[str]], bool]:
    return lambda s, archived: len(set(names(s)) & archived) >= at_least


TABLES: dict[str, Product] = {p.name: p for p in [
    Product("table1_reconstruction", "mvae.tables:table1",
            lambda s: _evals(s.runs, "reconstruction.json"), lambda s: bool(s.runs),
            "Table I: test reconstruction error of every run (per-image SSE), beside the "
            "paper's."),
    Product("table2_probes", "mvae.tables:table2",
            lambda s: _evals(s.table2["mixture"] + s.table2["vae"] + s.table2["wide_vae"],
                             "probes.json")
            + _evals(s.table2["mixture"], "reconstruction.json")  # usage order
            + _baseline(s, "mnist"),
            lambda s: bool(s.table2.get("mixture")),
            "Table II: test accuracy of classifiers trained on the codes, beside the paper's."),
    Product("fig4_knn_vs_k", "mvae.tables:fig4_table",
            lambda s: _evals(_flat(s.sweep.values()), "probes.json") + _baseline(s, "mnist"),
            lambda s: bool(s.sweep),
            "Fig. 4's data: probe accuracy on the concatenated codes against K."),
    Product("table3_cifar", "mvae.tables:table3",
            lambda s: _evals(s.cifar.values(), "scores.json", "reconstruction.json"),
            lambda s: bool(s.cifar), "Table III: CIFAR-10, beside the paper's."),
    Product("cifar_capacity", "mvae.tables:cifar_capacity",
            lambda s: _evals(s.cifar_capacity.values(), "reconstruction.json"),
            lambda s: bool(s.cifar_capacity),
            "CIFAR-10 at the authors' widths: the K = 4 mixture, the VAE of the same widths, "
            "and a VAE with as many parameters as the mixture."),
    Product("ablation_dhsic", "mvae.tables:ablation",
            lambda s: _evals(_flat(s.ablation.values()), "diversity.json",
                             "reconstruction.json", "probes.json"),
            lambda s: bool(s.ablation), "The dHSIC ablation: beta = 1 against beta = 0.",
            enough=lambda s, archived: all(set(runs) & archived
                                           for runs in s.ablation.values())),
    Product("fashion", "mvae.tables:fashion",
            lambda s: [path for run in s.fashion.values() for path in _evals(
                [run], "reconstruction.json", "probes.json",
                *(["diversity.json"] if run in s.diverse else []))]
            + _baseline(s, "fashion_mnist"),
            lambda s: bool(s.fashion), "Fashion-MNIST (beyond the paper): M-VAE against VAE."),
    Product("beta_sweep", "mvae.tables:beta_sweep",
            lambda s: _evals(s.betas.values(), "diversity.json", "reconstruction.json",
                             "probes.json"),
            lambda s: bool(s.betas), "The dHSIC weight swept at K = 4.",
            enough=_some(lambda s: s.betas.values(), 2)),
    Product("authors_settings", "mvae.tables:authors_settings",
            lambda s: _evals(s.authors + s.table2["mixture"][:1], "reconstruction.json",
                             "probes.json"),
            lambda s: bool(s.authors), "The authors' code settings against ours.",
            enough=_some(lambda s: s.authors)),
    Product("nll", "mvae.tables:nll", lambda s: _evals(s.nll, "nll.json"),
            lambda s: bool(s.nll), "Negative log-likelihood on binarised MNIST (IWAE)."),
    Product("latents_2d", "mvae.tables:latents_2d",
            lambda s: _evals(s.latent2d, "latents_2d.npz", "probes.json")
            + _evals([r for r in s.latent2d if r in s.diverse], "diversity.json"),
            lambda s: bool(s.latent2d),
            "Fig. 3's numbers: each component's 2-D code (spread, KNN accuracy alone) beside the "
            "2-D VAE's.", enough=lambda s, archived: set(s.latent2d) <= archived),
    Product("rate_distortion", "mvae.control_tables:rate_distortion",
            lambda s: _rate_points(s.rate_distortion),
            lambda s: bool(s.kl_vaes),
            "Rate against distortion: every MNIST run's Gaussian KL (nats per image) beside its "
            "reconstruction error, the VAE's curve through its KL weights.",
            enough=_some(lambda s: _flat(s.kl_vaes.values()))),
    Product("dhsic_estimators", "mvae.control_tables:dhsic_estimators",
            lambda s: _rate_points(_estimator_runs(s))
            + _evals(_estimator_runs(s), "diversity.json", "probes.json"),
            lambda s: bool(s.dhsic_estimators),
            "The dHSIC ablation under each estimator: beta = 0, 1 and 100 at K = 4.",
            enough=lambda s, archived: any(
                set(runs) & archived for by_beta in list(s.dhsic_estimators.values())[1:]
                for beta, runs in by_beta.items() if beta != 0)),
    Product("seed_code", "mvae.control_tables:seed_code",
            lambda s: _done(_flat(s.seed_groups.values())),
            lambda s: bool(s.seed_groups),
            "Training code per seed group: whether its runs trained the same code (git), and "
            "the devices and commits it spans.",
            enough=_seeds_archived),
    Product("seed_spread", "mvae.control_tables:seed_spread",
            lambda s: _evals(_flat(s.seed_groups.values()), "reconstruction.json"),
            lambda s: bool(s.seed_groups),
            "The seed spread: every run of the settings repeated over seeds, whose pooled sd "
            "the verdicts lend a setting with one seed.",
            enough=_seeds_archived),
    Product("table1_readings", "mvae.control_tables:table1_readings",
            lambda s: _rate_points(_readings_runs(s)),
            lambda s: bool(s.authors_sweep),
            "Table I under both readings: the paper's objective and the authors' (averaged KLs, "
            "a KL weight of 1/K), each K beside the VAE at the matched KL weight.",
            enough=_some(lambda s: _flat(s.authors_sweep.values()))),
    Product("authors_switches", "mvae.control_tables:authors_switches",
            lambda s: _rate_points(_switch_runs(s)),
            lambda s: bool(s.switches),
            "Each of the authors' switches alone at K = 4, beside our objective and all of them "
            "together.", enough=_some(lambda s: _flat(s.switches.values()))),
    # The disentanglement test on dSprites (issue 40, item 5); self-contained on purpose.
    Product("disentanglement", "mvae.disentanglement_table:disentanglement_table",
            lambda s: [layout.eval_file(run, "disentanglement.json")
                       for runs in s.disentanglement.values() for run in runs],
            lambda s: bool(s.disentanglement),
            "Disentanglement on dSprites (re-rendered from its factors): MIG and DCI of each "
            "component of the K = 4 mixture alone (C1 the most used), of their concatenation, "
            "and of VAEs with one component's latent size and with the concatenation's; mean, "
            "sd and n over seeds.",
            enough=lambda s, archived: bool(set(s.disentanglement.get("mixture", [])) & archived)
            and any(set(s.disentanglement.get(role, [])) & archived
                    for role in ("vae_small", "vae_wide"))),
]}

FIGURES: dict[str, Product] = {p.name: p for p in [
    Product("mixing_weights", "mvae.figures:weights_figure",
            _mixture_examples, _has_mixture,
            "The learned mixing weights of the K = 4 mixture: for each component, how its "
            "expected weight E[w_i | x] is spread over 2,000 test images. Narrow peaks at fixed "
            "shares mean a blend; mass near 0 and 1 means images choose a component.",
            "Histograms of each component's expected mixing weight over test images"),
    Product("samples", "mvae.figures:samples_figure",
            lambda s: _evals(s.figures.values(), "examples.npz"), lambda s: bool(s.figures),
            "Samples from the prior of the VAE and of the mixture, then each mixture component "
            "alone decoding the straight line between the posterior means of two test digits.",
            "Rows of generated images and of per-component latent interpolations"),
    Product("fig1_reconstructions", "mvae.figures:fig1_reconstructions",
            lambda s: _evals(s.figures.values(), "examples.npz"), lambda s: bool(s.figures),
            "Fig. 1: test digits (top row) and their reconstructions by the VAE and by the K = 4 "
            "mixture (deterministic mode: expected weights, posterior means).",
            "Rows of MNIST test digits and their reconstructions by each model"),
    Product("fig2_components", "mvae.figures:fig2_components",
            _mixture_examples, _has_mixture,
            "Fig. 2: each component of the K = 4 mixture reconstructing the same test digits "
            "alone (one-hot weights), C1 the most used (its mean weight under its name). A "
            "component of a mixture reconstructs the digits that give it most weight; on the "
            "others it may draw its own shape or nothing.",
            "Rows of test digits reconstructed by each mixture component alone"),
    Product("fig3_latents", "mvae.figures:fig3_latents",
            lambda s: _evals(s.latent2d, "latents_2d.npz"), lambda s: bool(s.latent2d),
            "Fig. 3: posterior means of test digits in the 2-D latent space of each component "
            "(and of the 2-D VAE), coloured by digit class. Axis units are latent units (prior "
            "N(0, 1)).",
            "Scatter plots of 2-D latent codes coloured by digit class, one panel per component"),
    Product("fig4_knn_vs_k", "mvae.figures:fig4_knn_vs_k",
            lambda s: [layout.table_file("fig4_knn_vs_k", "csv")], lambda s: bool(s.sweep),
            "Fig. 4: test accuracy of probes on the concatenated codes against the number of "
            "components K; error bars are the standard deviation over seeds; dashed: KNN on raw "
            "pixels.", "Line plot of probe accuracy in percent against K"),
    Product("fig5_cifar", "mvae.figures:fig5_cifar",
            lambda s: _evals(s.cifar.values(), "examples.npz"), lambda s: bool(s.cifar),
            "Fig. 5: CIFAR-10 test images, their reconstructions by the VAE and the K = 4 "
            "mixture, and samples from each model's prior (bottom rows).",
            "Rows of CIFAR-10 test images, their reconstructions, and prior samples"),
    Product("ablation", "mvae.figures:ablation_figure",
            lambda s: [layout.table_file("ablation_dhsic", "csv")], lambda s: bool(s.ablation),
            "The dHSIC ablation: the same K = 4 model with beta = 1 and beta = 0, compared on "
            "dHSIC, component similarity (CKA), KNN accuracy and reconstruction error.",
            "Bar charts comparing beta = 1 and beta = 0 on four measures"),
    Product("rate_distortion", "mvae.figures:rate_distortion_figure",
            lambda s: [layout.table_file("rate_distortion", "csv")]
            + ([layout.table_file("seed_spread", "csv")] if s.seed_groups else []),
            lambda s: bool(s.kl_vaes),
            "Rate against distortion on MNIST: each run's Gaussian KL (nats per image, the "
            "rate) and its test reconstruction error; the line joins the VAEs trained at "
            "different KL weights, each point labelled with its weight and its standard error "
            "over seeds (bars: ± 1 SE; the lent seed spread where a weight has one seed). A "
            "mixture below the line reconstructs better than a VAE spending the same rate.",
            "Scatter plot of per-image SSE against Gaussian KL, a line through the VAEs"),
    # The disentanglement test on dSprites (issue 40, item 5); self-contained on purpose.
    Product("disentanglement_traversals", "mvae.traversals:traversal_figure",
            lambda s: [layout.eval_file(runs[0], "traversals.npz")
                       for runs in s.disentanglement.values() if runs],
            lambda s: bool(s.disentanglement),
            "Latent traversals on dSprites (first seed of each model): for each component of "
            "the K = 4 mixture (C1 the most used) and each VAE, its ten dimensions of largest KL "
            "(nats, beside each row), one row each, the dimension set from -2.5 to 2.5 while "
            "the others keep a test image's posterior mean. A disentangled dimension moves one "
            "factor: position, scale, shape or rotation.",
            "Grids of dSprites images, one row per latent dimension, one panel per code"),
]}


def caption(name: str) -> tuple[str, str]:
    """(caption, alt text) of figure ``name`` (the name itself for one not registered)."""
    product = FIGURES.get(name)
    return (product.caption, product.alt) if product else (name, name)
