# 6. Tables (CSV + JSON, the paper's number beside ours) and figures (PNG + SVG), then the
#    provenance record of the whole run and 7. the book.


rule selections:
    # Which runs feed which table and figure (mvae.selections), written once for the table and
    # figure rules and the book to read back (Selections.read). Rewritten when the preset or the
    # code that selects changes (their mtime, or the selections themselves where Snakemake has
    # recorded them).
    input:
        EXP.path,
        selections_code(),
    output:
        SELECTIONS,
    params:
        selections=SEL.as_dict(),
    log:
        f"{R}/logs/selections.log",
    script:
        "../scripts/selections.py"


rule table:
    input:
        # ancient: a rewritten selections.json rebuilds no table by its date alone (a changed
        # selection changes the table's inputs, and the grid's refresh forces the tables)
        selections=ancient(SELECTIONS),
        files=lambda w: TABLE_INPUTS[w.table](),
    output:
        csv=f"{R}/tables/{{table}}.csv",
        json=f"{R}/tables/{{table}}.json",
    wildcard_constraints:
        table="|".join(TABLE_INPUTS),
    params:
        preset=EXP.preset,
    log:
        f"{R}/logs/tables/{{table}}.log",
    script:
        "../scripts/table.py"


rule figure:
    input:
        selections=ancient(SELECTIONS),
        files=lambda w: FIGURE_INPUTS[w.figure](),
    output:
        png=f"{R}/figures/{{figure}}.png",
        svg=f"{R}/figures/{{figure}}.svg",
    wildcard_constraints:
        figure="|".join(FIGURE_INPUTS),
    log:
        f"{R}/logs/figures/{{figure}}.log",
    script:
        "../scripts/figure.py"


rule claims:
    # Every claim's comparisons as a table, and the page that renders it (mvae.claims).
    input:
        expand(f"{R}/tables/{{table}}.csv", table=claim_tables()),
    output:
        page=f"{R}/claims.md",
        table=f"{R}/tables/verdicts.csv",
    params:
        preset=EXP.preset,
    log:
        f"{R}/logs/claims.log",
    script:
        "../scripts/claims.py"


rule provenance:
    input:
        benchmarks=benchmark_targets(),
        tables=expand(f"{R}/tables/{{table}}.json", table=TABLES),
    output:
        PROVENANCE,
    params:
        preset=EXP.preset,
        runs={name: c.to_dict() for name, c in RUNS.items()},
        settings=SETTINGS,
    log:
        f"{R}/logs/provenance.log",
    script:
        "../scripts/provenance.py"


rule book:
    # The book reads results/<preset>/ (tables, figures, eval) through MVAE_PRESET.
    input:
        tables=expand(f"{R}/tables/{{table}}.{{ext}}", table=TABLES, ext=["csv", "json"]),
        figures=expand(f"{R}/figures/{{figure}}.png", figure=FIGURES),
        evals=eval_targets(),
        provenance=PROVENANCE,
        selections=SELECTIONS,
    output:
        touch(f"{R}/logs/book.done"),
    params:
        preset=os.path.basename(R),
        results=config.get("results_dir", "results"),
        # the venv's jupyter-book even when Snakemake was started without activating the venv
        jb=next((p for p in [os.path.join(os.path.dirname(sys.executable), "jupyter-book")]
                 if os.path.exists(p)), "jupyter-book"),
        python=sys.executable,
        shots=f"{R}/logs/book-screenshots",
    log:
        f"{R}/logs/book.log",
    shell:
        # a local MathJax (the book extra's sphinx-mathjax-offline, else a verified npm tarball)
        # so that the built book renders offline; without either its formulas load from the CDN
        "({params.python} scripts/fetch_mathjax.py || true) > {log} 2>&1; "
        "MVAE_PRESET={params.preset} MVAE_RESULTS_DIR={params.results} "
        # --all: every page re-read and re-executed, so no page keeps the outputs of an earlier
        # build from other results (Sphinx re-reads only changed sources otherwise)
        "{params.jb} build --all -W --keep-going book/ >> {log} 2>&1 && "
        # every page in a headless browser (static checks only without Chromium): formulas
        # typeset, images loaded, nothing wider than the column, no error output
        "{params.python} scripts/check_book.py book/_build/html "
        "$(test -f book/_build/html/_static/mathjax/tex-chtml.js && echo --offline) "
        "--screenshots {params.shots} >> {log} 2>&1"


rule report:
    # Tables, figures and provenance without the book (scripts/paper_grid.py refreshes the
    # committed ones with `--config committed=true` after each archived run).
    input:
        SELECTIONS,
        expand(f"{R}/tables/{{table}}.csv", table=TABLES),
        expand(f"{R}/figures/{{figure}}.png", figure=FIGURES),
        PROVENANCE,
        claims_target(),
