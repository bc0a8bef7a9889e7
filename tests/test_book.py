"""The book: mvae.reporting (how chapters read results), the offline build, the browser check."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mvae import reporting as rp

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHROMIUM = Path("/usr/bin/chromium")
CHAPTERS = ["01_intro", "02_vae", "03_model", "04_dhsic", "05_mnist_reconstructions",
            "06_latent_spaces", "07_probes", "08_cifar10", "09_claims", "10_beyond",
            "11_differences", "12_reproducing", "13_own_images", "14_disentanglement",
            "glossary", "references"]

# A minimal 1x1 PNG (the figures' content does not matter to the loaders).
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def make_results(base: Path, preset: str = "quick") -> Path:
    """A small fake ``<base>/<preset>/`` in the pipeline's layout."""
    root = base / preset
    (root / "tables").mkdir(parents=True)
    (root / "figures").mkdir()
    config = {"name": "mnist-k4-s0", "dataset": "mnist", "components": 4, "latent_dim": 20,
              "beta": 1.0, "epochs": 3, "seed": 0}
    frame = pd.DataFrame([{"run": "mnist-k4-s0", "K": 4, "sse_per_image": 25.5,
                           "paper_sse_per_image": float("nan"), "paper_note": "",
                           "source": "MNIST, test source"}])
    frame.to_csv(root / "tables" / "table1_reconstruction.csv", index=False)
    (root / "tables" / "table1_reconstruction.json").write_text(json.dumps({
        "table": "table1_reconstruction", "preset": preset,
        "rows": json.loads(frame.to_json(orient="records")),
        "provenance": {"commits": ["0123456789abcdef0123+dirty"], "devices": ["cpu (test)"],
                       "seeds": {"mnist-k4-s0": 0}, "configs": {"mnist-k4-s0": config}}}))
    (root / "figures" / "fig1_reconstructions.png").write_bytes(PNG)
    run = root / "runs" / "mnist-k4-s0"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("".join(f"{k}: {v}\n" for k, v in config.items()))
    (run / "history.json").write_text(json.dumps(
        [{"epoch": 1, "train": {"loss": 2.0}, "test": {"loss": 3.0}}]))
    return root


@pytest.fixture
def fake_results(tmp_path, monkeypatch):
    make_results(tmp_path)
    monkeypatch.setenv(rp.ENV_RESULTS, str(tmp_path))
    monkeypatch.delenv(rp.ENV_PRESET, raising=False)
    return tmp_path


# --------------------------------------------------------------------------- reporting
def test_preset_defaults_to_quick_then_paper(fake_results):
    assert rp.current_preset() == "quick"
    assert rp.results_dir() == fake_results / "quick"
    (fake_results / "paper").mkdir()
    assert rp.current_preset() == "paper"


def test_preset_from_environment(fake_results, monkeypatch):
    monkeypatch.setenv(rp.ENV_PRESET, "tiny")
    assert rp.results_dir() == fake_results / "tiny"


def test_relative_results_dir_is_taken_from_the_repository_root(monkeypatch, tmp_path):
    monkeypatch.setenv(rp.ENV_RESULTS, "results")
    monkeypatch.chdir(BOOK)  # where jupyter-book executes the notebooks
    assert rp.results_base() == ROOT / "results"


def test_load_table_and_figure(fake_results):
    table = rp.load_table("table1_reconstruction")
    assert list(table.run) == ["mnist-k4-s0"]
    assert table.sse_per_image.iloc[0] == 25.5
    assert rp.figure_path("fig1_reconstructions").read_bytes() == PNG
    assert rp.run_config("mnist-k4-s0")["components"] == 4
    assert rp.run_history("mnist-k4-s0")["test.loss"].tolist() == [3.0]
    assert rp.have("table:table1_reconstruction", "figure:fig1_reconstructions")
    assert not rp.have("table:table3_cifar")


