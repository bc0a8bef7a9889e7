"""M-VAE pipeline: data -> train every configuration -> evaluate -> tables, figures -> book.

    snakemake --cores all                        # the paper preset (the full grid; ~42 h, 2 CPUs)
    snakemake --cores all --config preset=quick  # every rule, models that learn: ~15 min on 2 CPUs

See pipeline/README.md for the rules, presets, results layout and the GPU / SLURM profiles.
"""

import functools
import os
import shutil
import subprocess
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

from mvae.archive import ArchiveError, refuse_unmanifested
from mvae.config import ConfigError
from mvae.data.registry import DATASETS
from mvae.presets import PresetError, load_preset, read_preset_file, schema_problem
from mvae.selections import select
from mvae.claims import TABLES as CLAIM_TABLES

min_version("9.0")


def _list(value):
    if value in (None, ""):
        return []
    return value if isinstance(value, list) else [v for v in str(value).split(",") if v]


@functools.cache
def _local_gpus():
    """GPUs visible here (nvidia-smi), asked once, when the first train or score job is
    scheduled: never while the workflow is parsed, so a dry run or a committed build asks none."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "" or not shutil.which("nvidia-smi"):
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
        return sum(line.startswith("GPU ") for line in out.stdout.splitlines())
    except (OSError, subprocess.SubprocessError):
        return 0


def TRAIN_GPU(wildcards):
    """The `gpu` resource a train or score job claims (the profile caps it): 1 with a GPU here,
    else 0; `--config train_gpu=N` sets it."""
    return int(config.get("train_gpu", 1 if _local_gpus() else 0))


try:
    EXP = load_preset(str(config.get("preset", "paper")),
                      os.path.join(workflow.basedir, "pipeline", "config"),
                      exclude_datasets=_list(config.get("exclude_datasets")))
except (ConfigError, PresetError) as err:
    raise WorkflowError(f"mvae pipeline: bad configuration: {err}") from None
try:  # and the file against its JSON Schema, as the Snakemake workflow catalog checks configs
    validate(read_preset_file(EXP.path), "pipeline/schemas/preset.schema.yaml", set_default=False)
except WorkflowError as err:
    raise WorkflowError(f"mvae pipeline: bad configuration: {schema_problem(EXP.path, err)}"
                        ) from None

RUNS = EXP.runs
SETTINGS = EXP.settings
# The preset's name (its `name:`, else its file's name; mvae.presets keeps the preset folder's
# names, `paper` above all, for their own files) names its results folder.
R = os.path.join(str(config.get("results_dir", "results")), EXP.folder)
try:  # an archive whose manifest is gone: nothing is built from it or trained into it
    refuse_unmanifested(R)
except ArchiveError as err:
    raise WorkflowError(f"mvae pipeline: {err}") from None
DATA = str(config.get("data_dir") or os.environ.get("MVAE_DATA_DIR") or "data")
CIFAR10_PATH = config.get("cifar10_path") or os.environ.get("MVAE_CIFAR10_PATH")
# Every job reads the dataset cache that the data rule filled (mvae.data reads these variables),
# not a ./data of whatever folder Snakemake runs in, and finds the offline CIFAR-10 copy too: the
# workflow's one deliberate side effect at parse time, exported to the jobs it starts.
os.environ["MVAE_DATA_DIR"] = os.path.abspath(DATA)
if CIFAR10_PATH:
    os.environ["MVAE_CIFAR10_PATH"] = os.path.abspath(CIFAR10_PATH)
# build tables, figures and book from the committed results only (pipeline/README.md)
COMMITTED = str(config.get("committed", "false")).lower() in ("1", "true", "yes")

# Selections: which runs feed which table and figure (mvae.selections: by what they are).
SEL = select(EXP)
CIFAR = SEL.cifar
DIVERSE = SEL.diverse
NLL = SEL.nll
BASELINES = SEL.baselines

wildcard_constraints:
    run="|".join(RUNS) or "NO_RUNS",
    dataset="|".join(DATASETS),  # every dataset of the registry (mvae.data.registry)

include: "pipeline/rules/common.smk"
if not COMMITTED:
    include: "pipeline/rules/data.smk"
    include: "pipeline/rules/train.smk"
    include: "pipeline/rules/evaluate.smk"
include: "pipeline/rules/report.smk"


rule all:
    input:
        all_targets(book=bool(SETTINGS["book"])),
    default_target: True
