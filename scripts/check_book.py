#!/usr/bin/env python3
"""Check the built book in a real browser: every page renders, every image loads, no cell errs,
every formula is typeset, nothing is wider than the column, every figure has a caption, every
plot reaches the page, and every results table shows all the rows of its CSV.

    python scripts/check_book.py [book/_build/html] [--screenshots DIR] [--strict-results]

For each HTML page of the book (the chapters and the bibliography; Sphinx's genindex/search pages
are skipped) it checks, in two ways:

1. the built HTML, statically (``scripts/book_html_checks.py``): no cell output shows a traceback
   or stderr (myst-nb renders them as ``div.output.traceback`` / ``div.output.stderr``), every
   local ``<img>`` file exists, the page has content, no table cell reads "nan", no table is empty,
   and (``--offline``) MathJax is the book's local copy (``book/_ext/offline_mathjax.py``), not a
   CDN an offline reader cannot reach; every image of the article sits in a ``<figure>`` with a
   non-empty caption; no code cell calls ``plt.show()`` without an image in its output (a plot that
   never reached the page); and a table that names its CSV (``data-csv``, written by
   ``mvae.reporting.Table``) has at least as many rows as the CSV (or as it has distinct
   ``data-csv-key`` values among the rows where ``data-csv-where`` is set): a table that silently
   dropped rows fails;
2. the page as headless Chromium renders it: the book is served on a loopback port, a probe page
   loads it in a same-origin iframe and reports, from the rendered DOM, whether every ``<img>``
   actually decoded (``complete && naturalWidth > 0``), the error/stderr outputs and the length of
   the main text, TeX left untypeset once MathJax has finished (a ``.math`` element MathJax did
   not replace, or TeX-looking text), and any table, equation, image, figure, code block or
   output wider than the article column, whether it sticks out or scrolls sideways inside it
   (a reader who has to scroll sideways does not see the end of it); the browser's console is
   scanned for uncaught JavaScript errors. With ``--offline`` the browser resolves no host but
   the local server, as for a reader without network. A screenshot of each page (1280 x 2400)
   is saved for a human to look at.

For readers it also checks, statically, that no paragraph of the article (table cells aside) is
longer than :data:`MAX_PARAGRAPH_WORDS` words and that every numbered figure ("Figure 5.1" in a
caption) is cited by its number in the page's text outside the captions; and in the browser,
that the page does not scroll sideways in a 390 px window (a phone; tables may scroll inside
their own box there), and that every figure's smallest text is at least
:data:`MIN_FIGURE_TEXT_PX` CSS pixels
on screen at 1280 px: a figure drawn by ``mvae.figures`` records its smallest text in its PNG
(the ``mvae-min-text-px`` text chunk), and the browser scales it by the width the page shows
the image at. A screenshot at 390 px (``<page>-390.png``) is saved beside the one at 1280 px.

``--strict-results`` also fails on pages that show the book's "Results not available" note (use it
when the pipeline's results are expected to be complete). Exit status 0 when every check passed,
1 otherwise; a JSON report is written beside the screenshots. Chromium comes from Debian's
``chromium`` package (``/usr/bin/chromium``); without it, only the static checks run (and say so).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# step 1, the static checks, is a module of its own beside this script
sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_html_checks import MIN_TEXT, MISSING_MARK, static_check  # noqa: E402

SKIP_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
#: Chromium resolves no host but the book's own server: the reader without network
OFFLINE_FLAGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--disable-dev-shm-usage", "--mute-audio"]
#: The smallest text a figure may show on screen at a 1280 px window, in CSS pixels.
MIN_FIGURE_TEXT_PX = 9.0
#: The phone-sized window at which no page may scroll sideways.
NARROW_WIDTH = 390

PROBE_PAGE = r"""<!doctype html><html><head><meta charset="utf-8"><title>probe</title></head>
<body><pre id="result">pending</pre>
<iframe id="page" src="{src}" style="width:{width}px;height:2400px;border:0"></iframe>
<script>
const frame = document.getElementById('page');
function report() {{
  const d = frame.contentDocument;
  const main = d.querySelector('main') || d.querySelector('article') || d.body;
  const images = Array.from(d.images).map(i => ({{
    src: i.getAttribute('src') || '', ok: i.complete && i.naturalWidth > 0,
    width: i.naturalWidth, height: i.naturalHeight}}));
  const bad = Array.from(d.querySelectorAll(
      'div.output.traceback, div.output.stderr, div.output.error, .cell_output .traceback'))
      .map(e => e.innerText.slice(0, 300));
  const missing = Array.from(d.querySelectorAll('.admonition-title'))
      .filter(e => e.innerText.includes('{missing}')).length;
  // TeX that MathJax did not typeset: text outside code blocks that still looks like TeX
  const column = d.querySelector('article.bd-article') || d.querySelector('article') || main
      || d.body;
  const walker = d.createTreeWalker(column, NodeFilter.SHOW_TEXT);
  const rawTex = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {{
    if (n.parentElement.closest('pre, code, script, style, mjx-container, .highlight')) continue;
    if (/\\\(|\\\[|\$\$|\\(math|operatorname|frac|sum|big)/.test(n.textContent))
      rawTex.push(n.textContent.trim().slice(0, 80));
  }}
  for (const e of column.querySelectorAll('span.math, div.math'))
    if (!e.querySelector('mjx-container')) rawTex.push(e.textContent.trim().slice(0, 80));
  // anything wider than the article column: sticking out of it, or scrolling sideways inside
  // it (then the reader sees only part of it without scrolling); hidden elements (a closed
  // <details>) have no box and are skipped. A page wider than the window is reported apart.
  const box = column.getBoundingClientRect();
  const wide = [];
  const label = e => e.tagName.toLowerCase() + ': ' + (e.innerText || e.getAttribute('src')
      || e.getAttribute('aria-label') || '').trim().replace(/\s+/g, ' ').slice(0, 60);
  const selector = 'table, mjx-container, img, figure, pre, .cell_output > div, ' +
      'div.math, div.highlight, details';
  for (const e of column.querySelectorAll(selector)) {{
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const sticks = r.right > box.right + 2 || r.left < box.left - 2;
    const scrolls = e.scrollWidth > e.clientWidth + 2 && e.clientWidth > 0
        && ['auto', 'scroll', 'hidden'].includes(getComputedStyle(e).overflowX);
    if (sticks || scrolls)
      wide.push(label(e) + ` (${{Math.round(Math.max(r.width, e.scrollWidth))}} px in a ` +
                `${{Math.round(box.width)}} px column)`);
  }}
  // each figure's smallest text on screen: the PNG's own record (mvae.figures) scaled by the
  // width the page shows the image at
  const figureText = Array.from(column.querySelectorAll('figure.mvae-figure img')).map(i => {{
    const src = i.getAttribute('src') || '';
    let record = null;
    if (src.startsWith('data:image/png;base64,')) {{
      const bin = atob(src.slice(src.indexOf(',') + 1));
      const at = bin.indexOf('mvae-min-text-px\u0000');
      if (at >= 0) record = parseFloat(bin.slice(at + 17, bin.indexOf(';', at)));
    }}
    const shown = i.getBoundingClientRect().width;
    return {{alt: (i.getAttribute('alt') || '').slice(0, 60), record: record,
             shown: Math.round(shown), natural: i.naturalWidth,
             screen: record === null || !i.naturalWidth ? null : record * shown / i.naturalWidth}};
  }});
  // what makes the page wider than the window: the innermost elements past its right edge
  const view = d.documentElement.clientWidth;
  const clipped = e => {{  // inside a box that scrolls or clips within the window
    for (let a = e.parentElement; a && a !== d.body; a = a.parentElement)
      if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)
          && a.getBoundingClientRect().right <= view + 1) return true;
    return false;
  }};
  const past = Array.from(d.body.querySelectorAll('*')).filter(e => {{
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > view + 1 && getComputedStyle(e).position !== 'fixed'
        && !clipped(e);
  }});
  const tooWide = past.filter(e => !past.some(o => o !== e && e.contains(o)))
      .slice(0, 4).map(e => label(e) + ` (${{Math.round(e.getBoundingClientRect().right)}} px)`);
  document.getElementById('result').textContent = JSON.stringify({{
    title: d.title, images: images, bad_outputs: bad, missing_results: missing,
    text_length: column.innerText.trim().length, column_width: Math.round(box.width),
    math: d.querySelectorAll('mjx-container').length, raw_tex: rawTex, overflow: wide,
    figure_text: figureText, too_wide: tooWide,
    page_overflow: d.documentElement.scrollWidth > d.documentElement.clientWidth + 1}});
}}
frame.addEventListener('load', () => {{
  // Let the theme's scripts settle, force lazy images to load and wait for MathJax to typeset.
  for (const i of frame.contentDocument.images) i.loading = 'eager';
  const mj = frame.contentWindow.MathJax;
  const typeset = mj && mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
  typeset.then(() => setTimeout(report, 1000), () => setTimeout(report, 1000));
}});
</script></body></html>"""


# --------------------------------------------------------------------------- browser checks
class _Handler(SimpleHTTPRequestHandler):
    """Serves the built book, plus /__probe__/<page> (the probe page for <page>)."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.startswith("/__probe__/"):
            # /__probe__/<page>, or /__probe__/<width>/<page> for a window of that width
            rest = self.path[len("/__probe__/"):]
            first, _, after = rest.partition("/")
            width, page = (int(first), "/" + after) if first.isdigit() else (1280, "/" + rest)
            body = PROBE_PAGE.format(src=html.escape(page, quote=True), width=width,
                                     missing=MISSING_MARK).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, *args: object) -> None:  # keep the output readable
        pass


