"""CIFAR-10 RMSE, Inception Score and FID of one run (rule score)."""

from mvae.archive import stop_if_archived
from mvae.steps import logged, score_step, set_threads

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
# an archived result without its checkpoint: stop before touching anything
stop_if_archived(sm.output, sm.params.run_dir)
with logged(sm.log[0]):
    set_threads(sm.threads)
    score_step(sm.params.run_dir, sm.output[0], sm.params.n, sm.params.cache_dir)
