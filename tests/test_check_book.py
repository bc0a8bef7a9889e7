"""scripts/check_book.py and its static checks (book_html_checks.py): each fails on the fault it
names and passes without it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def check():
    """check_book.py, the browser checks (and the static ones it runs first)."""
    return _script("check_book")


@pytest.fixture(scope="module")
def static():
    """book_html_checks.py, the static checks."""
    return _script("book_html_checks")


def _page(article: str) -> str:
    return (f'<html><body><main><article class="bd-article" role="main">{article}'
            f"<p>{'text ' * 60}</p></article></main></body></html>")


def test_an_image_needs_a_figure_with_a_caption(static):
    assert static.uncaptioned_images('<figure><img src="a.png"><figcaption>Figure 1. A.'
                                    "</figcaption></figure>") == []
    assert static.uncaptioned_images('<p><img src="a.png"></p>') == ["a.png"]
    assert static.uncaptioned_images('<figure><img src="b.png"><figcaption> </figcaption>'
                                    "</figure>") == ["b.png"]


def test_a_plt_show_cell_needs_an_image_in_its_output(static):
    shown = ('<div class="cell tag_hide-input docutils container"><div class="cell_input">'
             '<pre>fig, ax = plt.subplots()\nplt.show()</pre></div>'
             '<div class="cell_output docutils container"><img src="x.png"></div></div>')
    lost = shown.replace('<img src="x.png">', "")
    quiet = lost.replace("plt.show()", "display(fig)")
    assert static.plots_not_shown(shown) == []
    assert len(static.plots_not_shown(lost)) == 1
    assert static.plots_not_shown(quiet) == []
    # the next cell's image does not count for this one
    assert len(static.plots_not_shown(lost + shown)) == 1


def _table(csv: str, rows: int, key: str = "", where: str = "") -> str:
    attrs = f' data-csv="{csv}"' + (f' data-csv-key="{key}"' if key else "") + \
        (f' data-csv-where="{where}"' if where else "")
    body = "".join(f"<tr><td>{i}</td></tr>" for i in range(rows))
    return f"<table{attrs}><thead><tr><th>K</th></tr></thead><tbody>{body}</tbody></table>"


def test_a_table_must_show_every_row_of_its_csv(static, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("metric,run,K,paper_setup\nsse,a,1,True\nsse,b,4,True\nis,a,4,False\n"
                   "is,,,False\n")
    assert static.short_tables(_table(str(csv), 4)) == []
    assert static.short_tables(_table(str(csv), 3)) == [
        "a table of t.csv shows 3 rows of its 4 rows"]
    # one row per distinct key (a pivot), among the rows where a column is set
    assert static.short_tables(_table(str(csv), 2, key="metric")) == []
    assert static.short_tables(_table(str(csv), 1, key="metric", where="run"))
    assert static.short_tables(_table(str(csv), 2, key="K", where="paper_setup")) == []
    assert static.short_tables(_table(str(csv), 1, key="K", where="paper_setup"))
    # a path relative to the repository, and a CSV that does not exist
    assert static.short_tables(_table("no/such.csv", 1)) == [
        "a table shows no/such.csv, which does not exist"]
    # tables that name no CSV are not checked
    assert static.short_tables("<table><tbody></tbody></table>") == []


def test_the_static_check_reports_each_fault(static, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("run\na\nb\n")
    page = tmp_path / "page.html"
    page.write_text(_page('<p><img src="data:image/png;base64,AAAA"></p>'
                          + _table(str(csv), 1)))
    problems = static.static_check(page, tmp_path)["problems"]
    assert any("without a figure caption" in p for p in problems)
    assert any("shows 1 rows of its 2 rows" in p for p in problems)
    page.write_text(_page('<figure><img src="data:image/png;base64,AAAA"><figcaption>Figure 1.'
                          "</figcaption></figure>" + _table(str(csv), 2)))
    assert static.static_check(page, tmp_path)["problems"] == []


def test_offline_browsing_resolves_only_the_local_server(check):
    assert check.OFFLINE_FLAGS == ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
    probe = check.PROBE_PAGE
    # the column is the article, not <main> (which holds the page's table of contents too)
    assert "article.bd-article" in probe
    # untypeset maths and elements that scroll sideways inside the column are both reported
    assert "span.math, div.math" in probe and "e.scrollWidth > e.clientWidth" in probe


@pytest.mark.slow
def test_the_browser_finds_wide_elements_and_raw_tex(check, tmp_path):
    """A table that scrolls sideways inside a column that fits, an equation sticking out, TeX
    that no MathJax typeset: each is reported; the same page without them passes."""
    browser = check.find_chromium(None)
    if browser is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    site = tmp_path / "site"
    site.mkdir()
    filler = "<p>" + "words " * 80 + "</p>"
    bad = ('<div style="overflow-x:auto"><table><tr><td style="min-width:1200px">wide</td></tr>'
           '</table></div><mjx-container display="true" '
           'style="display:block;width:900px;height:20px"></mjx-container>'
           '<span class="math">\\(x^2\\)</span>')
    for name, body in (("bad.html", bad), ("good.html", "<table><tr><td>narrow</td></tr></table>")):
        (site / name).write_text(
            '<html><body style="margin:0"><main><article class="bd-article" '
            f'style="max-width:600px">{body}{filler}</article>'
            '<aside style="max-width:600px"></aside></main></body></html>')
    results = {}
    with check.serve(site) as base:
        for name in ("bad.html", "good.html"):
            results[name] = check.browser_check(browser, base, name,
                                                tmp_path / f"{name}.png", tmp_path / "profile",
                                                120, offline=True)["problems"]
    assert results["good.html"] == []
    bad_problems = " ".join(results["bad.html"])
    assert "wider than the column" in bad_problems and "table: wide" in bad_problems
    assert "mjx-container" in bad_problems
    assert "TeX not typeset" in bad_problems


def test_a_paragraph_over_150_words_is_reported(static):
    short = "<p>" + "word " * 150 + "</p>"
    long = "<p>Too <em>many</em> " + "word " * 149 + "</p>"
    assert static.long_paragraphs(short) == []
    assert static.long_paragraphs(short + long) == ["151 words: Too many word word word word word "
                                                   "word ..."]


def test_every_numbered_figure_is_cited_in_the_text(static):
    figure = ('<figure><img src="a.png"><figcaption><span class="caption-number">Figure 5.{n}.'
              "</span> A caption naming Figure 5.{n} itself.</figcaption></figure>")
    figures = "".join(figure.format(n=n) for n in (1, 2, 3, 4))
    assert static.uncited_figures(figures) == ["Figure 5.1", "Figure 5.2", "Figure 5.3",
                                              "Figure 5.4"]
    cited = "<p>As Figures 5.1 and 5.2 show, and Figure 5.3 (top); Fig. 5.4 too.</p>" + figures
    assert static.uncited_figures(cited) == []
    ranged = "<p>Figures 5.1-5.3 and 5.4 are grids.</p>" + figures
    assert static.uncited_figures(ranged) == []
    assert static.uncited_figures("<p>Figures 5.2–5.4.</p>" + figures) == ["Figure 5.1"]


def test_figure_text_is_measured_on_screen(check):
    figures = [{"alt": "ok", "record": 20.0, "natural": 1320, "shown": 660, "screen": 10.0},
               {"alt": "shrunk", "record": 20.0, "natural": 1980, "shown": 660,
                "screen": 20.0 * 660 / 1980},
               {"alt": "unknown", "record": None, "natural": 800, "shown": 660, "screen": None}]
    problems = check.small_figure_text(figures)
    assert len(problems) == 2
    assert "'shrunk': text 6.7 px on screen (1980 px image shown at 660 px)" in problems[0]
    assert "'unknown': no record of its text size" in problems[1]


@pytest.mark.slow
def test_the_browser_reads_a_figures_text_size_and_a_narrow_pages_width(check, tmp_path):
    """A figure drawn by mvae.figures carries its smallest text in its PNG; shown at half its
    pixels it passes, at a third it fails. A page wider than 390 px fails at that width."""
    import base64

    import matplotlib.pyplot as plt

    from mvae import figures

    browser = check.find_chromium(None)
    if browser is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    fig, ax = plt.subplots(figsize=(6.6, 2))
    ax.plot([0, 1], [0, 1])
    ax.tick_params(labelsize=8)
    png = figures.png_bytes(fig)                   # 200 dpi: 8 pt is 22.2 px in the PNG
    width = int.from_bytes(png[16:20], "big")
    data = base64.b64encode(png).decode()
    site = tmp_path / "site"
    site.mkdir()
    filler = "<p>" + "words " * 80 + "</p>"

    def page(shown: int, extra: str = "") -> str:
        return ('<html><body style="margin:0"><main><article class="bd-article" '
                'style="max-width:700px"><figure class="mvae-figure">'
                f'<img src="data:image/png;base64,{data}" alt="plot" style="width:{shown}px;'
                f'max-width:100%"><figcaption>Figure 1.1. A line.</figcaption></figure>'
                f"{filler}{extra}</article></main></body></html>")

    (site / "half.html").write_text(page(width // 2))
    (site / "third.html").write_text(page(width // 3))
    (site / "wide.html").write_text(page(width // 2, '<div style="width:900px">x</div>'))
    found = {}
    with check.serve(site) as base:
        for name in ("half.html", "third.html", "wide.html"):
            found[name] = " ".join(check.browser_check(
                browser, base, name, tmp_path / f"{name}.png", tmp_path / "profile", 120,
                offline=True)["problems"])
    assert "figure(s) with text under" not in found["half.html"]
    assert "at 390 px the page scrolls sideways" not in found["half.html"]
    assert "1 figure(s) with text under 9 px on screen" in found["third.html"]
    assert "at 390 px the page scrolls sideways" in found["wide.html"]
    assert (tmp_path / "half.html.png").is_file() and (tmp_path / "half.html-390.png").is_file()
