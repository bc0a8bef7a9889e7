"""Probes (Table II): accuracies on synthetic codes whose class information we control."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mvae import probes
from mvae.probes import CLASSIFIERS, make_classifier, probe_codes, stratified_subsample


def _codes(n: int, informative: tuple[bool, ...], d: int = 4, classes: int = 3,
           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(K, n, d) codes: class-dependent means where informative, pure noise elsewhere."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(0, 3, (len(informative), classes, d))
    y = np.arange(n) % classes
    z = rng.normal(0, 1, (len(informative), n, d))
    for k, info in enumerate(informative):
        if info:
            z[k] += centres[k, y]
    return z.astype(np.float32), y


def test_separable_codes_are_classified_well_above_chance() -> None:
    x_tr, y_tr = _codes(600, (True, True), seed=0)
    x_te, y_te = _codes(300, (True, True), seed=1)
    res = probe_codes(torch.from_numpy(x_tr), torch.from_numpy(y_tr), x_te, y_te)
    assert res["n_train"] == 600 and res["n_test"] == 300
    for name in CLASSIFIERS:
        accs = [res[name]["concatenated"], *res[name]["components"]]
        assert len(res[name]["components"]) == 2
        assert all(0.0 <= a <= 1.0 for a in accs)
        assert min(accs) > 0.8, (name, accs)  # chance is 1/3


def test_concatenation_beats_the_noise_component() -> None:
    x_tr, y_tr = _codes(600, (True, False), seed=0)
    x_te, y_te = _codes(300, (True, False), seed=1)
    res = probe_codes(x_tr, y_tr, x_te, y_te)
    for name in CLASSIFIERS:
        informative, noise = res[name]["components"]
        assert noise < 0.5, (name, noise)
        assert res[name]["concatenated"] > noise + 0.3, (name, res[name])
        assert informative > noise + 0.3


def test_single_component_concatenation_is_copied_not_refitted(monkeypatch) -> None:
    x_tr, y_tr = _codes(300, (True,), seed=0)
    x_te, y_te = _codes(150, (True,), seed=1)
    calls = []
    real = probes._fit_score

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(probes, "_fit_score", counting)
    res = probe_codes(x_tr, y_tr, x_te, y_te, classifiers=("knn", "linear_svm"))
    assert calls == ["knn", "linear_svm"]
    for name in ("knn", "linear_svm"):
        assert res[name]["concatenated"] == res[name]["components"][0]
    assert "mlp" not in res


def test_two_dimensional_codes_count_as_one_component() -> None:
    x_tr, y_tr = _codes(300, (True,), seed=0)
    x_te, y_te = _codes(150, (True,), seed=1)
    res = probe_codes(x_tr[0], y_tr, x_te[0], y_te, classifiers=("knn",))
    assert len(res["knn"]["components"]) == 1


def test_unknown_classifier_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="allowed: mlp, linear_svm, knn"):
        make_classifier("rbf_svm")
    x, y = _codes(30, (True,))
    with pytest.raises(ValueError, match="'forest'"):
        probe_codes(x, y, x, y, classifiers=("knn", "forest"))


def test_mismatched_shapes_are_rejected() -> None:
    x, y = _codes(30, (True, True))
    with pytest.raises(ValueError, match="same K and d"):
        probe_codes(x, y, x[:1], y)
    with pytest.raises(ValueError, match="labels"):
        probe_codes(x, y[:-1], x, y)


def test_max_train_caps_the_count_and_keeps_class_balance() -> None:
    x_tr, y_tr = _codes(900, (True, False), seed=0)
    x_te, y_te = _codes(90, (True, False), seed=1)
    res = probe_codes(x_tr, y_tr, x_te, y_te, classifiers=("knn",), max_train=100)
    assert res["n_train"] == 100 and res["max_train"] == 100
    labels = np.repeat(np.arange(4), [500, 300, 150, 50])
    idx = stratified_subsample(labels, 100, seed=3)
    assert len(idx) == len(set(idx.tolist())) == 100
    assert np.bincount(labels[idx]).tolist() == [50, 30, 15, 5]
    assert np.array_equal(idx, stratified_subsample(labels, 100, seed=3))
    assert not np.array_equal(idx, stratified_subsample(labels, 100, seed=4))
    assert len(stratified_subsample(labels, 5000)) == len(labels)


def test_classifier_choices() -> None:
    """The documented design: scaled MLP/SVM, raw-code KNN with 5 neighbours."""
    mlp, svm, knn = (make_classifier(n, seed=1) for n in CLASSIFIERS)
    assert type(mlp[0]).__name__ == "StandardScaler"
    assert mlp[-1].hidden_layer_sizes == (100,) and mlp[-1].early_stopping is False
    assert type(svm[0]).__name__ == "StandardScaler" and svm[-1].C == 1.0
    assert type(knn).__name__ == "KNeighborsClassifier" and knn.n_neighbors == 5
