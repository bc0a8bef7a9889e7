"""Reconstruction errors and example images of one run (rule reconstruct)."""

from mvae.archive import stop_if_archived
from mvae.steps import logged, reconstruct_step, set_threads

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
# an archived result without its checkpoint: stop before touching anything
stop_if_archived(sm.output, sm.params.run_dir)
with logged(sm.log[0]):
    set_threads(sm.threads)
    reconstruct_step(sm.params.run_dir, sm.output.errors, sm.output.examples, sm.params.n)
