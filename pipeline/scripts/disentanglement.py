"""MIG, DCI and latent traversals of one dSprites run (rule disentanglement)."""

from mvae.archive import stop_if_archived
from mvae.steps import disentanglement_step, logged, set_threads

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
# an archived result without its checkpoint: stop before touching anything
stop_if_archived(sm.output, sm.params.run_dir)
with logged(sm.log[0]):
    set_threads(sm.threads)
    disentanglement_step(sm.params.run_dir, sm.output.scores, sm.output.traversals)