def test_missing_results_name_the_file_and_the_command(fake_results):
    with pytest.raises(rp.MissingResults) as info:
        rp.load_table("table3_cifar")
    message = str(info.value)
    assert "table3_cifar.csv" in message
    assert "snakemake --cores all --config preset=quick" in message
    assert "snakemake --cores all --config preset=quick" in info.value._repr_html_()
    with pytest.raises(FileNotFoundError):  # a MissingResults is a FileNotFoundError
        rp.figure_path("fig5_cifar")
    with pytest.raises(rp.MissingResults, match="The file of mnist-k4-s0.s test images is missing"):
        rp.example_images("mnist-k4-s0")  # the play cells' digits (chapters 05 and 06)


def test_example_images_are_the_runs_stored_digits(fake_results):
    import numpy as np

    stored = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 1, 28, 28)
    folder = rp.results_dir() / "eval" / "mnist-k4-s0"
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "examples.npz", images=stored)
    assert np.array_equal(rp.example_images("mnist-k4-s0"), stored)


def test_paper_preset_command_has_no_preset_override(tmp_path, monkeypatch):
    monkeypatch.setenv(rp.ENV_RESULTS, str(tmp_path))
    monkeypatch.setenv(rp.ENV_PRESET, "paper")
    with pytest.raises(rp.MissingResults) as info:
        rp.load_table("table1_reconstruction")
    assert info.value.command == "snakemake --cores all"


def test_show_helpers_display_the_note_instead_of_failing(fake_results):
    note = rp.show_table("table2_probes")
    assert isinstance(note, rp.MissingResults)
    assert "Results not available" in note._repr_html_()
    assert isinstance(rp.show_figure("fig3_latents"), rp.MissingResults)
    figure = rp.show_figure("fig1_reconstructions")._repr_html_()
    assert base64.b64encode(PNG).decode() in figure           # the pipeline's PNG, embedded
    assert '<figcaption' in figure and "Fig. 1: test digits" in figure
    assert 'alt="Rows of MNIST test digits' in figure        # alt text that says what is shown
    assert "25.5" in rp.show_table("table1_reconstruction").to_html()
    assert rp.table_notes("table2_probes")._repr_html_() == ""
    assert "MNIST, test source" in rp.table_notes("table1_reconstruction")._repr_html_()


def test_show_plot_embeds_a_chapter_figure_with_caption_and_alt_text():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    markup = rp.show_plot(fig, "A caption & more", "A line falling")._repr_html_()
    png = base64.b64decode(markup.split("base64,")[1].split('"')[0])
    assert png.startswith(b"\x89PNG")
    assert 'alt="A line falling"' in markup and "A caption &amp; more</figcaption>" in markup
    assert not plt.fignum_exists(fig.number)                 # closed: not drawn a second time


