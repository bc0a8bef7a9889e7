"""Experiment presets: a YAML file of shared defaults, a grid of named runs and preset settings.

A preset file ``<preset folder>/<preset>.yaml`` holds

``name``      optional: the preset's name and results folder (default: the file's name);
``defaults``  Config fields shared by every run of the preset;
``grid``      a list of named entries, each a mapping ``{name: ..., <Config field>: value}``;
``settings``  preset-level knobs that are not Config fields (probe subset, score images, ...).

The results folder is decided by the preset's name, never by where its file lies. The names of
the presets in the preset folder are theirs alone: a preset file given by path may not take one
(``paper`` above all, whose results folder is the committed archive ``results/paper``), so a copy
named ``paper.yaml`` elsewhere can never write into it.

:func:`load_preset` turns it into an :class:`Experiment` and validates *every* entry before the
workflow builds its DAG: a typo in entry 17 of the paper grid must cost a second, not the 16
trainings before it. The folder of preset files is the caller's (the pipeline's
``pipeline/config``): the installed library does not look for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mvae import yaml_strict
from mvae.config import DATASETS, Config, ConfigError
from mvae.limits import MAX_IWAE_SAMPLES

#: The probe classifiers of Table II, in the tables' column order: the one list of them
#: (:mod:`mvae.probes`, the tables and the book read it here; this module imports no scikit-learn,
#: which is too slow to import while Snakemake parses the workflow).
PROBE_CLASSIFIERS = ("mlp", "linear_svm", "knn")

#: Preset-level settings and their defaults (documented in pipeline/README.md).
DEFAULT_SETTINGS: dict[str, Any] = {
    "probe_max_train": None,      # train codes per probe (None: all); the SVM/MLP cost grows fast
    "probe_classifiers": list(PROBE_CLASSIFIERS),
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

#: Settings with bounds beyond "a positive integer": (minimum, maximum or None).
SETTING_BOUNDS: dict[str, tuple[int, int | None]] = {
    "nll_samples": (1, MAX_IWAE_SAMPLES),  # importance samples: hours per thousand on a CPU
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
    #: The preset's ``defaults`` as a Config: the paper's setup, against which the run
    #: selections (:mod:`mvae.selections`) decide what each run is.
    reference: Config = field(default_factory=Config)
    #: The preset's name (``name:`` in the file, else the file's stem): its results folder.
    folder: str = ""

    def __post_init__(self) -> None:
        if not self.folder:
            self.folder = Path(self.path).stem

    @property
    def datasets(self) -> list[str]:
        """The datasets the runs need, in first-use order (one data job each)."""
        return list(dict.fromkeys(c.dataset for c in self.runs.values()))


def available_presets(directory: Path) -> list[str]:
    """The names of the preset files (``<name>.yaml``) in ``directory``, sorted."""
    return sorted(p.stem for p in directory.glob("*.yaml"))


def preset_path(preset: str, directory: Path) -> Path:
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


def read_preset_file(path: str | Path) -> Any:
    """What a preset file holds, read by :func:`mvae.yaml_strict.load` (a key given twice is an
    error, not silently the last value); an empty file is ``{}``."""
    try:
        return yaml_strict.load(Path(path).read_text(), str(path)) or {}
    except yaml_strict.YAMLInputError as err:
        raise PresetError(str(err)) from None


def load_preset(preset: str, directory: str | Path,
                exclude_datasets: list[str] | tuple[str, ...] = ()) -> Experiment:
    """Read and validate a preset; raise :class:`PresetError` or :class:`ConfigError` naming the
    entry and key at fault. ``preset`` is a name in ``directory`` or a path to a preset file;
    ``exclude_datasets`` drops runs (e.g. CIFAR-10 where no copy exists)."""
    directory = Path(directory)
    path = preset_path(preset, directory)
    raw = read_preset_file(path)
    if not isinstance(raw, dict):
        raise PresetError(f"{path}: a preset file must be a mapping with defaults/grid/settings")
    unknown = sorted(set(raw) - {"name", "description", "defaults", "grid", "settings"})
    if unknown:
        raise PresetError(f"{path}: unknown top-level key(s) {unknown}; allowed: name, "
                          "description, defaults, grid, settings")
    folder = _folder_name(path, raw.get("name", path.stem), directory)
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
    name = path.stem if path.parent.resolve() == directory.resolve() else str(path)
    runs: dict[str, Config] = {}
    for i, entry in enumerate(grid):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise PresetError(f"{path}: grid entry {i + 1} must be a mapping with a 'name'")
        run = entry["name"]
        if run in runs:
            raise PresetError(f"{path}: grid entry name {run!r} appears twice")
        # stricter than Config's names (no '.'): a run name is also a Snakemake wildcard value,
        # joined into a regular expression (the Snakefile's wildcard_constraints)
        if not run.replace("-", "").replace("_", "").isalnum():
            raise PresetError(f"{path}: grid entry name {run!r} may hold only letters, digits, "
                              "'-' and '_' (it becomes a folder name and a wildcard)")
        try:
            runs[run] = Config.from_dict({**defaults, **entry})
        except ConfigError as err:
            raise ConfigError(f"preset {name!r}, grid entry {run!r}: {err}") from None
    for ds in exclude_datasets:
        if ds not in DATASETS:
            raise PresetError(f"exclude_datasets: unknown dataset {ds!r}")
    runs = {k: c for k, c in runs.items() if c.dataset not in exclude_datasets}
    try:
        reference = Config.from_dict({**defaults, "name": "defaults"})
    except ConfigError as err:
        raise ConfigError(f"preset {name!r}, defaults: {err}") from None
    return Experiment(preset=name, path=path, runs=runs, settings=settings, reference=reference,
                      folder=folder)


def _folder_name(path: Path, name: object, directory: Path) -> str:
    """The preset's name, which names its results folder: a plain name, and none of the preset
    folder's own names unless this is that preset's file."""
    if not isinstance(name, str) or not name or name.startswith(".") or not name.replace(
            "-", "").replace("_", "").replace(".", "").isalnum():
        raise PresetError(f"{path}: name must be letters, digits, '-', '_' or '.' (it names the "
                          f"results folder results/<name>/), got {name!r}")
    own = directory / f"{name}.yaml"
    if own.is_file() and own.resolve() != path.resolve():
        committed = " (the committed archive)" if name == "paper" else ""
        raise PresetError(
            f"{path}: the preset name {name!r} is reserved for {own}, whose results folder "
            f"results/{name}/ is its own{committed}; name this preset otherwise (a 'name:' line "
            "in the file, or another file name), so that its results go to their own folder")
    if path.parent.resolve() == directory.resolve() and name != path.stem:
        raise PresetError(f"{path}: name {name!r} differs from the file's name; a preset of "
                          f"{directory} is named by its file")
    return name


def schema_problem(path: str | Path, err: BaseException) -> str:
    """One line for a preset file that ``snakemake.utils.validate`` refused against the
    pipeline's ``pipeline/schemas/preset.schema.yaml``: the file, where in it (``grid/3/lr``) and
    jsonschema's reason (which names the unexpected key, the type or the bound). Snakemake
    raises its WorkflowError while handling jsonschema's error, which is the context."""
    cause = err.__context__
    message = getattr(cause, "message", None)
    if not isinstance(message, str):
        return f"{path}: {' '.join(str(err).split())}"
    where = "/".join(map(str, getattr(cause, "absolute_path", ()))) or "the top level"
    return f"{path}: {where}: {' '.join(message.split())}"


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


