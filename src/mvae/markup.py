"""HTML and Markdown pieces the book's helpers share: a rich-display wrapper, an admonition
box and a Markdown table cell that renders as written."""

from __future__ import annotations

import html
from typing import Any


def admonition(kind: str, title: str, body: str) -> str:
    """A Sphinx admonition box (``kind``: note, warning, attention, ...) around ``body`` (HTML)."""
    return (f'<div class="admonition {kind}"><p class="admonition-title">{html.escape(title)}'
            f"</p>{body}</div>")


class HTML:
    """A minimal rich-display wrapper (HTML for the book, Markdown-ish text elsewhere)."""

    def __init__(self, markup: str, text: str = "") -> None:
        self.markup, self.text = markup, text or markup

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def markdown_cell(text: Any) -> str:
    """Text for a Markdown table cell that renders as written: no column break, no maths, no
    emphasis, no HTML."""
    out = str(text).replace("\\", "\\\\")
    for char in "|$*`[]":
        out = out.replace(char, "\\" + char)
    return out.replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
