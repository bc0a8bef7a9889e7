"""The paper's figures, redrawn from the pipeline's results (PNG for the book, SVG for print).

Each ``fig_*`` function takes already-computed results (small ``.npz``/``.csv`` files under
``results/<preset>/``) and returns a matplotlib Figure, so the book can call the same code on the
same files. The pipeline runs on machines with no display, so importing this module selects the
Agg backend, unless a backend was already chosen: ``$MPLBACKEND`` (a Jupyter kernel sets it to
its inline backend, so a chapter's ``plt.show()`` still draws on the page) or an explicit
``matplotlib.use`` before the import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib


def _headless_backend() -> None:
    """Agg, unless the backend was chosen already (``$MPLBACKEND`` or ``matplotlib.use``)."""
    chosen = os.environ.get("MPLBACKEND") or dict.__getitem__(matplotlib.rcParams, "backend")
    if chosen is getattr(matplotlib.rcsetup, "_auto_backend_sentinel", None) or not chosen:
        matplotlib.use("Agg")


_headless_backend()

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import ticker  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mvae.records import rank_by_usage  # noqa: E402
from mvae.selections import Selections  # noqa: E402

sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)

#: A figure is drawn for the book's article column: about 660 CSS pixels wide at a 1280 px
#: window (sphinx-book-theme, with the page's contents beside the article). Drawn at that width,
#: one point of type is 100/72 px on screen, so the smallest text (:data:`MIN_TEXT_PT`) stays
#: legible; a wider figure would be shrunk to the column and its text with it.
PAGE_WIDTH = 6.6
#: CSS pixels per inch of a figure drawn for the page (its width in inches x 100 = its width on
#: screen); the PNG carries :data:`PIXEL_RATIO` times as many pixels, sharp on dense screens.
SCREEN_DPI = 100
PIXEL_RATIO = 2
#: The resolution of the pipeline's PNGs (``figures/<name>.png``, :func:`draw_figure`).
PIPELINE_DPI = 150
#: The smallest type a figure uses (tick labels, legends): 7 pt is 9.7 px on screen.
MIN_TEXT_PT = 7.0
#: The PNG text chunk that records a figure's smallest type in the PNG's own pixels, so that
#: ``scripts/check_book.py`` can tell its size on screen from the width the page shows it at.
TEXT_PX_KEY = "mvae-min-text-px"


def smallest_text_pt(fig: Figure) -> float:
    """The size in points of the smallest visible, non-empty text of ``fig`` (tick labels,
    legends, annotations, titles), after drawing it (tick labels exist only once drawn); 0 for
    a figure without text."""
    from matplotlib.text import Text

    fig.canvas.draw()
    hidden = {id(t) for ax in fig.axes for t in _hidden_texts(ax)}
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and id(t) not in hidden]
    return float(min(sizes)) if sizes else 0.0


def _hidden_texts(ax: Any) -> list[Any]:
    """The texts of ``ax`` that are not drawn though each says it is visible: all of a hidden
    axes, and the axis and tick labels of one switched off (``ax.axis("off")``)."""
    from matplotlib.text import Text

    if not ax.get_visible():
        return ax.findobj(Text)
    if ax.axison:
        return []
    return [ax.xaxis.label, ax.yaxis.label,
            *(t for axis in (ax.xaxis, ax.yaxis) for t in axis.get_ticklabels(which="both"))]


def text_px_metadata(fig: Figure, dpi: float) -> dict[str, str]:
    """PNG metadata recording the smallest text of ``fig`` in pixels of a PNG saved at ``dpi``
    (:data:`TEXT_PX_KEY`; the value ends with ";" so a reader knows where the number stops)."""
    return {TEXT_PX_KEY: f"{smallest_text_pt(fig) * dpi / 72:.2f};"}


def png_bytes(fig: Figure, dpi: float = SCREEN_DPI * PIXEL_RATIO) -> bytes:
    """``fig`` as PNG bytes at ``dpi`` (tight bounding box), with its smallest text recorded
    (:func:`text_px_metadata`); the figure is closed."""
    import io

    buffer = io.BytesIO()
    metadata = text_px_metadata(fig, dpi)
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata=metadata)
    plt.close(fig)
    return buffer.getvalue()


def _by_run(paths: list[str | Path], name: str) -> dict[str, Path]:
    """{run: path} for the files called ``name`` among ``paths`` (eval/<run>/<name>)."""
    return {Path(p).parent.name: Path(p) for p in paths if Path(p).name == name}


def _examples(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _usage_ranked(weights: np.ndarray) -> list[tuple[str, int, float]]:
    """(label, stored index, mean weight) for each component, most used first: C1 is the
    component with the largest mean weight over the stored test images, as in the tables (slots
    mean nothing)."""
    means = weights.astype(np.float32).mean(axis=1)
    return [(f"C{rank + 1}", i, float(means[i])) for rank, i in enumerate(rank_by_usage(means))]


def image_rows(rows: list[tuple[str, np.ndarray]], title: str = "") -> Figure:
    """A grid of images, one labelled row per entry; arrays are uint8 (n, C, H, W)."""
    n = max(len(a) for _, a in rows)
    # the page's width: a label column of 1.3 in, the images sharing the rest (at most 0.9 in)
    side = min(0.9, (PAGE_WIDTH - 1.3) / n)
    fig, axes = plt.subplots(len(rows), n, figsize=(side * n + 1.3, side * len(rows) + 0.45),
                             squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(images):
                img = images[c]
                if img.shape[0] == 1:
                    ax.imshow(img[0], cmap="gray", vmin=0, vmax=255)
                else:
                    ax.imshow(np.transpose(img, (1, 2, 0)))
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8.5)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(h_pad=0.3, w_pad=0.2)
    return fig


def fig1_reconstructions(paths: list[str | Path], runs: Selections) -> Figure:
    """Fig. 1: MNIST test images and their mixture reconstructions, VAE and M-VAE."""
    ex = {run: _examples(p) for run, p in _by_run(paths, "examples.npz").items()}
    sel = runs.figures
    first = ex[sel.get("mixture", sel.get("vae"))]
    rows = [("test images", first["images"])]
    for role, label in (("vae", "VAE"), ("mixture", "M-VAE")):
        if role in sel:
            k = ex[sel[role]]["components"].shape[0]
            rows.append((f"{label} (K={k})", ex[sel[role]]["mixture"]))
    return image_rows(rows, "Test images and reconstructions")


def fig2_components(paths: list[str | Path], runs: Selections) -> Figure:
    """Fig. 2: each component alone (one-hot w) and the mixture (expected w), components
    ranked by usage (C1 the most used) with their mean weight."""
    ex = _examples(_by_run(paths, "examples.npz")[runs.figures["mixture"]])
    rows = [("test images", ex["images"])]
    rows += [(f"{label} alone\nE[w] {mean_w:.2f}", ex["components"][i])
             for label, i, mean_w in _usage_ranked(ex["weights"])]
    rows.append(("mixture", ex["mixture"]))
    return image_rows(rows, "Reconstructions by each component (one-hot w) and by the mixture")


def reconstructions_figure(paths: list[str | Path], runs: Selections) -> Figure:
    """The paper's Figs. 1 and 2 in one grid, for the page: the same test digits reconstructed
    by the VAE and by the mixture, then by each mixture component alone (one-hot w, C1 the most
    used, its mean weight under its name), so that one figure shows what the paper's two show
    apart."""
    ex = {run: _examples(p) for run, p in _by_run(paths, "examples.npz").items()}
    sel = {role: run for role, run in runs.figures.items() if run in ex}
    first = ex[sel.get("mixture", sel.get("vae"))]
    rows = [("test images", first["images"])]
    rows += [(_model_label(role, ex[sel[role]]), ex[sel[role]]["mixture"])
             for role in ("vae", "mixture") if role in sel]
    if "mixture" in sel:
        mixture = ex[sel["mixture"]]
        rows += [(f"{label} alone\nE[w] {mean_w:.2f}", mixture["components"][i])
                 for label, i, mean_w in _usage_ranked(mixture["weights"])]
    return image_rows(rows, "Test digits, their reconstructions, and each component alone")


def fig3_latents(paths: list[str | Path], runs: Selections) -> Figure:
    """Fig. 3: 2-D latent means of the test set per component (and the VAE), coloured by class."""
    files = _by_run(paths, "latents_2d.npz")
    panels = []
    for run in runs.latent2d:
        with np.load(files[run]) as z:
            codes, labels, weights = z["codes"], z["labels"], z["weights"]
        for label, i, _ in _usage_ranked(weights):
            name = "VAE" if len(codes) == 1 else f"M-VAE {label}"
            panels.append((f"{name}\n({run})", codes[i], labels))
    # three panels a row across the page's width, the digit legend in one row below them
    cols = min(len(panels), 3)
    nrows = -(-len(panels) // cols)
    side = PAGE_WIDTH / cols
    fig, axes = plt.subplots(nrows, cols, figsize=(PAGE_WIDTH, side * nrows + 0.7),
                             squeeze=False)
    palette = sns.color_palette("tab10", 10)
    for ax, (title, xy, y) in zip(axes.flat, panels, strict=False):
        for c in range(10):
            m = y == c
            ax.scatter(xy[m, 0], xy[m, 1], s=3, alpha=0.6, color=palette[c], label=str(c),
                       rasterized=True)
        ax.set_title(title, fontsize=8.5)
        ax.set_xlabel("$z_1$", fontsize=8.5, labelpad=1)
        ax.set_ylabel("$z_2$", fontsize=8.5, labelpad=1)
        ax.tick_params(labelsize=7.5, pad=1)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, title="digit", loc="lower center", ncol=10, markerscale=3,
               frameon=False, fontsize=8, title_fontsize=8, columnspacing=1.0,
               handletextpad=0.2)
    fig.suptitle("2-D latent means of the test set, coloured by class", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def fig4_knn_vs_k(paths: list[str | Path], runs: Selections) -> Figure:
    """Fig. 4: probe accuracy on the concatenated codes against K, error bars = seed std."""
    table = pd.read_csv(next(Path(p) for p in paths if str(p).endswith(".csv")))
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 3.8))
    styles = {"knn": ("KNN, posterior means", "o-"), "knn_sampled": ("KNN, z ~ q", "o:"),
              "mlp": ("MLP, posterior means", "s--"),
              "linear_svm": ("linear SVM, posterior means", "^:")}
    for clf, (label, style) in styles.items():
        if f"{clf}_mean" not in table or table[f"{clf}_mean"].isna().all():
            continue
        std = table[f"{clf}_std"].fillna(0) * 100
        ax.errorbar(table["K"], table[f"{clf}_mean"] * 100, yerr=std, fmt=style, capsize=4,
                    label=label, lw=2 if clf.startswith("knn") else 1.2)
    raw = table.get("baseline_raw_pixels_knn")
    if raw is not None and raw.notna().any():
        ax.axhline(raw.dropna().iloc[0] * 100, color="grey", lw=1, ls="--",
                   label="KNN on raw pixels (baseline)")
    ax.set_xlabel("number of components K (K = 1: VAE)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xticks(table["K"])
    ax.set_title("Classifiers on latent codes against K (error bars: sd over seeds)",
                 fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def fig5_cifar(paths: list[str | Path], runs: Selections) -> Figure:
    """Fig. 5: CIFAR-10 test images, reconstructions and samples from the prior."""
    ex = {run: _examples(p) for run, p in _by_run(paths, "examples.npz").items()}
    sel = runs.cifar
    first = ex[sel.get("mixture", sel.get("vae"))]
    rows = [("test images", first["images"])]
    for kind, what in (("mixture", "reconstruction"), ("samples", "sample")):
        for role, label in (("vae", "VAE"), ("mixture", "M-VAE")):
            if role in sel:
                rows.append((f"{label} {what}", ex[sel[role]][kind]))
    return image_rows(rows, "CIFAR-10: test images, reconstructions, samples")


def ablation_figure(paths: list[str | Path], runs: Selections) -> Figure:
    """The dHSIC ablation: component dependence, probe accuracy and test error with and without
    dHSIC; a bar per beta (the mean over seeds, the error bar their standard deviation) and a
    dot per seed."""
    table = pd.read_csv(next(Path(p) for p in paths if str(p).endswith(".csv")))
    seeds = table.groupby("beta").run.count()
    table["label"] = [f"beta={b:g}\n({seeds[b]} seed{'s' if seeds[b] > 1 else ''})"
                      for b in table["beta"]]
    table = table.sort_values("beta", ascending=False)
    metrics = [("dhsic", "dHSIC of the codes"), ("mean_offdiag_cka", "mean CKA between components"),
               ("knn_concatenated", "KNN accuracy"), ("sse_per_image", "test SSE per image")]
    metrics = [m for m in metrics if m[0] in table and table[m[0]].notna().any()]
    cols = min(len(metrics), 2)
    rows = -(-len(metrics) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(PAGE_WIDTH, 2.6 * rows + 0.4), squeeze=False)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    for ax, (col, title) in zip(axes.flat, metrics, strict=False):
        sns.barplot(x="label", y=col, data=table, ax=ax, hue="label", legend=False,
                    palette="Set2", errorbar="sd", capsize=0.15)
        sns.stripplot(x="label", y=col, data=table, ax=ax, color="black", size=4,
                      jitter=False)  # no random jitter: the same archive, the same figure
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(labelsize=8)
    fig.suptitle("Ablation: training with (beta=1) and without (beta=0) the dHSIC term",
                 fontsize=10)
    fig.tight_layout()
    return fig


#: How a figure names the model of each role of the selections (``runs.figures``).
ROLE_LABELS = {"vae": "VAE", "mixture": "M-VAE", "wide_vae": "wide VAE"}


def _model_label(role: str, examples: dict[str, np.ndarray]) -> str:
    """"M-VAE (K=4)", "VAE (K=1)", "wide VAE (K=1)": the role's name and its number of
    components (from the stored per-component outputs); an unknown role keeps its own name."""
    name = ROLE_LABELS.get(role, role)
    k = examples["components"].shape[0] if "components" in examples else None
    return f"{name} (K={k})" if k else name


def samples_figure(paths: list[str | Path], runs: Selections) -> Figure:
    """Samples from the prior (z ~ N(0, I), w ~ Dir(prior)) and, for the mixture, each
    component alone decoding the line between two test digits' codes."""
    ex = {run: _examples(p) for run, p in _by_run(paths, "examples.npz").items()}
    sel = runs.figures
    rows = [(f"{_model_label(role, ex[run])}\nprior samples", ex[run]["samples"])
            for role, run in sel.items() if run in ex]
    mixture = ex.get(sel.get("mixture", ""), {})
    if "interpolations" in mixture:
        for label, i, _ in _usage_ranked(mixture["weights"]):
            rows.append((f"{label}\ninterpolation", mixture["interpolations"][i]))
    return image_rows(rows, "Prior samples, and each component's latent line between two digits")


