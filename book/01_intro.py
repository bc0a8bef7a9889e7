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

# %% [markdown]
# # Mixtures of Variational Autoencoders, explained and reproduced
#
# This book explains and reproduces *Mixtures of Variational Autoencoders* by Fei Ye and Adrian G.
# Bors {cite:p}`ye2019mixtures`, using `mvae`, an open and tested PyTorch reimplementation.
#
# The paper against this reproduction first: each row a claim of the paper, the paper's number,
# ours, and the verdict (how a verdict is reached: {doc}`09_claims`; every claim: `results/paper/claims.md`).

# %% tags=["remove-cell"]
# ruff: noqa: E402, E501  (a notebook: imports follow prose cells; Markdown tables are wide)
from IPython.display import Markdown, display

from mvae import reporting as rp
from mvae.claims.findings import HEADLINE, findings

# %% tags=["remove-input"]
display(rp.preset_banner())
display(rp.show_claims(*HEADLINE, details=False))

# %% [markdown]
# ## What we found
#
# One line per table of the paper, computed from the verdicts; where the paper and this
# reproduction disagree, {doc}`11_differences` lists every difference between its text, the
# authors' code and ours. "n.d." is "no detectable difference" ({doc}`glossary`).

# %% tags=["remove-input"]
verdict_table = rp.table_or_note("verdicts")
if verdict_table is not None:
    display(Markdown("\n".join(f"* {line}" for line in findings(verdict_table))))
if rp.have("figure:rate_distortion"):
    display(rp.show_figure("rate_distortion", number="1.1"))

# %% [markdown]
# Figure 1.1 is the headline: the mixtures (points) against the VAE trained at several KL
# weights (the line, ± 1 SE), by the rate each spends.

# %% [markdown]
# ## What M-VAE is
#
# A variational autoencoder (VAE) {cite:p}`kingma2014autoencoding` learns two networks together:
# an encoder that maps an image $x$ to a distribution over a latent code $z$, and a decoder that maps
# $z$ back to a distribution over images. M-VAE runs **K VAEs side by side** and mixes what they
# produce:
#
# * every component $i$ has its own encoder, which gives a Gaussian posterior
#   $q(z_i \mid x) = \mathcal N(\mu_i(x), \operatorname{diag}\sigma_i^2(x))$ **and** one positive
#   number $a_i(x)$;
# * the $K$ numbers $a_1, \dots, a_K$ are the concentrations of a Dirichlet distribution, and the
#   mixing weights $w \sim \operatorname{Dir}(a)$ are drawn from it, so that $w_i \ge 0$ and
#   $\sum_i w_i = 1$;
# * every component has its own decoder $y_i = \text{decoder}_i(z_i)$, and the model's output is
#   $\sum_i w_i\, y_i$.
#
# The whole mixture is trained on one objective, a *mixture evidence lower bound*, plus a penalty:
# $\beta$ times dHSIC, the $d$-variable Hilbert–Schmidt independence criterion
# {cite:p}`pfister2018kernel` of the $K$ components' latent codes. dHSIC is zero when the codes are
# jointly independent, so the penalty pushes each component to encode the images *differently*.
# With $K = 1$ there is nothing to mix and nothing to be independent of: M-VAE is a plain VAE, the
# baseline of every comparison in the paper. {doc}`03_model` draws the model as a diagram, and the
# {doc}`glossary` explains the statistics and information terms the book uses.
#
# ## What this book reproduces
#
# | Paper | What it shows | Chapter |
# | --- | --- | --- |
# | Fig. 1, Fig. 2, Table I | MNIST reconstructions: the mixture, each component alone, the error as $K$ grows | {doc}`05_mnist_reconstructions` |
# | Fig. 3 | two-dimensional latent spaces of each component and of a VAE | {doc}`06_latent_spaces` |
# | Table II, Fig. 4 | classifiers (MLP, linear SVM, KNN) trained on the latent codes; KNN accuracy against $K$ | {doc}`07_probes` |
# | Fig. 5, Table III | CIFAR-10 reconstructions, RMSE, FID, and the Inception Score where it can be computed ({doc}`08_cifar10` says why it is not, where it is not) | {doc}`08_cifar10` |
#
# and goes beyond the paper in {doc}`10_beyond` (does the dHSIC penalty make the components
# different? Fashion-MNIST; the spread over seeds).

# %% [markdown]
# The first chapters explain the model from the ground up ({doc}`02_vae`, {doc}`03_model`,
# {doc}`04_dhsic`); their code cells run `mvae` live and take a few seconds. The results chapters
# never train anything: they read the tables, figures and provenance records that the pipeline wrote
# under `results/<preset>/`, and every number they show comes from those files.
#
# ## How to run it
#
# The code is at {{ repository_url }}. Two commands, on a Linux machine with Python 3.11 (no
# GPU needed for the quick preset). Set up and
# run the whole pipeline on the `quick` preset, which trains the kinds of models of the paper's
# grid on the full MNIST and Fashion-MNIST training sets with smaller networks for 3 epochs (9 min
# 24 s on 2 CPU cores with the datasets already downloaded, measured: `benchmarks/README.md`),
# evaluates them, writes the tables and figures, and builds and checks this book:
#
# ```bash
# python3 -m venv .venv && .venv/bin/pip install -q torch==2.13.0 -e ".[all]" && .venv/bin/snakemake --cores all --config preset=quick
# ```
#
# Run the tests (what CI runs, plus `ruff check`):
#
# ```bash
# python3 -m venv .venv && .venv/bin/pip install -q torch==2.13.0 -e ".[all]" && .venv/bin/python -m pytest
# ```
#
# Without `--config preset=quick`, the pipeline runs the `paper` preset, the full grid at the
# paper's scale; {doc}`12_reproducing` gives the hours it takes, read from the archived runs'
# records (no GPU needed; one is used when present). Its results are committed in
# `results/paper/` run by run as each finishes, so you need not retrain to read them: `snakemake --cores all --config committed=true` rebuilds the tables, figures and book from them;
# {doc}`12_reproducing` covers the presets, the GPU and SLURM
# profiles and how to extend the code. To rebuild only the book from existing results:
#
# ```bash
# .venv/bin/jupyter-book build --all book/        # reads results/paper/ if present, else results/quick/
# MVAE_PRESET=quick .venv/bin/jupyter-book build --all book/
# ```
#
# The book carries its own copy of MathJax (installed with the `book` extra), so its formulas
# render without the network, however it is built.
#
# ```{admonition} Which results does this copy of the book show?
# :class: tip
# Every results chapter starts with a box naming the preset its numbers come from. When it says
# *quick*, the numbers come from a small run that shows the pipeline works end to end; they are not
# the paper-scale results and are not meant to match the paper.
# ```
#
# {download}`Download this page as a Jupyter notebook <01_intro.ipynb>` (unexecuted): its first
# cell sets it up wherever it runs, and the tables above are then read from `results/paper/`.
#
# ## Summary
#
# * M-VAE mixes the images of $K$ VAEs with Dirichlet weights and penalises dependence between
#   their codes with dHSIC; with $K = 1$ it is a VAE.
# * The first chapters explain it from the ground up; the results chapters read the committed
#   paper-scale results and train nothing; {doc}`09_claims` gives every claim its verdict.
# * One command reproduces everything, from the data to this book ({doc}`12_reproducing`).