def test_table_or_note_displays_the_note_and_goes_on(fake_results, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    assert rp.table_or_note("table2_probes") is None
    assert len(shown) == 1 and isinstance(shown[0], rp.MissingResults)
    assert rp.table_or_note("table1_reconstruction").sse_per_image.iloc[0] == 25.5
    assert len(shown) == 1


def test_provenance_box(fake_results):
    box = rp.provenance_box("table1_reconstruction")._repr_html_()
    for expected in ("Provenance", "quick", "not the paper-scale run", "0123456789ab",
                     "uncommitted changes", "cpu (test)", "mnist-k4-s0", "components=4",
                     "seed=0"):
        assert expected in box, expected
    # a box about some of a table's runs lists only those
    meta = json.loads((fake_results / "quick/tables/table1_reconstruction.json").read_text())
    meta["provenance"]["configs"]["mnist2d-k4"] = {"components": 4, "latent_dim": 2, "seed": 7}
    (fake_results / "quick/tables/table1_reconstruction.json").write_text(json.dumps(meta))
    assert "mnist2d-k4" in rp.provenance_box("table1_reconstruction")._repr_html_()
    two_d = rp.provenance_box("table1_reconstruction", runs=["mnist2d-k4"])._repr_html_()
    assert "mnist2d-k4" in two_d and "mnist-k4-s0" not in two_d and "seed=7" in two_d
    # Missing provenance is "unknown", never an error.
    empty = rp.provenance_box("table3_cifar")._repr_html_()
    assert "unknown" in empty


def test_provenance_box_is_one_folded_line(fake_results):
    box = rp.provenance_box("table1_reconstruction")._repr_html_()
    assert box.startswith('<details class="mvae-provenance"><summary>')
    summary = re.search(r"<summary>(.*?)</summary>", box).group(1)
    assert "quick preset, 1 run, seed 0, 1 commit, 1 device" in summary
    assert "<table" not in summary and "<table" in box  # the record opens on a click


def test_results_table_reads_like_a_table(fake_results):
    frame = pd.DataFrame({"run": ["a", "b"], "K": [4.0, 1.0], "knn_concatenated": [0.9585, 0.5],
                          "sse_per_image": [8.42259, float("nan")], "n_test": [10000.0, 10000.0],
                          "paper_setup": [True, False]})
    markup = rp.format_table(frame, 3, source="table1_reconstruction", key="K",
                             where="paper_setup", caption="Table I").to_html()
    assert 'data-csv="' in markup and 'table1_reconstruction.csv"' in markup
    assert 'data-csv-key="K"' in markup and 'data-csv-where="paper_setup"' in markup
    cells = re.findall(r"<td[^>]*>(.*?)</td>", markup)
    assert cells[:6] == ["a", "4", "95.85", "8.423", "10,000", "yes"]  # no 4.0000, 10000.00
    assert cells[9] == "–"                                              # a missing value
    headers = re.findall(r"<th[^>]*>(.*?)</th>", markup)
    assert headers[2:4] == ['<span title="knn_concatenated">KNN (%)</span>',  # short header,
                            '<span title="sse_per_image">SSE / image</span>']  # CSV name
    assert headers[:2] == ["run", "K"]                                  # no index column
    assert "<caption>Table I</caption>" in markup
    classes = re.findall(r'<td class="([^"]*)"', markup)
    assert [c.split()[3:] for c in classes[:7]] == [["run"], ["num"], ["num"], ["num"], ["num"],
                                                    [], ["run"]]        # numbers right-aligned
    assert classes[9].split()[3:] == ["num"]                            # a missing number too
    # a pivot's index becomes the first column; an unnamed (filtered) index disappears
    pivot = rp.format_table(frame.set_index("run").rename_axis("features")).to_html()
    assert re.findall(r"<th[^>]*>(.*?)</th>", pivot)[0] == "features"
    assert ">index<" not in rp.format_table(frame[frame.K > 2]).to_html()
    assert rp.format_table(frame).to_html() == rp.format_table(frame).to_html()  # reproducible


def test_computed_sentences_render_as_markdown():
    assert rp.say("one.", "", "two.").data == "one. two."
    assert rp.say("K in [1, 10]: $5 *or* <6>").data == "K in \\[1, 10\\]: \\$5 \\*or\\* &lt;6&gt;"


def test_a_chapter_shows_its_claims_from_the_verdicts_table(tmp_path, monkeypatch):
    """The book renders the rows of tables/verdicts.csv through mvae.claims.page, as claims.md
    does: a summary row per claim, then its comparisons; a missing table is a note."""
    import pandas as pd

    from mvae.claims import verdicts

    t1 = pd.DataFrame([{"run": f"k{k}-s{i}", "K": k, "sse_per_image": v, "paper_setup": True,
                        "best_component_sse": 2 * v, "worst_component_sse": 3 * v,
                        "mean_image_sse": 52.9}
                       for k, vs in {1: [8.4, 7.8, 8.4], 2: [9.6, 9.5, 9.8]}.items()
                       for i, v in enumerate(vs)])
    (tmp_path / "x" / "tables").mkdir(parents=True)
    verdicts({"table1_reconstruction": t1}).to_csv(tmp_path / "x" / "tables" / "verdicts.csv",
                                                    index=False)
    monkeypatch.setenv(rp.ENV_RESULTS, str(tmp_path))
    shown = rp.show_claims("t1-mixture-vs-vae", preset="x").data
    assert "a mixture reconstructs better than a VAE" in shown and "K = 2" in shown
    assert "vs our VAE" in shown and "t1-trend" not in shown
    assert isinstance(rp.show_claims("t1-trend", preset="missing"), rp.MissingResults)


def test_figures_are_numbered_with_the_papers_number_kept(fake_results):
    figure = rp.show_figure("fig1_reconstructions", number="5.1")._repr_html_()
    assert "Figure 5.1 (the paper&#x27;s Fig. 1).</span> Test digits" in figure
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots()
    markup = rp.show_plot(fig, "A line.", "alt", number="2.1")._repr_html_()
    assert '<span class="caption-number">Figure 2.1.</span> A line.' in markup


def test_preset_banner(fake_results, monkeypatch):
    assert "not paper scale" in rp.preset_banner()._repr_html_()
    monkeypatch.setenv(rp.ENV_PRESET, "paper")
    assert "Results not available" in rp.preset_banner()._repr_html_()


# --------------------------------------------------------------------------- book sources
def test_toc_lists_every_chapter_and_nothing_else():
    toc = (BOOK / "_toc.yml").read_text()
    for chapter in CHAPTERS:
        assert chapter in toc
        assert any((BOOK / f"{chapter}{ext}").is_file() for ext in (".md", ".py")), chapter


def test_book_needs_no_network_at_build_time():
    """Nothing is fetched while the book builds: no intersphinx, every notebook executed here;
    the launch buttons are links to the repository the config names, not downloads."""
    import yaml

    config = (BOOK / "_config.yml").read_text()
    assert "intersphinx" not in config
    assert "execute_notebooks: force" in config
    parsed = yaml.safe_load(config)
    assert parsed["launch_buttons"]["thebe"] is False and not parsed["launch_buttons"][
        "jupyterhub_url"]
    assert parsed["repository"]["url"].startswith("https://")


@pytest.mark.parametrize("notebook", sorted(BOOK.glob("[0-9]*.py")), ids=lambda p: p.name)
def test_notebooks_are_jupytext_percent_with_a_python3_kernel(notebook):
    import jupytext

    nb = jupytext.read(notebook, fmt="py:percent")
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert any(cell.cell_type == "code" for cell in nb.cells)


# --------------------------------------------------------------------------- the build
def _preset_with_results() -> str | None:
    preset = os.environ.get(rp.ENV_PRESET) or rp.current_preset()
    return preset if (rp.results_dir(preset) / "tables").is_dir() else None


def _build(out: Path, preset: str, results: Path) -> Path:
    """Build a copy of the book (offline, -W --keep-going) under ``out``; return its HTML."""
    jb = Path(sys.executable).with_name("jupyter-book")
    if not jb.is_file():
        pytest.skip("jupyter-book is not installed (pip install -e '.[book]')")
    # the plain command, as the README gives it: no fetch_mathjax.py first (the book extra's
    # MathJax must make it render offline by itself)
    shutil.copytree(BOOK, out / "book", ignore=shutil.ignore_patterns("_build", "_mathjax"))
    env = {**os.environ, rp.ENV_PRESET: preset, rp.ENV_RESULTS: str(results)}
    start = time.perf_counter()
    proc = subprocess.run([str(jb), "build", "-W", "--keep-going", str(out / "book")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    print(f"book built in {seconds:.0f} s from {results}/{preset}")
    return out / "book" / "_build" / "html"


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """The book built once from the real results."""
    preset = _preset_with_results()
    if preset is None:
        pytest.skip(f"no pipeline results under {rp.results_dir()}/tables: run "
                    "`snakemake --cores all --config preset=quick` first")
    return _build(tmp_path_factory.mktemp("book"), preset, rp.results_base())


@pytest.mark.slow
def test_book_builds_warning_free(built_book):
    for chapter in CHAPTERS:
        assert (built_book / f"{chapter}.html").is_file(), chapter
    # Numbers come from results: Table I's page shows the table, not the missing-results note.
    page = (built_book / "05_mnist_reconstructions.html").read_text()
    assert "sse_per_image" in page


@pytest.mark.slow
def test_every_notebook_chapter_offers_its_ipynb(built_book):
    """Each .py chapter's page links a downloadable .ipynb of itself that opens as a notebook
    with the chapter's cells (book/_ext/notebook_downloads.py)."""
    import nbformat

    for chapter in sorted(BOOK.glob("[0-9]*.py")):
        page = (built_book / f"{chapter.stem}.html").read_text()
        href = re.search(rf'href="(_downloads/[^"]*/{chapter.stem}\.ipynb)"', page)
        assert href, f"{chapter.stem}: no .ipynb download link"
        nb = nbformat.read(built_book / href.group(1), as_version=4)
        nbformat.validate(nb)
        assert any("import" in c.source for c in nb.cells if c.cell_type == "code"), chapter


@pytest.mark.slow
def test_book_builds_warning_free_without_results(tmp_path):
    """Missing results: every results chapter says which command produces them, no warning."""
    html = _build(tmp_path, "quick", tmp_path / "no-results")
    for chapter in CHAPTERS[4:10]:
        page = (html / f"{chapter}.html").read_text()
        assert "Results not available" in page, chapter
        assert "snakemake --cores all --config preset=quick" in page, chapter


@pytest.mark.slow
def test_built_pages_pass_the_static_check(built_book):
    """Offline included: the plain build serves its own MathJax (the book extra's)."""
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").is_file()
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_book.py"),
                           str(built_book), "--no-browser", "--offline"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.is_file(),
                    reason="Chromium is not installed (apt-get install chromium)")
def test_built_pages_render_in_chromium(built_book, tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_book.py"),
                           str(built_book), "--offline", "--screenshots", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report) >= {f"{c}.html" for c in CHAPTERS}
    assert all((tmp_path / f"{c}.png").is_file() for c in CHAPTERS)


# Decimal numbers that prose may state although no results file holds them: the paper's setup,
# config values a reader types, software versions, and arithmetic on them.
PROSE_CONSTANTS = {
    "0.25": "the authors' Dir(0.25) prior (dirichlet_prior)",
    "0.05": "the authors' CIFAR-10 KL weight", "0.02": "1 / (2 * 0.1^2) * 0.01 in the same row",
    "0.9": "the authors' dropout keep probability", "0.1": "a gaussian_std / dirichlet_prior value",
    "0.0": "beta: 0.0 in a config line", "100000.0": "beta of an exercise's config line",
    "4.5": "sqrt(20), the median heuristic's bandwidth for d = 20",
    "3.11": "the Python version", "2.13": "the torch version", "3.2": "MathJax 3.2.2's version",
    "0.5": "rho of an exercise's example", "0.01": "the low end of an exercise's bandwidth range",
}
#: Numbers that name a figure of the book ("Figure 5.1"): labels, not measurements.
FIGURE_LABEL = re.compile(r"\bFigure \d+\.\d+")


def _paper_numbers() -> set[str]:
    """Every number the paper states, as mvae.paper_numbers records it (Tables I-III, peers,
    NLL)."""
    from mvae import paper_numbers as tables

    found: set[str] = set()

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, float):
            found.add(f"{value:.2f}")
            found.add(f"{value:g}")

    for name in dir(tables):
        if name.startswith(("PAPER_", "PUBLISHED_")):
            walk(getattr(tables, name))
    return found


def _prose(chapter: Path) -> str:
    """The Markdown a reader sees written by hand: .md pages and the markdown cells of notebooks
    (code output is computed from the results files and so may hold any measured number)."""
    text = chapter.read_text()
    if chapter.suffix == ".md":
        return text
    cells = re.split(r"^# %%(.*)$", text, flags=re.M)
    return "\n".join(body for head, body in zip(cells[1::2], cells[2::2], strict=True)
                     if "[markdown]" in head)


@pytest.mark.parametrize("chapter", sorted([*BOOK.glob("[0-9]*.py"), *BOOK.glob("[0-9]*.md")]),
                         ids=lambda p: p.name)
def test_prose_quotes_no_measured_number_by_hand(chapter):
    """A measured number typed into prose goes stale the moment the grid reruns; the book prints
    measured numbers from the results files instead. So every decimal in hand-written prose must
    be the paper's (mvae.paper_numbers) or a stated constant of the setup."""
    allowed = _paper_numbers() | set(PROSE_CONSTANTS)
    quoted = re.findall(r"(?<![\w.$])(\d+\.\d+)", FIGURE_LABEL.sub("", _prose(chapter)))
    stray = sorted({n for n in quoted if n not in allowed})
    assert not stray, (f"{chapter.name} quotes {stray} in prose: print it from the results files "
                       "(mvae.reporting) or, if it is a constant of the setup, add it to "
                       "PROSE_CONSTANTS with its reason")


def test_missing_results_of_a_half_trained_archive_say_how_far_it_is(tmp_path, monkeypatch):
    """A committed archive with some runs done: the note counts them against the preset's grid."""
    from mvae.presets import load_preset

    monkeypatch.setenv(rp.ENV_RESULTS, str(tmp_path))
    monkeypatch.setenv(rp.ENV_PRESET, "paper")
    for run in ("mnist-k1-s0", "mnist-k4-s0"):
        (tmp_path / "paper" / "runs" / run).mkdir(parents=True)
        (tmp_path / "paper" / "runs" / run / "done.json").write_text("{}")
    (tmp_path / "paper" / "runs" / "mnist-k2-s0").mkdir()  # started, not done: not counted
    with pytest.raises(rp.MissingResults) as info:
        rp.load_table("table3_cifar")
    total = len(load_preset("paper", ROOT / "pipeline" / "config").runs)
    assert f"hold 2 of its {total} runs" in str(info.value)
    assert f"hold 2 of its {total} runs" in info.value._repr_html_()
    assert rp.archive_progress("quick") is None  # no archive: no progress line


@pytest.mark.parametrize("page", ["README.md", "book/01_intro.py"])
def test_the_archive_is_as_complete_as_the_prose_says(page):
    """Where README or the intro say "all N runs" are committed, N must be the paper grid's size
    and the committed archive must hold every one of them (a run added to the preset, or an
    archive that loses one, makes the sentence false)."""
    from mvae.presets import load_preset

    root = Path(__file__).resolve().parents[1]
    claimed = [int(n) for n in re.findall(r"all (\d+) runs", (root / page).read_text())]
    if not claimed:  # the page makes no count to check (the grid grows run by run)
        return
    archived = {d.name for d in (root / "results" / "paper" / "runs").iterdir()
                if (d / "done.json").is_file()}
    grid = set(load_preset("paper", ROOT / "pipeline" / "config").runs)
    assert set(claimed) == {len(grid)}, (claimed, len(grid))
    assert grid <= archived, f"not committed: {sorted(grid - archived)}"


# --------------------------------------------------------------------------- launch and MathJax
def _book_extension(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, BOOK / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _without_repository(text: str) -> str:
    """The notebook with its setup cell's address blanked (the build writes the configured one)."""
    return re.sub(r"REPOSITORY = '[^']*'", "REPOSITORY = ...", text)


@pytest.mark.parametrize("chapter", sorted(BOOK.glob("[0-9]*.py")), ids=lambda p: p.name)
def test_each_chapter_has_its_notebook_for_download_and_launch(chapter):
    """book/<chapter>.ipynb (what Colab and Binder open, and the download) is the chapter as it
    is now, with the setup cell first; the build rewrites it (book/_ext/notebook_downloads.py),
    so a chapter edited without rebuilding the book fails here."""
    import nbformat

    downloads = _book_extension("notebook_downloads")
    notebook = chapter.with_suffix(".ipynb")
    assert notebook.is_file(), f"{notebook.name} is missing: build the book"
    expected = downloads.notebook_text(chapter, "")
    assert _without_repository(notebook.read_text()) == _without_repository(expected), (
        f"{notebook.name} is older than {chapter.name}: build the book and commit both")
    nb = nbformat.reads(notebook.read_text(), as_version=4)
    nbformat.validate(nb)
    assert downloads.SETUP_TAG in nb.cells[0].metadata.get("tags", [])
    assert "download.pytorch.org/whl/cpu" in nb.cells[0].source  # never the CUDA wheel
    assert f"<{notebook.name}>" in chapter.read_text()             # the chapter links it


def test_the_setup_cell_clones_only_a_network_repository(tmp_path, monkeypatch):
    downloads = _book_extension("notebook_downloads")
    assert downloads.repository_url("https://example.org/x/mvae.git", tmp_path) == \
        "https://example.org/x/mvae.git"
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "/some/local/path"],
                   check=True)
    assert downloads.repository_url("", tmp_path) == ""      # a local path is never written
    subprocess.run(["git", "-C", str(tmp_path), "remote", "set-url", "origin",
                    "https://example.org/x/mvae.git"], check=True)
    assert downloads.repository_url("", tmp_path) == "https://example.org/x/mvae.git"


