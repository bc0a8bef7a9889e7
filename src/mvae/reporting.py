"""What the book's results chapters use to show the pipeline's outputs (and never retrain):
a table (:func:`show_table`, :func:`format_table`), the verdicts of claims (:func:`show_claims`),
sentences computed from the results (:func:`say`) and figures (:func:`show_figure`,
:func:`show_plot`).

The chapters import everything they use from here (``from mvae import reporting as rp``), so
this module also gives them the names of the modules that do the other jobs: reading the results
(:mod:`mvae.results_files`), their provenance (:mod:`mvae.page_provenance`) and the results table
(:mod:`mvae.page_table`). Each display helper shows the :class:`MissingResults` note in place of
what is missing, so a chapter whose inputs are missing still builds (warning-free) and tells the
reader what to run.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from mvae import registry
from mvae.markup import HTML, markdown_cell
from mvae.page_provenance import (  # noqa: F401  (the chapters' names for them)
    commit_range,
    preset_banner,
    provenance,
    provenance_box,
    table_notes,
)
from mvae.page_table import (  # noqa: F401  (the chapters' names for them)
    LABELS,
    PERCENT_PREFIXES,
    PROBE_NAMES,
    Table,
    format_table,
)
from mvae.pages import redraw
from mvae.results_files import (  # noqa: F401  (the chapters' names for them)
    DEFAULT_PRESET,
    ENV_PRESET,
    ENV_RESULTS,
    FALLBACK_PRESET,
    MissingResults,
    archive_progress,
    command_for,
    current_preset,
    example_images,
    figure_path,
    have,
    load_json,
    load_table,
    load_table_meta,
    read_json,
    repo_root,
    results_base,
    results_dir,
    run_config,
    run_history,
    table_path,
)


def show_table(name: str, preset: str | None = None, columns: Iterable[str] | None = None,
               precision: int = 2, **options: Any) -> Any:
    """The table as a formatted :class:`Table` (every row of its CSV), or the
    :class:`MissingResults` note."""
    try:
        frame = load_table(name, preset)
    except MissingResults as missing:
        return missing
    if columns is not None:
        frame = frame[[c for c in columns if c in frame.columns]]
    return format_table(frame, precision, source=name, preset=preset, **options)


def table_or_note(name: str, preset: str | None = None) -> pd.DataFrame | None:
    """The table, or None after displaying the :class:`MissingResults` note in the notebook, so
    a chapter goes on (and builds) without it."""
    try:
        return load_table(name, preset)
    except MissingResults as missing:
        from IPython.display import display  # only notebooks call this

        display(missing)
        return None


def show_claims(*ids: str, preset: str | None = None, details: bool = True) -> Any:
    """The verdicts of the claims ``ids`` (default: every claim) as ``claims.md`` renders them,
    from the table the pipeline writes (``tables/verdicts.csv``): a summary row per claim, then
    (``details``) the comparison tables that hold them (:mod:`mvae.claims.page`). Without the
    table, the note saying why."""
    from IPython.display import Markdown

    from mvae.claims.page import GROUPS, group_table, markdown_table, summary_rows

    try:
        frame = load_table("verdicts", preset)
    except MissingResults as missing:
        return missing
    mine = frame[frame.claim_id.isin(ids)] if ids else frame
    parts = [markdown_table(summary) for summary in (summary_rows(mine, True),
                                                     summary_rows(mine, False)) if len(summary)]
    if not details:
        return Markdown("\n\n".join(parts))
    tested = set(mine.loc[mine.setting.notna() & (mine.wants != "reading"), "claim_id"])
    for heading, claims in GROUPS:
        chosen = tuple((c, name) for c, name in claims if c in tested)
        if chosen:
            parts += [f"**{heading}**", markdown_table(group_table(frame, chosen))]
    return Markdown("\n\n".join(parts))


def say(*sentences: Any) -> Any:
    """Sentences computed from the results, shown as a paragraph of the page (Markdown, with
    the characters Markdown would read as markup escaped), not as console output."""
    from IPython.display import Markdown

    return Markdown(" ".join(markdown_cell(s) for s in sentences if s))


_PAPER_FIGURE = re.compile(r"^Fig\. (\d+): (.*)$", re.S)


def _numbered(caption: str, number: str | None) -> tuple[str, str]:
    """(label, text) of a caption: "Figure 5.1 (the paper's Fig. 1)." and the rest."""
    if not number:
        return "", caption
    paper = _PAPER_FIGURE.match(caption)
    if paper:
        rest = paper.group(2)
        return (f"Figure {number} (the paper's Fig. {paper.group(1)}).",
                rest[:1].upper() + rest[1:])
    return f"Figure {number}.", caption


def show_figure(name: str, preset: str | None = None, width: int | None = None,
                caption: str | None = None, number: str | None = None) -> Any:
    """Figure ``name`` inside a ``<figure>`` with a caption (numbered "Figure <number>" when
    ``number`` is given) and alt text, or the :class:`MissingResults` note. The figure is drawn
    again from its inputs at the page's width (:func:`mvae.pages.redraw`), so its text has the
    size the page shows; where its inputs are not there, the pipeline's PNG is shown instead."""
    default_caption, alt = registry.caption(name)
    drawn = redraw(name, preset)
    if drawn is not None:
        return show_plot(drawn, caption or default_caption, alt, width, number)
    try:
        path = figure_path(name, preset)
    except MissingResults as missing:
        return missing
    from mvae.figures import PIPELINE_DPI, SCREEN_DPI

    png = path.read_bytes()
    return _figure(png, caption or default_caption, alt,
                   width or round(_png_width(png) * SCREEN_DPI / PIPELINE_DPI), number)


def show_plot(fig: Any, caption: str, alt: str, width: int | None = None,
              number: str | None = None) -> HTML:
    """A matplotlib Figure drawn in the chapter, shown like the pipeline's figures: embedded PNG
    (at twice the screen's resolution, with its smallest text recorded for the browser check:
    :func:`mvae.figures.png_bytes`), caption (numbered "Figure <number>" when given), alt text,
    as wide on the page as it was drawn (``width`` in CSS pixels to change that). The figure is
    closed, so the notebook's inline backend does not draw it a second time."""
    from mvae.figures import PIXEL_RATIO, png_bytes

    png = png_bytes(fig)
    return _figure(png, caption, alt, width or round(_png_width(png) / PIXEL_RATIO), number)


def _png_width(png: bytes) -> int:
    """The width in pixels of a PNG, from its header (IHDR)."""
    return int.from_bytes(png[16:20], "big")


def _figure(png: bytes, caption: str, alt: str, width: int | None,
            number: str | None = None) -> HTML:
    import base64

    data = base64.b64encode(png).decode()
    style = f"width:{width}px;max-width:100%" if width else "max-width:100%"
    label, text = _numbered(caption, number)
    shown = (f'<span class="caption-number">{html.escape(label)}</span> ' if label else "") \
        + html.escape(text)
    markup = (f'<figure class="mvae-figure" style="margin:0 0 1em 0">'
              f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
              f'style="{style}"><figcaption style="font-size:0.9em">{shown}</figcaption>'
              "</figure>")
    return HTML(markup, f"[figure: {alt}] {(label + ' ' + text).strip()}")
