"""Offer every chapter as a Jupyter notebook (.ipynb), not only as its jupytext .py source.

Before Sphinx reads the sources, each chapter's percent-format .py is converted, unexecuted, to
``book/_notebooks/<chapter>.ipynb`` (ignored by git). A chapter links it with MyST's
``{download}`` role, which copies the file into the built book, so the offline build and the
hosted one both serve it. Unexecuted on purpose: a reader runs it against their own results
(or the committed ``results/paper``), and the file stays small.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
from sphinx.application import Sphinx

FOLDER = "_notebooks"


def write_notebooks(app: Sphinx) -> None:
    source = Path(app.srcdir)
    out = source / FOLDER
    out.mkdir(exist_ok=True)
    for chapter in sorted(source.glob("[0-9]*.py")):
        target = out / f"{chapter.stem}.ipynb"
        if target.exists() and target.stat().st_mtime >= chapter.stat().st_mtime:
            continue  # unchanged: keep the file, so Sphinx does not copy it again
        jupytext.write(jupytext.read(chapter, fmt="py:percent"), target, fmt="ipynb")


def setup(app: Sphinx) -> dict[str, bool]:
    app.connect("builder-inited", write_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
