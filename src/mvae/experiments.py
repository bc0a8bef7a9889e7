"""Experiment presets for the pipeline, and the per-job steps its thin scripts call.

A preset file ``pipeline/config/<preset>.yaml`` holds

``defaults``  Config fields shared by every run of the preset;
``grid``      a list of named entries, each a mapping ``{name: ..., <Config field>: value}``;
``settings``  preset-level knobs that are not Config fields (probe subset, score images, ...).

:func:`load_preset` turns it into ``{run name: Config}`` and validates *every* entry before the
workflow builds its DAG: a typo in entry 17 of the paper grid must cost a second, not the 16
trainings before it. The selection helpers (:func:`mnist_sweep`, :func:`ablation_pair`, ...) pick
runs by what they are (dataset, K, latent size, beta), not by name, so the Snakefile stays small and
a renamed entry cannot silently drop out of a table.

The ``*_step`` functions below are what the pipeline's scripts call: each reads a run folder,
computes one kind of result and writes it atomically; the scripts only wire paths.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mvae.config import Config, ConfigError

#: Where the preset files live, relative to the repository root.
PRESET_DIR = Path(__file__).resolve().parents[2] / "pipeline" / "config"

#: Preset-level settings and their defaults (documented in pipeline/README.md).
DEFAULT_SETTINGS: dict[str, Any] = {
    "probe_max_train": None,      # train codes per probe (None: all); the SVM/MLP cost grows fast
    "probe_classifiers": ["mlp", "linear_svm", "knn"],
    "nll_samples": 1000,          # importance samples per test image for the IWAE NLL
    "diversity_max": 2000,        # test codes for CKA/HSIC: the Gram matrices are N x N
    "score_images": 5000,         # test images (and as many samples) for IS/FID on CIFAR-10
    "figure_images": 8,           # test images per row in Figs. 1, 2 and 5
    "scatter_points": 5000,       # test codes in the 2-D scatter (Fig. 3)
    "train_threads": 4,           # CPU threads per training job (capped by --cores)
    "eval_threads": 2,            # CPU threads per evaluation job
    "fetch_fid_weights": True,    # the data step fetches the offline FID extractor
    "book": True,                 # rule all builds the book
}


#: The probe classifiers a preset may list (mvae.probes.CLASSIFIERS, which imports scikit-learn:
#: too slow to import while Snakemake parses the workflow; a test keeps the two equal).
PROBE_CLASSIFIERS = ("mlp", "linear_svm", "knn")

#: Settings with bounds beyond "a positive integer": (minimum, maximum or None).
SETTING_BOUNDS: dict[str, tuple[int, int | None]] = {
    "diversity_max": (2, None),   # CKA / HSIC between components need two codes at least
    "figure_images": (1, 10),     # one test image per class: there are ten
}


class PresetError(ValueError):
    """A preset cannot be found or its file is malformed; the message says which and where."""


@dataclass
class Experiment:
    """One preset, resolved: its runs (validated Configs, in file order) and its settings."""

    preset: str
    path: Path
    runs: dict[str, Config]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def datasets(self) -> list[str]:
        """The datasets the runs need, in first-use order (one data job each)."""
        return list(dict.fromkeys(c.dataset for c in self.runs.values()))


def available_presets(directory: Path = PRESET_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def preset_path(preset: str, directory: Path = PRESET_DIR) -> Path:
    """A preset name (``quick``) or a path to a preset file (``my/preset.yaml``)."""
    if preset.endswith((".yaml", ".yml")) or os.sep in preset:
        path = Path(preset)
        if not path.is_file():
            raise PresetError(f"preset file {path} does not exist")
        return path
    path = directory / f"{preset}.yaml"
    if not path.is_file():
        raise PresetError(f"unknown preset {preset!r}; available presets: "
                          f"{', '.join(available_presets(directory))} (or a path to a .yaml file)")
    return path


def load_preset(preset: str = "paper", exclude_datasets: list[str] | tuple[str, ...] = (),
                directory: Path = PRESET_DIR) -> Experiment:
    """Read and validate a preset; raise :class:`PresetError` or :class:`ConfigError` naming the
    entry and key at fault. ``exclude_datasets`` drops runs (e.g. CIFAR-10 where no copy exists)."""
    path = preset_path(preset, directory)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise PresetError(f"{path} is not valid YAML: {' '.join(str(err).split())}") from None
    if not isinstance(raw, dict):
        raise PresetError(f"{path}: a preset file must be a mapping with defaults/grid/settings")
    unknown = sorted(set(raw) - {"description", "defaults", "grid", "settings"})
    if unknown:
        raise PresetError(f"{path}: unknown top-level key(s) {unknown}; allowed: description, "
                          "defaults, grid, settings")
    defaults = raw.get("defaults") or {}
    grid = raw.get("grid") or []
    if not isinstance(defaults, dict):
        raise PresetError(f"{path}: 'defaults' must be a mapping of Config fields")
    if not isinstance(grid, list) or not grid:
        raise PresetError(f"{path}: 'grid' must be a non-empty list of entries with a 'name'")
    if not isinstance(raw.get("settings") or {}, dict):
        raise PresetError(f"{path}: 'settings' must be a mapping of setting: value")
    settings = {**DEFAULT_SETTINGS, **(raw.get("settings") or {})}
    bad = sorted(set(settings) - set(DEFAULT_SETTINGS))
    if bad:
        raise PresetError(f"{path}: unknown setting(s) {bad}; allowed: "
                          f"{', '.join(DEFAULT_SETTINGS)}")
    for key, value in settings.items():
        problem = _setting_problem(key, value)
        if problem:
            raise PresetError(f"{path}: setting {key} must be {problem}, got {value!r}")
    name = path.stem if path.parent == directory else str(path)
    runs: dict[str, Config] = {}
    for i, entry in enumerate(grid):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise PresetError(f"{path}: grid entry {i + 1} must be a mapping with a 'name'")
        run = entry["name"]
        if run in runs:
            raise PresetError(f"{path}: grid entry name {run!r} appears twice")
        if not run.replace("-", "").replace("_", "").isalnum():
            raise PresetError(f"{path}: grid entry name {run!r} may hold only letters, digits, "
                              "'-' and '_' (it becomes a folder name)")
        try:
            runs[run] = Config.from_dict({**defaults, **entry})
        except ConfigError as err:
            raise ConfigError(f"preset {name!r}, grid entry {run!r}: {err}") from None
    for ds in exclude_datasets:
        if ds not in {"mnist", "fashion_mnist", "cifar10"}:
            raise PresetError(f"exclude_datasets: unknown dataset {ds!r}")
    runs = {k: c for k, c in runs.items() if c.dataset not in exclude_datasets}
    return Experiment(preset=name, path=path, runs=runs, settings=settings)


def _setting_problem(key: str, value: Any) -> str | None:
    """What a setting's value must be, if it is not (checked with the grid, before any job);
    the rule follows the default's type, so a new setting is checked without a new rule."""
    default = DEFAULT_SETTINGS[key]
    if key == "probe_classifiers":
        ok = (isinstance(value, list) and value and len(set(value)) == len(value)
              and all(v in PROBE_CLASSIFIERS for v in value))
        return None if ok else f"a non-empty list of {', '.join(PROBE_CLASSIFIERS)}"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int) or default is None:
        if default is None and value is None:
            return None
        low, high = SETTING_BOUNDS.get(key, (1, None))
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (
                high is not None and value > high):
            what = f"an integer >= {low}" + (f" and <= {high}" if high is not None else "")
            return what + (" (or null: all)" if default is None else "")
    return None


