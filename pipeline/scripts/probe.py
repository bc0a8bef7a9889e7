"""Classifier probes on one run's latent codes (rule probe)."""

from mvae.archive import stop_if_archived
from mvae.steps import logged, probe_step, set_threads

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
# an archived result without its checkpoint: stop before touching anything
stop_if_archived(sm.output, sm.params.run_dir)
with logged(sm.log[0]):
    set_threads(sm.threads)
    probe_step(sm.input.latents, sm.params.run_dir, sm.output[0], sm.params.settings)
