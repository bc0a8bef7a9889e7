"""dSprites re-rendered from its published factors: a procedural copy, not the original file.

dSprites (Matthey et al. 2017) is every combination of five generative factors, drawn as a white
sprite on a black 64 x 64 binary image: 3 shapes (square, ellipse, heart) x 6 scales (linearly
0.5 to 1) x 40 orientations (linearly 0 to 2 pi, both ends included) x 32 x 32 positions
(linearly 0 to 1), 737,280 images. Image ``i`` has the factor indices
``np.unravel_index(i, FACTOR_SIZES)``: the original's factor order (its sixth factor, colour, has
one value and changes no index). The original ``.npz`` cannot be fetched here, so this module
draws the same grid of factors with numpy; the pixels are ours, not the original's (shape
outlines and sizes differ), and results on it must say so.

How a sprite is drawn. Each of the 720 (shape, scale, orientation) sprites is drawn once in a
33 x 33 patch: a pixel is on when its centre lies inside the shape rotated by the orientation
(counter-clockwise as displayed). Position index ``(x, y)`` puts the patch's top-left corner at
column ``x`` and row ``y``, so the sprite's centre moves one pixel per step from pixel 16 to pixel
47, right for ``pos_x`` and down for ``pos_y``; at scale 1 a sprite spans about 20 (square) to 28
(ellipse) pixels. The shapes' sizes are chosen so that no pixel centre lies on an outline (the
smallest margin, :func:`outline_margin`, is checked by the tests), which keeps the binary images
the same under any correctly rounded floating point.

What is cached. All 737,280 images are 3 GB as uint8 (377 MB as packed bits, which the uint8
cache and loader of :mod:`mvae.data` do not read), and a run here trains on tens of thousands. The
dataset ``dsprites`` of the registry is therefore a documented subset: one fixed uniform draw
without replacement from the full grid (``numpy.random.RandomState(SPLIT_SEED).permutation``, a
stream numpy keeps stable across versions), its first 100,000 images the training split and the
next 10,000 the test split, each in that drawn order (so that a class-balanced subset, the first
images of each shape, is again a uniform draw). Labels are the shape index (the three classes);
every factor index travels with an image through :func:`factors` and :func:`load_with_factors`,
which draws the images again from the factors and compares them with the cached ones.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mvae.data.integrity import ChecksumError
from mvae.data.registry import REGISTRY, SPLITS, Source

if TYPE_CHECKING:
    from mvae.data.loading import ImageDataset

NAME = "dsprites"
#: The factors in the original's order (its constant colour factor left out).
FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES = (3, 6, 40, 32, 32)
SHAPES = ("square", "ellipse", "heart")
TOTAL = int(np.prod(FACTOR_SIZES))  # 737,280
IMAGE_SIZE = 64
#: Side of the patch a sprite is drawn in; its centre is the patch's middle pixel.
PATCH = 33
#: Seed of the draw that makes the cached splits.
SPLIT_SEED = 0
#: Sizes at scale 1, in pixels: the square's half side, the ellipse's semi-axes and the heart's
#: pixels per unit of its curve. Not round numbers, so that no pixel centre is on an outline.
SQUARE_HALF_SIDE = 10.3
ELLIPSE_AXES = (13.7, 6.9)
HEART_UNIT = 11.85
#: The heart curve (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0 spans y in [-1, 1.24]: drawn about y = 0.12.
HEART_MIDDLE = 0.12


def factor_values() -> dict[str, np.ndarray]:
    """Each factor's values, as the original publishes them (shape: 0, 1, 2 for square, ellipse,
    heart)."""
    return {"shape": np.arange(3, dtype=np.float64), "scale": np.linspace(0.5, 1.0, 6),
            "orientation": np.linspace(0.0, 2 * np.pi, 40), "pos_x": np.linspace(0.0, 1.0, 32),
            "pos_y": np.linspace(0.0, 1.0, 32)}


def factors_of(indices: np.ndarray) -> np.ndarray:
    """Factor indices ``(N, 5)`` (int64, in :data:`FACTOR_NAMES` order) of images ``indices``."""
    return np.stack(np.unravel_index(np.asarray(indices, dtype=np.int64), FACTOR_SIZES),
                    axis=1).astype(np.int64)


def _inside(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A signed margin, positive inside: the shape at scale 1 in coordinates ``(u, v)`` (pixels,
    v upwards) divided by its size, so that every shape's margin is in comparable units."""
    if shape == 0:
        return 1.0 - np.maximum(np.abs(u), np.abs(v)) / SQUARE_HALF_SIDE
    if shape == 1:
        return 1.0 - (u / ELLIPSE_AXES[0]) ** 2 - (v / ELLIPSE_AXES[1]) ** 2
    x, y = u / HEART_UNIT, v / HEART_UNIT + HEART_MIDDLE
    return x ** 2 * y ** 3 - (x ** 2 + y ** 2 - 1) ** 3


