# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["remove-cell"]
# ruff: noqa: E402, E501  (a notebook: imports follow prose cells; Markdown tables are wide)
# Hidden from the book: mvae.data imports tqdm.auto, which warns (on stderr) when ipywidgets is
# not installed; the build treats any stderr output as a warning.
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")

# %% [markdown]
# # Reproducing and extending

# %% tags=["remove-input"]
import contextlib

from IPython.display import display

from mvae import pages
from mvae import reporting as rp

budget = None
with contextlib.suppress(Exception):  # a checkout without the paper preset's archive
    budget = pages.time_budget()
if budget:
    display(pages.takeaway(
        f"One Snakemake workflow turns a preset into every table, figure and page of this book. "
        f"The paper preset has {budget['runs']} runs: the {budget['archived']} archived so far "
        f"recorded {budget['archived_hours']:.0f} hours of training, and the "
        f"{budget['left']} still to come need about {budget['left_hours']:.0f} more by "
        "`mvae.planning`'s estimates from those records (job-hours on the archive's 2-core "
        "machine, which ran two jobs side by side; far less on a GPU). Reading the committed "
        "results needs none of it: `snakemake --cores all --config committed=true` rebuilds "
        f"the tables, figures and book from them. The code lives at {pages.repository_url()}."))

# %% [markdown]
# ## The pipeline in one picture
#
# Everything the results chapters show is produced by one Snakemake workflow (`Snakefile`,
# `pipeline/`): download and verify each dataset, train every run of the preset's grid,
# evaluate each run (reconstructions, latent codes, probes, component diversity, CIFAR-10
# scores), write the tables (CSV, and JSON with provenance), the figures and
# `provenance.json`, then build this book and check it in a browser. Figure 12.1 is the
# workflow's rule graph, drawn when the book is built from Snakemake's own
# `snakemake --rulegraph` (the quick preset, which runs every rule): an arrow goes from a rule
# to each rule that uses its output.

# %% tags=["hide-input"]
from mvae import diagrams

try:
    dot = diagrams.rulegraph_dot(rp.repo_root(), "preset=quick")
except (OSError, RuntimeError) as err:  # Snakemake not installed here: say so, and go on
    display(pages.not_available("The rule graph", err))
else:
    rules = sum(name != "all" for name in diagrams.parse_rulegraph(dot)[0].values())
    display(rp.show_plot(
        diagrams.rulegraph_figure(dot), f"The pipeline's {rules} rules as snakemake "
        "--rulegraph gives them (quick preset), the first on top; an arrow from a rule to each "
        "rule that uses its output, left out where a longer path already shows it (the all "
        "target, which only collects the others, is not drawn).",
        "A layered graph of the pipeline's rules, from data and train at the top to book at "
        "the bottom", number="12.1"))

