# Paths and target lists shared by the rules. R is results/<preset>; RUNS, SETTINGS and the run
# selections (SEL, CIFAR, DIVERSE, NLL, BASELINES) come from the Snakefile.

from mvae import layout, registry


def _at(paths):
    return [f"{R}/{p}" for p in paths]


# Every table and figure this preset can make, with its input files (mvae.registry).
TABLE_INPUTS = {name: (lambda t=t: _at(t.inputs(SEL))) for name, t in registry.TABLES.items()}
FIGURE_INPUTS = {name: (lambda f=f: _at(f.inputs(SEL))) for name, f in registry.FIGURES.items()}
TABLES = [name for name, t in registry.TABLES.items() if t.available(SEL)]
FIGURES = [name for name, f in registry.FIGURES.items() if f.available(SEL)]
# The selections as the pipeline wrote them (rule selections): what the table and figure rules
# and the book read, so that each reads the one record.
SELECTIONS = f"{R}/{layout.SELECTIONS}"


def selections_code():
    """The module that selects (mvae.selections): a change to it rewrites selections.json."""
    import mvae.selections

    return mvae.selections.__file__


from mvae.archive import (
    ArchiveError,
    forced_by,
    provenance_target,
    rebuilt_prefixes,
    require_intact,
)

# A rebuild's own record goes beside the archive, not over its committed provenance.json, unless
# the grid refreshes the archive itself (`archive_provenance=true`, scripts/paper_grid.py).
PROVENANCE = provenance_target(R, archiving=str(config.get("archive_provenance", "false"))
                               .lower() in ("1", "true", "yes"))


def run_dir(run):
    return f"{R}/{layout.run_dir(run)}"


def run_eval_targets(run):
    """Every evaluation file of one run (what `evaluated` waits for and the archive keeps)."""
    return [f"{R}/{layout.eval_file(run, name)}" for name in SEL.evaluations(run)]


def eval_targets():
    """Each run's `evaluated.json`, which waits for all of the run's evaluation files: asking for
    it (not for the files) puts the `evaluated` job in the DAG, which joins the run's evaluation
    jobs into one connected SLURM group job (pipeline/profiles/slurm) instead of two; and each
    dataset's baselines."""
    return [f"{R}/{layout.eval_file(run, 'evaluated.json')}" for run in RUNS] + [
        f"{R}/{layout.baseline_file(dataset)}" for dataset in BASELINES]


def benchmark_targets():
    """Every job's benchmark file (gathered into provenance.json)."""
    out = [f"{R}/benchmarks/train/{run}.tsv" for run in RUNS]
    out += [f"{R}/benchmarks/reconstruct/{run}.tsv" for run in RUNS]
    out += [f"{R}/benchmarks/latents/{run}.tsv" for run in RUNS]
    out += [f"{R}/benchmarks/probe/{run}.tsv" for run in RUNS]
    out += [f"{R}/benchmarks/diversity/{run}.tsv" for run in DIVERSE]
    out += [f"{R}/benchmarks/score/{run}.tsv" for run in CIFAR.values()]
    out += [f"{R}/benchmarks/nll/{run}.tsv" for run in NLL]
    out += [f"{R}/benchmarks/baselines/{dataset}.tsv" for dataset in BASELINES]
    return out


def all_targets(book):
    out = eval_targets() + [SELECTIONS]
    out += expand(f"{R}/tables/{{table}}.{{ext}}", table=TABLES, ext=["csv", "json"])
    out += expand(f"{R}/figures/{{figure}}.{{ext}}", figure=FIGURES, ext=["png", "svg"])
    out.append(PROVENANCE)
    out += claims_target()
    if book:
        out.append(f"{R}/logs/book.done")
    return out


# Committed mode (--config committed=true): the data, train and evaluate rules are left out, and
# the tables, figures and book are built from what results/<preset>/ already holds (the archive
# that scripts/paper_grid.py commits). A table or figure whose runs are not archived yet is left
# out, never trained.
def _archived(path):
    produced_by_report = not path.startswith((f"{R}/eval/", f"{R}/runs/", f"{R}/baselines/",
                                              f"{R}/benchmarks/"))
    return produced_by_report or os.path.exists(path)


def _only_archived(inputs):
    return lambda: [p for p in inputs() if _archived(p)]


def _enough(table):
    """A comparison table needs the runs it compares, not only its reference run."""
    runs = {layout.run_of(p) for p in TABLE_INPUTS[table]()} - {None}
    product = registry.TABLES[table]
    if product.enough is not None:
        return product.enough(SEL, runs)
    return bool(TABLE_INPUTS[table]())


def _forced_report():
    """The report products this invocation rebuilds by force (`--forcerun table figure`, as the
    grid's refresh does, or `--forceall`): an edit of theirs is replaced, not refused. Read from
    the command line: Snakemake sets workflow.dag_settings only after the Snakefile is parsed."""
    settings = getattr(workflow, "dag_settings", None)
    if settings is not None:
        return rebuilt_prefixes(settings.forcerun or (), bool(settings.forceall))
    return rebuilt_prefixes(*forced_by(sys.argv[1:]))


if COMMITTED:
    try:  # archived files, and the tables, figures and claims the book reads (their manifest)
        require_intact(R, require_manifest=False, rebuilt=_forced_report())
    except ArchiveError as err:
        raise WorkflowError(f"mvae pipeline: {err}") from None
    TABLE_INPUTS = {name: _only_archived(f) for name, f in TABLE_INPUTS.items()}
    TABLES = [t for t in TABLES if _enough(t)]
    # a figure shows its runs side by side: it waits until all of them are archived
    FIGURES = [f for f in FIGURES if all(_archived(p) for p in FIGURE_INPUTS[f]()) and all(
        os.path.basename(p).removesuffix(".csv") in TABLES
        for p in FIGURE_INPUTS[f]() if p.startswith(f"{R}/tables/"))]
    eval_targets = _only_archived(eval_targets)
    benchmark_targets = _only_archived(benchmark_targets)


def claim_tables():
    """The tables this preset builds whose claims ``claims.md`` checks (mvae.claims)."""
    return [t for t in TABLES if t in CLAIM_TABLES]


def claims_target():
    return [f"{R}/claims.md"] if claim_tables() else []
