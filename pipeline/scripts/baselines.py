"""Probes on raw pixels, PCA codes and untrained encoders; the mean-image SSE (rule baselines)."""

from mvae.archive import stop_if_archived
from mvae.steps import baselines_step, logged, set_threads

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
# an archived result without its checkpoint: stop before touching anything
stop_if_archived(sm.output)
with logged(sm.log[0]):
    set_threads(sm.threads)
    baselines_step(sm.params.config, sm.output[0], sm.params.settings)