def test_sphinx_reads_the_py_chapter_not_its_notebook():
    config = (BOOK / "_config.yml").read_text()
    assert '"[0-9]*.ipynb"' in config


def test_binder_installs_a_cpu_torch():
    requirements = (ROOT / "binder" / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    assert re.search(r"^torch==[\d.]+\+cpu$", requirements, re.M)
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert 'pip install --no-cache-dir -e ".[book]"' in post_build
    assert os.access(ROOT / "binder" / "postBuild", os.X_OK)


def test_the_book_extra_brings_a_verified_mathjax(monkeypatch):
    """`jupyter-book build book/` alone renders formulas offline: the book extra installs
    sphinx-mathjax-offline, and offline_mathjax uses it only when its files are MathJax 3.2.2's."""
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["book"]
    assert "sphinx-mathjax-offline==0.0.2" in extra
    mathjax = _book_extension("offline_mathjax")
    copy = mathjax.packaged_copy()
    if copy is None:
        pytest.skip("sphinx-mathjax-offline is not installed (pip install -e '.[book]')")
    assert (copy / "tex-chtml.js").is_file()
    assert mathjax.local_copy(BOOK / "no-such-folder") == copy
    monkeypatch.setattr(mathjax, "PACKAGE_DIGEST", "0" * 64)   # another copy: refused
    assert mathjax.packaged_copy() is None


def test_a_missing_file_is_named_from_the_repository_root(monkeypatch):
    """The note names the file as a reader's checkout has it, not the folder of whoever built
    the book; a file outside the repository keeps its own path."""
    monkeypatch.delenv(rp.ENV_RESULTS, raising=False)
    inside = rp.MissingResults(rp.repo_root() / "results" / "paper" / "tables" / "x.csv", "paper")
    assert inside.shown == "results/paper/tables/x.csv"
    assert "<code>results/paper/tables/x.csv</code>" in inside._repr_html_()
    assert rp.MissingResults("/elsewhere/x.csv", "paper").shown == "/elsewhere/x.csv"


def test_the_paper_presets_banner_is_one_line(fake_results, monkeypatch):
    """On the paper preset the banner is a single quiet line (it sits on every results chapter's
    first screen), and says where the numbers come from."""
    (fake_results / "paper" / "tables").mkdir(parents=True)
    html = rp.preset_banner("paper")._repr_html_()
    assert html.startswith('<p class="mvae-preset-line">') and "results/paper/" in html
    assert "admonition" not in html
