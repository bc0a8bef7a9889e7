"""Encoders and decoders for all K components at once.

The K components never run as K separate modules in a Python loop: their weights are stacked
along a leading K axis, so one batched matmul (MLP) or one grouped convolution (CNN) evaluates
every component. The maths is identical to K independent networks (no weight is shared, and a
grouped convolution or a BatchNorm over K*C channels keeps the components apart); only the
launch count changes, which is what dominates small models on a GPU.

Shapes: encoders take images ``(B, C, H, W)`` and return ``(K, B, 2*latent + 1)`` raw heads
(mean, pre-softplus variance, pre-softplus Dirichlet concentration). Decoders take ``(K, B, d)``
latents and return ``(K, B, C*H*W)`` pre-activation outputs (logits or pre-sigmoid means).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F


class StackedLinear(nn.Module):
    """K independent linear layers stored as one ``(K, in, out)`` weight.

    Each slice is initialised exactly as ``nn.Linear`` would be (uniform in +-1/sqrt(fan_in)), so a
    stacked model starts from the same distribution as K separate ones.
    """

    def __init__(self, components: int, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(components, in_features, out_features)
                                   .uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(components, 1, out_features).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``(B, in)`` (shared by all components) or ``(K, B, in)``; out: ``(K, B, out)``."""
        if x.dim() == 2:
            return torch.matmul(x, self.weight) + self.bias
        return torch.baddbmm(self.bias, x, self.weight)

    def component(self, x: Tensor, k: int) -> Tensor:
        """The k-th layer alone as a plain ``F.linear``: what the stacked path must match."""
        return F.linear(x, self.weight[k].T, self.bias[k, 0])


class MLPEncoder(nn.Module):
    """``hidden_layers`` softplus layers of ``hidden_dim`` units per component (paper: 2 x 500)."""

    def __init__(self, components: int, in_dim: int, hidden_dim: int, hidden_layers: int,
                 out_dim: int) -> None:
        super().__init__()
        dims = [in_dim] + [hidden_dim] * hidden_layers
        self.hidden = nn.ModuleList(StackedLinear(components, a, b)
                                    for a, b in zip(dims, dims[1:], strict=False))
        self.head = StackedLinear(components, dims[-1], out_dim)

    def forward(self, x: Tensor) -> Tensor:
        h = x.flatten(1)
        for layer in self.hidden:
            h = F.softplus(layer(h))
        return self.head(h)

    def component(self, x: Tensor, k: int) -> Tensor:
        h = x.flatten(1)
        for layer in self.hidden:
            h = F.softplus(layer.component(h, k))
        return self.head.component(h, k)


class MLPDecoder(nn.Module):
    """Mirror of :class:`MLPEncoder`: latent -> hidden layers -> flattened image."""

    def __init__(self, components: int, latent_dim: int, hidden_dim: int, hidden_layers: int,
                 out_dim: int) -> None:
        super().__init__()
        dims = [latent_dim] + [hidden_dim] * hidden_layers
        self.hidden = nn.ModuleList(StackedLinear(components, a, b)
                                    for a, b in zip(dims, dims[1:], strict=False))
        self.head = StackedLinear(components, dims[-1], out_dim)

    def forward(self, z: Tensor) -> Tensor:
        h = z
        for layer in self.hidden:
            h = F.softplus(layer(h))
        return self.head(h)

    def component(self, z: Tensor, k: int) -> Tensor:
        h = z
        for layer in self.hidden:
            h = F.softplus(layer.component(h, k))
        return self.head.component(h, k)


def _block(conv: nn.Module, channels: int) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm2d(channels), nn.LeakyReLU(0.2))


class ConvEncoder(nn.Module):
    """Five 3x3 convolutions with batch norm per component (paper, CIFAR-10), then a linear head.

    Strides 1, 2, 2, 2, 1 take 32x32 to 4x4. The first convolution maps the shared input to
    ``K*c1`` channels (K independent filters banks on the same image); the rest are grouped
    (``groups=K``), so component k only ever sees its own channels.
    """

    def __init__(self, components: int, in_channels: int, size: int, channels: list[int],
                 out_dim: int) -> None:
        super().__init__()
        K = components
        c = [K * ch for ch in channels]
        strides = (1, 2, 2, 2, 1)
        layers = [_block(nn.Conv2d(in_channels, c[0], 3, 1, 1), c[0])]
        for i in range(1, 5):
            layers.append(_block(nn.Conv2d(c[i - 1], c[i], 3, strides[i], 1, groups=K), c[i]))
        self.features = nn.Sequential(*layers)
        self.components, self.final_size = K, size // 8
        self.head = StackedLinear(K, channels[-1] * self.final_size ** 2, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        h = self.features(x)                       # (B, K*c5, s, s)
        B = h.shape[0]
        h = h.reshape(B, self.components, -1).transpose(0, 1)  # (K, B, c5*s*s)
        return self.head(h)


class ConvDecoder(nn.Module):
    """Linear to 4x4, three stride-2 transposed 3x3 convolutions, two 3x3 convolutions."""

    def __init__(self, components: int, out_channels: int, size: int, channels: list[int],
                 latent_dim: int) -> None:
        super().__init__()
        K = components
        rev = list(reversed(channels))               # c5, c4, c3, c2, c1
        c = [K * ch for ch in rev]
        self.components, self.start, self.first = K, size // 8, rev[0]
        self.project = StackedLinear(K, latent_dim, rev[0] * self.start ** 2)
        up = lambda i, o: nn.ConvTranspose2d(i, o, 3, 2, 1, output_padding=1, groups=K)  # noqa: E731
        self.features = nn.Sequential(
            nn.BatchNorm2d(c[0]), nn.LeakyReLU(0.2),
            _block(up(c[0], c[1]), c[1]),
            _block(up(c[1], c[2]), c[2]),
            _block(up(c[2], c[3]), c[3]),
            _block(nn.Conv2d(c[3], c[4], 3, 1, 1, groups=K), c[4]),
            nn.Conv2d(c[4], K * out_channels, 3, 1, 1, groups=K),
        )

    def forward(self, z: Tensor) -> Tensor:
        K, B, _ = z.shape
        h = self.project(z)                           # (K, B, c5*s*s)
        h = h.transpose(0, 1).reshape(B, K * self.first, self.start, self.start)
        out = self.features(h)                        # (B, K*C, H, W)
        return out.reshape(B, K, -1).transpose(0, 1)  # (K, B, C*H*W)
