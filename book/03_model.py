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
# # The M-VAE model

# %% tags=["remove-input"]
from IPython.display import display

from mvae import pages
from mvae import reporting as rp

t1 = rp.load_table("table1_reconstruction") if rp.have("table:table1_reconstruction") else None
if t1 is not None:
    main = t1[t1.paper_setup.astype(bool)]
    params = main.groupby("K").parameters.first()
    mixture = main[main.K == 4].run
    if 1 in params.index and 4 in params.index and len(mixture):
        diag = rp.load_json(f"eval/{mixture.iloc[0]}/reconstruction.json")["diagnostics"]
        weights = sorted(diag["expected_w"], reverse=True)
        display(pages.takeaway(
            "M-VAE is $K$ whole VAEs whose decoded images are mixed with weights drawn from a "
            "Dirichlet distribution that the encoders set, trained on one mixture "
            f"{pages.term('ELBO')}. With $K = 4$ that is {params[4]:,} parameters against a "
            f"VAE's {params[1]:,}. Trained on MNIST ({mixture.iloc[0]}), the mixture gives its "
            f"four components the mean weights " + ", ".join(f"{w:.2f}" for w in weights)
            + f", and a test image puts on average {100 * diag['dominant_share']:.0f}% of its "
            "weight on one of them."))

# %% [markdown]
# ## The generative story
#
# M-VAE {cite:p}`ye2019mixtures` has $K$ components, each a VAE with its own encoder and decoder.
# For an image $x$, component $i$'s encoder outputs a mean $\mu_i(x)$ and a variance
# $\sigma_i^2(x)$ for its code $z_i \in \mathbb R^d$ (the variance through a softplus, so it is
# positive) and **one** more positive number, $a_i(x)$, also through a softplus. The paper's
# eqs. 2–6 then read:
#
# $$
# \begin{aligned}
# w &\sim \operatorname{Dir}(a_1, \dots, a_K), \qquad \textstyle\sum_i w_i = 1, \\
# z_i &\sim \mathcal N\big(\mu_i(x), \operatorname{diag}\sigma_i^2(x)\big),
#   \qquad i = 1, \dots, K, \\
# y_i &= \operatorname{decoder}_i(z_i), \\
# \hat x &= \textstyle\sum_{i=1}^K w_i\, y_i .
# \end{aligned}
# $$ (eq-generative)
#
# Read {eq}`eq-generative` from the top: the weights, then one code per component, one decoded
# image per component, and their weighted sum $\hat x$, the model's output. Figure 3.1 draws
# it, with the penalty of {doc}`04_dhsic`, which acts on the codes of all $K$ components at
# once.

# %% tags=["hide-input"]
from mvae.diagrams import model_diagram

display(rp.show_plot(
    model_diagram(), "M-VAE: the image goes to K encoders; each gives a Gaussian code z_i "
    "(mean and variance) and one positive number a_i; the a_i set the Dirichlet distribution of "
    "the weights w; the K decoders' images y_i are mixed with w into the output. dHSIC (dashed) "
    "is computed on the K codes together; the KL terms keep each code near N(0, I) and the "
    "weights near the Dirichlet prior.",
    "Diagram: image, K encoders, codes z_1 to z_K inside a dashed dHSIC box, K decoders, the "
    "Dirichlet weights from the encoders' a_i, and the weighted sum giving the output",
    number="3.1"))

# %% [markdown]
#
# The Dirichlet distribution lives on the probability simplex: a draw is a vector of $K$
# non-negative weights summing to one. Its concentrations set both where the weights sit (the
# mean is $a_i / \sum_j a_j$) and how spread they are (large concentrations give draws close to the
# mean, concentrations below 1 push the draws to the corners, where one component takes almost
# all the weight). The cell draws from three Dirichlet distributions over $K = 3$ components
# (Figure 3.2).

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from torch.distributions import Dirichlet

import mvae
from mvae.figures import PAGE_WIDTH

torch.manual_seed(0)
torch.set_num_threads(1)

