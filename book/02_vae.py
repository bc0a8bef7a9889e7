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
# # VAEs in brief

# %% tags=["remove-input"]
from IPython.display import display

from mvae import pages
from mvae import reporting as rp

rd = rp.load_table("rate_distortion") if rp.have("table:rate_distortion") else None
if rd is not None:
    vaes = rd[(rd.K == 1) & (rd.objective == "paper")].groupby("kl_weight")[
        ["rate_gauss", "sse_per_image"]].mean()
    if 1.0 in vaes.index and len(vaes) > 1:
        elbo, low, high = vaes.loc[1.0], vaes.iloc[0], vaes.iloc[-1]
        display(pages.takeaway(
            f"A VAE's {pages.term('ELBO')} trades two terms, both in {pages.term('nats')}: how "
            f"well the decoder rebuilds the image (the {pages.term('distortion')}) and how many "
            f"nats the code spends (the {pages.term('rate')}). Trained on MNIST, our VAE spends "
            f"{elbo.rate_gauss:.1f} nats per image and rebuilds a test digit with a squared "
            f"error of {elbo.sse_per_image:.2f} summed over its pixels; made to pay "
            f"{vaes.index[-1]:g} times as much for its code it spends {high.rate_gauss:.1f} nats "
            f"and errs {high.sse_per_image:.2f}, made to pay {vaes.index[0]:g} times as much "
            f"it spends {low.rate_gauss:.1f} and errs {low.sse_per_image:.2f}. Every comparison "
            "of a mixture with a VAE in this book comes back to that trade."))

# %% [markdown]
# M-VAE is built from ordinary variational autoencoders {cite:p}`kingma2014autoencoding`, so this
# chapter recalls the three ideas it reuses: the evidence lower bound ({term}`ELBO`), the
# reparameterisation trick, and what the two terms of the ELBO do. The code cells run live
# when the book is built (a few seconds on a CPU).
#
# ## The evidence lower bound
#
# A VAE is a latent-variable model: draw a code $z \sim p(z) = \mathcal N(0, I)$, then an image
# $x \sim p_\theta(x \mid z)$, whose parameters (Bernoulli pixel probabilities, or a Gaussian
# mean) are the output of a *decoder* network. Training should maximise the log-likelihood
# $\log p_\theta(x) = \log \int p_\theta(x \mid z)\, p(z)\, dz$, but the integral over all codes is
# intractable. An *encoder* network gives an approximate posterior
# $q_\phi(z \mid x) = \mathcal N(\mu_\phi(x), \operatorname{diag} \sigma^2_\phi(x))$, and Jensen's
# inequality turns it into a lower bound:
#
# $$
# \begin{aligned}
# \log p_\theta(x) &= \log \mathbb E_{q_\phi(z\mid x)}\!\left[\frac{p_\theta(x\mid z)\,p(z)}{q_\phi(z\mid x)}\right] \\
# &\ge \underbrace{\mathbb E_{q_\phi(z\mid x)}\big[\log p_\theta(x \mid z)\big]}_{\text{reconstruction}}
# - \underbrace{D_{\mathrm{KL}}\big(q_\phi(z\mid x)\,\big\|\,p(z)\big)}_{\text{regularisation}} \\
# &= \mathcal L_{\text{ELBO}}(x).
# \end{aligned}
# $$ (eq-elbo)
#
# The gap in {eq}`eq-elbo` is $D_{\mathrm{KL}}(q_\phi(z \mid x) \,\|\, p_\theta(z \mid x))$: maximising the ELBO
# over the encoder makes $q_\phi$ a better posterior, and over the decoder a better model. The
# first term rewards codes from which the decoder can rebuild $x$ (with Bernoulli pixels it is
# minus the binary cross-entropy). The second keeps every posterior close to the prior, so that
# codes drawn from $\mathcal N(0, I)$ decode to plausible images. This second term, a
# {term}`KL divergence` measured in {term}`nats`, is the code's {term}`rate`: what describing
# $z$ costs. For two diagonal Gaussians it has a closed form,
#
# $$
# D_{\mathrm{KL}}\big(\mathcal N(\mu, \operatorname{diag}\sigma^2) \,\|\, \mathcal N(0, I)\big)
# = \tfrac12 \sum_{j=1}^{d} \big(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2\big).
# $$ (eq-kl-gauss)
#
# ## The reparameterisation trick
#
# The reconstruction term is an expectation over $z \sim q_\phi(z \mid x)$, and we need its
# gradient with respect to the encoder's parameters $\phi$, which the sampling distribution
# depends on. Writing the sample as a deterministic, differentiable function of $\phi$ and of
# parameter-free noise,
#
# $$
# z = \mu_\phi(x) + \sigma_\phi(x) \odot \varepsilon, \qquad \varepsilon \sim \mathcal N(0, I),
# $$ (eq-reparam)
#
# moves $\phi$ out of the distribution, so
#
# $$
# \nabla_\phi \mathbb E_q[f(z)]
# = \mathbb E_\varepsilon\big[\nabla_\phi f(\mu_\phi + \sigma_\phi \odot \varepsilon)\big]
# $$
#
# and one sample gives an unbiased, low-variance gradient estimate. The alternative that needs no
# reparameterisation, the score-function (REINFORCE) estimator
# $\mathbb E_q[f(z)\, \nabla_\phi \log q_\phi(z)]$, is also unbiased but far noisier. The cell
# below compares the two on $f(z) = z^2$ with $z \sim \mathcal N(\mu, 1)$, where the true gradient
# with respect to $\mu$ is $2\mu$. Each estimator is averaged over $n$ draws; an average of $n$
# noisy draws is itself noisy, with a {term}`standard error` of (spread of one
# draw)$/\sqrt n$, so "unbiased" means that the average lands within a few standard errors of
# $2\mu$, not on it.

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from mvae.figures import PAGE_WIDTH

