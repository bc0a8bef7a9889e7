"""Ways to play with a trained model: change a component's weight, walk along a latent dimension.

Both decode in the deterministic mode (posterior means), so a change in the picture is the
change asked for and nothing else. They take any :class:`mvae.model.MVAE`, a trained one from
:func:`mvae.pretrained.load` in the book's chapters 05 and 06.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from mvae.model import MVAE


@torch.no_grad()
def with_weight(model: MVAE, image: Tensor, component: int, weight: float) -> Tensor:
    """``image`` (C, H, W) reconstructed with component ``component``'s weight set to
    ``weight`` and the others scaled so that the weights still sum to one, keeping the ratios
    the encoder gave them: (C, H, W). At ``weight`` 1 it is that component alone (the paper's
    Fig. 2), at its expected weight the ordinary reconstruction."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    mu, _, alpha = model.encode(image.unsqueeze(0))
    w = model.expected_weights(alpha)[:, 0]                         # (K,)
    rest = 1.0 - w[component]
    scale = (1.0 - weight) / rest if rest > 0 else 0.0
    new = w * scale
    new[component] = weight
    if rest <= 0:  # the others had no weight: share the remainder equally
        others = [k for k in range(len(w)) if k != component]
        new[others] = (1.0 - weight) / max(len(others), 1)
    images = torch.sigmoid(model.decode(mu))[:, 0]                  # (K, D)
    return model.to_images((new.unsqueeze(-1) * images).sum(0))


def weight_sweep(model: MVAE, image: Tensor, component: int,
                 weights: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)) -> Tensor:
    """:func:`with_weight` at each of ``weights``: (len(weights), C, H, W)."""
    return torch.stack([with_weight(model, image, component, w) for w in weights])


@torch.no_grad()
def latent_walk(model: MVAE, image: Tensor, component: int, dimension: int,
                values: Sequence[float] = (-3.0, -1.5, 0.0, 1.5, 3.0)) -> Tensor:
    """Component ``component`` alone decoding ``image``'s code (its posterior mean) with
    coordinate ``dimension`` set to each of ``values`` (prior standard deviations, as the
    prior is N(0, I)): (len(values), C, H, W)."""
    mu, _, _ = model.encode(image.unsqueeze(0))
    code = mu[component, 0].repeat(len(values), 1)                  # (n, d)
    code[:, dimension] = torch.tensor(values, dtype=code.dtype)
    codes = mu[:, :1].expand(-1, len(values), -1).clone()           # every component's code
    codes[component] = code
    return model.to_images(torch.sigmoid(model.decode(codes))[component])


@torch.no_grad()
def busiest_dimensions(model: MVAE, images: Tensor, component: int, n: int = 3) -> list[int]:
    """The ``n`` latent dimensions of ``component`` whose posterior means vary most over
    ``images``: the ones a walk visibly changes (an inactive dimension decodes the same image
    wherever it is set)."""
    mu, _, _ = model.encode(images)
    return [int(i) for i in mu[component].var(0).argsort(descending=True)[:n]]


@torch.no_grad()
def usage_order(model: MVAE, images: Tensor) -> list[int]:
    """The components, most used first: by their mean expected weight E[w_k | x] over
    ``images`` (C1 of the book's figures and tables is the first)."""
    _, _, alpha = model.encode(images)
    return [int(k) for k in model.expected_weights(alpha).mean(1).argsort(descending=True)]


def as_uint8(images: Tensor) -> Tensor:
    """Images in [0, 1] as uint8 grey levels (what :func:`mvae.figures.image_rows` draws)."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)
