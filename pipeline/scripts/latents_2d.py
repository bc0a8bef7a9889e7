"""A small copy of a 2-D run's test codes (rule latents_2d)."""

from pathlib import Path

from mvae.archive import stop_if_archived
from mvae.steps import latents_2d_step, logged

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
# an archived result without its checkpoint: stop before touching anything
stop_if_archived(sm.output, Path(sm.input[0]).parent)
with logged(sm.log[0]):
    latents_2d_step(sm.input[0], sm.output[0], sm.params.max_points)