corners = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, 3**0.5 / 2]])
fig, axes = plt.subplots(1, 3, figsize=(PAGE_WIDTH, 2.5))
for ax, conc in zip(axes, ([0.25, 0.25, 0.25], [1.0, 1.0, 1.0], [8.0, 3.0, 3.0]), strict=True):
    w = Dirichlet(torch.tensor(conc)).sample((1500,))
    xy = w @ corners                                  # barycentric -> plane
    ax.fill(*corners.T, fc="none", ec="k", lw=0.8)
    ax.scatter(*xy.T, s=2, alpha=0.4)
    for k, (cx, cy) in enumerate(corners):
        ax.annotate(f"$w_{k + 1}=1$", (cx, cy), ha="center", va="top" if cy == 0 else "bottom",
                    fontsize=8, xytext=(0, -4 if cy == 0 else 4), textcoords="offset points")
    ax.set_title(f"Dir({', '.join(f'{c:g}' for c in conc)})", fontsize=9)
    ax.set_aspect("equal")
    ax.axis("off")
fig.tight_layout()
display(rp.show_plot(
    fig, "1,500 draws of w from three Dirichlet distributions over K = 3 components, each draw a "
    "point of the triangle (a corner: all the weight on one component). Concentrations below 1 "
    "push the draws to the corners and edges, equal ones of 1 spread them uniformly, large ones "
    "gather them near the mean a / sum(a).",
    "Three triangles filled with sample points: crowded at the corners, uniform, and clustered",
    number="3.2"))

# %% [markdown]
# ## The mixture evidence lower bound
#
# The paper's eq. 8, the *mixture ELBO*, comes out garbled in the text of the paper that we could
# read, so we derive it. The model's joint distribution is
#
# $$
# \begin{aligned}
# p(x, w, z_{1:K}) &= p\big(x \mid \hat x(w, z_{1:K})\big)\; \operatorname{Dir}(w; \alpha_0)\;
# \prod_{i=1}^K \mathcal N(z_i; 0, I), \\
# \hat x &= \textstyle\sum_i w_i \operatorname{decoder}_i(z_i),
# \end{aligned}
# $$ (eq-joint)
#
# with a symmetric Dirichlet prior of concentration $\alpha_0$ (the paper does not give one; we
# use $\alpha_0 = 1$, the uniform distribution on the simplex). The encoders define the
# approximate posterior, which factorises over the weights and the components:
#
# $$
# q(w, z_{1:K} \mid x) = \operatorname{Dir}\big(w; a(x)\big) \prod_{i=1}^K
# \mathcal N\big(z_i; \mu_i(x), \operatorname{diag}\sigma_i^2(x)\big).
# $$ (eq-posterior)
#
# Jensen's inequality, exactly as for one VAE, gives
# $\log p(x) \ge \mathbb E_q[\log p(x, w, z) - \log q(w, z \mid x)]$, and because both $q$ and the
# prior factorise, the KL part splits into one term per factor:
#
# $$
# \boxed{\begin{aligned}
# \mathcal L_{\text{MELBO}}(x) = {}&
# \mathbb E_{q}\Big[\log p\Big(x \,\Big|\, \textstyle\sum_i w_i\, y_i(z_i)\Big)\Big] \\
# &- \sum_{i=1}^K D_{\mathrm{KL}}\big(q(z_i \mid x) \,\|\, \mathcal N(0, I)\big) \\
# &- D_{\mathrm{KL}}\big(\operatorname{Dir}(a(x)) \,\|\, \operatorname{Dir}(\alpha_0)\big)
# \end{aligned}}
# $$ (eq-melbo)
#
# Equation {eq}`eq-melbo` is **our reading of eq. 8**: the paper's three terms (a reconstruction term, the
# components' Gaussian KLs, a Dirichlet KL), with the reconstruction taken at the *mixed* output
# that eqs. 5–6 describe. It is estimated with one reparameterised draw of $(w, z)$ per image.
# The Gaussian KLs are *summed* over components, as the derivation requires. The loss minimised
# per batch adds the independence penalty of {doc}`04_dhsic`:
#
# $$
# \mathcal L = \frac1B \sum_{b=1}^B -\mathcal L_{\text{MELBO}}(x_b) \;+\; \beta\,
# \operatorname{dHSIC}(z_1, \dots, z_K), \qquad \beta = 1 .
# $$ (eq-loss)
#
# The garbled eq. 8 can also be read literally, as $\sum_i p(w_i \mid x)\, \mathbb E_{q(z_i\mid x)}
# [\log p(x \mid z_i)]$: each component's own reconstruction log-likelihood, weighted by its
# expected weight. That is a valid bound too, but for a *different* model, in which $x$ is drawn
# from one component chosen with probability $w_i$ (by Jensen,
# $\log \sum_i w_i p_i \ge \sum_i w_i \log p_i$); it ignores the mixed output. The library offers
# both, and the other places where the authors' public code departs from the paper, as
# configuration switches whose defaults follow the paper (see {doc}`11_differences`):
#
# | switch | default (our reading) | alternative |
# | --- | --- | --- |
# | `reconstruction` | `"mixture"`: $\log p(x \mid \sum_i w_i y_i)$ | `"expected"`: $\sum_i \mathbb E[w_i] \log p(x \mid y_i)$ (literal eq. 8) |
# | `kl_reduction` | `"sum"` of the $K$ Gaussian KLs | `"mean"` (the authors' code) |
# | `dirichlet_prior` | $\alpha_0 = 1$ | 0.25 (the authors' code) |
# | `normalize_alpha` | `False`: $w \sim \operatorname{Dir}(a)$ | `True`: $a \leftarrow a / \sum_j a_j$ first (the authors' code) |
# | `weight_sampler` | `"dirichlet"` (PyTorch's `Dirichlet.rsample`) | `"gamma"` (normalised Gamma draws; same distribution, another exact gradient) |
#
# ### The Dirichlet KL
#
# For concentrations $a$ and $b$ with sums $a_0 = \sum_i a_i$, $b_0 = \sum_i b_i$, and $\psi$ the
# digamma function,
#
# $$
# \begin{aligned}
# D_{\mathrm{KL}}\big(\operatorname{Dir}(a) \,\|\, \operatorname{Dir}(b)\big)
# = {}& \log\Gamma(a_0) - \textstyle\sum_i \log\Gamma(a_i) \\
# &- \log\Gamma(b_0) + \textstyle\sum_i \log\Gamma(b_i) \\
# &+ \textstyle\sum_i (a_i - b_i)\big(\psi(a_i) - \psi(a_0)\big).
# \end{aligned}
# $$ (eq-dirichlet-kl)
#
# It follows from the Dirichlet being an exponential family with sufficient statistics
# $\log w_i$ and $\mathbb E_{\operatorname{Dir}(a)}[\log w_i] = \psi(a_i) - \psi(a_0)$. The library
# uses PyTorch's closed form; the cell checks it against {eq}`eq-dirichlet-kl`.

