"""Every chapter as a Jupyter notebook (.ipynb) beside its jupytext .py source, for downloads and
for the launch buttons.

Before Sphinx reads the sources, each chapter's percent-format ``book/<chapter>.py`` is written,
unexecuted, to ``book/<chapter>.ipynb`` (a jupytext pair, committed with the chapter), with one
cell in front that makes the notebook run anywhere (:data:`SETUP`): on Colab or any machine
without ``mvae`` it clones the repository (the code and the committed ``results/paper``), installs
the package with a CPU build of PyTorch where torch is missing, and moves into the clone's
``book/``; where ``mvae`` is importable (Binder, a clone after ``pip install -e .``) it does
nothing. Sphinx itself ignores the ``.ipynb`` (``exclude_patterns``), but:

* a chapter links its notebook with MyST's ``{download}`` role, which copies it into the book;
* sphinx-book-theme's launch buttons (set in the hosted build only) point at ``<page>.ipynb``
  when that file sits beside the page's source, so Colab and Binder open the notebook, not the
  ``.py`` that Colab cannot read.

The repository the setup cell clones is ``repository.url`` of ``book/_config.yml`` (the one
place the address is set; the hosted build sets the repository it builds from), else the
checkout's ``origin`` remote, else the one already written in the notebook; the file is
rewritten only when its content changes. The same address is the pages' ``{{ repository_url }}``
(a MyST substitution). ``tests/test_book.py`` fails when
a committed notebook no longer matches its chapter.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jupytext
import nbformat
from sphinx.application import Sphinx

SETUP_TAG = "mvae-setup"
SETUP = '''# Setup, for Colab or any machine without mvae (on Binder, or in a clone after
# `pip install -e .`, it does nothing): clone the repository (the code and the committed
# results/paper), install mvae, with a CPU build of PyTorch where torch is missing, and work
# from the clone's book/ folder, where the chapters find the results.
import importlib.util
import os
import subprocess
import sys

REPOSITORY = {repository!r}
if importlib.util.find_spec("mvae") is None:
    if not REPOSITORY:
        raise RuntimeError("set REPOSITORY to the git URL of the mvae repository and rerun")
    if not os.path.isdir("mvae-repository"):
        subprocess.run(["git", "clone", "--depth", "1", REPOSITORY, "mvae-repository"],
                       check=True)
    if importlib.util.find_spec("torch") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "torch", "--index-url",
                        "https://download.pytorch.org/whl/cpu"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "./mvae-repository"],
                   check=True)
    os.chdir("mvae-repository/book")
    importlib.invalidate_caches()'''


def _written_repository(notebook: Path) -> str:
    """The REPOSITORY an existing notebook's setup cell holds ("" if none)."""
    try:
        cells = json.loads(notebook.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return ""
    for cell in cells:
        if SETUP_TAG in cell.get("metadata", {}).get("tags", []):
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("REPOSITORY = "):
                    return line.removeprefix("REPOSITORY = ").strip().strip("'\"")
    return ""


def repository_url(configured: str, srcdir: Path) -> str:
    """The git URL the setup cell clones: ``configured``, else a network ``origin``, else ""."""
    if configured:
        return configured.rstrip("/")
    try:
        origin = subprocess.run(["git", "config", "--get", "remote.origin.url"], cwd=srcdir,
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        origin = ""
    # a network remote only: a clone of a local folder must not write that folder's path
    return origin if origin.startswith(("https://", "http://", "git@", "ssh://")) else ""


def notebook_text(chapter: Path, repository: str) -> str:
    """The ``.ipynb`` of ``chapter``: the setup cell, then the chapter's cells, unexecuted."""
    nb = jupytext.read(chapter, fmt="py:percent")
    setup = nbformat.v4.new_code_cell(SETUP.format(repository=repository),
                                      metadata={"tags": [SETUP_TAG]})
    nb.cells.insert(0, setup)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"  # stable ids: the file changes only when the chapter does
    nb.metadata.pop("jupytext", None)
    return jupytext.writes(nb, fmt="ipynb")


def write_notebooks(srcdir: Path, configured: str = "") -> list[Path]:
    """Write ``<chapter>.ipynb`` beside every ``[0-9]*.py`` chapter of ``srcdir`` whose content
    differs; return the files written."""
    written = []
    configured_url = repository_url(configured, srcdir)
    for chapter in sorted(srcdir.glob("[0-9]*.py")):
        target = chapter.with_suffix(".ipynb")
        repository = configured_url or _written_repository(target)
        text = notebook_text(chapter, repository)
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
            written.append(target)
    return written


#: What ``{{ repository_url }}`` reads where no address is set.
NO_ADDRESS = "(no address set: repository.url in book/_config.yml)"


def _on_config_inited(app: Sphinx, config: Any) -> None:
    """``{{ repository_url }}`` in the pages: the address of ``repository.url``, the one place
    it is set (jupyter-book passes it on as the theme's ``repository_url``)."""
    configured = (config.html_theme_options or {}).get("repository_url", "") or ""
    url = repository_url(configured, Path(app.srcdir)) or NO_ADDRESS
    config.myst_substitutions = {**(config.myst_substitutions or {}), "repository_url": url}


def _on_builder_inited(app: Sphinx) -> None:
    configured = (app.config.html_theme_options or {}).get("repository_url", "") or ""
    write_notebooks(Path(app.srcdir), configured)


def setup(app: Sphinx) -> dict[str, bool]:
    app.connect("config-inited", _on_config_inited)
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