torch.manual_seed(0)
torch.set_num_threads(1)

mu, n = torch.tensor(1.5, dtype=torch.float64), 100_000
eps = torch.randn(n, dtype=torch.float64)
z = mu + eps
reparam = 2 * z                      # d/dmu of (mu + eps)^2, eq. (eq-reparam)
score = z**2 * (z - mu)              # f(z) * d/dmu log N(z; mu, 1)
rows = []
for name, draws in (("reparameterised", reparam), ("score-function", score)):
    sem = draws.std() / n**0.5                                # standard error of the mean
    rows.append({"estimator": name, "mean of the draws": draws.mean().item(),
                 "its standard error": sem.item(),
                 "standard errors from 2 mu": abs((draws.mean() - 2 * mu) / sem).item(),
                 "spread of one draw": draws.std().item()})
display(rp.format_table(pd.DataFrame(rows), precision=3,
                        caption=f"Two estimators of the gradient 2 mu = {2 * mu:.1f}, "
                                f"{n:,} draws each"))
display(rp.say(f"One score-function draw is {score.std() / reparam.std():.1f} times as noisy as "
               "one reparameterised draw."))

# %% [markdown]
# Both averages sit within a few standard errors of the true gradient, as unbiased estimators
# must; the line under the table says how much noisier one score-function draw is. With 1,000 draws instead
# of 100,000 the standard errors are ten times larger, and the score-function average can land
# visibly away from $2\mu$ by noise alone: that is the variance that makes it a poor gradient
# estimator, not a bias. M-VAE needs the same trick twice: for its Gaussian codes, exactly as above,
# and for its Dirichlet mixing weights, where PyTorch provides an implicit reparameterisation
# gradient ({doc}`03_model`).
#
# ## A VAE you can watch: a one-dimensional code for two-dimensional points
#
# To see the two terms at work, we fit a very small VAE, with a one-dimensional latent code and a
# Gaussian decoder, to points on a noisy ring in the plane. Training takes a few seconds.

# %%
def ring(n, noise=0.08, generator=None):
    angle = 2 * torch.pi * torch.rand(n, generator=generator)
    radius = 1 + noise * torch.randn(n, generator=generator)
    return torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)


class TinyVAE(nn.Module):
    def __init__(self, latent=1, hidden=64, std=0.1):
        super().__init__()
        self.std = std
        self.enc = nn.Sequential(nn.Linear(2, hidden), nn.ELU(), nn.Linear(hidden, 2 * latent))
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ELU(), nn.Linear(hidden, hidden),
                                 nn.ELU(), nn.Linear(hidden, 2))

    def forward(self, x):
        mu, pre_var = self.enc(x).chunk(2, dim=-1)
        var = F.softplus(pre_var) + 1e-6
        z = mu + var.sqrt() * torch.randn_like(mu)          # reparameterised draw
        recon = ((self.dec(z) - x) ** 2).sum(-1) / (2 * self.std**2)   # -log N(x | dec(z), std^2 I) + const
        kl = 0.5 * (mu**2 + var - 1 - var.log()).sum(-1)
        return recon.mean(), kl.mean()