# %%
from torch.special import digamma, gammaln


def dirichlet_kl_formula(a, b):
    a0, b0 = a.sum(-1), b.sum(-1)
    return (gammaln(a0) - gammaln(a).sum(-1) - gammaln(b0) + gammaln(b).sum(-1)
            + ((a - b) * (digamma(a) - digamma(a0).unsqueeze(-1))).sum(-1))


a = torch.tensor([[2.0, 0.5, 1.3], [0.3, 0.3, 4.0]])          # two images, K = 3
ours = mvae.objective.dirichlet_kl(a.T, prior=1.0)            # library: alpha is (K, B)
rp.format_table(pd.DataFrame({"concentrations a": [str(row.tolist()) for row in a],
                              "formula": dirichlet_kl_formula(a, torch.ones_like(a)).numpy(),
                              "library": ours.numpy()}), precision=6)

# %% [markdown]
# ### Sampling the weights with a gradient
#
# The reconstruction term needs gradients through $w \sim \operatorname{Dir}(a(x))$ back to the
# encoders. A Dirichlet draw is a normalised vector of Gamma draws, $g_i \sim \Gamma(a_i, 1)$,
# $w_i = g_i / \sum_j g_j$, and PyTorch differentiates Gamma samples with respect to their
# concentration by *implicit* reparameterisation (the derivative of the sample at fixed CDF
# value), so `Dirichlet(a).rsample()` passes exact gradients. The model clamps draws at the
# smallest positive float, because small concentrations can make a weight underflow to zero and
# the mixture's log-likelihood takes $\log w_i$.
#
# ## A forward pass
#
# Build a small M-VAE with $K = 3$ components and 8-dimensional codes, and push a batch of 16
# random "images" through it (the model does not care what the pixels are; the results
# chapters use the real datasets).

