"""Download, verify and cache one dataset (rule data); the marker records the source."""

from pathlib import Path

from mvae import data
from mvae.provenance import write_json
from mvae.steps import logged

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
with logged(sm.log[0]):
    marker = Path(sm.output[0])
    record = data.prepare(sm.wildcards.dataset, marker.parent.parent,
                          cifar10_path=sm.params.cifar10_path, progress=False)
    write_json(marker, record)
