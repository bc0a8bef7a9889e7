"""Serve MathJax from the built book itself, so formulas render with the network off.

Sphinx loads MathJax 3 from a CDN by default, so a book opened offline shows raw ``\\( \\)`` TeX.
This extension points ``mathjax_path`` at ``_static/mathjax/tex-chtml.js`` and copies a local
MathJax 3.2.2 there when the build finishes. The copy comes from, in this order:

1. ``book/_mathjax/`` when ``scripts/fetch_mathjax.py`` put one there (the npm tarball, checked
   against its SHA-256);
2. the ``sphinx-mathjax-offline`` package, which the ``book`` extra installs (``pip install -e
   ".[book]"``): its ``static/mathjax`` folder is MathJax 3.2.2's ``es5`` build, file for file the
   same as the npm tarball's. It is used only when its files hash to :data:`PACKAGE_DIGEST`
   (the digest of the npm tarball's ``es5`` folder), so an altered or different copy is refused.

So every way of building the book (``jupyter-book build book/``, the pipeline, CI) renders its
formulas offline once the ``book`` extra is installed. The copy is kept out of ``book/_static/``
because jupyter-book adds every ``.js`` file under ``_static`` to every page as a script. With
neither copy, the CDN stays and the build log says that the offline book will not render formulas.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from sphinx.util import logging

SOURCE = "_mathjax"
ENTRY = "tex-chtml.js"
PACKAGE = "sphinx-mathjax-offline"
PACKAGE_FOLDER = "sphinx-mathjax-offline/static/mathjax"
#: SHA-256 over (relative path, SHA-256 of the file) of every file of MathJax 3.2.2's es5 build,
#: as in the npm tarball mathjax-3.2.2.tgz (SHA-256 1b9c0a1c...c64c09, scripts/fetch_mathjax.py).
PACKAGE_DIGEST = "dfc403965da060f37c941c213c8a497c9ab643e9b3efc70f9c92dbc82d305df3"
logger = logging.getLogger(__name__)


def folder_digest(folder: Path) -> str:
    """SHA-256 over the sorted relative paths and SHA-256 of every file under ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0"
                      + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def packaged_copy() -> Path | None:
    """The ``sphinx-mathjax-offline`` package's MathJax, if installed and verified, else None."""
    from importlib import metadata

    try:
        folder = Path(metadata.distribution(PACKAGE).locate_file(PACKAGE_FOLDER))
    except metadata.PackageNotFoundError:
        return None
    if not (folder / ENTRY).is_file():
        return None
    if folder_digest(folder) != PACKAGE_DIGEST:
        logger.warning("offline_mathjax: %s is not MathJax 3.2.2 as published on npm (digest "
                       "mismatch); not used", folder)
        return None
    return folder


def local_copy(srcdir: str | Path) -> Path | None:
    """Where this build takes MathJax from: book/_mathjax, else the verified package, else None."""
    fetched = Path(srcdir) / SOURCE
    if (fetched / ENTRY).is_file():
        return fetched
    return packaged_copy()


def _use_local_copy(app, config) -> None:
    app.mvae_mathjax = local_copy(app.srcdir)
    if app.mvae_mathjax is not None:
        config.mathjax_path = f"mathjax/{ENTRY}"  # relative paths resolve against _static/
    else:
        logger.info("offline_mathjax: no local MathJax (install the book extra, pip install -e "
                    "'.[book]', or run scripts/fetch_mathjax.py); formulas will load MathJax "
                    "from the CDN")


def _copy_into_build(app, exception) -> None:
    folder = getattr(app, "mvae_mathjax", None)
    if exception is None and folder is not None and app.builder.format == "html":
        shutil.copytree(folder, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("VERSION"))


def setup(app):
    app.connect("config-inited", _use_local_copy)
    app.connect("build-finished", _copy_into_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
