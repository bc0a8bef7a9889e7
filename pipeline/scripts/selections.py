"""Write the preset's run selections as selections.json (rule selections): the table and figure
rules and the book read them back (mvae.selections.Selections.read)."""

from mvae.archive import record_products
from mvae.guard import stop_unless_writable
from mvae.selections import Selections
from mvae.steps import logged

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
stop_unless_writable(sm.output, "report")  # no link, no archive without its manifest
with logged(sm.log[0]):
    Selections.from_dict(sm.params.selections).write(sm.output[0])
# in an archive (results/paper) the manifest records what the book will read
record_products(sm.output)
