"""Train (or resume) one configuration (rule train)."""

from mvae.archive import stop_if_archived
from mvae.steps import logged, set_threads, train_step

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
# an archived result without its checkpoint: stop before touching anything
stop_if_archived(sm.output, sm.params.run_dir)
with logged(sm.log[0]):
    set_threads(sm.threads)
    train_step(sm.params.config, sm.params.run_dir, sm.output.done)
