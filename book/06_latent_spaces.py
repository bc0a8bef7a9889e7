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
# # Latent spaces
#
# To look at what each component encodes, the paper trains M-VAE with **two-dimensional** codes
# and plots every component's codes of test digits, coloured by digit class, beside those of a
# single VAE (its Fig. 3). The claim: each component captures the digits differently, and each
# learns its own arrangement of the classes, because dHSIC discourages the components' codes
# from depending on each other.
#
# The pipeline trains a $K = 4$ mixture (and, on the smallest preset, fewer components) and a VAE
# with `latent_dim = 2` and plots the posterior means $\mu_i(x)$ of test images. As everywhere
# in the book, C1 names the component with the largest mean mixing weight, C4 the smallest.

# %% tags=["hide-input"]
from IPython.display import display

from mvae import reporting as rp

rp.preset_banner()

# %% tags=["hide-input"]
rp.show_figure("fig3_latents", number="6.1")

# %% [markdown]
# ## What to look for
#
# * **Different arrangements.** If the components learnt the same thing, their scatter plots in
#   Figure 6.1 would
#   be copies of one another up to a rotation or reflection (a Gaussian prior does not care about
#   either). The paper's Fig. 3 shows four visibly different layouts.
# * **Class structure.** A single VAE with a 2-D code separates some digit classes (0 and 1 usually
#   form clear clusters) and mixes others (4, 7 and 9). A mixture has $K$ views; the classes one
#   component mixes, another may separate: the paper's reason to expect its concatenated codes to
#   classify better ({doc}`07_probes` tests whether they do).
# * **The prior's shape.** The KL term pulls every component's codes towards $\mathcal N(0, I)$: a
#   round cloud with a standard deviation of one on each axis (the lines below measure how close
#   each component comes).
#   A component whose codes collapse to a point has stopped
#   encoding anything (posterior collapse) and contributes only through its decoder's average
#   image.
#
# The scatter plots cannot show *independence*; {doc}`10_beyond` measures it with dHSIC and CKA on
# the 20-dimensional models, with and without the penalty.

# %% tags=["hide-input"]
try:
    t1 = rp.load_table("table1_reconstruction")
    runs = list(t1[t1.latent_dim == 2].run)
except rp.MissingResults as missing:
    runs = []
    display(missing)
if runs:
    display(rp.format_table(t1[t1.latent_dim == 2][["run", "K", "latent_dim", "seed", "epochs",
                                                    "n_test", "sse_per_image"]], precision=2,
                            caption="The runs with 2-D codes (Table I's rows)"))
rp.provenance_box("table1_reconstruction", runs=runs) if runs else None

# %% [markdown]
# ## The paper's claims against our numbers
#
# Computed from the 2-D runs' committed codes (`eval/<run>/latents_2d.npz`), probes and
# component diversity; each line says which numbers decide it.

# %% tags=["hide-input"]
import numpy as np

from mvae import verdicts
from mvae.tables import rank_by_usage

if runs:
    two_d = t1[t1.latent_dim == 2].set_index("run")
    vae_runs = [r for r in runs if two_d.loc[r, "K"] == 1]
    vae_knn = None
    if vae_runs:
        vae_knn = rp.load_json(f"eval/{vae_runs[0]}/probes.json")["knn"]["concatenated"]
    for run in (r for r in runs if two_d.loc[r, "K"] > 1):
        with np.load(rp.results_dir() / "eval" / run / "latents_2d.npz") as z:
            codes, weights = z["codes"], z["weights"]
        knn = rp.load_json(f"eval/{run}/probes.json")["knn"]["components"]
        cka = rp.load_json(f"eval/{run}/diversity.json").get("mean_offdiag_cka")
        order = rank_by_usage(weights.mean(axis=1))  # C1 = the most used, as in the figure
        display(rp.say(f"{run}: mean mixing weight per component "
                       + ", ".join(f"C{r + 1} {weights[i].mean():.2f}"
                                   for r, i in enumerate(order)) + "."))
        display(rp.show_verdicts(
            verdicts.latents_2d(codes[order], [knn[i] for i in order], vae_knn, cka)))

# %% [markdown]
# ## Run it yourself
#
# {download}`Download this chapter as a Jupyter notebook <06_latent_spaces.ipynb>` (unexecuted). Its
# first cell sets it up wherever it runs: in a clone after `pip install -e .` it does nothing;
# on Colab it clones the repository, whose `results/paper/` holds the committed results, and
# installs `mvae` (with a CPU build of PyTorch where torch is missing). Where the book is
# hosted, the launch button at the top of the page opens the same notebook on Binder or Colab.
#
# 1. Train the 2-D mixture with the authors' settings:
#    `mvae train components=4 latent_dim=2 normalize_alpha=true dirichlet_prior=0.25
#    kl_reduction=mean --run-dir runs/2d-authors`. Do the components' scatters differ more?
# 2. Colour the scatter by the learned weight $E[w_i]$ instead of the class
#    (`latents_2d.npz` holds `weights`): which images does each component take?
# 3. Raise `beta` to `10000` and look again: does dHSIC spread the components' codes apart?
