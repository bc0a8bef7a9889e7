"""How long a run of a preset's grid will take, read off the runs already in the archive.

A checkpoint resumes only on the machine that wrote it, and a working session may end on one
machine and the next start on another: a run that cannot finish before its session ends loses
all its training. ``scripts/paper_grid.py --finish-by`` therefore starts only the runs that fit
in the time left, by these estimates. They come from the archive (``results/<preset>/``): the
training wall seconds that ``runs/<run>/done.json`` records and the evaluation rules' Snakemake
benchmarks, of archived runs with the same dataset and network, scaled to the run's number of
components and epochs. A network no archived run has (other widths) is scaled from the run of the
same dataset and kind of network nearest in FLOPs per image, by the ratio of FLOPs
(:func:`mvae.model.forward_flops`): a rougher guide, as the archived runs' seconds per FLOP vary
with their size and with what ran beside them. The estimates hold for the machine and load the
archived runs had (the paper archive: two runs at once on a 2-core CPU), which is why an estimate
names its basis.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

import yaml

from mvae.config import Config

#: Evaluation rules whose cost does not grow with K (Inception on a fixed number of images).
FIXED_COST_RULES = frozenset({"score"})


@dataclass(frozen=True)
class Estimate:
    """Seconds a run still needs, and the archived runs the numbers come from."""

    train_seconds: float
    eval_seconds: float
    basis: tuple[str, ...]
    #: True where the basis is another width of network, scaled by FLOPs per image
    flop_scaled: bool = False

    @property
    def seconds(self) -> float:
        return self.train_seconds + self.eval_seconds


def network_key(config: Config) -> tuple[object, ...]:
    """What sets the cost of one component-epoch: dataset, network, images and batch size."""
    arch = config.resolved_architecture
    widths = tuple(config.conv_channels) if arch == "conv" else (config.hidden_dim,
                                                                  config.hidden_layers)
    return (config.dataset, arch, widths, config.train_subset, config.batch_size)


def family_key(config: Config) -> tuple[object, ...]:
    """:func:`network_key` without the widths: runs whose cost scales with FLOPs per image."""
    return (config.dataset, config.resolved_architecture, config.train_subset, config.batch_size)


def _archived(archive: Path) -> dict[str, tuple[Config, dict]]:
    """Every finished run of the archive: its config and done.json."""
    out = {}
    for done in sorted(archive.glob("runs/*/done.json")):
        config_file = done.parent / "config.yaml"
        if config_file.is_file():
            out[done.parent.name] = (Config.from_dict(yaml.safe_load(config_file.read_text())),
                                     json.loads(done.read_text()))
    return out


def _benchmark_seconds(archive: Path, run: str) -> dict[str, float]:
    """Wall seconds of each evaluation rule of an archived run (Snakemake's benchmark files)."""
    out = {}
    for tsv in sorted(archive.glob(f"benchmarks/*/{run}.tsv")):
        rule = tsv.parent.name
        if rule != "train":
            with tsv.open() as fh:
                rows = list(csv.DictReader(fh, delimiter="\t"))
            if rows:
                out[rule] = float(rows[-1]["s"])
    return out


def training_wall_seconds(done: dict) -> float:
    """A finished run's training cost in wall seconds, per-epoch test loss included.

    ``wall_seconds`` where training recorded it; else the training job's own wall time when that
    job trained every epoch (it is then at least the training seconds); else, for a run resumed
    across jobs, the training seconds alone, which leave out the test loss (up to a third of a
    CIFAR-10 epoch)."""
    if done.get("wall_seconds"):
        return float(done["wall_seconds"])
    train, job = float(done["train_seconds"]), float(done.get("job_seconds") or 0.0)
    return job if job >= train else train


def job_minutes(archive: Path, config: Config, default: int = 240) -> int:
    """Minutes a cluster job that trains ``config`` asks for (the SLURM profile's ``runtime``):
    twice the training estimate from ``archive`` (queued jobs share nodes; a job that times out
    resumes from its checkpoint on the retry), rounded up to half hours and at least an hour;
    ``default`` where the archive gives no estimate."""
    found = estimate(archive, config) if archive.is_dir() else None
    if found is None:
        return default
    return max(60, 30 * math.ceil(2 * found.train_seconds / 60 / 30))


def estimate(archive: Path, config: Config, epochs_done: int = 0) -> Estimate | None:
    """Seconds ``config`` needs from ``epochs_done`` to evaluated, or None without a reference.

    Training: the median over archived runs of the same :func:`network_key` of training wall
    seconds (:func:`training_wall_seconds`) per component-epoch, times the run's components and
    remaining epochs. Evaluation: each rule's seconds for the reference run with the same
    evaluation rules (binarised: NLL; 2-D: the scatter) whose K is nearest (the larger on a tie),
    scaled by the ratio of components except for :data:`FIXED_COST_RULES`. Without a run of the
    same network, the run of the same :func:`family_key` nearest in FLOPs per image
    (:func:`mvae.model.forward_flops`) stands in, with FLOPs in place of components."""
    archived = {name: (cfg, done) for name, (cfg, done) in _archived(archive).items()
                if done.get("train_seconds")}
    refs = {name: ref for name, ref in archived.items()
            if network_key(ref[0]) == network_key(config)}
    flop_scaled = not refs
    # the work one epoch does, per reference and for config: components, or FLOPs per image
    work = {name: float(cfg.components) for name, (cfg, _) in refs.items()}
    target = float(config.components)
    if flop_scaled:
        from mvae.model import forward_flops  # torch only where a width needs scaling

        family = {name: ref for name, ref in archived.items()
                  if family_key(ref[0]) == family_key(config)}
        if not family:
            return None
        flops = {name: float(forward_flops(cfg)) for name, (cfg, _) in family.items()}
        target = float(forward_flops(config))
        # the run nearest in FLOPs alone: the archived seconds per FLOP vary too much to pool
        # (benchmarks/README.md gives the archive's figures)
        nearest_flops = min(flops, key=lambda name: abs(math.log(flops[name] / target)))
        refs, work = {nearest_flops: family[nearest_flops]}, {nearest_flops: flops[nearest_flops]}
    rate = statistics.median(training_wall_seconds(done) / (int(done["epochs"]) * work[name])
                             for name, (_, done) in refs.items())
    train = rate * target * max(config.epochs - epochs_done, 0)
    def distance(name: str) -> tuple[bool, bool, int, int]:  # same evaluation rules first
        ref = refs[name][0]
        return (ref.binarize != config.binarize, (ref.latent_dim == 2) != (config.latent_dim == 2),
                abs(ref.components - config.components), -ref.components)

    nearest = min(refs, key=distance)
    scale = target / work[nearest]
    evaluation = sum(seconds if rule in FIXED_COST_RULES else seconds * scale
                     for rule, seconds in _benchmark_seconds(archive, nearest).items())
    return Estimate(train, evaluation, tuple(sorted(refs)), flop_scaled)
