"""Encoders and decoders for all K components at once.

The MLP components never run as K separate modules in a Python loop: their weights are stacked
along a leading K axis, so one batched matmul evaluates every component (no weight is shared, so
the maths is that of K independent networks; only the launch count changes). The convolutional
components are K ordinary stacks run in turn, which is faster than grouped convolutions on a CPU.

Shapes: encoders take images ``(B, C, H, W)`` and return ``(K, B, 2*latent + 1)`` raw heads
(mean, pre-softplus variance, pre-softplus Dirichlet concentration). Decoders take ``(K, B, d)``
latents and return ``(K, B, C*H*W)`` pre-activation outputs (logits or pre-sigmoid means).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from mvae import config

#: How the networks multiply matrices (see :func:`bf16_matmul`). Master weights, activations,
#: the loss and the samplers stay float32 in every mode.
PRECISIONS = config.PRECISIONS


def _to_bf16(t: Tensor, emulate: bool) -> Tensor:
    t16 = t.to(torch.bfloat16)
    return t16.float() if emulate else t16


def bf16_matmul(x: Tensor, weight: Tensor, emulate: bool = False) -> Tensor:
    """``x @ weight`` with bfloat16 operands and a bfloat16 result, returned as float32.

    This is what a bf16 GEMM unit (AMX, AVX512-BF16, tensor cores) computes: products of bf16
    numbers are exact in float32 and accumulate in float32, then the result is rounded to bf16.
    Backward runs the same way (the casts' gradients round the incoming gradient to bf16).

    ``emulate=True`` performs the same roundings around a float32 matmul, so a CPU without bf16
    hardware (where a real bf16 GEMM is ~60x slower than fp32) can check what bf16 training does
    to the results; only the summation order differs from the real thing.
    """
    y = torch.matmul(_to_bf16(x, emulate), _to_bf16(weight, emulate))
    return (y.to(torch.bfloat16) if emulate else y).float()


class StackedLinear(nn.Module):
    """K independent linear layers stored as one ``(K, in, out)`` weight.

    Each slice is initialised exactly as ``nn.Linear`` would be (uniform in +-1/sqrt(fan_in)), so a
    stacked model starts from the same distribution as K separate ones. ``precision`` (one of
    :data:`PRECISIONS`, set through :meth:`mvae.model.MVAE.set_precision`) picks the matmul.
    """

    precision: str = "fp32"

    def __init__(self, components: int, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(components, in_features, out_features)
                                   .uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(components, 1, out_features).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``(B, in)`` (shared by all components) or ``(K, B, in)``; out: ``(K, B, out)``."""
        if self.precision != "fp32":
            return bf16_matmul(x, self.weight, self.precision == "bf16-emulated") + self.bias
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


def _convolve(features: nn.Module, x: Tensor, precision: str) -> Tensor:
    """Run a convolution stack in float32, or under bf16 autocast (float32 result)."""
    if precision == "fp32":
        return features(x)
    if precision != "bf16":
        raise ValueError(f"convolutions support precision fp32 or bf16, not {precision!r}")
    with torch.autocast(x.device.type, dtype=torch.bfloat16):
        return features(x).float()


def _block(conv: nn.Module, channels: int) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm2d(channels), nn.LeakyReLU(0.2))


class ConvEncoder(nn.Module):
    """Five 3x3 convolutions with batch norm per component (paper, CIFAR-10), then a linear head.

    Strides 1, 2, 2, 2, 1 take 32x32 to 4x4. Each component is its own ordinary convolution stack,
    run one after the other: on a CPU, K ungrouped convolutions are faster than one grouped
    convolution over K*C channels (oneDNN's grouped kernels are slower; the timings are in
    ``benchmarks/README.md``), and channels-last buys nothing there. The heads are stacked.
    """

    precision: str = "fp32"

    def __init__(self, components: int, in_channels: int, size: int, channels: list[int],
                 out_dim: int) -> None:
        super().__init__()
        strides = (1, 2, 2, 2, 1)
        widths = [in_channels, *channels]
        self.stacks = nn.ModuleList(
            nn.Sequential(*(_block(nn.Conv2d(widths[i], widths[i + 1], 3, strides[i], 1),
                                   widths[i + 1]) for i in range(5)))
            for _ in range(components))
        self.final_size = size // 8
        self.head = StackedLinear(components, channels[-1] * self.final_size ** 2, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.stack([_convolve(stack, x, self.precision).flatten(1)
                         for stack in self.stacks])  # (K, B, c5*s*s)
        return self.head(h)


class ConvDecoder(nn.Module):
    """Linear to 4x4, three stride-2 transposed 3x3 convolutions, two 3x3 convolutions."""

    precision: str = "fp32"

    def __init__(self, components: int, out_channels: int, size: int, channels: list[int],
                 latent_dim: int) -> None:
        super().__init__()
        c = list(reversed(channels))               # c5, c4, c3, c2, c1
        self.start, self.first = size // 8, c[0]
        self.project = StackedLinear(components, latent_dim, c[0] * self.start ** 2)

        def up(i: int, o: int) -> nn.Module:
            return nn.ConvTranspose2d(i, o, 3, 2, 1, output_padding=1)

        self.stacks = nn.ModuleList(
            nn.Sequential(
                nn.BatchNorm2d(c[0]), nn.LeakyReLU(0.2),
                _block(up(c[0], c[1]), c[1]),
                _block(up(c[1], c[2]), c[2]),
                _block(up(c[2], c[3]), c[3]),
                _block(nn.Conv2d(c[3], c[4], 3, 1, 1), c[4]),
                nn.Conv2d(c[4], out_channels, 3, 1, 1),
            ) for _ in range(components))

    def forward(self, z: Tensor) -> Tensor:
        B = z.shape[1]
        h = self.project(z).reshape(len(self.stacks), B, self.first, self.start, self.start)
        return torch.stack([_convolve(stack, h_k, self.precision).flatten(1)
                            for stack, h_k in zip(self.stacks, h, strict=True)])  # (K, B, C*H*W)
