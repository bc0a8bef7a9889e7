"""Drop duplicate <script> entries from every page.

sphinx-thebe (always loaded by jupyter-book 1.x) registers its inline configuration script,
``const THEBE_JS_URL = ...``, each time Sphinx reads documents; when that happens twice in one
build, every page declares the constant
twice (once with filename None, once with "") and the browser reports "Identifier 'THEBE_JS_URL'
has already been declared". Keeping the first copy of each script fixes it without touching thebe.
"""

from __future__ import annotations


def _dedupe(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = (getattr(script, "filename", None) or "", getattr(script, "priority", None),
               repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=1)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
