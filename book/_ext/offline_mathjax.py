"""Serve MathJax from the built book itself when ``book/_mathjax/`` holds a copy.

Sphinx loads MathJax 3 from a CDN by default, so a book opened offline shows raw ``\\( \\)`` TeX.
``scripts/fetch_mathjax.py`` installs a verified copy from the npm registry into
``book/_mathjax/``; this extension points ``mathjax_path`` at ``_static/mathjax/tex-chtml.js``
and copies the copy there when the build finishes. It is kept out of ``book/_static/`` because
jupyter-book adds every ``.js`` file under ``_static`` to every page as a script. Without the
copy the CDN stays, and the build log says that the offline book will not render formulas.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.util import logging

SOURCE = "_mathjax"
ENTRY = "tex-chtml.js"
logger = logging.getLogger(__name__)


def _local_copy(app) -> Path | None:
    folder = Path(app.srcdir) / SOURCE
    return folder if (folder / ENTRY).is_file() else None


def _use_local_copy(app, config) -> None:
    if _local_copy(app) is not None:
        config.mathjax_path = f"mathjax/{ENTRY}"  # relative paths resolve against _static/
    else:
        logger.info("offline_mathjax: book/%s/%s is missing (run scripts/fetch_mathjax.py); "
                    "formulas will load MathJax from the CDN", SOURCE, ENTRY)


def _copy_into_build(app, exception) -> None:
    folder = _local_copy(app)
    if exception is None and folder is not None and app.builder.format == "html":
        shutil.copytree(folder, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _use_local_copy)
    app.connect("build-finished", _copy_into_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
