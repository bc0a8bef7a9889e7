"""Write claims.md: every paper claim the tables can test, with its verdict (rule claims)."""

from pathlib import Path

import pandas as pd

from mvae.archive import record_products
from mvae.guard import stop_unless_writable
from mvae.steps import logged
from mvae.verdicts import summary

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
stop_unless_writable(sm.output, "report")  # no link, no archive without its manifest
with logged(sm.log[0]):
    tables = {Path(path).stem: pd.read_csv(path) for path in sm.input}
    Path(sm.output[0]).write_text(summary(tables, preset=sm.params.preset))
# in an archive (results/paper) the manifest records what the book will read
record_products(sm.output)