g = torch.Generator().manual_seed(0)
data = ring(2048, generator=g)
vae = TinyVAE()
opt = torch.optim.Adam(vae.parameters(), lr=5e-3)
log = []
steps = 1200
for _ in range(steps):
    batch = data[torch.randint(len(data), (128,), generator=g)]
    recon, kl = vae(batch)
    loss = recon + kl
    opt.zero_grad()
    loss.backward()
    opt.step()
    log.append((recon.item(), kl.item()))
display(rp.say(f"After {steps} steps: reconstruction term {recon.item():.1f} nats, KL (the "
               f"rate) {kl.item():.2f} nats per point."))

# %%
with torch.no_grad():
    mu_codes = vae.enc(data[:400]).chunk(2, dim=-1)[0]
    recon_means = vae.dec(mu_codes)
    samples = vae.dec(torch.randn(400, 1))
    path = vae.dec(torch.linspace(-2.5, 2.5, 200).unsqueeze(1))

fig = plt.figure(figsize=(PAGE_WIDTH, 5.6))
grid = fig.add_gridspec(2, 2, height_ratios=[2, 3])
axes = [fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])]
hist = torch.tensor(log)
axes[0].plot(hist[:, 0], label="reconstruction (-log-likelihood)")
axes[0].plot(hist[:, 1], label="KL to the prior (the rate)")
axes[0].set(yscale="log", xlabel="training step", ylabel="nats per point",
            title="the two ELBO terms")
axes[0].legend(fontsize=8)
axes[1].scatter(*data[:400].T, s=4, alpha=0.4, label="data")
axes[1].scatter(*recon_means.T, s=4, c=mu_codes.squeeze(), cmap="twilight",
                label="reconstructions")
axes[1].set(title="data and reconstructions\n(colour: the 1-D code)", aspect="equal")
axes[1].legend(fontsize=7.5, loc="center")
axes[2].scatter(*samples.T, s=4, alpha=0.5, label="decoded prior samples")
axes[2].plot(*path.T, c="k", lw=1, label="decoder, z in [-2.5, 2.5]")
axes[2].set(title="generating: z ~ N(0, 1)", aspect="equal")
axes[2].legend(fontsize=7.5, loc="center")
for ax in axes:
    ax.tick_params(labelsize=8)
    ax.title.set_fontsize(9)
fig.tight_layout()
display(rp.show_plot(
    fig, "A VAE with a one-dimensional code fitted to a noisy ring. Top: the two terms of the "
    "negative ELBO during training (log scale). Bottom left: the data and their "
    "reconstructions from the posterior means, coloured by the 1-D code. Bottom right: decoded "
    "samples of the prior z ~ N(0, 1) and the decoder's curve.",
    "Three panels: falling loss curves, a ring of points with its reconstructions, and decoded "
    "prior samples along a curve", number="2.1"))

# %% [markdown]
# The decoder has learnt a curve through the plane, parameterised by the one-dimensional code, that
# follows the ring; the encoder places each point at its position along the curve (the colours
# change smoothly along it, Figure 2.1, bottom left). The KL term keeps the codes of all points inside the bulk of
# $\mathcal N(0, 1)$, which is why decoding prior samples (bottom right) gives points on the curve and not
# somewhere else. But the encoder, a continuous map from the plane to a line, cannot lay a circle
# out on a line without cutting it somewhere: the curve leaves part of the ring uncovered (or
# jumps across it), and the points there are reconstructed poorly.
#
# A model with several components, each free to cover a different part of the data, would not
# need that compromise; this is the intuition behind mixtures of VAEs, which the next chapter
# builds.