# --------------------------------------------------------------------------- run selections
#: The paper's dHSIC weight: runs with another beta belong to the beta sweep, not Table I.
PAPER_BETA = 1.0


def _paper_objective(c: Config) -> bool:
    """The paper's objective as we read it: none of the authors'-code switches, grey levels."""
    default = Config()
    return (not c.binarize and c.normalize_alpha == default.normalize_alpha
            and c.dirichlet_prior == default.dirichlet_prior
            and c.kl_reduction == default.kl_reduction
            and c.reconstruction == default.reconstruction)


def _main_latent(runs: dict[str, Config]) -> int | None:
    """The latent size of the main MNIST mixtures (20 in the paper; smaller in CI presets)."""
    sizes = [c.latent_dim for c in runs.values() if c.dataset == "mnist" and c.components > 1
             and c.latent_dim != 2 and _paper_objective(c)]
    return max(set(sizes), key=sizes.count) if sizes else None


def _main_mnist(c: Config, latent: int | None) -> bool:
    return (c.dataset == "mnist" and c.latent_dim != 2 and c.beta == PAPER_BETA
            and _paper_objective(c) and (latent is None or c.latent_dim == latent))


def mnist_sweep(runs: dict[str, Config]) -> dict[int, list[str]]:
    """The MNIST K sweep (the paper's objective, beta = 1, the main latent size):
    {K: [runs, one per seed]}, K ascending. Claims-grid runs (other betas, the authors'
    settings, binarised digits, the wide VAE) are selected by the helpers below instead."""
    latent = _main_latent(runs)
    out: dict[int, list[str]] = {}
    for name, c in runs.items():
        if _main_mnist(c, latent):
            out.setdefault(c.components, []).append(name)
    return dict(sorted(out.items()))