# %%
config = mvae.Config(components=3, latent_dim=8, hidden_dim=64)
model = mvae.MVAE(config)
x = torch.rand(16, 1, 28, 28)
out = model(x)
display(rp.format_table(pd.DataFrame(
    [{"tensor": name, "shape": str(tuple(getattr(out, name).shape))}
     for name in ("mu", "var", "alpha", "z", "w", "decoded")]),
    caption="What one forward pass returns"))
display(rp.say(f"Weights sum to one per image: {torch.allclose(out.w.sum(0), torch.ones(16))}. "
               f"Parameters: {sum(p.numel() for p in model.parameters()):,}."))

# %% [markdown]
# Every tensor carries the components in its first dimension: $K = 3$ components, $B = 16$
# images, $d = 8$ latent dimensions and $D = 784$ pixels. `decoded` holds each component's
# Bernoulli logits; `out.mixture_mean` is $\sum_i w_i \operatorname{sigmoid}(\text{logits}_i)$.
# The loss and its terms, in {term}`nats` per image:

# %%
terms = mvae.mixture_loss(out, x, config)
display(rp.format_table(pd.DataFrame([terms.as_dict()]), precision=3,
                        caption="The loss and its terms, nats per image"))
terms.loss.backward()
grads = {name: p.grad is not None and bool(p.grad.abs().sum() > 0)
         for name, p in model.named_parameters()}
display(rp.say(f"Every parameter receives a gradient: {all(grads.values())}."))

# %% [markdown]
# The reconstruction term dominates at initialisation (784 pixels' worth of cross-entropy); the
# Gaussian KL is the sum over the three components; dHSIC is a batch statistic of the three
# components' 16 codes.
#
# ## The forward pass and the loss, from scratch
#
# `mvae.mixture_loss` is vectorised and guarded against numerical corner cases, which hides how
# little it computes. The function below is the whole of it in plain PyTorch, equation by
# equation: it takes the model's encoder and decoder networks (the raw heads `(K, B, 2d + 1)`
# and the logits `(K, B, D)`) and nothing else from the library.
#
# * the heads give $\mu_i$, $\sigma_i^2$ and $a_i$ through a softplus, plus a small floor;
# * $z_i = \mu_i + \sigma_i \odot \varepsilon$ and $w \sim \operatorname{Dir}(a)$ are the draws of
#   {eq}`eq-generative`, both reparameterised;
# * $\hat x = \sum_i w_i y_i$ and the Bernoulli log-likelihood of $x$ under it are the first term
#   of {eq}`eq-melbo`; the Gaussian KL of each component, {eq}`eq-kl-gauss-3`, summed over the
#   components, is the second; {eq}`eq-dirichlet-kl` is the third;
# * dHSIC is the {term}`V-statistic` of {doc}`04_dhsic` with the median-heuristic bandwidth, and
#   {eq}`eq-loss` adds it with weight $\beta$.
#
# $$
# D_{\mathrm{KL}}\big(\mathcal N(\mu_i, \operatorname{diag}\sigma_i^2) \,\|\, \mathcal N(0, I)\big)
# = \tfrac12 \textstyle\sum_{j} \big(\mu_{ij}^2 + \sigma_{ij}^2 - 1 - \log \sigma_{ij}^2\big)
# $$ (eq-kl-gauss-3)

# %%
from torch.nn import functional as F


