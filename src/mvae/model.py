"""The M-VAE model: K VAE components whose decoded outputs are mixed by Dirichlet weights.

Generative story (paper, eqs. 2-6): component i encodes x into q(z_i|x) = N(mu_i, diag var_i) and
one concentration a_i > 0; w ~ Dir(a_1..a_K); the output is sum_i w_i * decoder_i(z_i). With K = 1
the weight is identically 1 and the model is a plain VAE, our baseline.

``forward`` returns a small :class:`MVAEOutput` record; the objective lives in
:mod:`mvae.objective`. The helpers at the bottom are the ways the paper looks at a trained model:
mixture and one-hot (single-component) reconstructions, latent means, samples from the prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.distributions import Dirichlet, Gamma
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from mvae.config import Config
from mvae.networks import (
    PRECISIONS,
    ConvDecoder,
    ConvEncoder,
    MLPDecoder,
    MLPEncoder,
    StackedLinear,
)

#: Floor added to softplus outputs so that variances and concentrations stay strictly positive.
POSITIVE_FLOOR = 1e-6


@dataclass
class MVAEOutput:
    """What one forward pass produces. Shapes: K components, B images, d latent dims, D pixels.

    * ``mu``, ``var``: (K, B, d) posterior means and variances (softplus);
    * ``alpha``: (K, B) Dirichlet concentrations, as used for sampling;
    * ``z``: (K, B, d) reparameterised latent samples;
    * ``w``: (K, B) mixing weights, summing to 1 over K;
    * ``decoded``: (K, B, D) decoder pre-activations (Bernoulli logits, pre-sigmoid means).
    """

    mu: Tensor        # (K, B, d) posterior means
    var: Tensor       # (K, B, d) posterior variances (softplus)
    alpha: Tensor     # (K, B) Dirichlet concentrations as used for sampling
    z: Tensor         # (K, B, d) reparameterised latent samples
    w: Tensor         # (K, B) mixing weights, sum_k w[k, b] = 1
    decoded: Tensor   # (K, B, D) decoder pre-activations (Bernoulli logits / pre-sigmoid means)

    @property
    def component_means(self) -> Tensor:
        """Per-component output means in [0, 1], (K, B, D)."""
        return torch.sigmoid(self.decoded)

    @property
    def mixture_mean(self) -> Tensor:
        """sum_i w_i * y_i, (B, D)."""
        return (self.w.unsqueeze(-1) * self.component_means).sum(0)


class MVAE(nn.Module):
    """A mixture of K VAEs evaluated in one pass (see :mod:`mvae.networks`)."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config.validate()
        K, d = config.components, config.latent_dim
        C, H, W = config.image_shape
        self.image_shape = (C, H, W)
        head = 2 * d + 1  # mean, variance, one Dirichlet concentration per component
        if config.resolved_architecture == "mlp":
            self.encoder = MLPEncoder(K, C * H * W, config.hidden_dim, config.hidden_layers, head)
            self.decoder = MLPDecoder(K, d, config.hidden_dim, config.hidden_layers, C * H * W)
        else:
            self.encoder = ConvEncoder(K, C, H, config.conv_channels, head)
            self.decoder = ConvDecoder(K, C, H, config.conv_channels, d)

    @property
    def components(self) -> int:
        """K, the number of components (``config.components``)."""
        return self.config.components

    def set_precision(self, precision: str) -> MVAE:
        """Matmul precision of every layer: one of ``networks.PRECISIONS``.

        Training sets it for its step only (see :class:`mvae.fast.TrainStep`); everything else,
        evaluation included, runs in float32, so reported numbers never depend on the hardware.
        """
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, "
                             f"got {precision!r}")
        for module in self.modules():
            if isinstance(module, StackedLinear | ConvEncoder | ConvDecoder):
                module.precision = precision
        return self

    # ------------------------------------------------------------------ pieces
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Images (B, C, H, W) -> mu (K,B,d), var (K,B,d), alpha (K,B) (softplus, floored)."""
        d = self.config.latent_dim
        heads = self.encoder(x)
        mu = heads[..., :d]
        var = F.softplus(heads[..., d:2 * d]) + POSITIVE_FLOOR
        alpha = F.softplus(heads[..., 2 * d]) + POSITIVE_FLOOR
        if self.config.normalize_alpha:
            alpha = alpha / alpha.sum(0, keepdim=True)
        return mu, var, alpha

    def sample_weights(self, alpha: Tensor) -> Tensor:
        """w ~ Dir(alpha) with a reparameterised gradient; alpha (K, B) -> w (K, B).

        K = 1 returns ones: a one-component "mixture" is a plain VAE and Dir over one category is
        a point mass, so there is nothing to sample (and no gradient to pass).
        """
        if self.components == 1:
            return torch.ones_like(alpha)
        conc = alpha.transpose(0, 1)  # (B, K): the event dimension last
        # validate_args=False everywhere on the training path: argument validation reads values
        # back to the host, which stalls the GPU and makes the step impossible to graph-capture.
        if self.config.weight_sampler == "dirichlet":
            w = Dirichlet(conc, validate_args=False).rsample()
        else:
            g = Gamma(conc, torch.ones_like(conc), validate_args=False).rsample()
            w = g / g.sum(-1, keepdim=True)
        # Dirichlet draws with small concentrations underflow to exact zeros; the mixture's log
        # likelihood takes log w, so keep w strictly positive (the clamp passes no gradient there).
        return w.clamp_min(torch.finfo(w.dtype).tiny).transpose(0, 1)

    def expected_weights(self, alpha: Tensor) -> Tensor:
        """E[w] = alpha / sum(alpha), (K, B)."""
        return alpha / alpha.sum(0, keepdim=True)

    def decode(self, z: Tensor) -> Tensor:
        """Latents (K, B, d) -> decoder pre-activations (K, B, D)."""
        return self.decoder(z)

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor) -> MVAEOutput:
        """One stochastic pass over images x (B, C, H, W) in [0, 1]: encode, draw z ~ q(z | x)
        and w ~ Dir(a) with reparameterised gradients, decode; the input of
        :func:`mvae.objective.mixture_loss`."""
        mu, var, alpha = self.encode(x)
        z = mu + var.sqrt() * torch.randn_like(mu)
        w = self.sample_weights(alpha)
        return MVAEOutput(mu=mu, var=var, alpha=alpha, z=z, w=w, decoded=self.decode(z))

    # ------------------------------------------------------------------ ways to look at it
    def to_images(self, flat: Tensor) -> Tensor:
        """(..., D) -> (..., C, H, W)."""
        return flat.reshape(*flat.shape[:-1], *self.image_shape)

    @torch.no_grad()
    def reconstruct(self, x: Tensor, weights: str = "expected", latent: str = "mean") -> Tensor:
        """Mixture reconstruction (B, C, H, W).

        ``weights``: ``"expected"`` uses E[w] = a / sum(a), ``"sample"`` draws w ~ Dir(a).
        ``latent``: ``"mean"`` decodes the posterior means, ``"sample"`` draws z.
        """
        mu, var, alpha = self.encode(x)
        z = mu if latent == "mean" else mu + var.sqrt() * torch.randn_like(mu)
        w = self.expected_weights(alpha) if weights == "expected" else self.sample_weights(alpha)
        means = torch.sigmoid(self.decode(z))
        return self.to_images((w.unsqueeze(-1) * means).sum(0))

    @torch.no_grad()
    def reconstruct_components(self, x: Tensor) -> Tensor:
        """One-hot w: each component alone (the paper's Fig. 2), (K, B, C, H, W), at the means."""
        mu, _, _ = self.encode(x)
        return self.to_images(torch.sigmoid(self.decode(mu)))

    @torch.no_grad()
    def latent_means(self, x: Tensor) -> Tensor:
        """Posterior means per component, (K, B, d): the codes the probes classify."""
        return self.encode(x)[0]

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        """Images from the prior: z_i ~ N(0, I) per component, w ~ Dir(prior), (n, C, H, W)."""
        device = next(self.parameters()).device
        K, d = self.components, self.config.latent_dim
        z = torch.randn(K, n, d, device=device)
        if K == 1:
            w = torch.ones(1, n, device=device)
        else:
            prior = torch.full((n, K), self.config.dirichlet_prior, device=device)
            w = Dirichlet(prior, validate_args=False).sample().transpose(0, 1)
        return self.to_images((w.unsqueeze(-1) * torch.sigmoid(self.decode(z))).sum(0))


def parameter_count(config: Config) -> int:
    """Trainable parameters of the model ``config`` describes, built on the meta device (no
    memory, no weights): a K-component mixture has about K times the VAE's parameters, which a
    comparison of their errors has to keep in view."""
    with torch.device("meta"):
        model = MVAE(config)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def forward_flops(config: Config) -> int:
    """Floating-point operations (a multiply-add counts 2) of one image's pass through every
    component's encoder and decoder, counted by torch's ``FlopCounterMode`` on the meta device (no
    memory, no arithmetic). Training costs a fixed multiple of it for a given family of networks,
    so :mod:`mvae.planning` scales an archived run's time by it to a width never trained."""
    with torch.device("meta"):
        model = MVAE(config)
        images = torch.zeros(1, *config.image_shape)
        with FlopCounterMode(display=False) as counter:
            mu, _, _ = model.encode(images)  # the Dirichlet draw has no meta kernel: left out
            model.decode(mu)
    return counter.get_total_flops()
