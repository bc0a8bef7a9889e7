"""Reconstruction errors and example images of one run (rule reconstruct)."""

from mvae.steps import logged, reconstruct_step, set_threads

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
with logged(sm.log[0]):
    set_threads(sm.threads)
    reconstruct_step(sm.params.run_dir, sm.output.errors, sm.output.examples, sm.params.n)
