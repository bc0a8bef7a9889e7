"""Draw one figure as PNG and SVG (rule figure)."""

from mvae.figures import draw_figure
from mvae.steps import logged

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
with logged(sm.log[0]):
    draw_figure(sm.wildcards.figure, list(sm.input), sm.params.runs, sm.output.png,
                sm.output.svg)
