"""The book's pages for readers: the answer first (a takeaway box), a summary last, glossary links
from each term's first use, hidden solutions, one repository address, and the page helpers of
mvae.pages that make them."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

from mvae import pages

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
#: The chapters that open with a takeaway box and close with a summary (the intro's results
#: part and the claims page are written elsewhere).
ANSWER_FIRST = ["02_vae", "03_model", "04_dhsic", "05_mnist_reconstructions", "06_latent_spaces",
                "07_probes", "08_cifar10", "10_beyond", "11_differences", "12_reproducing",
                "13_own_images"]
#: Chapters whose exercises carry a hidden solution.
EXERCISES = ["02_vae", "03_model", "04_dhsic", "05_mnist_reconstructions", "06_latent_spaces",
             "07_probes"]
#: Distinctive glossary terms (as a reader meets them in prose) and their entries: the first
#: use in a chapter's prose must link the entry.
FIRST_USE = {"nats": "nats", "p-value": "p-value", "V-statistic": "V-statistic", "CKA": "CKA",
             "FID": "FID", "standard error": "standard error", "seed spread": "seed spread",
             "Spearman": "Spearman's correlation", "Bartlett": "Bartlett's test",
             "Holm": "Holm", "TOST": "TOST", "equivalence test": "equivalence test"}


def _source(chapter: str) -> Path:
    return next(BOOK / f"{chapter}{ext}" for ext in (".py", ".md")
                if (BOOK / f"{chapter}{ext}").is_file())


def _cells(path: Path) -> list[tuple[str, str]]:
    """(kind, text) of each cell: "markdown" or "code" (a .md page is one markdown cell)."""
    text = path.read_text()
    if path.suffix == ".md":
        return [("markdown", text)]
    parts = re.split(r"^# %%(.*)$", text, flags=re.M)
    cells = []
    for head, body in zip(parts[1::2], parts[2::2], strict=True):
        if "[markdown]" in head:
            cells.append(("markdown", re.sub(r"^# ?", "", body, flags=re.M)))
        else:
            cells.append(("code", body))
    return cells


def _prose(path: Path) -> str:
    return "\n".join(text for kind, text in _cells(path) if kind == "markdown")


def _glossary_entries() -> set[str]:
    text = (BOOK / "glossary.md").read_text()
    block = text[text.index("```{glossary}"):text.index("```", text.index("```{glossary}") + 3)]
    return {line.strip() for line in block.splitlines()[1:] if line and not line[0].isspace()}


# --------------------------------------------------------------------------- mvae.pages
def test_a_takeaway_is_a_myst_box_and_points_a_list():
    box = pages.takeaway("First, 1.5 nats.", "", "Second.").data
    assert box == (":::{admonition} In short\n:class: tip mvae-takeaway\n"
                   "First, 1.5 nats. Second.\n:::\n")
    assert pages.points("a", " ", "b").data == "* a\n* b"
    assert pages.term("nats") == "{term}`nats`"
    assert pages.term("SSE", "distortion") == "{term}`SSE <distortion>`"
    assert pages.percent(0.96884) == "96.88%" and pages.number(1234.5, 1) == "1,234.5"


def test_paragraph_words_are_counted_as_a_reader_counts_them():
    assert pages.word_count("The {term}`rate` of a VAE's code, in nats.") == 8
    assert pages.longest(["one two", "one two three"]) == 3 and pages.longest([]) == 0


def test_the_repository_address_is_set_once_in_the_book_config():
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    url = config["repository"]["url"]
    assert url.startswith("https://") and pages.repository_url() == url.rstrip("/")
    # no page types it: they print {{ repository_url }}, the notebooks' setup cell clones it
    for path in [*BOOK.glob("[0-9]*.py"), *BOOK.glob("[0-9]*.md"), BOOK / "glossary.md"]:
        assert url not in path.read_text(), path.name
    assert pages.repository_link("results/paper/claims.md") == \
        f"[`results/paper/claims.md`]({url}/blob/main/results/paper/claims.md)"


def _extension(name: str):
    spec = importlib.util.spec_from_file_location(name, BOOK / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_notebooks_and_pages_read_the_configured_address(tmp_path):
    downloads = _extension("notebook_downloads")
    (tmp_path / "01_x.py").write_text("# %% [markdown]\n# # X\n\n# %%\nprint(1)\n")
    downloads.write_notebooks(tmp_path, "https://example.org/me/mvae/")
    cells = json.loads((tmp_path / "01_x.ipynb").read_text())["cells"]
    assert "REPOSITORY = 'https://example.org/me/mvae'" in "".join(cells[0]["source"])

    class Config:
        html_theme_options = {"repository_url": "https://example.org/me/mvae"}
        myst_substitutions = {"other": "kept"}

    class App:
        srcdir = str(tmp_path)

    config = Config()
    downloads._on_config_inited(App(), config)
    assert config.myst_substitutions == {"other": "kept",
                                         "repository_url": "https://example.org/me/mvae"}


# --------------------------------------------------------------------------- the chapters
@pytest.mark.parametrize("chapter", ANSWER_FIRST)
def test_each_chapter_answers_first_and_sums_up_last(chapter):
    """The first thing after the title is the takeaway box; the last section but the "Run it
    yourself" one (and its exercises) is the summary."""
    cells = _cells(_source(chapter))
    if cells[0][0] == "markdown" and len(cells) == 1:  # a Markdown page
        text = cells[0][1]
        assert re.match(r"# [^\n]+\n\n:::\{admonition\} In short\n:class: tip mvae-takeaway",
                        text), chapter
    else:
        titled = next(i for i, (kind, text) in enumerate(cells)
                      if kind == "markdown" and text.lstrip().startswith("# "))
        assert cells[titled][1].strip().count("\n") == 0, "the title cell holds the title only"
        assert "pages.takeaway(" in cells[titled + 1][1], chapter
    headings = re.findall(r"^## (.+)$", _prose(_source(chapter)), flags=re.M)
    assert "Summary" in headings, chapter
    after = headings[headings.index("Summary") + 1:]
    assert set(after) <= {"Exercises", "Run it yourself"}, (chapter, after)


