"""Latent means of every component on train and test (rule latents)."""

from mvae.steps import latents_step, logged, set_threads

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
with logged(sm.log[0]):
    set_threads(sm.threads)
    latents_step(sm.params.run_dir, sm.output[0])
