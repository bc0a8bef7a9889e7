#!/usr/bin/env python3
"""Put a verified local copy of MathJax 3 into book/_mathjax/ so the book renders its formulas
offline (Sphinx's default loads MathJax from a CDN, which an offline reader never gets).

    python scripts/fetch_mathjax.py            # idempotent: does nothing when the copy is there

Usually nothing to do: the ``book`` extra installs ``sphinx-mathjax-offline``, whose files are the
same MathJax 3.2.2 build, and the book's extension uses it directly once its files hash to the
digest of the npm tarball's (``book/_ext/offline_mathjax.py``); this script then says so and
exits 0. Without that package, the copy comes from the npm registry (``npm pack``, no
node_modules), and the tarball is checked against the SHA-256 below before anything is extracted
from it. Only the ``es5/`` build is kept (tex-chtml.js, its fonts and the TeX extensions it
autoloads), about 24 MB, git-ignored. The book's ``offline_mathjax`` extension (``book/_ext``)
copies it into the built book's ``_static/mathjax/`` and points ``mathjax_path`` at it. (Not
``book/_static/`` itself: jupyter-book adds every ``.js`` file under ``_static`` to every page as
a script.) Without the package and without npm the script says so and exits 1; the book then
still builds, but its formulas need the network.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "mathjax@3.2.2"
TARBALL = "mathjax-3.2.2.tgz"
SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"
DEST = Path(__file__).resolve().parents[1] / "book" / "_mathjax"
STAMP = DEST / "VERSION"


def _packaged_copy() -> Path | None:
    """The verified MathJax of the sphinx-mathjax-offline package (book extra), or None."""
    sys.path.insert(0, str(DEST.parent / "_ext"))
    try:
        from offline_mathjax import packaged_copy
    finally:
        sys.path.pop(0)
    return packaged_copy()


def main() -> int:
    if STAMP.is_file() and STAMP.read_text().strip() == f"{PACKAGE} {SHA256}":
        return 0
    packaged = _packaged_copy()
    if packaged is not None:
        print(f"fetch_mathjax: the book uses the verified {PACKAGE} of the installed "
              "sphinx-mathjax-offline package; nothing to fetch")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("fetch_mathjax: npm not found; the book's formulas will need the network "
              "(install Node.js/npm, or Debian's npm package, and rerun)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([npm, "pack", PACKAGE, "--silent"], cwd=tmp, capture_output=True,
                              text=True, timeout=300)
        tarball = Path(tmp) / TARBALL
        if done.returncode != 0 or not tarball.is_file():
            print(f"fetch_mathjax: npm pack {PACKAGE} failed: {done.stderr.strip()[-300:]}",
                  file=sys.stderr)
            return 1
        payload = tarball.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    if digest != SHA256:
        print(f"fetch_mathjax: {TARBALL} has SHA-256 {digest}, expected {SHA256}; not used",
              file=sys.stderr)
        return 1
    staging = DEST.with_name("mathjax.part")
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as tar:
        members = [m for m in tar.getmembers()
                   if m.name.startswith("package/es5/") and (m.isfile() or m.isdir())]
        for member in members:
            member.name = member.name.removeprefix("package/es5/")
        tar.extractall(staging, members=[m for m in members if m.name], filter="data")
    (staging / "VERSION").write_text(f"{PACKAGE} {SHA256}\n")
    shutil.rmtree(DEST, ignore_errors=True)
    staging.replace(DEST)
    print(f"fetch_mathjax: {PACKAGE} (verified) in {DEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
