"""Diagrams drawn for the book at build time: the M-VAE model and the pipeline's rule graph.

Both are matplotlib figures at the page's width (:data:`mvae.figures.PAGE_WIDTH`), so their text
has the size of every other figure's, and neither needs a tool outside Python: the rule graph is
Snakemake's own ``--rulegraph`` output (Graphviz DOT), laid out here in layers (each rule one row
below the lowest rule it needs) instead of by Graphviz's ``dot``, which the book would otherwise
need as a system package on every machine that builds it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from graphlib import TopologicalSorter
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from mvae.figures import PAGE_WIDTH, plt

_BOX = {"boxstyle": "round,pad=0.4,rounding_size=0.8", "lw": 1.0}


def _box(ax, xy: tuple[float, float], text: str, colour: str, size: float = 8.5,
         width: float | None = None) -> None:
    """A rounded box with ``text`` centred at ``xy`` (axes data units)."""
    ax.text(*xy, text, ha="center", va="center", fontsize=size, zorder=3,
            bbox={**_BOX, "fc": colour, "ec": "0.3"}, wrap=width is not None)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], colour: str = "0.25",
           style: str = "-|>", dashed: bool = False, bend: float = 0.0) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=9, lw=1.0,
                                 color=colour, ls="--" if dashed else "-", zorder=2,
                                 shrinkA=9, shrinkB=9,
                                 connectionstyle=f"arc3,rad={bend}"))


def model_diagram() -> Figure:
    """M-VAE in one picture: the image goes to K encoders; each gives a Gaussian code z_i and
    one Dirichlet concentration a_i; the weights w ~ Dir(a) mix the K decoders' images into the
    output; dHSIC acts on the codes z_1..z_K, the two KL terms on the codes and the weights."""
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 3.9))
    ax.set(xlim=(0, 100), ylim=(-4, 62))
    ax.axis("off")
    enc, blue, green, grey, red = "#dce9f5", "#e3f1e0", "#fbe8c8", "#eeeeee", "#c0392b"
    gold = "#7a5c1e"
    rows = {"1": 44, "2": 31, "K": 12}
    _box(ax, (5, 28), "image\n$x$", grey)
    for i, y in rows.items():
        _arrow(ax, (8, 28), (17, y))
        _box(ax, (23, y), f"encoder$_{i}$", enc)
        _arrow(ax, (29, y), (39, y))
        _box(ax, (44, y), f"$z_{i}$", blue)
        _arrow(ax, (49, y), (57, y))
        _box(ax, (63, y), f"decoder$_{i}$", enc)
        _arrow(ax, (69, y), (77, y))
        _box(ax, (80, y), f"$y_{i}$", blue)
        _arrow(ax, (83, y), (88, 28))
        ax.plot([28.6, 31], [y + 1.3, y + 1.3], color=gold, lw=1.0, zorder=2)
    # each encoder's concentration a_i joins one line up to the Dirichlet
    ax.annotate("", xy=(31, 54.3), xytext=(31, rows["K"] + 1.3),
                arrowprops={"arrowstyle": "-|>", "color": gold, "lw": 1.0, "shrinkA": 0,
                            "shrinkB": 0, "mutation_scale": 9})
    ax.text(30, 50, "$a_1, \\dots, a_K$", fontsize=8, ha="right", color=gold)
    ax.text(35, rows["1"] - 4.2, r"$\mu_1, \sigma_1^2$", fontsize=8, ha="center")
    ax.text(35, rows["K"] - 4.2, r"$\mu_K, \sigma_K^2$", fontsize=8, ha="center")
    for x in (23, 44, 63, 80):
        ax.text(x, 21.5, "$\\vdots$", ha="center", va="center", fontsize=10)
    _box(ax, (31, 57), "weights $w \\sim \\mathrm{Dir}(a_1, \\dots, a_K)$", green)
    _arrow(ax, (46, 57), (90, 31), colour=gold, bend=-0.25)
    ax.text(72, 56, "$w$", fontsize=9, color=gold)
    _box(ax, (90, 28), "$\\sum_i w_i\\, y_i$", green)
    _arrow(ax, (93, 25), (93, 10))
    _box(ax, (92, 6), "output\n$\\hat x$", grey)
    # dHSIC acts on the codes of all K components at once
    ax.add_patch(FancyBboxPatch((39, 6.5), 10, 43, boxstyle="round,pad=0.6,rounding_size=2",
                                fc="none", ec=red, lw=1.2, ls="--", zorder=1))
    ax.text(44, 1.5, "$\\beta\\,$dHSIC$(z_1, \\dots, z_K)$:\nthe codes made independent",
            ha="center", va="center", fontsize=8, color=red)
    ax.text(63, 3.0, "KL to $\\mathcal{N}(0, I)$ per code;\nKL to Dir$(\\alpha_0)$ for $w$",
            ha="left", va="center", fontsize=7.5, color="0.3")
    fig.tight_layout(pad=0.2)
    return fig


# ----------------------------------------------------------------------------- rule graph
_NODE = re.compile(r'^\s*(\d+)\[label = "([^"]+)"', re.M)
_EDGE = re.compile(r"^\s*(\d+) -> (\d+)", re.M)


def parse_rulegraph(dot: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """({node id: rule name}, [(from id, to id)]) of Snakemake's ``--rulegraph`` DOT text; the
    edge a -> b means rule b uses what rule a writes."""
    nodes = dict(_NODE.findall(dot))
    edges = [(a, b) for a, b in _EDGE.findall(dot) if a in nodes and b in nodes]
    if not nodes:
        raise ValueError("no rule in the graph: is this the output of snakemake --rulegraph?")
    return nodes, edges


def reduced(nodes: dict[str, str], edges: list[tuple[str, str]],
            leave_out: tuple[str, ...] = ("all",)) -> list[tuple[str, str]]:
    """The edges of the transitive reduction, without the rules named in ``leave_out`` (the
    ``all`` target, which only collects the others): an edge a -> b is dropped when b uses a's
    output through another rule too, so the picture keeps the order of the rules without the
    many long arrows that say the same."""
    kept = [(a, b) for a, b in edges if nodes[a] not in leave_out and nodes[b] not in leave_out]
    after: dict[str, set[str]] = {n: set() for n in nodes}
    for a, b in kept:
        after[a].add(b)

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in after[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    return [(a, b) for a, b in kept if not any(b in reach(c) for c in after[a] - {b})]


def layers(nodes: dict[str, str], edges: list[tuple[str, str]]) -> list[list[str]]:
    """The nodes in rows: a rule sits one row below the lowest rule whose output it uses (the
    longest path from a rule that uses nothing); within a row the rules are ordered by where the
    rules they use and the rules that use them sit (a few sweeps down and up), which keeps
    arrows from crossing where it can."""
    needs: dict[str, set[str]] = {n: set() for n in nodes}
    used_by: dict[str, set[str]] = {n: set() for n in nodes}
    for a, b in edges:
        needs[b].add(a)
        used_by[a].add(b)
    depth: dict[str, int] = {}
    for node in TopologicalSorter(needs).static_order():
        depth[node] = 1 + max((depth[a] for a in needs[node]), default=-1)
    rows: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for node in sorted(nodes, key=lambda n: nodes[n]):
        rows[depth[node]].append(node)
    position = {n: (row.index(n) + 0.5) / len(row) for row in rows for n in row}

    def mean(others: set[str], node: str) -> float:
        return sum(position[o] for o in others) / len(others) if others else position[node]

    for sweep in range(4):  # barycentre sweeps, down then up
        order = rows if sweep % 2 == 0 else rows[::-1]
        links = needs if sweep % 2 == 0 else used_by
        for row in order:
            row.sort(key=lambda n: mean(links[n], n))
            for i, node in enumerate(row):
                position[node] = (i + 0.5) / len(row)
    return rows


def rulegraph_figure(dot: str, title: str = "") -> Figure:
    """Snakemake's rule graph (``--rulegraph`` DOT text) as a layered diagram: one box per
    rule, an arrow from a rule to each rule that uses its output (:func:`reduced`: not where a
    longer path says it already), the first rules on top."""
    nodes, edges = parse_rulegraph(dot)
    edges = reduced(nodes, edges)
    nodes = {n: name for n, name in nodes.items() if any(n in e for e in edges)} or nodes
    rows = layers(nodes, edges)
    height = 0.5 * len(rows) + (0.3 if title else 0.1)
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH, height))
    ax.set(xlim=(0, 1), ylim=(-0.5, len(rows) - 0.5))
    ax.axis("off")
    xy = {node: ((i + 0.5) / len(row), len(rows) - 1 - r)
          for r, row in enumerate(rows) for i, node in enumerate(row)}
    for node, (x, y) in xy.items():
        ax.text(x, y, nodes[node], ha="center", va="center", fontsize=8, zorder=3,
                bbox={**_BOX, "fc": "#dce9f5", "ec": "0.35"})
    half = 0.24  # half a box's height in rows: arrows run from a box's bottom to the next's top
    for a, b in edges:
        (xa, ya), (xb, yb) = xy[a], xy[b]
        ax.add_patch(FancyArrowPatch((xa, ya - half), (xb, yb + half), arrowstyle="-|>",
                                     mutation_scale=8, lw=0.8, color="0.45", shrinkA=0,
                                     shrinkB=0, zorder=1))
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout(pad=0.2)
    return fig


def rulegraph_dot(root: str | Path, *config: str, timeout: float = 120) -> str:
    """``snakemake --rulegraph`` run in the repository ``root`` (with ``--config`` items such
    as ``preset=quick``), its DOT text; builds the graph only, runs and locks nothing."""
    command = [sys.executable, "-m", "snakemake", "--rulegraph", "--nolock"]
    if config:
        command += ["--config", *config]
    proc = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=timeout)
    start, end = proc.stdout.find("digraph"), proc.stdout.rfind("}")
    if proc.returncode or start < 0 or end < start:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"snakemake --rulegraph failed in {root} (exit {proc.returncode}): "
                           f"{last}")
    return proc.stdout[start:end + 1]
