"""pyproject.toml and environment.yml must list the same dependencies; README and CI agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _normalise(spec: str) -> str:
    return re.sub(r"\s+", "", spec).lower()


def test_environment_yml_lists_the_pyproject_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(map(_normalise, project["dependencies"]))
    for extra, deps in project["optional-dependencies"].items():
        if extra == "scores":  # opt-in: needs the torchvision built for the user's torch
            continue
        wanted |= {_normalise(d) for d in deps if not d.startswith("mvae[")}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {_normalise(d) for d in pip_section if not d.startswith("-e")}
    assert listed == wanted, {"only in environment.yml": listed - wanted,
                              "only in pyproject.toml": wanted - listed}


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"<!-- test-command -->\s*```(?:bash|sh)?\n(.+?)\n```", readme, re.S)
    assert command, "README.md must mark its test command with <!-- test-command -->"
    assert command.group(1).strip() in ci


def test_the_book_shows_the_readme_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    intro = (ROOT / "book" / "01_intro.py").read_text()
    for marker in ("main-command", "test-command"):
        command = re.search(rf"<!-- {marker} -->\s*```(?:bash|sh)?\n(.+?)\n```", readme, re.S)
        assert command and "# " + command.group(1).strip() in intro, marker