# %% [markdown]
# ## Summary
#
# * A VAE maximises the {term}`ELBO`: a reconstruction term and a KL term, both in nats; the KL
#   term is the code's {term}`rate`.
# * The reparameterisation trick writes a draw as a function of the encoder's outputs and
#   parameter-free noise, and gives low-variance gradients; the score-function estimator is
#   unbiased too, but far noisier (the table above).
# * A one-dimensional code cannot lay a ring out on a line without cutting it (Figure 2.1): the
#   intuition for mixing several VAEs, {doc}`03_model`.
#
# ## Exercises
#
# **Exercise 1: noise, not bias.** In the estimator cell, set `n = 1000` and rerun it with a
# few seeds (`torch.manual_seed(s)` before the draws). How far from $2\mu$ does each average
# land, in standard errors? Repeat 200 times and count how often each lands more than two
# standard errors away.
#
# :::{admonition} Solution
# :class: dropdown
# ```python
# far = {"reparameterised": 0, "score-function": 0}
# for s in range(200):
#     torch.manual_seed(s)
#     z = mu + torch.randn(1000, dtype=torch.float64)
#     for name, draws in (("reparameterised", 2 * z), ("score-function", z**2 * (z - mu))):
#         far[name] += abs(draws.mean() - 2 * mu) > 2 * draws.std() / 1000**0.5
# print(far)
# ```
# Both counts come out near one in twenty (about 10 of 200), as for any unbiased estimator
# whose average is close to normal: a miss by two standard errors is noise. The score-function
# average misses by more in absolute terms, because its standard error is larger.
# :::
#
# **Exercise 2: the Gaussian KL.** Derive {eq}`eq-kl-gauss` for $d = 1$ from the definition
# $D_{\mathrm{KL}}(q \,\|\, p) = \mathbb E_q[\log q(z) - \log p(z)]$, then check it against
# `torch.distributions.kl_divergence(Normal(mu, sigma), Normal(0, 1))` for a few values.
#
# :::{admonition} Solution
# :class: dropdown
# With $q = \mathcal N(\mu, \sigma^2)$ and $p = \mathcal N(0, 1)$,
# $\log q(z) - \log p(z) = -\log\sigma - \frac{(z - \mu)^2}{2\sigma^2} + \frac{z^2}{2}$.
# Under $q$, $\mathbb E[(z - \mu)^2] = \sigma^2$ and $\mathbb E[z^2] = \mu^2 + \sigma^2$, so
# $D_{\mathrm{KL}} = -\log\sigma - \frac12 + \frac12(\mu^2 + \sigma^2)
# = \frac12(\mu^2 + \sigma^2 - 1 - \log\sigma^2)$.
# ```python
# from torch.distributions import Normal, kl_divergence
# m, s = torch.tensor(0.5), torch.tensor(2.)
# print(kl_divergence(Normal(m, s), Normal(0, 1)), 0.5 * (m**2 + s**2 - 1 - (s**2).log()))
# ```
# :::
#
# **Exercise 3: a two-dimensional code.** Train `TinyVAE(latent=2)` on the same ring. Is the
# ring still cut somewhere? Which term of {eq}`eq-elbo` goes up, and why does the model pay it?
#
# :::{admonition} Solution
# :class: dropdown
# With two dimensions the encoder can place the ring as a ring, so nothing is cut and the
# reconstruction term falls. The KL term (the rate) goes up: two coordinates must now be
# described instead of one. The model pays it because the reconstruction term falls by more;
# the ELBO is the sum.
# :::
#
# **Exercise 4: a weaker prior.** Weight the KL term by 0.1 in the training loop
# (`loss = recon + 0.1 * kl`). How do the reconstructions and the decoded prior samples of
# Figure 2.1 change?
#
# :::{admonition} Solution
# :class: dropdown
# The code may now cost more nats, so the encoder spreads the codes beyond the bulk of
# $\mathcal N(0, 1)$: the reconstructions get closer to the data, but decoding prior samples
# visits only the part of the curve that the spread-out codes leave near the origin, so the
# samples cover the ring less evenly. It is the trade the box at the top measures on MNIST.
# :::

# %% [markdown]
# ## Run it yourself
#
# {download}`Download this chapter as a Jupyter notebook <02_vae.ipynb>` (unexecuted). Its
# first cell sets it up wherever it runs: in a clone after `pip install -e .` it does nothing;
# on Colab it clones the repository ({{ repository_url }}), whose `results/paper/` holds the
# committed results, and installs `mvae` (with a CPU build of PyTorch where torch is missing).
# The launch button at the top of the page opens the same notebook on Binder or Colab.
