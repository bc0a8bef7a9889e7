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

# %% tags=["remove-input"]
from IPython.display import display

from mvae import pages
from mvae import reporting as rp

l2 = rp.table_or_note("latents_2d")
if l2 is not None and (l2.K > 1).any() and (l2.K == 1).any():
    mix, vae2 = l2[l2.K > 1], l2[l2.K == 1].iloc[0]
    best = mix.loc[mix.knn.idxmax()]
    display(pages.takeaway(
        f"With two-dimensional codes, each component of the $K = {int(mix.K.iloc[0])}$ mixture "
        "lays the digits out differently (mean pairwise "
        f"{pages.term('CKA')} {mix.mean_offdiag_cka.iloc[0]:.2f}, where 1 would be the same "
        "layout), but none separates the classes as well as a 2-D VAE: a nearest-neighbour "
        f"classifier reads the digit from the best component's code ({best.component}) "
        f"{pages.percent(best.knn, 1)} of the time, from the VAE's "
        f"{pages.percent(vae2.knn, 1)}. All four codes together reach "
        f"{pages.percent(mix.knn_concatenated.iloc[0], 1)}."))
rp.preset_banner()

# %% [markdown]
# To look at what each component encodes, the paper trains M-VAE with **two-dimensional** codes
# and plots every component's codes of test digits, coloured by digit class, beside those of a
# single VAE (its Fig. 3). The claim: each component captures the digits differently, because
# dHSIC discourages the components' codes from depending on each other.
#
# The pipeline trains a $K = 4$ mixture and a VAE with `latent_dim = 2` and plots the
# posterior means $\mu_i(x)$ of test images in Figure 6.1. As everywhere in the book, C1 names
# the component with the largest mean mixing weight, C4 the smallest.

# %% tags=["hide-input"]
rp.show_figure("fig3_latents", number="6.1")

# %% [markdown]
# ## What to look for
#
# * **Different arrangements.** If the components learnt the same thing, their scatter plots in
#   Figure 6.1 would be copies of one another up to a rotation or reflection (a Gaussian prior
#   does not care about either). The paper's Fig. 3 shows four visibly different layouts;
#   {term}`CKA` puts a number on "different".
# * **Class structure.** A single VAE with a 2-D code separates some digit classes (0 and 1
#   usually form clear clusters) and mixes others (4, 7 and 9). A mixture has $K$ views; the
#   classes one component mixes, another may separate: the paper's reason to expect its
#   concatenated codes to classify better ({doc}`07_probes` tests whether they do).
# * **The prior's shape.** The KL term pulls every component's codes towards
#   $\mathcal N(0, I)$: a round cloud with a standard deviation of one on each axis. A component
#   whose codes collapse to a point has stopped encoding anything (posterior collapse) and
#   contributes only through its decoder's average image.
#
# The scatter plots cannot show *independence*; {doc}`10_beyond` measures it with dHSIC and CKA
# on the 20-dimensional models, with and without the penalty.

# %% tags=["hide-input"]
if l2 is not None:
    cols = ["run", "K", "component", "mean_weight", "code_sd", "knn", "knn_concatenated",
            "mean_offdiag_cka"]
    display(rp.format_table(l2[[c for c in cols if c in l2.columns]], precision=3,
                            percent=["knn", "knn_concatenated"], source="latents_2d",
                            labels={"mean_weight": "E[w]", "code_sd": "code sd",
                                    "knn": "KNN alone (%)", "knn_concatenated": "KNN, all (%)"},
                            caption="Each 2-D code: its mean weight, its spread (the prior's "
                                    "is 1) and the KNN accuracy of a classifier reading it"))
    display(rp.provenance_box("latents_2d"))

# %% [markdown]
# ## The paper's claims against our numbers
#
# Computed from the 2-D runs' committed codes (`eval/<run>/latents_2d.npz`), probes and
# component diversity; each line says which numbers decide it.

# %% tags=["hide-input"]
display(rp.show_claims("fig3-no-collapse", "fig3-differ", "fig3-separates"))

# %% [markdown]
# ## Play with a trained model: walk along a latent dimension
#
# The 2-D codes above are small enough to plot; the models of the paper's grid have 20
# dimensions per component. `mvae.explore.latent_walk` takes a test digit's code in one
# component, sets one coordinate to values from $-3$ to $3$ prior standard deviations, and
# decodes it with that component alone. The cell below walks the three dimensions that vary
# most over test digits, in C1 of the trained $K = 4$ mixture and in the VAE (both from
# `mvae.pretrained`): Figure 6.2. Change `MODEL`, `COMPONENT` or `VALUES` and run it again.

