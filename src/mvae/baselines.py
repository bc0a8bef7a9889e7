"""Baselines that say whether a trained model learned anything: the floor every table needs.

A probe accuracy or a reconstruction error means little alone. 89% KNN accuracy on a model's
codes is a failure if a KNN on the raw pixels scores 97%; a per-image SSE of 51 is no model at
all if predicting the mean training image scores 51 too. :func:`baseline_probes` runs the same
probes (:func:`mvae.probes.probe_codes`) as the models get on features that need no training of
ours:

* the raw pixels (784-d for MNIST);
* PCA codes as wide as one component's latent (``d``) and as the K-component concatenation
  (``K x d``): the best *linear* code of that width;
* the codes of an untrained (random-init) encoder, K = 1 and K components: what the
  architecture gives before any learning (random features are often far from useless).

Each model's own reconstruction record already holds the mean-image SSE
(:func:`mvae.evaluate.mean_image_sse`); it is repeated here so a baselines table stands alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.decomposition import PCA

from mvae.config import Config
from mvae.evaluate import latent_codes, mean_image_sse
from mvae.model import MVAE
from mvae.probes import CLASSIFIERS, probe_codes


def pca_codes(train: np.ndarray, test: np.ndarray, width: int,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """PCA of the flattened training images, ``width`` components, applied to train and test."""
    pca = PCA(n_components=width, svd_solver="randomized", random_state=seed)
    return pca.fit_transform(train).astype(np.float32), pca.transform(test).astype(np.float32)


def untrained_codes(config: Config, train: torch.Tensor, test: torch.Tensor,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means of a randomly initialised model (seeded), concatenated: (N, K * d)."""
    torch.manual_seed(seed)
    model = MVAE(config.replace(device="cpu")).to("cpu")

    def flat(images: torch.Tensor) -> np.ndarray:
        codes = latent_codes(model, images)                      # (K, N, d)
        return codes.permute(1, 0, 2).reshape(codes.shape[1], -1).numpy()

    return flat(train), flat(test)


def baseline_probes(train_images: torch.Tensor, train_labels: Any, test_images: torch.Tensor,
                    test_labels: Any, config: Config, *,
                    classifiers: Sequence[str] = CLASSIFIERS, max_train: int | None = None,
                    seed: int = 0) -> dict[str, Any]:
    """Probe accuracies on the baseline features for a model shaped like ``config``.

    ``config`` gives the widths (its ``latent_dim`` d and ``components`` K) and the architecture
    of the untrained encoders. Returns ``{"features": {name: {"width": w, <clf>: accuracy, ...,
    "not_converged": [...]}}, "mean_image_sse": s, "n_train", "n_test", "max_train", "seed"}``.
    """
    d, k = config.latent_dim, config.components
    train_flat = train_images.flatten(1).numpy()
    test_flat = test_images.flatten(1).numpy()
    features: dict[str, tuple[np.ndarray, np.ndarray]] = {"raw pixels": (train_flat, test_flat)}
    for width in sorted({d, k * d}):
        features[f"PCA {width}"] = pca_codes(train_flat, test_flat, width, seed)
    for comps in sorted({1, k}):
        name = f"untrained encoder, K = {comps} ({comps * d}-d)"
        features[name] = untrained_codes(config.replace(components=comps), train_images,
                                         test_images, seed)
    out: dict[str, Any] = {"features": {}}
    for name, (x_train, x_test) in features.items():
        result = probe_codes(x_train, train_labels, x_test, test_labels,
                             classifiers=classifiers, seed=seed, max_train=max_train)
        out["features"][name] = {"width": int(x_train.shape[1]),
                                 **{clf: result[clf]["concatenated"] for clf in classifiers},
                                 "not_converged": [clf for clf in classifiers
                                                   if result[clf]["not_converged"]]}
        out.update(n_train=result["n_train"], n_test=result["n_test"])
    out.update(mean_image_sse=mean_image_sse(train_images, test_images), max_train=max_train,
               seed=seed)
    return out
