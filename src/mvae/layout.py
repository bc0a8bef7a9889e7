"""Where things live in a preset's results folder (``results/<preset>/``): the one place that
knows the layout, for the pipeline, the archive, the grid scripts and the book.

    runs/<run>/            config.yaml, checkpoint.pt, history.json, provenance.json, done.json
    eval/<run>/<file>      reconstruction.json, examples.npz, probes.json, diversity.json, ...
    baselines/<dataset>.json
    benchmarks/<rule>/<job>.tsv
    tables/<table>.{csv,json}
    figures/<figure>.{png,svg}
    claims.md, provenance.json, selections.json
"""

from __future__ import annotations

#: A run folder's checkpoint (model, optimiser, history; never archived).
CHECKPOINT = "checkpoint.pt"
#: The records training writes beside the checkpoint.
RUN_RECORDS = ("config.yaml", "history.json", "provenance.json")
#: What a finished pipeline run holds besides training's own records (written by mvae.steps).
DONE = "done.json"
#: The data rule's marker in ``<data_dir>/<dataset>/``: the dataset's cache is ready (a marker
#: beside the cache, which Snakemake may delete before the rule reruns; pipeline/rules/data.smk).
DATA_READY = "pipeline-ready.json"
#: The preset's run selections (:class:`mvae.selections.Selections`), written by the pipeline:
#: which runs feed which table and figure, read back by the builders and the book.
SELECTIONS = "selections.json"


def run_dir(run: str) -> str:
    return f"runs/{run}"


def run_file(run: str, name: str) -> str:
    return f"runs/{run}/{name}"


def eval_dir(run: str) -> str:
    return f"eval/{run}"


def eval_file(run: str, name: str) -> str:
    return f"eval/{run}/{name}"


def baseline_file(dataset: str) -> str:
    return f"baselines/{dataset}.json"


def benchmark_file(rule: str, job: str) -> str:
    return f"benchmarks/{rule}/{job}.tsv"


def table_file(name: str, ext: str) -> str:
    return f"tables/{name}.{ext}"


def run_of(path: str) -> str | None:
    """The run an ``.../eval/<run>/<file>`` or ``.../runs/<run>/<file>`` path belongs to."""
    parts = path.replace("\\", "/").split("/")
    return parts[-2] if len(parts) >= 3 and parts[-3] in ("eval", "runs") else None
