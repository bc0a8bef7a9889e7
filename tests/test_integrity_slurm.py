"""Issue 41, case 14: the SLURM profile's setting exists in the plugin version the package asks
for, and the plugin's fall-back to sacct (the hang the profile avoids) is documented."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _floor(spec_list: list[str], name: str) -> tuple[int, ...]:
    spec = next(s for s in spec_list if s.startswith(name))
    return tuple(int(p) for p in re.search(r">=\s*([\d.]+)", spec)[1].split("."))


def _as_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.match(r"[\d.]+", text)[0].rstrip(".").split("."))


def test_the_plugin_floor_is_the_version_tested() -> None:
    """Before: >=1.0, which has no slurm-status-command; the floor is the version named as
    tested in pipeline/README.md, and the installed plugin is at least that."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floor = _floor(project["optional-dependencies"]["pipeline"], "snakemake-executor-plugin-slurm")
    readme = (ROOT / "pipeline" / "README.md").read_text()
    tested = _as_tuple(re.search(r"Tested with snakemake-executor-plugin-slurm ([\d.]+)",
                                 readme)[1])
    assert floor == tested[:len(floor)] and floor >= (2,), (floor, tested)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _floor(pip, "snakemake-executor-plugin-slurm") == floor
    plugin = pytest.importorskip("snakemake_executor_plugin_slurm")
    assert _as_tuple(version("snakemake-executor-plugin-slurm")) >= floor
    # the profile's setting is one of the plugin's
    fields = {f for f in plugin.ExecutorSettings.__dataclass_fields__}
    profile = yaml.safe_load((ROOT / "pipeline" / "profiles" / "slurm" / "config.yaml")
                             .read_text())
    for key in profile:
        if key.startswith("slurm-"):
            assert key.removeprefix("slurm-").replace("-", "_") in fields, key


def test_the_fallback_to_sacct_is_documented() -> None:
    readme = (ROOT / "pipeline" / "README.md").read_text()
    profile = (ROOT / "pipeline" / "profiles" / "slurm" / "config.yaml").read_text()
    for text in (readme, profile):
        assert "scontrol show config" in text and "MinJobAge" in text
    init = yaml.safe_load(profile)["slurm-init-seconds-before-status-checks"]
    assert f"({3 * init} s" in readme and f"({3 * init} s)" in profile
