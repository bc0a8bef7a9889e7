"""What a chapter of the book is made of besides its tables: the answer first, a summary last,
glossary links, figures drawn for the page, and the repository's address.

* :func:`takeaway`: the box on a chapter's first screen, saying what the chapter finds, with
  its numbers (computed from the results by the chapter, never typed);
* :func:`points`: the summary at a chapter's end, as a bulleted list;
* :func:`term`: a link to an entry of the glossary (``book/glossary.md``), for computed text;
* :func:`redraw`: a figure of :data:`mvae.registry.FIGURES` drawn again from its input files
  at the page's width (:mod:`mvae.figures`), so its text has the size the page shows;
* :func:`selections`: which runs feed which table and figure, as the pipeline wrote them;
* :func:`repository_url`: the address in ``book/_config.yml`` (``repository.url``), the one
  place it is set; the notebooks' setup cell and the launch buttons read it there too.

All of it returns Markdown (MyST: roles such as ``{term}`` and ``{doc}`` work inside) or a
matplotlib Figure; nothing here reads a number of the paper's or ours by itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mvae import layout
from mvae import results_files as rf
from mvae.markup import markdown_cell

if TYPE_CHECKING:
    from mvae.selections import Selections

#: The glossary's page name, for links from computed HTML (Markdown uses the ``{term}`` role).
GLOSSARY = "glossary"


def _markdown(text: str) -> Any:
    from IPython.display import Markdown

    return Markdown(text)


def takeaway(*sentences: str, title: str = "In short") -> Any:
    """The chapter's answer as a box (a MyST admonition, class ``mvae-takeaway``): the
    sentences, each computed by the chapter from the results, joined into one paragraph."""
    body = " ".join(s.strip() for s in sentences if s and s.strip())
    return _markdown(f":::{{admonition}} {title}\n:class: tip mvae-takeaway\n{body}\n:::\n")


def points(*items: str) -> Any:
    """A bulleted list (Markdown) of the non-empty ``items``: a chapter's summary."""
    return _markdown("\n".join(f"* {item.strip()}" for item in items if item and item.strip()))


def term(word: str, entry: str | None = None) -> str:
    """``{term}`` markup linking ``word`` to the glossary's ``entry`` (``word`` itself by
    default), for computed Markdown."""
    return f"{{term}}`{word} <{entry}>`" if entry and entry != word else f"{{term}}`{word}`"


def number(value: float, digits: int = 2) -> str:
    """A measured number as the prose prints it: ``digits`` decimals, thousands separated."""
    return f"{value:,.{digits}f}"


def percent(fraction: float, digits: int = 2) -> str:
    """A fraction of one as a percentage: ``0.9688`` -> ``"96.88%"``."""
    return f"{100 * fraction:.{digits}f}%"


# ----------------------------------------------------------------------------- figures
def selections(preset: str | None = None) -> Selections:
    """The run selections the pipeline wrote for ``preset`` (``results/<preset>/
    selections.json``, :meth:`mvae.selections.Selections.read`): which runs are the Table II
    mixture, the figures' runs and so on, the record the table and figure rules read too.
    Raises :class:`mvae.results_files.MissingResults` where the pipeline has not written it."""
    from mvae.selections import Selections

    preset = preset or rf.current_preset()
    path = rf.results_dir(preset) / layout.SELECTIONS
    if not path.is_file():
        raise rf.MissingResults(path, preset, "the selections record")
    return Selections.read(path)


def figure_inputs(name: str, preset: str | None = None) -> tuple[list[Path], Selections]:
    """The input files of figure ``name`` (absolute, under ``results/<preset>/``) and the
    selections the figure's builder reads (``runs``), as the pipeline's ``figure`` rule gives
    them; raises :class:`mvae.results_files.MissingResults` for the first missing input."""
    from mvae import registry

    preset = preset or rf.current_preset()
    sel = selections(preset)
    root = rf.results_dir(preset)
    paths = [root / p for p in registry.FIGURES[name].inputs(sel)]
    for path in paths:
        if not path.is_file():
            raise rf.MissingResults(path, preset, f"an input of figure {name!r}")
    return paths, sel


def redraw(name: str, preset: str | None = None, builder: Any = None) -> Any:
    """Figure ``name`` drawn from its inputs by the pipeline's own builder
    (:mod:`mvae.registry`), or by ``builder`` from the same inputs (a figure made for the page,
    such as :func:`mvae.figures.reconstructions_figure`), at the page's width; None when it is
    not a registered figure or its inputs are missing (the caller then shows the pipeline's PNG,
    or says what is missing)."""
    from mvae import registry

    if name not in registry.FIGURES:
        return None
    try:
        paths, runs = figure_inputs(name, preset)
    except rf.MissingResults:
        return None
    draw = builder or registry.FIGURES[name].function()
    return draw([str(p) for p in paths], runs)


def not_available(what: str, missing: Exception) -> Any:
    """A note (Markdown) saying that ``what`` is not available yet, and why in one line."""
    return _markdown(f":::{{note}} {what}: not available yet\n{markdown_cell(missing)}\n"
                     ":::\n")


# ----------------------------------------------------------------------------- the repository
def _book_config() -> dict[str, Any]:
    import yaml

    path = rf.repo_root() / "book" / "_config.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def repository_url() -> str:
    """``repository.url`` of ``book/_config.yml`` without a trailing slash ("" if unset)."""
    return str((_book_config().get("repository") or {}).get("url") or "").rstrip("/")


def repository_link(path: str, label: str | None = None) -> str:
    """Markdown linking ``path`` (relative to the repository root) to its page in the
    repository (``<url>/blob/main/<path>``); the path alone, as code, without an address."""
    url = repository_url()
    shown = label or f"`{path}`"
    return f"[{shown}]({url}/blob/main/{path})" if url else shown


_WORD = re.compile(r"[A-Za-z0-9'’-]+")


def word_count(text: str) -> int:
    """Words of ``text`` as a reader counts them (markup such as ``{term}`` roles ignored)."""
    return len(_WORD.findall(re.sub(r"\{[a-z]+\}", "", text)))


def longest(paragraphs: Iterable[str]) -> int:
    """The word count of the longest of ``paragraphs`` (0 for none)."""
    return max((word_count(p) for p in paragraphs), default=0)


# ----------------------------------------------------------------------------- time
def time_budget(preset: str = rf.DEFAULT_PRESET) -> dict[str, Any]:
    """How long the preset's grid takes, from one place, the archive: the training hours its
    archived runs recorded (``done.json``), and the hours :mod:`mvae.planning` estimates from
    them for the runs not archived yet (training and evaluation, on the archive's machines).
    Keys: ``runs``, ``archived``, ``archived_hours``, ``left``, ``left_hours``, ``unknown``
    (runs left without an estimate)."""
    from mvae import planning
    from mvae.presets import load_preset

    archive = rf.results_dir(preset)
    runs = load_preset(preset, rf.repo_root() / "pipeline" / "config").runs
    archived_seconds, left_seconds, archived, unknown = 0.0, 0.0, 0, 0
    for name, config in runs.items():
        done = archive / "runs" / name / "done.json"
        if done.is_file():
            archived += 1
            archived_seconds += planning.training_wall_seconds(rf.read_json(done))
            continue
        found = planning.estimate(archive, config)
        if found is None:
            unknown += 1
        else:
            left_seconds += found.seconds
    return {"runs": len(runs), "archived": archived, "archived_hours": archived_seconds / 3600,
            "left": len(runs) - archived, "left_hours": left_seconds / 3600, "unknown": unknown}