# %% tags=["hide-input"]
import torch

from mvae import explore, pretrained
from mvae.figures import image_rows

MODEL = "mnist-k4-s0"                 # or "mnist-k1-s0", the VAE
COMPONENT = 0                         # C1, the most used (the VAE has only C1)
VALUES = (-3.0, -1.5, 0.0, 1.5, 3.0)  # the coordinate, in prior standard deviations

try:
    model = pretrained.load(MODEL)
    digits = torch.from_numpy(rp.example_images(MODEL)).float() / 255
except (pretrained.NotAvailable, rp.MissingResults) as missing:
    display(pages.not_available(f"The trained model {MODEL}", missing))
else:
    component = explore.usage_order(model, digits)[COMPONENT]
    rows = [(f"dimension {d}", explore.as_uint8(explore.latent_walk(
        model, digits[0], component, d, VALUES)).numpy())
        for d in explore.busiest_dimensions(model, digits, component)]
    display(rp.show_plot(
        image_rows(rows, f"{MODEL}, C{COMPONENT + 1}: " + ", ".join(f"{v:g}" for v in VALUES)),
        f"The first test digit's code in C{COMPONENT + 1} of {MODEL}, one coordinate set to "
        "each of VALUES (left to right) and decoded by that component alone, for the three "
        "dimensions that vary most over the test digits.",
        "Rows of digits changing as one latent coordinate moves", number="6.2"))

# %% [markdown]
# ## Summary

# %% tags=["remove-input"]
if l2 is not None and (l2.K > 1).any() and (l2.K == 1).any():
    display(pages.points(
        "Figure 6.1: with 2-D codes, each component arranges the digits in its own way "
        f"(mean CKA {mix.mean_offdiag_cka.iloc[0]:.2f}).",
        f"No single component's 2-D code classifies as well as the 2-D VAE's (best "
        f"{pages.percent(best.knn, 1)} against {pages.percent(vae2.knn, 1)}); the four "
        f"together reach {pages.percent(mix.knn_concatenated.iloc[0], 1)}.",
        "Whether the 20-dimensional codes make better features than a VAE's is the subject of "
        "{doc}`07_probes`."))

# %% [markdown]
# ## Run it yourself
#
# {download}`Download this chapter as a Jupyter notebook <06_latent_spaces.ipynb>` (unexecuted).
# Its first cell sets it up wherever it runs: in a clone after `pip install -e .` it does
# nothing; on Colab it clones the repository ({{ repository_url }}) and installs `mvae`. The
# launch button at the top of the page opens the same notebook on Binder or Colab.
#
# **Exercise 1: the authors' settings.** Train the 2-D mixture with the authors' settings:
# `mvae train components=4 latent_dim=2 normalize_alpha=true dirichlet_prior=0.25
# kl_reduction=mean --run-dir runs/2d-authors`. Do the components' scatters differ more?
#
# :::{admonition} Solution
# :class: dropdown
# Plot the codes with `mvae.figures.fig3_latents` after `mvae evaluate runs/2d-authors`, or
# compute them with `model.latent_means(x)`. Averaged KLs weigh each component's code by
# $1/K$, so the codes spread further from the prior; normalised concentrations make most images
# choose one component, so each component's cloud holds the digits it is given and the layouts
# differ more. Compare the mean CKA of the two runs (`mvae.diversity`).
# :::
#
# **Exercise 2: who takes which image.** Colour the scatter by the learned weight $E[w_i]$
# instead of the class (`latents_2d.npz` holds `weights`): which images does each component
# take?
#
# :::{admonition} Solution
# :class: dropdown
# ```python
# import matplotlib.pyplot as plt, numpy as np
# z = np.load("results/paper/eval/mnist2d-k4/latents_2d.npz")
# plt.scatter(*z["codes"][0].T, c=z["weights"][0], s=3); plt.colorbar()
# ```
# In a blend, every image gets about the same weights (a narrow colour range); in a mixture,
# the colour follows the classes.
# :::
#
# **Exercise 3: a stronger penalty.** Raise `beta` to `10000` and look again: does dHSIC spread
# the components' codes apart?
#
# :::{admonition} Solution
# :class: dropdown
# Train with `beta=10000` and plot as in Exercise 1. The penalty is then thousands of times
# the reconstruction's scale per batch, so the codes are pushed towards independence of
# everything, the image included: expect codes that carry less about the digit, as the
# $\beta$ sweep of {doc}`09_claims` shows at 20 dimensions.
# :::