def _margins() -> np.ndarray:
    """The signed margin of every patch pixel centre for every sprite, (3, 6, 40, 33, 33)."""
    values = factor_values()
    offset = np.arange(PATCH, dtype=np.float64) - PATCH // 2
    dx, dy = np.meshgrid(offset, offset)               # dy: rows, downwards
    u0, v0 = dx, -dy                                   # v upwards, as the shapes are defined
    out = np.empty((3, 6, 40, PATCH, PATCH))
    for o, theta in enumerate(values["orientation"]):
        c, s = np.cos(theta), np.sin(theta)
        u, v = c * u0 + s * v0, -s * u0 + c * v0       # rotate the pixel by -theta
        for k, scale in enumerate(values["scale"]):
            for shape in range(3):
                out[shape, k, o] = _inside(shape, u / scale, v / scale)
    return out


@functools.cache
def sprites() -> np.ndarray:
    """Every (shape, scale, orientation) sprite as a 33 x 33 boolean patch, (3, 6, 40, 33, 33)."""
    return _margins() > 0


def outline_margin() -> float:
    """The smallest |margin| of any pixel centre of any sprite: how far the binary images are
    from a pixel that floating point rounding could flip (about 1e-6 of a shape's size; the tests
    require more than 1e-7, against rounding errors near 1e-15)."""
    return float(np.abs(_margins()).min())


def render(indices: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Images ``(N, 64, 64)`` uint8 (0 or 255: the loader's [0, 1] scale divides by 255) of the
    dSprites images ``indices`` (positions in the full factor order)."""
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= TOTAL):
        raise ValueError(f"dSprites image indices must be in [0, {TOTAL}), got "
                         f"{indices.min()}..{indices.max()}")
    patches = sprites().reshape(-1, PATCH, PATCH)
    out = np.zeros((len(indices), IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    rows = np.arange(PATCH)
    for start in range(0, len(indices), chunk):
        f = factors_of(indices[start:start + chunk])
        sprite = np.ravel_multi_index((f[:, 0], f[:, 1], f[:, 2]), FACTOR_SIZES[:3])
        n = np.arange(len(f))[:, None, None]
        y = (f[:, 4][:, None, None] + rows[None, :, None])   # (n, 33, 1)
        x = (f[:, 3][:, None, None] + rows[None, None, :])   # (n, 1, 33)
        out[start + n, y, x] = patches[sprite] * np.uint8(255)
    return out


def split_indices(split: str) -> np.ndarray:
    """The full-grid indices of a cached split's images, in the split's order (see the module
    docstring); the split sizes are the registry's."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    n_train, n_test = REGISTRY[NAME].split_sizes
    drawn = np.random.RandomState(SPLIT_SEED).permutation(TOTAL)
    return drawn[:n_train] if split == "train" else drawn[n_train:n_train + n_test]


def generate(name: str = NAME, workdir: Path | None = None, progress: bool = False, *,
             source: Source | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The source of kind ``generated`` (:mod:`mvae.data.sources`): both splits drawn here, as
    the cache stores them (images (N, 64, 64) uint8, labels the shape index, uint8)."""
    arrays = {}
    for split in SPLITS:
        indices = split_indices(split)
        arrays[f"{split}_images"] = render(indices)
        arrays[f"{split}_labels"] = factors_of(indices)[:, 0].astype(np.uint8)
    description = source.description if source else REGISTRY[name].sources[0].description
    return arrays, {"source": description, "location": f"{__name__} (drawn with numpy)",
                    "file_checksums": {}}


def factors(split: str, subset: int | None = None) -> np.ndarray:
    """Factor indices ``(N, 5)`` of a cached split, with the subset the loader keeps
    (:func:`mvae.data.class_balanced_subset` of the shape labels), in the loader's order."""
    import torch

    from mvae.data.loading import class_balanced_subset

    f = factors_of(split_indices(split))
    if subset is not None and subset != len(f):
        keep = class_balanced_subset(torch.from_numpy(f[:, 0]), subset).numpy()
        f = f[keep]
    return f


def load_with_factors(split: str, root: Path | None = None, subset: int | None = None
                      ) -> tuple[ImageDataset, np.ndarray]:
    """A cached split (:func:`mvae.data.load`) and its factor indices ``(N, 5)``, checked against
    each other: the images are drawn again from the factors and must equal the cached ones (the
    cache's hashes vouch for its pixels, this for the factors that travel with them)."""
    from mvae.data.loading import load

    data = load(NAME, split, root, subset=subset)
    f = factors(split, subset)
    indices = np.ravel_multi_index(tuple(f.T), FACTOR_SIZES)
    if len(f) != len(data) or not np.array_equal(render(indices), data.images[:, 0].numpy()):
        raise ChecksumError(f"dsprites {split}: the cached images are not those of their factors "
                            f"({__name__} draws them otherwise now); the renderer or the split "
                            "changed without the registry's array_sha256: update both together")
    return data, f