# %% [markdown]
# Each step is a rule whose outputs are files, so an interrupted run resumes where it
# stopped, and changing one run's configuration retrains that run and rebuilds only what
# depends on it. Training checkpoints every epoch and resumes from the checkpoint.
#
# ## Reading the committed results without training
#
# The paper-scale results are committed in `results/paper/`, run by run: each run's small records
# (`config.yaml`, `history.json`, `provenance.json`, `done.json`) and its evaluation files under
# `eval/<run>/`, but no checkpoint. With `committed=true` the pipeline rebuilds steps 4 and 5, the
# tables, the figures and this book, from those files alone, and never trains:
#
# ```bash
# .venv/bin/snakemake --cores all --config committed=true
# ```
#
# A run whose evaluation is not committed yet is left out of the tables (the chapters say so),
# never trained. This is how the hosted book is built.
#
# ## Presets
#
# A preset is a YAML file in `pipeline/config/` with three parts: `defaults` (configuration fields
# shared by every run), `grid` (named runs, each overriding some fields) and `settings` (knobs of
# the evaluation, such as how many images the CIFAR-10 scores use). Every field is validated before
# anything runs, so a typo fails in a second with the key's name and the allowed values.
#
# | preset | what it is | command | time |
# | --- | --- | --- | --- |
# | `paper` | the paper's grid at full scale: MNIST with $K = 1, \dots, 10$ (three seeds for several $K$), the 2-D runs, the claims grid ($\beta$ sweep, the authors' settings, an 80-d VAE, binarised runs for the log-likelihood), CIFAR-10 $K = 4$ and $K = 1$, Fashion-MNIST, then the decisive-claims controls (KL-weight VAEs, the authors' settings across $K$, each switch alone, more seeds); 100 epochs | `snakemake --cores all` | the box at the top of this page, read from the archive |
# | `quick` | the same kinds of runs on the full MNIST and Fashion-MNIST training sets, MLP 256-256, 3 epochs: every rule, the book and its browser check included | `snakemake --cores all --config preset=quick` | 9 min 24 s on 2 CPU cores (measured, `benchmarks/README.md`) |
# | `tiny` | a smoke test of every rule but the book, used by the tests | `snakemake --cores all --config preset=tiny` | a couple of minutes |
#
# Other options, given as `--config key=value`: `results_dir` (default `results`), `data_dir` (or
# `$MVAE_DATA_DIR`, default `data`), `cifar10_path` (or `$MVAE_CIFAR10_PATH`: a local copy of
# CIFAR-10 when the official archive cannot be downloaded) and `exclude_datasets=cifar10` to skip a
# dataset. A path to your own YAML file works in place of a preset name:
# `--config preset=my/preset.yaml`.
#
# ## GPUs and clusters
#
# On a machine with a GPU the pipeline detects it and gives training and scoring jobs the `gpu`
# resource; the default profile (`pipeline/profiles/default/config.yaml`) lets one such job run at
# a time, because two trainings sharing one GPU are slower than two in a row. Raise `resources: gpu`
# there for a machine with several GPUs.
#
# On a SLURM cluster, with `snakemake-executor-plugin-slurm` installed (part of `.[pipeline]`):
#
# ```bash
# snakemake --profile pipeline/profiles/slurm                      # paper preset
# snakemake --profile pipeline/profiles/slurm --config preset=quick
# ```
#
# Set `slurm_account` and `slurm_partition` in `pipeline/profiles/slurm/config.yaml` for your
# cluster; training and scoring jobs ask for one GPU on the `gpu` partition, everything else runs on
# CPU nodes. A run that hits its time limit resumes from its checkpoint when SLURM retries it.
#
# ## Where results live
#
# ```text
# results/<preset>/
#   runs/<run>/       config.yaml, history.json (loss terms per epoch), provenance.json, checkpoint.pt
#   eval/<run>/       reconstruction.json, probes.json, diversity.json, scores.json, examples.npz, ...
#   tables/           table1_reconstruction, table2_probes, table3_cifar, fig4_knn_vs_k,
#                     ablation_dhsic, fashion, beta_sweep, authors_settings, nll:
#                     .csv and .json (rows + provenance)
#   figures/          fig1_reconstructions, fig2_components, fig3_latents, fig4_knn_vs_k,
#                     fig5_cifar, ablation, mixing_weights, samples: .png and .svg
#   benchmarks/, logs/
#   provenance.json   the whole run: commit, versions, devices, timings
#   claims.md         the paper's claims checked against these tables (the verdicts the chapters print)
# ```
#
# The book reads `results/<preset>/` through `mvae.reporting`. It picks the preset from the
# environment variable `MVAE_PRESET`, or, when that is unset, `paper` if `results/paper/` exists and
# `quick` otherwise; `MVAE_RESULTS_DIR` replaces `results`. A chapter whose inputs are missing says
# so and names the command that produces them, and the book still builds. To rebuild it alone:
#
# ```bash
# MVAE_PRESET=quick .venv/bin/jupyter-book build --all book/
# .venv/bin/python scripts/check_book.py book/_build/html     # headless-Chromium check of every page
# ```
#
# The book serves its own copy of MathJax, so its formulas render without the network: the `book`
# extra installs `sphinx-mathjax-offline`, whose MathJax 3.2.2 the book's `offline_mathjax`
# extension checks against the npm release's digest before using it
# (`scripts/fetch_mathjax.py` fetches the npm tarball instead where that package is missing).
# Without either, the book loads MathJax from a CDN, formulas render only online, and
# `check_book.py --offline` fails every page, saying so.
#
# ## Extending
#
# **A new configuration.** Add an entry to a preset's `grid`, e.g.
# `- {name: mnist-k4-mean-kl, components: 4, kl_reduction: mean}` to measure one of the differences
# of {doc}`11_differences`; every configuration field (`src/mvae/config.py`) can be set per run.
# The pipeline trains and evaluates it, and Table I lists it.
#
# **A new dataset.** The datasets live in one registry, `src/mvae/data/registry.py`: add an
# entry there that names the dataset, where its files come from and their checksums, and the shape
# of its images. Write a fetch function (`src/mvae/data/sources.py`) or a parser
# (`src/mvae/data/formats.py`) only when the dataset comes from a kind of source or a file format
# that no existing entry uses. Runs then use it with `dataset: <name>` in a preset. For a one-off
# experiment, your own images need no entry at all: {doc}`13_own_images`.
#
# **A new architecture.** Encoders and decoders live in `src/mvae/networks.py`. They evaluate all
# $K$ components at once: an encoder maps images `(B, C, H, W)` to raw heads `(K, B, 2d + 1)` (mean,
# pre-softplus variance, pre-softplus Dirichlet concentration) and a decoder maps codes `(K, B, d)`
# to pre-activations `(K, B, C·H·W)`. Add a class pair, a name to `Architecture` in `config.py`,
# and a branch in `MVAE.__init__` (`src/mvae/model.py`); the objective, training, evaluation and
# pipeline need no change.
#
# **A new measurement.** Write a function that reads a run folder (or the latent codes the pipeline
# stores) and returns a JSON-ready record, add a rule for it in `pipeline/rules/evaluate.smk`, a
# table builder in `src/mvae/tables.py`, and a few cells that show the table in a chapter with
# `mvae.reporting.show_table(...)` and `provenance_box(...)`.

