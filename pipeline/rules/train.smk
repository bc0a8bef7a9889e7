# 2. train: one job per configuration. The job's only output is done.json, written after the
#    last epoch: a killed or failed job leaves runs/<run>/ (checkpoint.pt, written atomically each
#    epoch) untouched, and rerunning Snakemake resumes from it instead of starting over.
#
# Archived runs. In a folder with a manifest (the committed results/paper, mvae.archive), a run
# whose done.json is archived and whose checkpoint is not here (any clone of the repository) can
# neither be trained on nor re-evaluated: a job for it could only destroy its committed files
# (Snakemake deletes a job's outputs before the job runs, and again when it fails; a clone's
# checkout-time mtimes make such jobs look outdated). So no train or evaluate job exists for
# those runs (FROZEN: the rule-level wildcard constraints below and in evaluate.smk), nor a
# baselines job for archived baselines; their files are read as they are, after a check against
# the manifest. `protected()` would not help: Snakemake protects by the file's write bit, which git
# does not carry (a clone's files are writable), and it sets the bit only after a job succeeds.
# The job scripts also stop, before touching anything, if asked to replace an archived file
# (mvae.archive.stop_if_archived).

import re as _re

from mvae.archive import ArchiveError, archived_baselines, frozen_note, frozen_runs, \
    require_intact

try:
    FROZEN = frozen_runs(R, RUNS)
    FROZEN_BASELINES = archived_baselines(R, BASELINES)
    if FROZEN or FROZEN_BASELINES:
        require_intact(R, FROZEN + [f"baselines:{d}" for d in FROZEN_BASELINES])
except ArchiveError as _err:
    raise WorkflowError(f"mvae pipeline: {_err}") from None
if FROZEN:
    print(frozen_note(R, FROZEN), file=sys.stderr)
# the runs (datasets) that jobs may be made for
LIVE_RUNS = "|".join(_re.escape(r) for r in RUNS if r not in FROZEN) or "NO_RUNS"
LIVE_BASELINES = "|".join(d for d in BASELINES if d not in FROZEN_BASELINES) or "NO_DATASETS"


@functools.cache
def train_minutes(run: str) -> int:
    """The job's SLURM runtime: from the committed archive of this preset (mvae.planning), so a
    CIFAR-10 run at the authors' widths (about ten hours of one core) is not cut at four."""
    from pathlib import Path

    from mvae.planning import job_minutes

    return job_minutes(Path(workflow.basedir, "results", os.path.basename(R)), RUNS[run])


rule train:
    input:
        data=lambda w: f"{DATA}/{RUNS[w.run].dataset}/{layout.DATA_READY}",
    output:
        done=f"{R}/runs/{{run}}/done.json",
    wildcard_constraints:
        run=LIVE_RUNS,
    params:
        config=lambda w: RUNS[w.run].to_dict(),
        run_dir=lambda w: run_dir(w.run),
    threads: SETTINGS["train_threads"]
    resources:
        # 1 on a GPU machine: the default profile (pipeline/profiles/default) caps concurrent GPU
        # jobs; 0 on a CPU-only machine, so CPU jobs are not serialised by a GPU they do not use.
        gpu=TRAIN_GPU,
        runtime=lambda w: train_minutes(w.run),
    log:
        f"{R}/logs/train/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{run}}.tsv"
    script:
        "../scripts/train.py"
