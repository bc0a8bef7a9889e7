"""Figures name components as the tables do: C1 is the most used (largest mean weight)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mvae import figures
from mvae.selections import Selections


def _examples(root: Path, weights: np.ndarray) -> Path:
    """A K-component examples.npz whose component i reconstructs every image as the value i."""
    k, n = weights.shape[0], 3
    images = np.zeros((n, 1, 4, 4), np.uint8)
    components = np.stack([np.full((n, 1, 4, 4), i, np.uint8) for i in range(k)])
    path = root / "eval" / "m" / "examples.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, images=images, mixture=images, components=components, samples=images,
             interpolations=components, weights=weights.astype(np.float16))
    return path


def _row_labels(fig) -> list[str]:
    return [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]


def _first_pixels(fig) -> list[int]:
    """The value shown in the first image of each row (component i shows i)."""
    return [int(ax.get_images()[0].get_array()[0, 0]) for ax in fig.axes
            if ax.get_ylabel() and ax.get_images()]


def test_fig2_and_interpolations_list_components_most_used_first(tmp_path: Path) -> None:
    weights = np.array([[0.1] * 5, [0.6] * 5, [0.3] * 5])      # slot 1 most used, then 2, 0
    path = _examples(tmp_path, weights)
    fig2 = figures.fig2_components([path], Selections(figures={"mixture": "m"}))
    labels = _row_labels(fig2)
    assert labels[1:4] == ["C1 alone\nE[w] 0.60", "C2 alone\nE[w] 0.30", "C3 alone\nE[w] 0.10"]
    assert _first_pixels(fig2)[1:4] == [1, 2, 0]
    samples = figures.samples_figure([path], Selections(figures={"mixture": "m"}))
    assert _first_pixels(samples)[1:] == [1, 2, 0]
    hist = figures.weights_figure([path], Selections(figures={"mixture": "m"}))
    assert [t.get_text() for t in hist.axes[0].get_legend().get_texts()] == ["C1", "C2", "C3"]
    outline = hist.axes[0].patches[0].get_path().vertices               # C1's step outline
    assert outline[outline[:, 1] > 0, 0].min() == pytest.approx(0.6)     # C1 is the 0.6 slot


def test_loss_terms_figure_draws_dhsic_at_each_epochs_weight() -> None:
    history = pd.json_normalize([
        {"epoch": e, "beta": b, "train": {"reconstruction": 90.0 - e, "kl_gauss": 10.0 * e,
                                          "kl_dirichlet": 3.0, "dhsic": 0.01}}
        for e, b in ((1, 0.0), (2, 500.0), (3, 1000.0))])
    fig = figures.loss_terms_figure(history, "warm-up")
    lines = {line.get_label(): line.get_ydata() for line in fig.axes[0].get_lines()}
    np.testing.assert_allclose(lines["beta x dHSIC"], [0.0, 5.0, 10.0])
    np.testing.assert_allclose(lines["Gaussian KL"], [10.0, 20.0, 30.0])
    np.testing.assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), [0.0, 500.0, 1000.0])
    constant = figures.loss_terms_figure(history.drop(columns="beta"), "constant")
    assert len(constant.axes) == 1 and "beta x dHSIC" not in [
        line.get_label() for line in constant.axes[0].get_lines()]


def test_samples_figure_names_each_model_by_its_role_and_k(tmp_path: Path) -> None:
    """Rows of prior samples say which model drew them: the 80-d VAE is not an M-VAE."""
    paths = []
    for run, k in (("m", 4), ("v", 1), ("w", 1)):
        weights = np.full((k, 5), 1 / k)
        path = _examples(tmp_path / run, weights)                 # <run>/eval/m/examples.npz
        (path.parent.parent / run).mkdir(exist_ok=True)
        paths.append(path.rename(path.parent.parent / run / "examples.npz"))
    fig = figures.samples_figure(paths, Selections(figures={"mixture": "m", "vae": "v",
                                                           "wide_vae": "w"}))
    labels = _row_labels(fig)
    assert labels[:3] == ["M-VAE (K=4)\nprior samples", "VAE (K=1)\nprior samples",
                          "wide VAE (K=1)\nprior samples"]
    assert len(set(labels)) == len(labels)


@pytest.mark.slow
@pytest.mark.parametrize("preset_backend, expected", [(None, "agg"), ("svg", "svg")])
def test_importing_figures_keeps_a_chosen_backend(preset_backend, expected) -> None:
    """Agg for the headless pipeline, but a backend chosen before (a Jupyter kernel's inline
    backend via $MPLBACKEND) is kept, so a chapter's plt.show() still draws."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    if preset_backend:
        env["MPLBACKEND"] = preset_backend
    code = "import matplotlib, mvae.figures; print(matplotlib.get_backend().lower())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == expected