def weights_figure(paths: list[str | Path], runs: Selections) -> Figure:
    """The learned mixing weights: the distribution of E[w_i | x] over test images, per
    component (C1 the most used). A blend has every component near a fixed share; a mixture
    spreads to 0 and 1."""
    ex = _examples(next(iter(_by_run(paths, "examples.npz").values())))
    weights = ex["weights"].astype(np.float32)                      # (K, N)
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 3.2))
    bins = np.linspace(0, 1, 41)
    for label, i, _ in _usage_ranked(weights):
        ax.hist(weights[i], bins=bins, histtype="step", lw=1.8, label=label)
    ax.set_xlabel("expected weight E[w_i | x] of a test image")
    ax.set_ylabel("test images")
    ax.set_title(f"Learned mixing weights ({runs.figures.get('mixture', '')}, "
                 f"{weights.shape[1]} test images)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def loss_terms_figure(history: pd.DataFrame, title: str) -> Figure:
    """A run's training loss, term by term per epoch (``history.json`` flattened, as
    :func:`mvae.reporting.run_history` gives it), with the dHSIC weight beside it: what the model
    pays for its dHSIC while a warm-up raises the weight. The dHSIC term is drawn weighted
    (beta x dHSIC), as it enters the loss, where the history records each epoch's weight (a
    warm-up); a constant weight is not recorded, so the term is left out."""
    beta = history.get("beta")
    terms = [("train.reconstruction", "reconstruction"), ("train.kl_gauss", "Gaussian KL"),
             ("train.kl_dirichlet", "Dirichlet KL")]
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 3.6))
    for col, label in terms:
        ax.plot(history["epoch"], history[col], lw=1.8, label=label)
    if beta is not None:
        ax.plot(history["epoch"], beta * history["train.dhsic"], lw=1.8,
                label="beta x dHSIC")
        weight = ax.twinx()
        weight.plot(history["epoch"], beta, color="grey", ls="--", lw=1.2)
        weight.set_ylabel("dHSIC weight beta (dashed)")
        weight.set_ylim(bottom=0)
        weight.grid(False)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel="training loss term (nats per image)", title=title)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4)
    fig.tight_layout()
    return fig


