"""The pipeline's job steps: each reads a run folder (or its codes), computes one kind of result
and writes it atomically. The pipeline's thin scripts and ``scripts/batch_runs.py`` call these;
they only wire paths.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from mvae.config import Config


@contextlib.contextmanager
def logged(log: str | Path | None) -> Iterator[None]:
    """Send this job's stdout and stderr to its Snakemake log file (scripts get no redirection)."""
    if log is None:
        yield
        return
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as fh:
        old = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = fh
        try:
            yield
        finally:
            sys.stdout, sys.stderr = old


def set_threads(threads: int) -> None:
    """Pin torch's intra-op pool to the job's Snakemake threads so parallel jobs do not fight."""
    import torch

    torch.set_num_threads(max(1, int(threads)))


def default_device() -> Any:
    """Where the steps run: the GPU when there is one, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _run_record(run_dir: Path) -> dict[str, Any]:
    prov = json.loads((run_dir / "provenance.json").read_text())
    return {"run": prov.get("run"), "seed": prov.get("seed"), "data": prov.get("data"),
            "device": prov.get("device"), "git": prov.get("git")}


def _retire_stale_run(run_dir: Path, config: Config) -> None:
    """A run folder trained with another config (the preset was edited) cannot be resumed: move it
    to ``runs/.replaced/<run>-<time>/`` rather than delete a checkpoint someone may still want.

    "Trained" means a checkpoint (its own config or config.yaml differs): a folder that never
    finished an epoch is left for :func:`mvae.train.train` to reuse. The folder's lock is held
    while it moves, so a run still training there is refused, not moved under its feet.
    """
    from mvae import guard
    from mvae.files import run_lock
    from mvae.train import RunMismatchError, resume_state

    if not run_dir.is_dir():
        return
    guard.check(run_dir, "train")  # never an archived run, nor through a link
    with run_lock(run_dir):
        try:
            resume_state(run_dir, config)
            return
        except RunMismatchError as err:
            reason = str(err).split("; use another run folder")[0]
        aside = run_dir.parent / ".replaced" / f"{run_dir.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.replace(run_dir, aside)
    print(f"{reason}; moved {run_dir} to {aside} and starting afresh")


def train_step(config: dict[str, Any], run_dir: str | Path, done: str | Path) -> None:
    """Train (or resume) one run; write ``done`` only when every epoch has finished.

    ``done`` is the rule's only output, so a failed or killed job leaves the run folder (and its
    checkpoint) in place for Snakemake to resume, instead of having it deleted as a partial output.
    """
    from mvae.provenance import write_json
    from mvae.train import train

    t0 = time.perf_counter()
    config_obj = Config.from_dict(config)
    _retire_stale_run(Path(run_dir), config_obj)
    result = train(config_obj, run_dir, progress=False)
    if not result.finished:
        raise RuntimeError(f"{run_dir}: training stopped before its last epoch")
    last = result.history[-1]
    write_json(Path(done), {"run": config["name"], "epochs": last["epoch"],
                            "train_seconds": last["seconds"],
                            "wall_seconds": last.get("wall_seconds"), "final": last,
                            "job_seconds": time.perf_counter() - t0})


def reconstruct_step(run_dir: str | Path, out_json: str | Path, out_examples: str | Path,
                     n_examples: int = 8) -> None:
    """Table I numbers (test-set SSE per image and MSE per pixel, mixture and each component)
    and a few test images with their mixture, per-component reconstructions and prior samples."""
    import numpy as np

    from mvae.evaluate import (
        component_interpolations,
        errors_by_mode,
        example_order,
        generate,
        mean_image_sse,
        mixture_diagnostics,
        mixture_weights,
    )
    from mvae.provenance import collect, write_json
    from mvae.train import load_run, load_split

    device = default_device()
    model, config = load_run(run_dir, device)
    test = load_split(config, "test")
    x = test.floats()
    modes = errors_by_mode(model, x)
    baseline = mean_image_sse(load_split(config, "train").floats(), x)
    write_json(Path(out_json), {"run": config.name, "config": config.to_dict(),
                                "n_test": len(test), "source": test.source,
                                **modes["deterministic"], "modes": modes,
                                "mean_image_sse": baseline,
                                "diagnostics": mixture_diagnostics(model, x,
                                                                   baseline_sse=baseline),
                                "provenance": {**collect(device), **_run_record(Path(run_dir))}})
    # one image per class first, so a row of examples shows different digits/objects; then the
    # next images (your own images may have fewer classes than examples, or none)
    pick = example_order(test.labels.numpy(), n_examples)
    xs = x[pick].to(device)
    to8 = lambda t: (t.clamp(0, 1) * 255).round().to("cpu").numpy().astype(np.uint8)  # noqa: E731
    np.savez_compressed(out_examples, images=to8(xs), labels=test.labels[pick].numpy(),
                        mixture=to8(model.reconstruct(xs)),
                        components=to8(model.reconstruct_components(xs)),
                        samples=to8(generate(model, n_examples, seed=0)),
                        # between the first two examples (two different classes)
                        interpolations=to8(component_interpolations(
                            model, x[pick[0]], x[pick[min(1, len(pick) - 1)]])),
                        # E[w | x] of the first 2,000 test images: how the mixture is used
                        weights=mixture_weights(model, x[:2000]).numpy().astype(np.float16))


def nll_step(run_dir: str | Path, out: str | Path, samples: int) -> None:
    """Negative log-likelihood (IWAE, ``samples`` importance samples) of the fixed binarised test
    set, in nats per image, beside the ELBO of the same images."""
    import torch

    from mvae.likelihood import fixed_binarization, iwae_log_likelihood
    from mvae.objective import elbo
    from mvae.provenance import collect, write_json
    from mvae.train import evaluate_loss, load_run, load_split

    device = default_device()
    model, config = load_run(run_dir, device)
    test = load_split(config, "test")
    x = fixed_binarization(test.floats())
    torch.manual_seed(0)
    t0 = time.perf_counter()
    log_px = iwae_log_likelihood(model, x, samples=samples, progress=True)
    seconds = time.perf_counter() - t0
    bound = elbo(evaluate_loss(model, x.to(device), 500), config)  # unweighted, any kl_weight
    write_json(Path(out), {"run": config.name, "config": config.to_dict(), "n_test": len(x),
                           "samples": samples, "nll": float(-log_px.mean()),
                           "nll_sem": float(log_px.std() / len(x) ** 0.5), "elbo": bound,
                           "seconds": seconds, "source": test.source,
                           "provenance": {**collect(device), **_run_record(Path(run_dir))}})


def latents_step(run_dir: str | Path, out: str | Path) -> None:
    """Codes of every component on the train and test sets, in both modes (large: the run folder):
    posterior means (``<split>_codes``) and one seeded draw z ~ q (``<split>_sampled``)."""
    import numpy as np

    from mvae.evaluate import draw_codes, mixture_weights, posterior
    from mvae.train import load_run, load_split

    model, config = load_run(run_dir, default_device())
    arrays: dict[str, Any] = {}
    for split in ("train", "test"):
        data = load_split(config, split)
        mu, var = posterior(model, data.floats())
        arrays[f"{split}_codes"] = mu.numpy()
        arrays[f"{split}_sampled"] = draw_codes(mu, var, seed=1 if split == "test" else 0).numpy()
        arrays[f"{split}_labels"] = data.labels.numpy()
    arrays["test_weights"] = mixture_weights(model, load_split(config, "test").floats()).numpy()
    tmp = Path(out).with_name(Path(out).name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, out)


def latents_2d_step(latents: str | Path, out: str | Path, max_points: int) -> None:
    """The test codes of a 2-D run, subsampled, small enough for the book to read."""
    import numpy as np

    with np.load(latents) as z:
        n = min(max_points, z["test_codes"].shape[1])
        np.savez_compressed(out, codes=z["test_codes"][:, :n].astype(np.float32),
                            labels=z["test_labels"][:n], weights=z["test_weights"][:, :n])


def probe_step(latents: str | Path, run_dir: str | Path, out: str | Path,
               settings: dict[str, Any]) -> None:
    """Table II / Fig. 4: scikit-learn probes trained on train codes, scored on test codes."""
    import numpy as np

    from mvae.probes import probe_codes
    from mvae.provenance import write_json

    with np.load(latents) as z:
        result = probe_codes(z["train_codes"], z["train_labels"], z["test_codes"],
                             z["test_labels"], classifiers=tuple(settings["probe_classifiers"]),
                             seed=0, max_train=settings["probe_max_train"])
        # Fig. 4's sampled mode: KNN (the cheap probe) on one draw z ~ q of every code
        sampled = probe_codes(z["train_sampled"], z["train_labels"], z["test_sampled"],
                              z["test_labels"], classifiers=("knn",), seed=0,
                              max_train=settings["probe_max_train"]) \
            if "train_sampled" in z else None
    result["mode"] = "deterministic: posterior means"
    if sampled is not None:
        result["sampled"] = {**sampled, "mode": "sampled: one draw z ~ q(z | x) per image"}
    config = yaml.safe_load((Path(run_dir) / "config.yaml").read_text())
    write_json(Path(out), {"run": config["name"], "config": config, **result,
                           "provenance": _run_record(Path(run_dir))})


def baselines_step(config: dict[str, Any], out: str | Path, settings: dict[str, Any]) -> None:
    """Probes on raw pixels, PCA codes and untrained encoders, and the mean-image SSE, for the
    dataset and model shape of ``config`` (:mod:`mvae.baselines`)."""
    from mvae.baselines import baseline_probes
    from mvae.provenance import collect, write_json
    from mvae.train import load_split

    config_obj = Config.from_dict(config)
    train, test = load_split(config_obj, "train"), load_split(config_obj, "test")
    t0 = time.perf_counter()
    result = baseline_probes(train.floats(), train.labels.numpy(), test.floats(),
                             test.labels.numpy(), config_obj,
                             classifiers=tuple(settings["probe_classifiers"]),
                             max_train=settings["probe_max_train"])
    write_json(Path(out), {"dataset": config_obj.dataset, "shape_of": config["name"],
                           "config": config, **result, "seconds": time.perf_counter() - t0,
                           "source": test.source, "provenance": collect(default_device())})


def diversity_step(latents: str | Path, run_dir: str | Path, out: str | Path,
                   max_codes: int) -> None:
    """How different the components' codes are: pairwise CKA and HSIC, and the dHSIC.

    Besides the posterior means, ``"penalty"`` measures dHSIC where the training penalty does:
    on sampled codes z ~ q(z | x), one batch of the run's batch size at a time, beside its
    independent and identical references (:func:`mvae.diversity.dhsic_range`), with the median
    estimator; ``"penalty_authors"`` does the same with the authors' estimator, whichever one
    the run trained with (``"dhsic_estimator"``: archived configs without the key mean median).
    """
    import numpy as np
    import torch

    from mvae.diversity import component_diversity, dhsic_range
    from mvae.provenance import write_json

    with np.load(latents) as z:
        codes = torch.from_numpy(z["test_codes"][:, :max_codes]).double()
        sampled = torch.from_numpy(z["test_sampled"][:, :max_codes]).double()
    result = component_diversity(codes)
    config = yaml.safe_load((Path(run_dir) / "config.yaml").read_text())
    if codes.shape[0] > 1:
        batch = min(int(config["batch_size"]), sampled.shape[1])
        result["penalty"] = {"codes": "z ~ q(z | x), one draw", **dhsic_range(sampled, batch)}
        result["penalty_authors"] = {"codes": "z ~ q(z | x), one draw",
                                     **dhsic_range(sampled, batch, estimator="authors")}
        result["dhsic_estimator"] = Config.from_dict(config).dhsic_estimator
    write_json(Path(out), {"run": config["name"], "n_codes": int(codes.shape[1]), **result,
                           "provenance": _run_record(Path(run_dir))})


def score_step(run_dir: str | Path, out: str | Path, n_images: int, cache_dir: str | Path) -> None:
    """CIFAR-10: RMSE, Inception Score and FID of prior samples and of reconstructions."""
    from mvae.evaluate import generate, reconstructions
    from mvae.provenance import collect, write_json
    from mvae.scores import cifar_scores
    from mvae.train import load_run, load_split

    device = default_device()
    model, config = load_run(run_dir, device)
    test = load_split(config, "test")
    real = test.floats()[:n_images]
    recon = reconstructions(model, real)
    samples = generate(model, len(real), seed=0)
    result = cifar_scores(real, recon, samples, device=device, cache_dir=Path(cache_dir),
                          max_images=n_images)
    write_json(Path(out), {"run": config.name, "n_images": len(real), "source": test.source,
                           **result, "provenance": {**collect(device),
                                                    **_run_record(Path(run_dir))}})


def disentanglement_step(run_dir: str | Path, out_json: str | Path,
                         out_traversals: str | Path) -> None:
    """dSprites runs: MIG and DCI (:mod:`mvae.disentanglement`) of each component alone and of
    their concatenation (a mixture) or of the VAE's code, on the test images and their factors
    (:func:`mvae.data.dsprites.load_with_factors`), with each dimension's KL; and every
    component's latent traversals from the first test image (:mod:`mvae.traversals`).
    Components are named C1..CK by mean expected weight, most used first."""
    import numpy as np

    from mvae.data.dsprites import FACTOR_NAMES, FACTOR_SIZES, NAME, load_with_factors
    from mvae.disentanglement import code_sets, score
    from mvae.evaluate import mixture_weights, posterior
    from mvae.files import atomic_write
    from mvae.provenance import collect, write_json
    from mvae.train import load_run
    from mvae.traversals import SPAN, STEPS, kl_per_dimension, traversals, usage_order

    device = default_device()
    model, config = load_run(run_dir, device)
    if config.dataset != NAME:
        raise ValueError(f"{run_dir}: the disentanglement step needs a {NAME} run (its factors "
                         f"are known), not one on {config.dataset}")
    t0 = time.perf_counter()
    data, factors = load_with_factors("test", Path(config.data_dir) if config.data_dir else None,
                                      config.test_subset)
    x = data.floats()
    mu, var = posterior(model, x)
    weights = mixture_weights(model, x)
    order = usage_order(weights)
    mu, var = mu[order], var[order]
    kl = kl_per_dimension(mu, var)
    codes: dict[str, Any] = {}
    for name, code in code_sets(mu.numpy()).items():
        codes[name] = score(code, factors, FACTOR_SIZES, FACTOR_NAMES, n_train=len(x) // 2)
        if name != "concatenated":
            k = 0 if name == "VAE" else int(name[1:]) - 1
            codes[name].update(component=int(order[k]), kl_per_dim=kl[k].tolist(),
                               mean_weight=float(weights[order[k]].mean()))
    write_json(Path(out_json), {"run": config.name, "config": config.to_dict(),
                                "n_images": len(x), "source": data.source,
                                "factors": list(FACTOR_NAMES), "factor_sizes": list(FACTOR_SIZES),
                                "codes": codes, "seconds": time.perf_counter() - t0,
                                "provenance": {**collect(device), **_run_record(Path(run_dir))}})
    to8 = lambda t: (t.clamp(0, 1) * 255).round().numpy().astype(np.uint8)  # noqa: E731
    arrays = {"traversals": to8(traversals(model, x[0])[order]), "kl": kl,
              "values": np.linspace(-SPAN, SPAN, STEPS), "seed_image": to8(x[0]),
              "seed_factors": factors[0], "components": order}
    atomic_write(Path(out_traversals), lambda fh: np.savez_compressed(fh, **arrays))


def gather_provenance(preset: str, runs: dict[str, dict[str, Any]], settings: dict[str, Any],
                      benchmarks: list[str | Path], out: str | Path) -> None:
    """What ran: commit, preset, device and each job's wall time and peak memory (benchmarks)."""
    import pandas as pd

    from mvae.provenance import collect, write_json

    jobs = []
    for path in map(Path, benchmarks):
        if not path.exists():
            continue
        row = pd.read_csv(path, sep="\t").iloc[0]
        rss = pd.to_numeric(row.get("max_rss"), errors="coerce")
        jobs.append({"rule": path.parent.name, "job": path.stem, "seconds": float(row["s"]),
                     "max_rss_mb": None if pd.isna(rss) else float(rss)})
    write_json(Path(out), {"preset": preset, **collect(default_device()), "settings": settings,
                           "runs": runs, "jobs": jobs,
                           "total_job_seconds": sum(j["seconds"] for j in jobs)})
