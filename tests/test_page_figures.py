"""Figures made for the page: drawn at the column's width with legible text, the smallest text
recorded in the PNG; the M-VAE diagram; the pipeline's rule graph from Snakemake's DOT."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mvae import diagrams, figures
from mvae.selections import Selections

#: A rule graph as `snakemake --rulegraph` prints it: all <- b <- a, and a -> b -> c with the
#: shortcut a -> c that a longer path already shows.
DOT = """digraph snakemake_dag {
    graph[bgcolor=white, margin=0];
\t0[label = "all", color = "0.00 0.6 0.85", style="rounded"];
\t1[label = "c", color = "0.21 0.6 0.85", style="rounded"];
\t2[label = "b", color = "0.49 0.6 0.85", style="rounded"];
\t3[label = "a", color = "0.63 0.6 0.85", style="rounded"];
\t4[label = "d", color = "0.63 0.6 0.85", style="rounded"];
\t1 -> 0
\t2 -> 1
\t3 -> 2
\t3 -> 1
\t3 -> 4
\t4 -> 1
}"""


def _fits_the_page(fig) -> None:
    width = fig.get_size_inches()[0]
    assert width <= figures.PAGE_WIDTH + 1e-9, width
    assert figures.smallest_text_pt(fig) >= figures.MIN_TEXT_PT


def test_a_png_records_its_smallest_text_in_pixels():
    fig, ax = plt.subplots(figsize=(figures.PAGE_WIDTH, 2))
    ax.plot([0, 1], [0, 1])
    ax.tick_params(labelsize=7.5)
    ax.set_title("a title", fontsize=12)
    hidden = fig.add_axes([0.1, 0.1, 0.1, 0.1])
    hidden.set_ylabel("tiny", fontsize=3)
    hidden.axis("off")                              # an axes switched off shows no labels
    assert figures.smallest_text_pt(fig) == pytest.approx(7.5)
    png = Image.open(io.BytesIO(figures.png_bytes(fig)))
    assert png.info[figures.TEXT_PX_KEY] == f"{7.5 * 200 / 72:.2f};"
    assert png.size[0] <= figures.PAGE_WIDTH * figures.SCREEN_DPI * figures.PIXEL_RATIO + 40


def test_image_grids_fit_the_page_whatever_the_number_of_images():
    for n in (4, 8, 16):
        images = np.zeros((n, 1, 8, 8), np.uint8)
        fig = figures.image_rows([("test images", images), ("C1 alone\nE[w] 0.50", images)], "t")
        _fits_the_page(fig)
        plt.close(fig)


def _examples(folder: Path, k: int) -> Path:
    n = 4
    images = np.zeros((n, 1, 6, 6), np.uint8)
    folder.mkdir(parents=True)
    path = folder / "examples.npz"
    np.savez(path, images=images, mixture=images + 1,
             components=np.stack([np.full((n, 1, 6, 6), 10 + i, np.uint8) for i in range(k)]),
             samples=images, interpolations=np.zeros((k, n, 1, 6, 6), np.uint8),
             weights=np.tile(np.linspace(0.1, 0.4, k)[:, None], (1, 20)).astype(np.float16))
    return path


def test_one_grid_shows_the_papers_figs_1_and_2(tmp_path):
    """Test digits, the VAE's and the mixture's reconstructions, then each component alone,
    the most used first."""
    paths = [_examples(tmp_path / "m", 3), _examples(tmp_path / "v", 1)]
    fig = figures.reconstructions_figure(paths,
                                         Selections(figures={"mixture": "m", "vae": "v"}))
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels[:3] == ["test images", "VAE (K=1)", "M-VAE (K=3)"]
    assert [label.split("\n")[0] for label in labels[3:]] == ["C1 alone", "C2 alone",
                                                             "C3 alone"]
    first = [int(ax.get_images()[0].get_array()[0, 0]) for ax in fig.axes if ax.get_ylabel()]
    assert first[3:] == [12, 11, 10]                # slot 2 has the largest weight
    _fits_the_page(fig)


def test_the_chapters_line_plots_fit_the_page(tmp_path):
    history = pd.json_normalize([{"epoch": e, "train": {"reconstruction": 9.0, "kl_gauss": 1.0,
                                                        "kl_dirichlet": 1.0, "dhsic": 0.1}}
                                 for e in (1, 2, 3)])
    _fits_the_page(figures.loss_terms_figure(history, "t"))
    _fits_the_page(figures.weights_figure([_examples(tmp_path / "m", 3)],
                                          Selections(figures={"mixture": "m"})))


def test_the_model_diagram_names_every_part_at_the_pages_size():
    fig = diagrams.model_diagram()
    _fits_the_page(fig)
    text = " ".join(t.get_text() for t in fig.findobj(plt.Text))
    for part in ("encoder", "decoder", "Dir", "dHSIC", "output", r"\sum_i w_i"):
        assert part in text, part


def test_the_rule_graph_is_read_from_snakemakes_dot():
    nodes, edges = diagrams.parse_rulegraph(DOT)
    assert nodes == {"0": "all", "1": "c", "2": "b", "3": "a", "4": "d"}
    assert ("3", "1") in edges and len(edges) == 6
    kept = diagrams.reduced(nodes, edges)
    assert set(kept) == {("2", "1"), ("3", "2"), ("3", "4"), ("4", "1")}  # a -> c, all: gone
    rows = diagrams.layers({n: v for n, v in nodes.items() if v != "all"}, kept)
    depth = {node: r for r, row in enumerate(rows) for node in row}
    assert rows[0] == ["3"] and all(depth[a] < depth[b] for a, b in kept)
    fig = diagrams.rulegraph_figure(DOT)
    _fits_the_page(fig)
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="no rule in the graph"):
        diagrams.parse_rulegraph("not a graph")


def test_a_failing_rulegraph_says_where_in_one_line(tmp_path):
    with pytest.raises(RuntimeError) as info:
        diagrams.rulegraph_dot(tmp_path)             # no Snakefile here
    assert str(info.value).startswith(f"snakemake --rulegraph failed in {tmp_path}")
    assert "\n" not in str(info.value)
