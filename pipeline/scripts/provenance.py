"""What ran, where, and how long each job took (rule provenance).

The output is wherever the rule puts it: beside an archive (a results folder with a manifest,
such as the committed results/paper) that is ``<results>/logs/provenance.json``
(:func:`mvae.archive.provenance_target`), because a rebuild's commit, device and time are the
reader's machine's, not the archive's; the record then names the archive's own record.
"""

from mvae.archive import note_rebuild
from mvae.guard import stop_unless_writable
from mvae.steps import gather_provenance, logged

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
stop_unless_writable(sm.output, "report")  # no link, no archive without its manifest
with logged(sm.log[0]):
    gather_provenance(sm.params.preset, sm.params.runs, sm.params.settings,
                      list(sm.input.benchmarks), sm.output[0])
    note_rebuild(sm.output[0])
