"""Evaluate one run folder that ``mvae train`` wrote: what ``mvae evaluate RUN_DIR`` does.

The numbers come from the pipeline's own evaluation steps, run on this one folder, so a run
evaluated here and the same run evaluated by Snakemake agree:

* :func:`mvae.steps.reconstruct_step`: per-image SSE (and MSE per pixel, RMSE) of the mixture and
  of each component alone, in both modes of :func:`mvae.evaluate.errors_by_mode`, the mean-image
  baseline, :func:`mvae.evaluate.mixture_diagnostics`, and a few test images with their
  reconstructions and prior samples (``reconstruction.json``, ``examples.npz``);
* the test loss terms, as training reports them (:func:`mvae.train.evaluate_loss` at the run's
  batch size, on the fixed binarisation when the run is binarised) and the unweighted ELBO
  (:func:`mvae.objective.elbo`);
* with ``iwae_samples``, :func:`mvae.steps.nll_step`: the IWAE estimate of log p(x)
  (:func:`mvae.likelihood.iwae_log_likelihood`) of the fixed binarised test set (``nll.json``);
  Bernoulli runs only.

:func:`evaluate_run` gathers them in ``evaluation.json`` and draws ``reconstructions.png`` and
``samples.png`` (:func:`mvae.figures.image_rows`). A folder that is missing, has not finished an
epoch, or has not finished its epochs (unless asked) is refused before anything is computed, with
a :class:`RunReportError` (or :class:`mvae.checkpoints.CheckpointError`) that says what to do; so
is a checkpoint whose bytes are not the ones training recorded, your own data files changed since
the run started (:class:`mvae.checkpoints.DataChangedError`), more than
:data:`mvae.limits.MAX_IWAE_SAMPLES` importance samples, and an output folder that
:mod:`mvae.guard` keeps (an archive, a link, a run folder or a pipeline evaluation).

Nothing is half-written: the files are made in a hidden folder beside the output folder and
moved into it only when all of them exist, so a failure leaves the output folder as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPORT = "evaluation.json"
RECONSTRUCTIONS_PNG = "reconstructions.png"
SAMPLES_PNG = "samples.png"
#: Every file an evaluation may write into its output folder.
OUTPUTS = (REPORT, "reconstruction.json", "examples.npz", "nll.json", RECONSTRUCTIONS_PNG,
           SAMPLES_PNG)


class RunReportError(RuntimeError):
    """A run folder cannot be evaluated as asked; the message says why and what to do."""


def check_run(run_dir: str | Path, *, allow_unfinished: bool = False,
              iwae_samples: int | None = None) -> dict[str, Any]:
    """Refuse, before any work, a folder that cannot be evaluated as asked.

    Returns ``{"config": Config, "epochs_done": int, "finished": bool}``. Raises
    :class:`RunReportError` for a missing folder, a run that has not finished its epochs (unless
    ``allow_unfinished``), a folder whose training was interrupted before it wrote
    ``provenance.json``, or ``iwae_samples`` outside 1 to :data:`mvae.limits.MAX_IWAE_SAMPLES`
    or on a run without Bernoulli pixels; and the errors of :func:`mvae.checkpoints.open_run`
    for a folder without a readable ``config.yaml`` or checkpoint of its own, a checkpoint whose
    bytes changed, or your own data files changed since the run started.
    """
    from mvae.checkpoints import open_run, stored_config
    from mvae.layout import CHECKPOINT
    from mvae.limits import MAX_IWAE_SAMPLES

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunReportError(f"{run_dir} is not a folder; give the run folder that mvae train "
                             "wrote (runs/<name> unless --run-dir said otherwise)")
    if iwae_samples is not None and (isinstance(iwae_samples, bool) or not isinstance(
            iwae_samples, int) or not 1 <= iwae_samples <= MAX_IWAE_SAMPLES):
        raise RunReportError(f"iwae_samples must be a whole number from 1 to "
                             f"{MAX_IWAE_SAMPLES:,}, got {iwae_samples!r} (at 1,000 a K = 4 "
                             "MNIST model takes the better part of an hour on one CPU core)")
    if stored_config(run_dir) is None and not (run_dir / CHECKPOINT).exists():
        raise RunReportError(f"{run_dir} holds no trained run (no config.yaml, no "
                             f"{CHECKPOINT}); train one there with mvae train --run-dir "
                             f"{run_dir}")
    run = open_run(run_dir)  # its checkpoint's bytes, and your data files, as recorded
    config, epochs_done = run.config, run.epochs_done
    resume = f"mvae train --config {run_dir / 'config.yaml'} --run-dir {run_dir}"
    if epochs_done < config.epochs and not allow_unfinished:
        raise RunReportError(f"{run_dir} has finished {epochs_done} of its {config.epochs} "
                             f"epochs; finish it with `{resume}`, or evaluate it as it is "
                             "with --allow-unfinished")
    if not (run_dir / "provenance.json").is_file():
        raise RunReportError(f"{run_dir} has no provenance.json: its last training was "
                             f"interrupted; run `{resume}` to complete it")
    if iwae_samples is not None and config.resolved_likelihood != "bernoulli":
        raise RunReportError(
            f"the IWAE log-likelihood (--iwae-samples) covers Bernoulli pixels only (the "
            f"digits' likelihood); run {config.name} uses the {config.resolved_likelihood} "
            f"likelihood ({config.dataset})")
    return {"config": config, "epochs_done": epochs_done,
            "finished": epochs_done >= config.epochs}


def loss_on_test_set(run_dir: str | Path) -> dict[str, Any]:
    """The run's test loss terms as training reports them, and its unweighted ELBO (nats per
    image): :func:`mvae.train.evaluate_loss` at the run's batch size (one seeded draw per image),
    on the fixed binarisation of the test set when the run is binarised."""
    import torch

    from mvae.likelihood import fixed_binarization
    from mvae.objective import elbo
    from mvae.steps import default_device  # where the pipeline's steps evaluate
    from mvae.train import evaluate_loss, load_run, load_split

    device = default_device()
    model, config = load_run(run_dir, device)
    x = load_split(config, "test").floats()
    if config.binarize:
        x = fixed_binarization(x)
    torch.manual_seed(0)
    terms = evaluate_loss(model, x.to(device), config.batch_size)
    return {**terms, "elbo": elbo(terms, config), "n_test": len(x),
            "batch_size": config.batch_size, "binarized": config.binarize}


def draw_figures(examples: str | Path, out_dir: str | Path) -> dict[str, str]:
    """``reconstructions.png`` (test images, the mixture's reconstructions and each component's
    alone, with its mean weight) and ``samples.png`` (prior samples and, for K > 1, each
    component decoding the line between two test images' codes) from ``examples.npz``."""
    import matplotlib.pyplot as plt
    import numpy as np

    from mvae.figures import image_rows

    out_dir = Path(out_dir)
    with np.load(examples) as z:
        ex = {k: z[k] for k in z.files}
    mean_w = ex["weights"].astype(np.float32).mean(axis=1)
    k = len(mean_w)
    rows = [("test images", ex["images"]), ("mixture", ex["mixture"])]
    if k > 1:
        rows += [(f"C{i + 1} alone\nE[w] {mean_w[i]:.2f}", ex["components"][i]) for i in range(k)]
    samples = [("prior samples", ex["samples"])]
    if k > 1:
        samples += [(f"C{i + 1}\ninterpolation", ex["interpolations"][i]) for i in range(k)]
    paths = {}
    for name, rows_, title in (
            (RECONSTRUCTIONS_PNG, rows, "Test images and reconstructions"),
            (SAMPLES_PNG, samples, "Prior samples" + (", and each component's latent line "
                                                      "between two test images" if k > 1
                                                      else ""))):
        fig = image_rows(rows_, title)
        fig.savefig(out_dir / name, dpi=120)
        plt.close(fig)
        paths[name.removesuffix(".png")] = str(out_dir / name)
    return paths


def evaluate_run(run_dir: str | Path, out_dir: str | Path | None = None, *,
                 iwae_samples: int | None = None, allow_unfinished: bool = False
                 ) -> dict[str, Any]:
    """Evaluate the run in ``run_dir`` into ``out_dir`` (default ``<run_dir>/evaluation``) and
    return the record written to its ``evaluation.json``.

    Keys: ``run``, ``run_dir``, ``epochs_done``, ``epochs``, ``finished``; ``test`` (the loss
    terms ``loss``, ``reconstruction``, ``kl_gauss``, ``kl_dirichlet``, ``dhsic`` and ``elbo``,
    from :func:`loss_on_test_set`); ``reconstruction`` (:func:`mvae.evaluate.errors_by_mode`:
    ``deterministic`` and ``sampled``, each with ``mixture`` and ``components``);
    ``mean_image_sse``; ``diagnostics`` (:func:`mvae.evaluate.mixture_diagnostics`); with
    ``iwae_samples``, ``iwae`` (``samples``, ``nll``, ``nll_sem``, ``log_likelihood`` and the
    ``elbo`` of the same binarised images, nats per image); ``files``; ``provenance``.
    ``iwae_samples`` shows a progress bar: at 1000 samples (the pipeline's) a K = 4 MNIST model
    takes the better part of an hour on one CPU core. The output folder is checked
    (:func:`check_out`) and the files are written whole or not at all (:func:`staged`).
    """
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir / "evaluation"
    check_out(out)
    status = check_run(run_dir, allow_unfinished=allow_unfinished, iwae_samples=iwae_samples)
    with staged(out) as stage:
        record = _evaluate_into(run_dir, stage, out, status, iwae_samples)
    return record


def check_out(out: str | Path) -> None:
    """Refuse an output folder :mod:`mvae.guard` keeps, for every file evaluation writes, before
    anything is computed: inside an archive, through a link, a run folder or a pipeline
    evaluation (:class:`mvae.guard.WriteRefused`, :class:`mvae.files.LinkError`)."""
    from mvae import guard

    guard.check_all([Path(out) / name for name in OUTPUTS], "evaluate")


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A hidden folder beside ``out`` to evaluate into; on success its files are moved into
    ``out`` (each checked by :mod:`mvae.guard` again), on any failure it is removed and ``out``
    is left as it was."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial"
    stage.mkdir()
    try:
        yield stage
        check_out(out)
        out.mkdir(exist_ok=True)
        for entry in sorted(stage.iterdir()):
            os.replace(entry, out / entry.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _evaluate_into(run_dir: Path, stage: Path, out: Path, status: dict[str, Any],
                   iwae_samples: int | None) -> dict[str, Any]:
    """:func:`evaluate_run`'s work, written into ``stage``; the record names the files in
    ``out``, where they end up."""
    from mvae.provenance import write_json
    from mvae.steps import nll_step, reconstruct_step

    config = status["config"]
    reconstruct_step(run_dir, stage / "reconstruction.json", stage / "examples.npz")
    recon = json.loads((stage / "reconstruction.json").read_text())
    record: dict[str, Any] = {
        "run": config.name, "run_dir": str(run_dir), "epochs_done": status["epochs_done"],
        "epochs": config.epochs, "finished": status["finished"], "test": loss_on_test_set(run_dir),
        "reconstruction": recon["modes"], "mean_image_sse": recon["mean_image_sse"],
        "diagnostics": recon["diagnostics"]}
    files = {"report": str(out / REPORT), "reconstruction": str(out / "reconstruction.json"),
             "examples": str(out / "examples.npz")}
    if iwae_samples is not None:
        nll_step(run_dir, stage / "nll.json", iwae_samples)
        nll = json.loads((stage / "nll.json").read_text())
        record["iwae"] = {"samples": nll["samples"], "nll": nll["nll"],
                          "nll_sem": nll["nll_sem"], "log_likelihood": -nll["nll"],
                          "elbo": nll["elbo"], "n_test": nll["n_test"],
                          "seconds": nll["seconds"]}
        files["nll"] = str(out / "nll.json")
    drawn = draw_figures(stage / "examples.npz", stage)
    files.update({key: str(out / Path(path).name) for key, path in drawn.items()})
    record["files"] = files
    record["provenance"] = recon["provenance"]
    write_json(stage / REPORT, record)
    return record