def mvae_loss_by_hand(model, x, beta=1.0, prior=1.0):
    """Eqs. (eq-generative), (eq-melbo), (eq-loss) with the model's networks."""
    K, d, n = model.components, model.config.latent_dim, x.shape[0]
    heads = model.encoder(x)                        # (K, B, 2d + 1)
    mu = heads[..., :d]
    var = F.softplus(heads[..., d:2 * d]) + 1e-6    # sigma_i^2 > 0
    a = F.softplus(heads[..., 2 * d]) + 1e-6        # (K, B) concentrations
    # the draws: z_i ~ q(z_i | x) and w ~ Dir(a), both reparameterised
    z = mu + var.sqrt() * torch.randn_like(mu)
    w = Dirichlet(a.T).rsample()
    w = w.clamp_min(torch.finfo(w.dtype).tiny).T    # (K, B), no weight is 0
    y = torch.sigmoid(model.decoder(z))             # (K, B, D): decoder_i(z_i)
    x_hat = (w.unsqueeze(-1) * y).sum(0)            # sum_i w_i y_i
    # the three terms of the mixture ELBO: Bernoulli pixels, the Gaussian
    # KLs summed over the components, the Dirichlet KL
    t = x.flatten(1)
    log_px = t * x_hat.log() + (1 - t) * (1 - x_hat).log()
    kl_gauss = 0.5 * (mu**2 + var - 1 - var.log()).sum(-1).sum(0)
    kl_dir = dirichlet_kl_formula(a.T, torch.full_like(a.T, prior))
    # dHSIC: Gaussian kernels, bandwidth 2 h^2 = median (no gradient)
    d2 = torch.cdist(z, z) ** 2                     # (K, B, B)
    i, j = torch.triu_indices(n, n, 1)
    two_h2 = d2[:, i, j].detach().quantile(0.5, dim=-1)
    gram = torch.exp(-d2 / two_h2.view(K, 1, 1))
    dhsic = (gram.prod(0).mean() + gram.mean(dim=(1, 2)).prod()
             - 2 * gram.mean(-1).prod(0).mean())
    recon = -log_px.sum(-1).mean()
    kl_g, kl_d = kl_gauss.mean(), kl_dir.mean()
    return {"loss": recon + kl_g + kl_d + beta * dhsic,
            "reconstruction": recon, "kl_gauss": kl_g,
            "kl_dirichlet": kl_d, "dhsic": dhsic}


torch.manual_seed(2)           # the same noise for both: eps and w
library = mvae.mixture_loss(model(x), x, config).as_dict()
torch.manual_seed(2)
mine = mvae_loss_by_hand(model, x)
by_hand = {name: value.item() for name, value in mine.items()}
same = all(abs(by_hand[k] - library[k]) <= 1e-4 * max(1.0, abs(library[k]))
           for k in library)
assert same, "the plain-PyTorch loss does not reproduce mvae.mixture_loss"
display(rp.format_table(pd.DataFrame(
    [{"term": k, "mixture_loss": library[k], "by hand": by_hand[k],
      "difference": f"{by_hand[k] - library[k]:.1e}"} for k in library]), precision=5,
    caption="The library's loss and the one written by hand, on the same draws"))

# %% [markdown]
# The two agree to float32 rounding (the cell stops the book's build if they do not). The
# library differs only in how it computes the same quantities: the log-likelihood of the mixture
# in log space (a pixel probability of exactly 0 or 1 would make `x_hat.log()` infinite), the
# Dirichlet KL by `torch.distributions`, and dHSIC without an $n \times n$ product per pair.
#
# The same batch under the alternative switches:

# %%
import pandas as pd

variants = {
    "ours (defaults)": {},
    "kl_reduction=mean": {"kl_reduction": "mean"},
    "reconstruction=expected": {"reconstruction": "expected"},
    "authors' code (mean KL, prior 0.25, normalised alpha)":
        {"kl_reduction": "mean", "dirichlet_prior": 0.25, "normalize_alpha": True},
    "beta=0 (no dHSIC penalty)": {"beta": 0.0},
}
rows = {}
for label, change in variants.items():
    cfg = config.replace(**change)
    variant = mvae.MVAE(cfg)
    variant.load_state_dict(model.state_dict())        # the same weights, only the objective differs
    torch.manual_seed(1)                               # the same draws of z and w
    with torch.no_grad():
        rows[label] = mvae.mixture_loss(variant(x), x, cfg).as_dict()
rp.format_table(pd.DataFrame(rows).T.rename_axis("objective"), precision=3)

# %% [markdown]
# With $\beta = 0$ the dHSIC term is still *measured* (the ablation in {doc}`10_beyond` reports it)
# but it is not added to the loss. With $K = 1$, the weight is identically one, the Dirichlet KL and
# dHSIC vanish, and the objective is exactly the VAE's negative ELBO of {doc}`02_vae`:

# %%
vae = mvae.MVAE(mvae.Config(components=1, latent_dim=8, hidden_dim=64))
with torch.no_grad():
    single = mvae.mixture_loss(vae(x), x, vae.config).as_dict()
rp.format_table(pd.DataFrame([single]), precision=3, caption="K = 1: the terms of a plain VAE")

