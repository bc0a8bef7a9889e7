"""Fetch the offline FID feature extractor (rule fid_weights); a failure is recorded, not fatal:
the score step then reports FID as not available with the reason."""

from pathlib import Path

from mvae.provenance import write_json
from mvae.steps import logged

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
with logged(sm.log[0]):
    from mvae.scores import fetch_fid_weights

    try:
        record = {"available": True, "result": fetch_fid_weights(Path(sm.output[0]).parent.parent)}
    except Exception as err:  # noqa: BLE001  (any failure here only disables FID)
        print(f"FID weights not available: {err!r}")
        record = {"available": False, "reason": repr(err)}
    write_json(Path(sm.output[0]), record)
