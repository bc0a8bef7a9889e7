"""dSprites re-rendered from its factors (mvae.data.dsprites): the factor grid in the original's
order, sprites where their factors put them, the registry's hashes pinning the renderer, and the
factors travelling with the cached images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from data_helpers import block_network, with_spec

from mvae import data
from mvae.data import dsprites, registry
from mvae.data.integrity import ChecksumError, sha256_array


def _index(shape: int, scale: int, orientation: int, x: int, y: int) -> int:
    return int(np.ravel_multi_index((shape, scale, orientation, x, y), dsprites.FACTOR_SIZES))


def test_the_factor_grid_is_the_originals():
    assert dsprites.TOTAL == 737_280 == 3 * 6 * 40 * 32 * 32
    values = dsprites.factor_values()
    assert np.allclose(values["scale"], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert values["orientation"][0] == 0 and values["orientation"][-1] == pytest.approx(2 * np.pi)
    assert len(values["orientation"]) == 40 and len(values["pos_x"]) == len(values["pos_y"]) == 32
    # the last factor (pos_y) changes fastest, the first (shape) slowest
    assert dsprites.factors_of(np.array([1])).tolist() == [[0, 0, 0, 0, 1]]
    assert dsprites.factors_of(np.array([32])).tolist() == [[0, 0, 0, 1, 0]]
    assert dsprites.factors_of(np.array([dsprites.TOTAL - 1])).tolist() == [[2, 5, 39, 31, 31]]


def test_no_pixel_centre_is_near_an_outline_and_every_sprite_fits():
    assert dsprites.outline_margin() > 1e-7  # rounding errors are near 1e-15
    s = dsprites.sprites()
    assert not (s[..., 0, :].any() or s[..., -1, :].any() or s[..., :, 0].any()
                or s[..., :, -1].any())
    assert s.reshape(720, -1).sum(1).min() > 50  # no sprite vanishes at scale 0.5


def test_sprites_are_where_their_factors_put_them():
    def centroid(image: np.ndarray) -> np.ndarray:
        ys, xs = np.nonzero(image)
        return np.array([xs.mean(), ys.mean()])

    for shape in (0, 1):  # point-symmetric: the centroid is the sprite's centre
        for x, y in ((0, 0), (31, 0), (7, 20)):
            image = dsprites.render(np.array([_index(shape, 3, 11, x, y)]))[0]
            assert np.allclose(centroid(image), [16 + x, 16 + y])
    images = dsprites.render(np.array([_index(2, 5, 4, x, 9) for x in range(32)]))
    assert set(np.unique(images)) == {0, 255} and images.dtype == np.uint8
    assert np.array_equal(images[5], np.roll(images[0], 5, axis=1))  # one pixel per step
    sizes = [int((dsprites.render(np.array([_index(1, k, 0, 16, 16)]))[0] > 0).sum())
             for k in range(6)]
    assert sizes == sorted(sizes) and len(set(sizes)) == 6
    # the ellipse's area pi * a * b at each scale, to within its outline's pixels
    a, b = dsprites.ELLIPSE_AXES
    for k, scale in enumerate(dsprites.factor_values()["scale"]):
        assert abs(sizes[k] - np.pi * a * b * scale ** 2) < 2 * np.pi * a * scale
    turn = dsprites.render(np.array([_index(2, 5, 0, 16, 16), _index(2, 5, 39, 16, 16)]))
    assert np.array_equal(turn[0], turn[1])  # orientation 2 pi is orientation 0
    with pytest.raises(ValueError, match="indices must be in"):
        dsprites.render(np.array([dsprites.TOTAL]))


def test_the_registry_hashes_pin_the_renderer():
    """What the renderer draws now is what the registry recorded: a changed renderer (or split)
    fails here, and on any machine's first prepare (mvae.data.cache.verify_arrays)."""
    arrays, record = dsprites.generate()
    expected = registry.REGISTRY["dsprites"].array_sha256
    assert {key: sha256_array(a) for key, a in arrays.items()} == dict(expected)
    assert "NOT the original file" in record["source"]
    train, test = dsprites.split_indices("train"), dsprites.split_indices("test")
    assert (len(train), len(test)) == registry.REGISTRY["dsprites"].split_sizes
    assert not np.intersect1d(train, test).size


@pytest.fixture
def small(monkeypatch, tmp_path):
    """A dSprites spec of 90 + 60 images (its own hashes unknown), cached under tmp_path."""
    block_network(monkeypatch)
    with_spec(monkeypatch, "dsprites", split_sizes=(90, 60), array_sha256={})
    return tmp_path


def test_the_factors_travel_with_the_cached_images(small):
    record = data.prepare("dsprites", small, progress=False)
    assert record["sizes"] == {"train": 90, "test": 60}
    images, f = dsprites.load_with_factors("train", small, subset=30)
    assert f.shape == (30, 5) and np.array_equal(images.labels.numpy(), f[:, 0])
    assert np.bincount(f[:, 0]).tolist() == [10, 10, 10]
    full = dsprites.split_indices("train")
    keep = data.class_balanced_subset(torch.from_numpy(dsprites.factors_of(full)[:, 0]), 30)
    assert np.array_equal(f, dsprites.factors_of(full[keep.numpy()]))
    assert np.array_equal(images.images[:, 0].numpy(), dsprites.render(full[keep.numpy()]))


def test_a_changed_renderer_is_noticed(small, monkeypatch):
    data.prepare("dsprites", small, progress=False)
    draw = dsprites.render
    monkeypatch.setattr(dsprites, "render", lambda idx, chunk=8192: 255 - draw(idx, chunk))
    with pytest.raises(ChecksumError, match="not those of their factors"):
        dsprites.load_with_factors("test", small)
    # with the registry's hashes, the drawn arrays are checked before they are cached
    with_spec(monkeypatch, "dsprites", split_sizes=(90, 60),
              array_sha256={"test_images": "0" * 64})
    with pytest.raises(ChecksumError, match="checksum mismatch for dsprites test_images"):
        data.prepare("dsprites", small / "again", progress=False)