def rate_distortion_figure(paths: list[str | Path], runs: Selections) -> Figure:
    """Per-image SSE against the rate, by the Gaussian KL (left) and with the Dirichlet KL
    (right): the VAEs' curve through their KL weights, every other run a point on it."""
    from mvae.claims.page import seed_spread
    from mvae.rate_curve import point_estimates, vae_curve

    tables = {Path(p).stem: pd.read_csv(p) for p in paths if str(p).endswith(".csv")}
    table, spread = tables["rate_distortion"], seed_spread(tables)
    fig, axes = plt.subplots(2, 1, figsize=(PAGE_WIDTH, 7.4), sharey=True)
    styles = {"paper": ("o", "mixture, paper objective"),
              "authors' settings": ("s", "mixture, authors' settings")}
    others_markers = iter("^vPX*hp<>")  # one marker per further objective (a switch alone)
    for objective in sorted(set(table.objective) - set(styles)):
        styles[objective] = (next(others_markers, "^"), f"mixture, {objective}")
    for ax, x, label in ((axes[0], "rate_gauss", "Gaussian KL (nats per image)"),
                         (axes[1], "rate_total", "Gaussian + Dirichlet KL (nats per image)")):
        curve = vae_curve(table, x=x)
        bars = [e.se for e in point_estimates(curve, spread)]
        ax.errorbar(curve[x], curve["sse_per_image"], yerr=bars, fmt="-",
                    color="black", lw=1.5, capsize=2, elinewidth=0.8, zorder=1,
                    label="VAE (K = 1) at KL weights, ± 1 SE")
        # each point's KL weight below and right of it, under the decreasing curve where no
        # mixture sits; a point close to the last labelled below is labelled above instead
        below = False
        for i, row in enumerate(curve.itertuples()):
            rate = getattr(row, x)
            below = not (below and rate < 1.15 * curve[x].iloc[i - 1])
            ax.annotate(f"{row.kl_weight:g}", (rate, row.sse_per_image),
                        textcoords="offset points", xytext=(5, -12 if below else 4), fontsize=8)
        others = table[~((table.K == 1) & (table.objective == "paper"))]
        for objective, group in others.groupby("objective"):
            marker, name = styles[objective]
            weighted = group.kl_weight != 1.0
            for sub, suffix in ((group[~weighted], ""), (group[weighted], ", KL weight < 1")):
                if len(sub):
                    # the larger diamonds underneath: a run with the same objective written
                    # another way (kl_reduction: mean at kl_weight 1/K) stays visible on top
                    ax.scatter(sub[x], sub.sse_per_image, c=sub.K, cmap="viridis", vmin=1,
                               vmax=10, marker="D" if suffix else marker, s=90 if suffix else 40,
                               edgecolor="black", lw=0.5, label=name + suffix,
                               zorder=2 if suffix else 3)
        # rates span 13 to over 100 nats: a log axis keeps the VAE curve's labels apart
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xticks([10, 20, 50, 100])
        ax.set_xlabel(label + ", log scale", fontsize=9)
        ax.set_ylabel("test SSE per image", fontsize=9)
        ax.tick_params(labelsize=8)
    low, high = axes[0].get_ylim()
    axes[0].set_ylim(low - 0.05 * (high - low), high)  # room for the labels below the curve
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle("Rate against distortion, MNIST test set", fontsize=10)
    fig.subplots_adjust(bottom=0.2, top=0.94, hspace=0.32, left=0.1, right=0.86)
    mappable = plt.cm.ScalarMappable(cmap="viridis", norm=plt.Normalize(1, 10))
    bar = fig.colorbar(mappable, cax=fig.add_axes([0.89, 0.2, 0.015, 0.74]))
    bar.set_label("K", fontsize=9)
    bar.ax.tick_params(labelsize=8)
    return fig


def save_figure(fig: Figure, png: str | Path, svg: str | Path) -> None:
    """Save ``fig`` as PNG (150 dpi, its smallest text recorded: :func:`text_px_metadata`) and
    SVG, and close it."""
    Path(png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=PIPELINE_DPI, metadata=text_px_metadata(fig, PIPELINE_DPI))
    fig.savefig(svg)
    plt.close(fig)
