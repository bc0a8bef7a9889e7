"""The built book's static checks (step 1 of ``scripts/check_book.py``): what one page's HTML shows
without a browser. Cell errors, missing image files, "nan" cells, empty tables, tables shorter than
their CSV, images without a caption, plots that never reached the page, over-long paragraphs,
figures never cited by number, pages without text."""

from __future__ import annotations

import csv
import html
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parents[1]  # the repository: data-csv paths are relative to it
MISSING_MARK = "Results not available"
VOID_TAGS = ("img", "br", "hr", "meta", "link", "input", "source", "wbr", "col", "area")
MIN_TEXT = 200  # characters of main text below which a page counts as empty
#: A paragraph longer than this is a wall of text: split it (or make it a list or a table).
MAX_PARAGRAPH_WORDS = 150


class _PageParser(HTMLParser):
    """Collects <img> sources, error/stderr output blocks, missing-results notes and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[str] = []
        self.bad_outputs = 0
        self.missing_results = 0
        self.text_parts: list[str] = []
        self._in_main = 0
        self._skip = 0
        self.mathjax: list[str] = []
        self.tables: list[int] = []     # rows outside <thead> of each table
        self.nan_cells = 0
        self._in_thead = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag == "script" and "mathjax" in (a.get("src") or "").lower():
            self.mathjax.append(a.get("src") or "")
        if tag == "table":
            self.tables.append(0)
        if tag == "tr" and self.tables and not self._in_thead:
            self.tables[-1] += 1
        if tag == "thead":
            self._in_thead += 1
        if tag in ("td", "th"):
            self._cell = []
        if tag == "img" and a.get("src"):
            self.images.append(a["src"] or "")
        if tag == "div" and "output" in classes and classes & {"traceback", "stderr", "error"}:
            self.bad_outputs += 1
        opens_main = tag == "main" or (tag == "article" and not self._in_main)
        if opens_main or (self._in_main and tag not in VOID_TAGS):
            self._in_main += 1
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead" and self._in_thead:
            self._in_thead -= 1
        if tag == "td" and self._cell is not None:
            if "".join(self._cell).strip().lower() in ("nan", "<na>"):
                self.nan_cells += 1
            self._cell = None
        if self._in_main and tag not in VOID_TAGS:
            self._in_main -= 1
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if MISSING_MARK in data:
            self.missing_results += 1
        if self._in_main and not self._skip:
            self.text_parts.append(data)


_ARTICLE = re.compile(r'<article[^>]*class="[^"]*bd-article[^"]*"[^>]*>(.*)</article>', re.S)
_TAG = re.compile(r"<[^>]+>")
_CELL = re.compile(r'<div class="cell(?:\s[^"]*)?"')


def _article(page_html: str) -> str:
    found = _ARTICLE.search(page_html)
    return found.group(1) if found else page_html


def _text(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def uncaptioned_images(article: str) -> list[str]:
    """Images of the article that are not inside a <figure> with a non-empty <figcaption>."""
    problems = []
    captioned = set()
    for figure in re.finditer(r"<figure\b.*?</figure>", article, re.S):
        caption = re.search(r"<figcaption\b[^>]*>(.*?)</figcaption>", figure.group(0), re.S)
        if caption and _text(caption.group(1)):
            captioned.add((figure.start(), figure.end()))
    for image in re.finditer(r"<img\b[^>]*>", article):
        if not any(a <= image.start() < b for a, b in captioned):
            src = re.search(r'src="([^"]{0,60})', image.group(0))
            problems.append(src.group(1) if src else image.group(0)[:60])
    return problems


def plots_not_shown(article: str) -> list[str]:
    """Code cells whose source calls plt.show() but whose output holds no image."""
    starts = [m.start() for m in _CELL.finditer(article)] + [len(article)]
    missing = []
    for a, b in zip(starts, starts[1:], strict=False):
        cell = article[a:b]
        split = cell.find('class="cell_output')
        source, output = (cell, "") if split < 0 else (cell[:split], cell[split:])
        if "plt.show()" in _text(source) and "<img" not in output:
            missing.append(_text(source)[:60])
    return missing


def _truthy(value: str) -> bool:
    return value.strip().lower() not in ("", "false", "0", "nan", "none")


def csv_rows_expected(path: Path, key: str | None, where: str | None) -> int:
    """The rows a table of ``path`` must show: every CSV row where ``where`` is set (all rows
    without it), or the number of distinct ``key`` values among them."""
    with path.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if where is None or _truthy(r.get(where, ""))]
    return len({r.get(key, "") for r in rows}) if key else len(rows)


def short_tables(article: str, root: Path = ROOT) -> list[str]:
    """Tables naming their CSV (data-csv) that show fewer rows than it has."""
    problems = []
    for table in re.finditer(r"<table\b([^>]*)>(.*?)</table>", article, re.S):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', table.group(1)))
        if "data-csv" not in attrs:
            continue
        source = Path(html.unescape(attrs["data-csv"]))
        path = source if source.is_absolute() else root / source
        if not path.is_file():
            problems.append(f"a table shows {source}, which does not exist")
            continue
        body = table.group(2)
        body = body[body.find("<tbody"):] if "<tbody" in body else body
        shown = len(re.findall(r"<tr\b", body))
        expected = csv_rows_expected(path, attrs.get("data-csv-key"),
                                     attrs.get("data-csv-where"))
        if shown < expected:
            what = f"{attrs['data-csv-key']} values" if attrs.get("data-csv-key") else "rows"
            problems.append(f"a table of {source.name} shows {shown} rows of its {expected} "
                            f"{what}")
    return problems


_PARAGRAPH = re.compile(r"<p\b[^>]*>(.*?)</p>", re.S)
_FIGCAPTION = re.compile(r"<figcaption\b.*?</figcaption>", re.S)
_NUMBERED = re.compile(r"Figure (\d+\.\d+)")
#: "Figure 5.1", "Figures 5.1 and 5.2", "Figures 9.3-9.8" (a range), "Fig. 5.1"
_CITATION = re.compile(r"\bFig(?:ure)?s?\.?\s+(\d+\.\d+(?:\s*(?:,|and|to|or|-|–)\s*\d+\.\d+)*)")


def long_paragraphs(article: str, limit: int | None = None) -> list[str]:
    """Paragraphs of the article longer than ``limit`` words (default
    :data:`MAX_PARAGRAPH_WORDS`), each as "<words> words: <its first words>"."""
    limit = MAX_PARAGRAPH_WORDS if limit is None else limit
    found = []
    article = re.sub(r"<table\b.*?</table>", " ", article, flags=re.S)  # cells are not prose
    for paragraph in _PARAGRAPH.finditer(article):
        words = _text(paragraph.group(1)).split()
        if len(words) > limit:
            found.append(f"{len(words)} words: {' '.join(words[:8])} ...")
    return found


def _cited(text: str) -> set[str]:
    """Every figure number the text cites, ranges ("9.3-9.8") expanded within a chapter."""
    cited: set[str] = set()
    for match in _CITATION.finditer(text):
        group = match.group(1)
        cited.update(re.findall(r"\d+\.\d+", group))
        for a, first, b, last in re.findall(r"(\d+)\.(\d+)\s*[-–]\s*(\d+)\.(\d+)", group):
            if a == b:
                cited.update(f"{a}.{n}" for n in range(int(first), int(last) + 1))
    return cited


def uncited_figures(article: str) -> list[str]:
    """Numbered figures ("Figure 5.1" in a caption) that the article's text outside the
    captions never cites by number: a reader told "the figure" cannot tell which."""
    captions = " ".join(_text(c) for c in _FIGCAPTION.findall(article))
    numbered = list(dict.fromkeys(_NUMBERED.findall(captions)))
    cited = _cited(_text(_FIGCAPTION.sub(" ", article)))
    return [f"Figure {n}" for n in numbered if n not in cited]


def static_check(page: Path, root: Path, offline: bool = False) -> dict:
    parser = _PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    problems = []
    missing_files = []
    for src in parser.images:
        url = urlparse(src)
        if url.scheme in ("http", "https", "data"):
            continue
        target = (page.parent / unquote(url.path)).resolve()
        if not target.is_file():
            missing_files.append(src)
    if missing_files:
        problems.append(f"image files missing: {missing_files}")
    if parser.bad_outputs:
        problems.append(f"{parser.bad_outputs} cell output(s) show a traceback or stderr")
    if parser.nan_cells:
        problems.append(f"{parser.nan_cells} table cell(s) show nan instead of a value "
                        "or a dash")
    empty = sum(1 for rows in parser.tables if rows == 0)
    if empty:
        problems.append(f"{empty} table(s) without any row")
    if offline and parser.mathjax and not any("_static/mathjax/" in s for s in parser.mathjax):
        problems.append(f"MathJax comes from {parser.mathjax[0]}: formulas do not render "
                        "offline (run scripts/fetch_mathjax.py before building)")
    article = _article(page.read_text(encoding="utf-8"))
    uncaptioned = uncaptioned_images(article)
    if uncaptioned:
        problems.append(f"{len(uncaptioned)} image(s) without a figure caption: "
                        f"{uncaptioned[:3]}")
    not_shown = plots_not_shown(article)
    if not_shown:
        problems.append(f"{len(not_shown)} code cell(s) call plt.show() but show no image: "
                        f"{not_shown[:2]}")
    problems += short_tables(article)
    long = long_paragraphs(article)
    if long:
        problems.append(f"{len(long)} paragraph(s) over {MAX_PARAGRAPH_WORDS} words: {long[:3]}")
    uncited = uncited_figures(article)
    if uncited:
        problems.append(f"figures never cited by number in the text: {uncited}")
    text = " ".join(" ".join(parser.text_parts).split())
    if len(text) < MIN_TEXT:
        problems.append(f"page has almost no text ({len(text)} characters)")
    return {"images": len(parser.images), "missing_results": parser.missing_results,
            "text_length": len(text), "problems": problems}
