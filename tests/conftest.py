"""Shared fixtures: tiny, structured, in-memory image sets so that no test needs downloads."""

from __future__ import annotations

import pytest
import torch

from mvae.data import ImageDataset


def make_blobs(n: int, shape: tuple[int, int, int] = (1, 28, 28), classes: int = 4,
               seed: int = 0, split: str = "train") -> ImageDataset:
    """Images drawn around ``classes`` random prototypes: learnable structure with labels."""
    g = torch.Generator().manual_seed(seed)
    protos = torch.rand(classes, *shape, generator=g) ** 3
    labels = torch.arange(n) % classes
    noise = 0.15 * torch.randn(n, *shape, generator=g)
    images = ((protos[labels] + noise).clamp(0, 1) * 255).round().to(torch.uint8)
    return ImageDataset(name="blobs", split=split, images=images, labels=labels.long(),
                        source="synthetic blobs (tests)")


@pytest.fixture
def blobs() -> tuple[ImageDataset, ImageDataset]:
    return make_blobs(256, seed=0), make_blobs(64, seed=0, split="test")