@contextlib.contextmanager
def serve(root: Path):
    handler = functools.partial(_Handler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _chromium(binary: str, args: list[str], profile: Path,
              timeout: int) -> subprocess.CompletedProcess:
    cmd = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _console_errors(stderr: str) -> list[str]:
    return [line.strip()[:300] for line in stderr.splitlines()
            if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]


def _probe(binary: str, base: str, rel: str, profile: Path, timeout: int, network: list[str],
           width: int = 1280) -> tuple[dict, list[str], str]:
    """(the probe's report, problems getting it, the browser's stderr) for ``rel`` shown in a
    window ``width`` CSS pixels wide."""
    where = rel if width == 1280 else f"{width}/{rel}"
    probe = _chromium(binary, [*network, "--enable-logging=stderr", "--v=0",
                               "--virtual-time-budget=15000", "--dump-dom",
                               f"{base}/__probe__/{where}"], profile, timeout)
    start = probe.stdout.find('<pre id="result">')
    end = probe.stdout.find("</pre>", start)
    if start < 0 or end < 0:
        return {}, [f"the browser returned no DOM (exit {probe.returncode}): "
                    f"{probe.stderr.strip()[-300:]}"], probe.stderr
    raw = html.unescape(probe.stdout[start + len('<pre id="result">'):end])
    if raw == "pending":
        return {}, ["the page did not finish loading in the browser"], probe.stderr
    return json.loads(raw), [], probe.stderr


def small_figure_text(figures: list[dict], limit: float = MIN_FIGURE_TEXT_PX) -> list[str]:
    """The figures (the probe's ``figure_text``) whose smallest text is below ``limit`` CSS
    pixels on screen, or that do not record their smallest text (not drawn for the page)."""
    problems = []
    for figure in figures:
        if figure.get("record") is None:
            problems.append(f"{figure['alt']!r}: no record of its text size (draw it with "
                            "mvae.figures / mvae.reporting.show_plot)")
        elif figure["screen"] < limit:
            problems.append(f"{figure['alt']!r}: text {figure['screen']:.1f} px on screen "
                            f"({figure['natural']} px image shown at {figure['shown']} px)")
    return problems


def browser_check(binary: str, base: str, rel: str, shot: Path, profile: Path,
                  timeout: int, offline: bool = False) -> dict:
    network = OFFLINE_FLAGS if offline else []
    result, problems, stderr = _probe(binary, base, rel, profile, timeout, network)
    if result:
        broken = [i["src"] for i in result["images"] if not i["ok"]]
        if broken:
            problems.append(f"images that did not load in the browser: {broken}")
        if result["bad_outputs"]:
            problems.append(f"rendered outputs with errors/stderr: {result['bad_outputs']}")
        if result["text_length"] < MIN_TEXT:
            problems.append(f"rendered page has almost no text ({result['text_length']})")
        if result.get("raw_tex"):
            raw = list(dict.fromkeys(result["raw_tex"]))
            problems.append(f"TeX not typeset (MathJax missing?): {raw[:3]}")
        if result.get("overflow"):
            problems.append(f"{len(result['overflow'])} element(s) wider than the column: "
                            f"{result['overflow'][:4]}")
        if result.get("page_overflow"):
            problems.append("the page scrolls sideways")
        small = small_figure_text(result.get("figure_text") or [])
        if small:
            problems.append(f"{len(small)} figure(s) with text under {MIN_FIGURE_TEXT_PX:g} px "
                            f"on screen: {small[:3]}")
    narrow, narrow_problems, _ = _probe(binary, base, rel, profile, timeout, network,
                                        NARROW_WIDTH)
    problems += narrow_problems
    if narrow.get("page_overflow"):
        problems.append(f"at {NARROW_WIDTH} px the page scrolls sideways: "
                        f"{narrow.get('too_wide') or 'nothing found past the window'}")
    errors = _console_errors(stderr)
    if errors:
        problems.append(f"JavaScript console errors: {errors}")
    shot.parent.mkdir(parents=True, exist_ok=True)
    for width, target in ((1280, shot), (NARROW_WIDTH, shot.with_name(f"{shot.stem}-390.png"))):
        snap = _chromium(binary, [*network, f"--window-size={width},2400",
                                  "--virtual-time-budget=10000", f"--screenshot={target}",
                                  f"{base}/{rel}"], profile, timeout)
        if not target.is_file():
            problems.append(f"no screenshot written at {width} px (exit {snap.returncode})")
    return {"browser": {k: result.get(k) for k in ("title", "text_length", "math",
                                                   "column_width")}
            | {"images_loaded": sum(i["ok"] for i in result.get("images", [])),
               "images": len(result.get("images", []))},
            "screenshot": str(shot), "problems": problems}


# --------------------------------------------------------------------------- driver
def book_pages(root: Path) -> list[Path]:
    """The chapters, the back matter and the API reference (``api/``), without Sphinx's
    generated index and search pages and jupyter-book's redirect."""
    pages = []
    for page in [*sorted(root.glob("*.html")), *sorted(root.glob("api/*.html"))]:
        if page.name in SKIP_PAGES:
            continue
        text = page.read_text(encoding="utf-8", errors="replace")
        if 'http-equiv="Refresh"' in text or "http-equiv=\"refresh\"" in text:
            continue  # the redirect index.html written by jupyter-book
        pages.append(page)
    return pages


def find_chromium(explicit: str | None) -> str | None:
    for candidate in (explicit, os.environ.get("CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html", nargs="?", default="book/_build/html", type=Path,
                    help="the built book (default: book/_build/html)")
    ap.add_argument("--screenshots", type=Path, default=None,
                    help="where screenshots and report.json go (default: <html>/../screenshots)")
    ap.add_argument("--chromium", default=None, help="browser binary (default: /usr/bin/chromium)")
    ap.add_argument("--no-browser", action="store_true", help="static checks only")
    ap.add_argument("--offline", action="store_true",
                    help="fail on pages that load MathJax from a CDN (the offline build), and "
                         "browse with no network but the book's own server")
    ap.add_argument("--strict-results", action="store_true",
                    help="fail on pages that say results are not available")
    ap.add_argument("--timeout", type=int, default=90, help="seconds per browser call")
    args = ap.parse_args(argv)

    root = args.html.resolve()
    if not root.is_dir():
        print(f"check_book: {root} does not exist; build the book first "
              "(jupyter-book build book/)", file=sys.stderr)
        return 2
    shots = (args.screenshots or root.parent / "screenshots").resolve()
    shots.mkdir(parents=True, exist_ok=True)
    pages = book_pages(root)
    if not pages:
        print(f"check_book: no pages under {root}", file=sys.stderr)
        return 2
    binary = None if args.no_browser else find_chromium(args.chromium)
    if binary is None and not args.no_browser:
        print("check_book: Chromium not found (apt-get install chromium); static checks only")

    report: dict[str, dict] = {}
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(serve(root)) if binary else ""
        profile = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="check-book-")))
        for page in pages:
            rel = page.relative_to(root).as_posix()
            entry = static_check(page, root, args.offline)
            if binary:
                try:
                    seen = browser_check(binary, base, rel, shots / (page.stem + ".png"),
                                         profile, args.timeout, args.offline)
                except subprocess.TimeoutExpired:
                    seen = {"problems": [f"the browser timed out after {args.timeout} s"]}
                entry["problems"] += seen.pop("problems")
                entry.update(seen)
            if args.strict_results and entry["missing_results"]:
                entry["problems"].append(f"{entry['missing_results']} 'results not available' "
                                         "note(s)")
            report[rel] = entry
            status = "ok" if not entry["problems"] else "FAIL"
            extra = f", {entry['missing_results']} missing-results note(s)" \
                if entry["missing_results"] else ""
            loaded = (f", {entry['browser']['images_loaded']}/{entry['browser']['images']} "
                      "images loaded in Chromium") if "browser" in entry else ""
            print(f"{status:4s} {rel}: {entry['images']} images{loaded}{extra}")
            for problem in entry["problems"]:
                print(f"     - {problem}")
    (shots / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    failed = [rel for rel, e in report.items() if e["problems"]]
    print(f"check_book: {len(pages) - len(failed)}/{len(pages)} pages passed"
          + ("" if binary else " (static checks only)") + f"; report and screenshots in {shots}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
