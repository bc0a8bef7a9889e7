"""What ran, where, and how long each job took (rule provenance)."""

from mvae.steps import gather_provenance, logged

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
with logged(sm.log[0]):
    gather_provenance(sm.params.preset, sm.params.runs, sm.params.settings,
                      list(sm.input.benchmarks), sm.output[0])
