# Paths and target lists shared by the rules. R is results/<preset>; RUNS, SETTINGS and the run
# selections (SWEEP, TABLE2, ...) come from the Snakefile.

TABLE_INPUTS = {
    # table name -> (eval files it reads, in run order)
    "table1_reconstruction": lambda: expand(f"{R}/eval/{{run}}/reconstruction.json", run=RUNS),
    "table2_probes": lambda: expand(f"{R}/eval/{{run}}/probes.json",
                                    run=TABLE2["mixture"] + TABLE2["vae"] + TABLE2["wide_vae"])
    + expand(f"{R}/eval/{{run}}/reconstruction.json", run=TABLE2["mixture"])  # usage order
    + baseline_file("mnist"),
    "fig4_knn_vs_k": lambda: expand(f"{R}/eval/{{run}}/probes.json",
                                    run=[r for runs in SWEEP.values() for r in runs])
    + baseline_file("mnist"),
    "table3_cifar": lambda: expand(f"{R}/eval/{{run}}/{{kind}}.json", run=CIFAR.values(),
                                   kind=["scores", "reconstruction"]),
    "ablation_dhsic": lambda: expand(f"{R}/eval/{{run}}/{{kind}}.json", run=ABLATION.values(),
                                     kind=["diversity", "reconstruction", "probes"]),
    "fashion": lambda: [f"{R}/eval/{r}/{k}.json" for r in FASHION.values()
                        for k in ("reconstruction", "probes")
                        + (("diversity",) if r in DIVERSE else ())]
    + baseline_file("fashion_mnist"),
    "beta_sweep": lambda: expand(f"{R}/eval/{{run}}/{{kind}}.json", run=BETAS.values(),
                                 kind=["diversity", "reconstruction", "probes"]),
    "authors_settings": lambda: expand(f"{R}/eval/{{run}}/{{kind}}.json",
                                       run=AUTHORS + TABLE2["mixture"][:1],
                                       kind=["reconstruction", "probes"]),
    "nll": lambda: expand(f"{R}/eval/{{run}}/nll.json", run=NLL),
}

FIGURE_INPUTS = {
    "fig1_reconstructions": lambda: expand(f"{R}/eval/{{run}}/examples.npz",
                                           run=FIGRUNS.values()),
    "fig2_components": lambda: expand(f"{R}/eval/{{run}}/examples.npz",
                                      run=FIGRUNS.get("mixture", [])),
    "fig3_latents": lambda: expand(f"{R}/eval/{{run}}/latents_2d.npz", run=LATENT2D),
    "fig4_knn_vs_k": lambda: [f"{R}/tables/fig4_knn_vs_k.csv"],
    "fig5_cifar": lambda: expand(f"{R}/eval/{{run}}/examples.npz", run=CIFAR.values()),
    "ablation": lambda: [f"{R}/tables/ablation_dhsic.csv"],
    "mixing_weights": lambda: expand(f"{R}/eval/{{run}}/examples.npz",
                                     run=FIGRUNS.get("mixture", [])),
    "samples": lambda: expand(f"{R}/eval/{{run}}/examples.npz", run=FIGRUNS.values()),
}

# Which tables/figures this preset can make (a preset without CIFAR runs has no Table III).
_HAS = {
    "table1_reconstruction": bool(RUNS), "table2_probes": bool(TABLE2["mixture"]),
    "fig4_knn_vs_k": bool(SWEEP), "table3_cifar": bool(CIFAR), "ablation_dhsic": bool(ABLATION),
    "fashion": bool(FASHION), "fig1_reconstructions": bool(FIGRUNS),
    "fig2_components": "mixture" in FIGRUNS, "fig3_latents": bool(LATENT2D),
    "fig5_cifar": bool(CIFAR), "ablation": bool(ABLATION), "beta_sweep": bool(BETAS),
    "authors_settings": bool(AUTHORS), "nll": bool(NLL),
    "mixing_weights": "mixture" in FIGRUNS, "samples": bool(FIGRUNS),
}
TABLES = [t for t in TABLE_INPUTS if _HAS[t]]
FIGURES = [f for f in FIGURE_INPUTS if _HAS[f]]


def baseline_file(dataset):
    """The baselines of ``dataset`` as a list (empty when the preset does not probe it)."""
    return [f"{R}/baselines/{dataset}.json"] if dataset in BASELINES else []


def run_dir(run):
    return f"{R}/runs/{run}"


def run_eval_targets(run):
    """Every evaluation file of one run (what `evaluated` waits for and the archive keeps)."""
    return [f"{R}/eval/{run}/{name}" for name in SEL.evaluations(run)]


def eval_targets():
    return [path for run in RUNS for path in run_eval_targets(run)] + [
        f"{R}/baselines/{dataset}.json" for dataset in BASELINES]


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
    out = eval_targets()
    out += expand(f"{R}/tables/{{table}}.{{ext}}", table=TABLES, ext=["csv", "json"])
    out += expand(f"{R}/figures/{{figure}}.{{ext}}", figure=FIGURES, ext=["png", "svg"])
    out.append(f"{R}/provenance.json")
    out += claims_target()
    if book:
        out.append(f"{R}/logs/book.done")
    return out


# Committed mode (--config committed=true): the data, train and evaluate rules are left out, and
# the tables, figures and book are built from what results/<preset>/ already holds (the archive
# that scripts/paper_grid.py commits). A table or figure whose runs are not archived yet is left
# out, never trained.
def _archived(path):
    produced_by_report = not path.startswith((f"{R}/eval/", f"{R}/baselines/",
                                              f"{R}/benchmarks/"))
    return produced_by_report or os.path.exists(path)


def _only_archived(inputs):
    return lambda: [p for p in inputs() if _archived(p)]


def _enough(table):
    """A comparison table needs the runs it compares, not only its reference run."""
    runs = {p.split("/eval/")[1].split("/")[0] for p in TABLE_INPUTS[table]() if "/eval/" in p}
    if table == "ablation_dhsic":
        return set(ABLATION.values()) <= runs
    if table == "beta_sweep":
        return len(runs & set(BETAS.values())) >= 2
    if table == "authors_settings":
        return bool(runs & set(AUTHORS))
    return bool(TABLE_INPUTS[table]())


if COMMITTED:
    TABLE_INPUTS = {name: _only_archived(f) for name, f in TABLE_INPUTS.items()}
    TABLES = [t for t in TABLES if _enough(t)]
    # a figure shows its runs side by side: it waits until all of them are archived
    FIGURES = [f for f in FIGURES if all(_archived(p) for p in FIGURE_INPUTS[f]()) and all(
        os.path.basename(p).removesuffix(".csv") in TABLES
        for p in FIGURE_INPUTS[f]() if p.startswith(f"{R}/tables/"))]
    eval_targets = _only_archived(eval_targets)
    benchmark_targets = _only_archived(benchmark_targets)


def claim_tables():
    """The tables this preset builds whose claims ``claims.md`` checks (mvae.verdicts)."""
    return [t for t in TABLES if t in SUMMARY_CHECKS]


def claims_target():
    return [f"{R}/claims.md"] if claim_tables() else []