@pytest.mark.parametrize("chapter", EXERCISES)
def test_every_exercise_has_a_hidden_solution(chapter):
    prose = _prose(_source(chapter))
    exercises = [m.start() for m in re.finditer(r"^\*\*Exercise \d+", prose, flags=re.M)]
    assert len(exercises) >= 3, chapter
    for start, end in zip(exercises, [*exercises[1:], len(prose)], strict=True):
        block = prose[start:end]
        assert re.search(r":::\{admonition\} Solution\n:class: dropdown\n.+?\n:::", block,
                         re.S), (chapter, block[:60])


@pytest.mark.parametrize("chapter", [*ANSWER_FIRST, "glossary"])
def test_every_term_role_names_a_glossary_entry(chapter):
    entries = _glossary_entries()
    text = _source(chapter).read_text() if chapter != "glossary" else \
        (BOOK / "glossary.md").read_text()
    roles = re.findall(r"\{term\}`([^`]+)`", text)
    roles += [b or a for a, b in re.findall(r"pages\.term\('([^']+)'(?:, '([^']+)')?\)", text)]
    for role in roles:
        target = re.search(r"<([^>]+)>$", role)
        assert (target.group(1) if target else role) in entries, (chapter, role)


@pytest.mark.parametrize("chapter", ANSWER_FIRST)
def test_a_glossary_term_is_linked_where_the_prose_first_uses_it(chapter):
    prose = _prose(_source(chapter))
    for word in FIRST_USE:
        found = re.search(rf"(?<![\w-]){re.escape(word)}", prose, flags=re.I)
        if not found:
            continue
        inside_role = re.search(r"\{term\}`[^`]*$", prose[:found.start()])
        assert inside_role, f"{chapter}: the first '{word}' is not a glossary link"


def test_the_glossary_explains_every_term_the_issue_names():
    entries = _glossary_entries()
    for term in ("nats", "rate", "distortion", "seed spread", "lent spread", "standard error",
                 "p-value", "adjusted p-value", "Holm", "equivalence test", "TOST", "fragile",
                 "Bartlett's test", "Spearman's correlation", "V-statistic", "1 SE", "CKA", "FID"):
        assert term in entries, term
    text = (BOOK / "glossary.md").read_text()
    paragraphs = re.split(r"\n\s*\n", text)
    assert pages.longest(paragraphs) <= 150
