"""Latent traversals: what each latent dimension of each component draws, one dimension at a time.

A traversal starts from one image's posterior mean, sets one latent dimension to each of
:data:`STEPS` values evenly spaced over ``[-SPAN, SPAN]`` (the prior N(0, 1)'s central range) and
decodes with the component's own decoder, the other dimensions held at the mean. In a
disentangled code each row changes one factor of the image (position, scale, shape, rotation); a
dimension the model does not use (its KL near 0) changes nothing. :func:`traversals` computes
them for a run (the pipeline's disentanglement step stores them as ``traversals.npz``) and
:func:`traversal_figure` draws them, components ranked by usage as everywhere in the book.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mvae.model import MVAE
    from mvae.selections import Selections

#: Values per dimension, and the half-width of their range in prior standard deviations.
STEPS = 7
SPAN = 2.5
#: Rows shown per model in the figure: the dimensions with the largest KL, the ones in use.
FIGURE_ROWS = 10
#: The figure's width in inches: the book's article column, so its text keeps its size there.
FIGURE_WIDTH = 6.6


@torch.no_grad()
def traversals(model: MVAE, image: Tensor, steps: int = STEPS, span: float = SPAN) -> Tensor:
    """Every component's traversals from ``image`` (C, H, W): (K, d, steps, C, H, W) images in
    [0, 1]. Row j of component k decodes the posterior mean of ``image`` under component k with
    dimension j set to each of ``steps`` values in [-span, span]."""
    model.eval()
    device = next(model.parameters()).device
    mu = model.latent_means(image[None].to(device))                 # (K, 1, d)
    K, _, d = mu.shape
    values = torch.linspace(-span, span, steps, device=device)
    z = mu.expand(K, d * steps, d).clone()                           # rows (dimension, step)
    rows = torch.arange(d * steps, device=device)
    z[:, rows, rows // steps] = values[rows % steps]
    decoded = torch.sigmoid(model.decode(z))                         # (K, d * steps, D)
    return model.to_images(decoded).reshape(K, d, steps, *model.image_shape).cpu()


def kl_per_dimension(mu: Tensor, var: Tensor) -> np.ndarray:
    """Mean KL(q(z_j | x) || N(0, 1)) of each dimension over the images, (K, d): which
    dimensions a component uses (near 0: the dimension carries nothing)."""
    kl = 0.5 * (mu ** 2 + var - 1 - var.log())
    return kl.mean(dim=1).numpy().astype(np.float64)


def usage_order(weights: Tensor) -> np.ndarray:
    """Component indices by mean expected weight over the images, largest first (ties keep the
    model's order): C1 is the most used component, as in every table and figure."""
    return np.argsort(-weights.mean(dim=1).numpy(), kind="stable")


def _mosaic(tiles: np.ndarray, gap: int = 2) -> np.ndarray:
    """(rows, cols, H, W) grey tiles as one image with white gaps between them."""
    rows, cols, h, w = tiles.shape
    out = np.ones((rows * (h + gap) - gap, cols * (w + gap) - gap))
    for r in range(rows):
        for c in range(cols):
            out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tiles[r, c]
    return out


def _panels(paths: list[str | Path], runs: Selections) -> list[tuple[str, np.ndarray,
                                                                         np.ndarray]]:
    """(title, traversals (d, steps, H, W) in [0, 1], KL per dimension) for each component of the
    first mixture seed, then the first seed of each VAE."""
    files = {Path(p).parent.name: Path(p) for p in paths if Path(p).name == "traversals.npz"}
    chosen = runs.disentanglement
    labels = {"mixture": "M-VAE", "vae_small": "VAE", "vae_wide": "wide VAE"}
    out = []
    for role, label in labels.items():
        run = next((r for r in chosen.get(role, []) if r in files), None)
        if run is None:
            continue
        with np.load(files[run]) as z:
            images, kl = z["traversals"].astype(np.float64) / 255, z["kl"]
        for k in range(len(images)):
            name = f"{label} C{k + 1}" if len(images) > 1 else label
            out.append((f"{name} ({run})", images[k, :, :, 0], kl[k]))
    return out


def traversal_figure(paths: list[str | Path], runs: Selections) -> Figure:
    """One panel per code (each component of the mixture, ranked by usage, then each VAE): its
    :data:`FIGURE_ROWS` dimensions of largest KL, one row each, the traversal left to right."""
    from mvae.figures import plt  # pyplot after the headless backend and the book's theme

    panels = _panels(paths, runs)
    if not panels:
        raise ValueError("no traversals.npz of the disentanglement runs among the inputs")
    cols = min(3, len(panels))
    grid_rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(grid_rows, cols, figsize=(FIGURE_WIDTH, 3.4 * grid_rows),
                             squeeze=False)
    for ax, (title, images, kl) in zip(axes.flat, panels, strict=False):
        order = np.argsort(-kl, kind="stable")[:FIGURE_ROWS]
        tile = images.shape[-1]
        ax.imshow(_mosaic(images[order]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks([(tile + 2) * r + tile / 2 for r in range(len(order))])
        ax.set_yticklabels([f"z{j + 1} {kl[j]:.1f}" for j in order], fontsize=7)
        ax.set_xticks([])
        ax.set_title(title, fontsize=7)
        ax.grid(False)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"Latent traversals: one row per dimension (its KL, nats), set from "
                 f"{-SPAN:g} to {SPAN:g}", fontsize=8)
    fig.tight_layout()
    return fig
