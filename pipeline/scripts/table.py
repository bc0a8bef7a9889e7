"""Assemble one results table as CSV and JSON (rule table)."""

from mvae.steps import logged
from mvae.tables import build_table

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
with logged(sm.log[0]):
    build_table(sm.wildcards.table, list(sm.input), sm.params.selection, sm.output.csv,
                sm.output.json, preset=sm.params.preset)