def beta_sweep(runs: dict[str, Config]) -> dict[str, str]:
    """The dHSIC-weight sweep: {beta as text: run} for the MNIST mixtures that differ from the
    Table II mixture (first seed) only in beta. Empty without at least two betas."""
    main = table2_runs(runs)["mixture"]
    if not main:
        return {}
    ref = runs[main[0]]
    out = {}
    for name, c in runs.items():
        if (c.dataset == "mnist" and _paper_objective(c) and c.components == ref.components
                and c.latent_dim == ref.latent_dim and c.seed == ref.seed):
            out.setdefault(f"{c.beta:g}", name)
    return dict(sorted(out.items(), key=lambda kv: float(kv[0]))) if len(out) > 1 else {}


def authors_runs(runs: dict[str, Config]) -> list[str]:
    """MNIST runs with the authors' code settings (normalised alphas), any beta."""
    return [n for n, c in runs.items() if c.dataset == "mnist" and c.normalize_alpha
            and not c.binarize]


def nll_runs(runs: dict[str, Config]) -> list[str]:
    """Runs on dynamically binarised digits: their log-likelihood is estimated (IWAE)."""
    return [n for n, c in runs.items() if c.binarize]


def table2_runs(runs: dict[str, Config], k: int = 4) -> dict[str, list[str]]:
    """Table II: the main MNIST runs with K = ``k`` (all seeds), the VAE (K = 1) and, as a
    baseline, VAEs whose latent is as wide as the mixture's concatenated codes (K x d)."""
    sweep = mnist_sweep(runs)
    if k not in sweep:  # small presets may stop short of K = 4: take the largest K
        k = max((key for key in sweep if key > 1), default=k)
    mixture = sweep.get(k, [])
    width = k * runs[mixture[0]].latent_dim if mixture else None
    wide = [n for n, c in runs.items() if c.components == 1 and width and _main_mnist(c, width)]
    return {"mixture": mixture, "vae": sweep.get(1, []), "wide_vae": wide}


def latent2d_runs(runs: dict[str, Config]) -> list[str]:
    """MNIST runs with a 2-D latent space (Fig. 3), mixture first."""
    names = [n for n, c in runs.items() if c.dataset == "mnist" and c.latent_dim == 2]
    return sorted(names, key=lambda n: -runs[n].components)


def ablation_pair(runs: dict[str, Config]) -> dict[str, str]:
    """The dHSIC ablation: the beta = 0 MNIST run and the main run it differs from only in beta
    (same K, latent size and seed). Empty when the preset has no ablation."""
    latent = _main_latent(runs)
    for name, c in runs.items():
        if c.dataset == "mnist" and c.beta == 0 and c.latent_dim != 2 and _paper_objective(c):
            for other, o in runs.items():
                if (_main_mnist(o, latent) and o.components == c.components
                        and o.latent_dim == c.latent_dim and o.seed == c.seed):
                    return {"with_dhsic": other, "without_dhsic": name}
    return {}


def dataset_pair(runs: dict[str, Config], dataset: str) -> dict[str, str]:
    """The mixture and VAE runs of ``dataset`` (first seed of each): Table III, Fashion."""
    out: dict[str, str] = {}
    for name, c in runs.items():
        if c.dataset == dataset:
            out.setdefault("vae" if c.components == 1 else "mixture", name)
    return out


def figure_runs(runs: dict[str, Config]) -> dict[str, str]:
    """The runs Figs. 1 and 2 show: the Table II mixture and VAE, first seed."""
    sel = table2_runs(runs)
    return {k: v[0] for k, v in sel.items() if v}


def baseline_runs(runs: dict[str, Config]) -> dict[str, str]:
    """Per probed dataset, the run whose shape (d, K, architecture) the baselines copy: the
    Table II mixture for MNIST, the mixture of the Fashion-MNIST pair."""
    out = {}
    mixture = table2_runs(runs)["mixture"]
    if mixture:
        out["mnist"] = mixture[0]
    fashion = dataset_pair(runs, "fashion_mnist")
    if fashion:
        out["fashion_mnist"] = fashion.get("mixture") or fashion["vae"]
    return out


