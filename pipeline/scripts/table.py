"""Assemble one results table as CSV and JSON (rule table)."""

from mvae.archive import record_products
from mvae.guard import stop_unless_writable
from mvae.products import build_table
from mvae.selections import Selections
from mvae.steps import logged

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
stop_unless_writable(sm.output, "report")  # no link, no archive without its manifest
with logged(sm.log[0]):
    build_table(sm.wildcards.table, list(sm.input.files), Selections.read(sm.input.selections),
                sm.output.csv, sm.output.json, preset=sm.params.preset)
# in an archive (results/paper) the manifest records what the book will read
record_products(sm.output)