# %% [markdown]
# ## Trained models to play with
#
# The archive keeps each run's records, not its checkpoint. A few trained models are exported
# instead, as half-precision state dicts committed under `pretrained/` with their SHA-256 and
# the test error the exported model gets (`pretrained/manifest.json`), and load in one line:
#
# ```python
# import mvae.pretrained
# model = mvae.pretrained.load("mnist-k4-s0")   # the SHA-256 checked, torch.load(weights_only=True)
# ```
#
# They are committed rather than fetched (with pooch, by hash) because a clone, Binder, Colab
# and the book's own build then have them offline, with no hosting place to keep alive; the
# hash pins them as the manifest pins the archive. `python -m mvae.pretrained export RUN_DIR`
# exports a trained run, and `python -m mvae.pretrained check NAME` measures its test error
# again against the record. Chapters {doc}`05_mnist_reconstructions` and
# {doc}`06_latent_spaces` use them.
#
# The archived runs were trained on a CPU with AVX2. Retrained with torch's and MKL's AVX2 kernels
# pinned (`ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2`, `pretrained/README.md`), a
# run can repeat the archived one bit for bit; "same training" below says whether it did (its
# training loss equal at every epoch), and the two SSE columns what half precision costs.

# %% tags=["remove-input"]
from mvae import pretrained

exported = pretrained.table()
if len(exported):
    display(rp.format_table(exported, precision=5, precisions={"MB": 1}, caption=(
        "The trained models under `pretrained/`: the test SSE per image of the half-precision "
        "model a reader loads, beside the archived float32 run's")))
else:
    display(pages.not_available("The trained models", pretrained.NotAvailable(
        "pretrained/manifest.json lists none yet")))

# %% [markdown]
# ## Summary
#
# * One command runs everything, from the data to this book; Figure 12.1 shows the rules.
# * The committed archive rebuilds the tables, figures and book without training.
# * A preset is a YAML file, validated before anything runs; a new configuration, dataset,
#   architecture or measurement is one entry or one function in a known place.
#
# ## Run it yourself
#
# {download}`Download this chapter as a Jupyter notebook <12_reproducing.ipynb>` (unexecuted).
# The repository is {{ repository_url }}.
