"""Baselines: PCA codes against numpy's SVD, untrained encoders seeded, and probes on baseline
features that find class structure where it exists and none where labels are shuffled."""

from __future__ import annotations

import numpy as np
import torch

from mvae import Config
from mvae.baselines import baseline_probes, pca_codes, untrained_codes

SMALL = Config(components=3, latent_dim=4, hidden_dim=16, device="cpu")


def _digits(n: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    g = torch.Generator().manual_seed(seed)
    protos = torch.rand(10, 1, 28, 28, generator=torch.Generator().manual_seed(99))
    labels = torch.randint(0, 10, (n,), generator=g)
    noise = 0.35 * torch.rand(n, 1, 28, 28, generator=g)
    return (0.6 * protos[labels] + noise).clamp(0, 1), labels.numpy()


def test_pca_codes_span_the_top_singular_directions() -> None:
    x, _ = _digits(300, 0)
    flat = x.flatten(1).numpy().astype(np.float64)
    train, test = pca_codes(flat, flat[:50], 5)
    centred = flat - flat.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    oracle = centred @ vt[:5].T
    for j in range(5):  # equal up to the sign of each direction
        assert min(np.abs(train[:, j] - oracle[:, j]).max(),
                   np.abs(train[:, j] + oracle[:, j]).max()) < 1e-3
    np.testing.assert_allclose(np.abs(test), np.abs(train[:50]), atol=1e-4)


def test_untrained_codes_are_seeded_and_concatenated() -> None:
    x, _ = _digits(20, 1)
    a, _ = untrained_codes(SMALL, x, x[:5], seed=0)
    b, _ = untrained_codes(SMALL, x, x[:5], seed=0)
    c, _ = untrained_codes(SMALL, x, x[:5], seed=1)
    assert a.shape == (20, 3 * 4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_baseline_probes_see_structure_and_not_shuffled_labels() -> None:
    x, y = _digits(600, 2)
    xt, yt = _digits(300, 3)
    real = baseline_probes(x, y, xt, yt, SMALL, classifiers=("knn",))
    assert set(real["features"]) == {"raw pixels", "PCA 4", "PCA 12",
                                      "untrained encoder, K = 1 (4-d)",
                                      "untrained encoder, K = 3 (12-d)"}
    assert real["features"]["raw pixels"]["knn"] > 0.9
    assert real["features"]["PCA 12"]["width"] == 12
    shuffled = baseline_probes(x, np.random.default_rng(0).permutation(y), xt, yt, SMALL,
                               classifiers=("knn",))
    assert shuffled["features"]["raw pixels"]["knn"] < 0.25
    flat, flat_t = x.flatten(1).double(), xt.flatten(1).double()
    expected = ((flat_t - flat.mean(0)) ** 2).sum(1).mean()
    assert abs(real["mean_image_sse"] - float(expected)) < 1e-3
