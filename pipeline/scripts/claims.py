"""Write tables/verdicts.csv (a row per comparison of every claim) and claims.md (rule claims)."""

from pathlib import Path

import pandas as pd

from mvae.archive import record_products
from mvae.claims import markdown, verdicts
from mvae.guard import stop_unless_writable
from mvae.steps import logged

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
stop_unless_writable(sm.output, "report")  # no link, no archive without its manifest
with logged(sm.log[0]):
    tables = {Path(path).stem: pd.read_csv(path) for path in sm.input}
    frame = verdicts(tables)
    frame.to_csv(sm.output.table, index=False, float_format="%.6g")
    Path(sm.output.page).write_text(markdown(frame, sm.params.preset, tables.get("seed_code")))
# in an archive (results/paper) the manifest records what the book will read
record_products(sm.output)
