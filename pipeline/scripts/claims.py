"""Write claims.md: every paper claim the tables can test, with its verdict (rule claims)."""

from pathlib import Path

import pandas as pd

from mvae.steps import logged
from mvae.verdicts import summary

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
with logged(sm.log[0]):
    tables = {Path(path).stem: pd.read_csv(path) for path in sm.input}
    Path(sm.output[0]).write_text(summary(tables, preset=sm.params.preset))