# %% [markdown]
# ## Summary
#
# * M-VAE is $K$ VAEs (Figure 3.1): each encoder gives a Gaussian code and one Dirichlet
#   concentration, the weights $w \sim \operatorname{Dir}(a)$ mix the decoders' images.
# * Its objective, {eq}`eq-melbo`, is our reading of the paper's garbled eq. 8: the
#   reconstruction of the mixed output, the $K$ Gaussian KLs summed, and the Dirichlet KL.
# * Both draws, of the codes and of the weights, are reparameterised, so one optimiser trains
#   everything; with $K = 1$ the objective is a VAE's negative {term}`ELBO`.
# * The authors' code differs in several switches, each a config key ({doc}`11_differences`).
#
# ## Exercises
#
# **Exercise 1: the literal eq. 8.** Change `mvae_loss_by_hand` so that its first term is
# $\sum_i \mathbb E[w_i] \log p(x \mid y_i)$ (the `"expected"` switch of the table above) and
# check it against `mvae.mixture_loss` with `config.replace(reconstruction="expected")`.
#
# :::{admonition} Solution
# :class: dropdown
# Replace the mixed output by one log-likelihood per component, weighted by the expected
# weights $a_i / \sum_j a_j$ (not by the draw $w$):
# ```python
# ew = a / a.sum(0, keepdim=True)                        # (K, B)
# log_pxi = (t * y.log() + (1 - t) * (1 - y).log()).sum(-1)   # (K, B)
# recon = -(ew * log_pxi).sum(0).mean()
# ```
# With the same `torch.manual_seed` before both calls, the terms agree with
# `mvae.mixture_loss(model(x), x, config.replace(reconstruction="expected"))` to float32
# rounding.
# :::
#
# **Exercise 2: the Dirichlet KL.** Plot {eq}`eq-dirichlet-kl` for $K = 3$, $b = (1, 1, 1)$ and
# $a = (c, c, c)$ as $c$ goes from 0.1 to 10. Where is it zero? Why does a blend, whose
# concentrations are all large, pay for it?
#
# :::{admonition} Solution
# :class: dropdown
# ```python
# c = torch.logspace(-1, 1, 50)
# kl = dirichlet_kl_formula(c[:, None].expand(-1, 3), torch.ones(50, 3))
# plt.semilogx(c, kl)
# ```
# It is zero at $c = 1$, where $\operatorname{Dir}(a)$ is the prior, and grows on both sides.
# Large concentrations make the weights almost certain (a narrow distribution around the
# mean), far from the uniform prior: a blend, which always uses the same shares, pays this KL
# for every image.
# :::
#
# **Exercise 3: another sampler.** Replace the Dirichlet draw by normalised Gamma draws,
# $g_i \sim \Gamma(a_i, 1)$, $w_i = g_i / \sum_j g_j$ (`torch.distributions.Gamma`), and compare
# with the library at `weight_sampler="gamma"`: are the numbers the same for the same seed?
#
# :::{admonition} Solution
# :class: dropdown
# The distribution is the same, so averages over many draws agree; single draws for the same
# seed need not, because `Dirichlet.rsample` and `Gamma.rsample` consume the random stream
# differently. The library's `"gamma"` sampler draws exactly as the normalised-Gamma code does,
# so your draw and `weight_sampler="gamma"` agree for the same seed.
# :::
#
# **Exercise 4: one component.** Run `mvae_loss_by_hand` on the $K = 1$ model of the last
# cell. Which terms vanish, and which equation of {doc}`02_vae` is left?
#
# :::{admonition} Solution
# :class: dropdown
# With one component the Dirichlet has one category, so $w = 1$: its KL is zero (the library
# skips it) and dHSIC has nothing to compare, so it is zero too. What is left is the
# reconstruction term and one Gaussian KL: the negative ELBO {eq}`eq-elbo`. (The by-hand
# function needs a small change for $K = 1$: a Dirichlet over one category cannot be sampled,
# so set `w = torch.ones(1, n)`, as `MVAE.sample_weights` does.)
# :::

# %% [markdown]
# ## Run it yourself
#
# {download}`Download this chapter as a Jupyter notebook <03_model.ipynb>` (unexecuted). Its
# first cell sets it up wherever it runs: in a clone after `pip install -e .` it does nothing;
# on Colab it clones the repository ({{ repository_url }}), whose `results/paper/` holds the
# committed results, and installs `mvae` (with a CPU build of PyTorch where torch is missing).
# The launch button at the top of the page opens the same notebook on Binder or Colab.