def diversity_runs(runs: dict[str, Config]) -> list[str]:
    """Runs with more than one component (CKA/dHSIC between components needs two)."""
    return [n for n, c in runs.items() if c.components > 1]


# --------------------------------------------------------------------------- job helpers
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


def _device() -> Any:
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
    from mvae.files import run_lock
    from mvae.train import RunMismatchError, resume_state

    if not run_dir.is_dir():
        return
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
        generate,
        mean_image_sse,
        mixture_diagnostics,
        mixture_weights,
    )
    from mvae.provenance import collect, write_json
    from mvae.train import load_run, load_split

    device = _device()
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
    # one image per class first, so a row of examples shows different digits/objects
    order = np.concatenate([np.flatnonzero(test.labels.numpy() == c)[:1] for c in range(10)])
    pick = order[:n_examples]
    xs = x[pick].to(device)
    to8 = lambda t: (t.clamp(0, 1) * 255).round().to("cpu").numpy().astype(np.uint8)  # noqa: E731
    np.savez_compressed(out_examples, images=to8(xs), labels=test.labels[pick].numpy(),
                        mixture=to8(model.reconstruct(xs)),
                        components=to8(model.reconstruct_components(xs)),
                        samples=to8(generate(model, n_examples, seed=0)),
                        # between the first two examples (two different classes)
                        interpolations=to8(component_interpolations(model, x[pick[0]],
                                                                    x[pick[1]])),
                        # E[w | x] of the first 2,000 test images: how the mixture is used
                        weights=mixture_weights(model, x[:2000]).numpy().astype(np.float16))


def nll_step(run_dir: str | Path, out: str | Path, samples: int) -> None:
    """Negative log-likelihood (IWAE, ``samples`` importance samples) of the fixed binarised test
    set, in nats per image, beside the ELBO of the same images."""
    import torch

    from mvae.likelihood import fixed_binarization, iwae_log_likelihood
    from mvae.provenance import collect, write_json
    from mvae.train import evaluate_loss, load_run, load_split

    device = _device()
    model, config = load_run(run_dir, device)
    test = load_split(config, "test")
    x = fixed_binarization(test.floats())
    torch.manual_seed(0)
    t0 = time.perf_counter()
    log_px = iwae_log_likelihood(model, x, samples=samples, progress=True)
    seconds = time.perf_counter() - t0
    elbo = -evaluate_loss(model, x.to(device), 500)["loss"]
    write_json(Path(out), {"run": config.name, "config": config.to_dict(), "n_test": len(x),
                           "samples": samples, "nll": float(-log_px.mean()),
                           "nll_sem": float(log_px.std() / len(x) ** 0.5), "elbo": elbo,
                           "seconds": seconds, "source": test.source,
                           "provenance": {**collect(device), **_run_record(Path(run_dir))}})


def latents_step(run_dir: str | Path, out: str | Path) -> None:
    """Codes of every component on the train and test sets, in both modes (large: the run folder):
    posterior means (``<split>_codes``) and one seeded draw z ~ q (``<split>_sampled``)."""
    import numpy as np

    from mvae.evaluate import draw_codes, mixture_weights, posterior
    from mvae.train import load_run, load_split

    model, config = load_run(run_dir, _device())
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
                           "source": test.source, "provenance": collect(_device())})


def diversity_step(latents: str | Path, run_dir: str | Path, out: str | Path,
                   max_codes: int) -> None:
    """How different the components' codes are: pairwise CKA and HSIC, and the dHSIC.

    Besides the posterior means, ``"penalty"`` measures dHSIC where the training penalty does:
    on sampled codes z ~ q(z | x), one batch of the run's batch size at a time, beside its
    independent and identical references (:func:`mvae.diversity.dhsic_range`).
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
    write_json(Path(out), {"run": config["name"], "n_codes": int(codes.shape[1]), **result,
                           "provenance": _run_record(Path(run_dir))})


def score_step(run_dir: str | Path, out: str | Path, n_images: int, cache_dir: str | Path) -> None:
    """CIFAR-10: RMSE, Inception Score and FID of prior samples and of reconstructions."""
    from mvae.evaluate import generate, reconstructions
    from mvae.provenance import collect, write_json
    from mvae.scores import cifar_scores
    from mvae.train import load_run, load_split

    device = _device()
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
    write_json(Path(out), {"preset": preset, **collect(_device()), "settings": settings,
                           "runs": runs, "jobs": jobs,
                           "total_job_seconds": sum(j["seconds"] for j in jobs)})
