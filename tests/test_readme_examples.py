"""README.md's examples are true: every ```python block runs as it stands, and every ``mvae``
command of its shell blocks is one the command line accepts (parsed, not run: they train)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from mvae.cli import parse_args

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)


def code_blocks(text: str, language: str) -> list[tuple[int, str]]:
    """``(line, code)`` of each fenced block of ``language`` (line: where its code starts)."""
    return [(text.count("\n", 0, m.start(2)) + 1, m.group(2)) for m in FENCE.finditer(text)
            if m.group(1) == language]


def mvae_commands(text: str) -> list[tuple[int, list[str]]]:
    """``(line, argv)`` of each ``mvae ...`` command line of the shell blocks, comments cut."""
    commands = []
    for language in ("bash", "sh", "shell", "console"):
        for start, code in code_blocks(text, language):
            for offset, line in enumerate(code.splitlines()):
                words = shlex.split(line, comments=True)
                if words and Path(words[0]).name == "mvae":
                    commands.append((start + offset, words[1:]))
    return commands


TEXT = README.read_text()
PYTHON = code_blocks(TEXT, "python")


def test_the_extraction_finds_python_and_leaves_shell_alone() -> None:
    sample = "```python\nx = 1\n```\n\n```bash\nrm -rf /\n```\n```python\ny = 2\n```\n"
    assert code_blocks(sample, "python") == [(2, "x = 1\n"), (9, "y = 2\n")]
    assert PYTHON, "README.md has no ```python example to run"


@pytest.mark.parametrize(("line", "code"), PYTHON, ids=[f"README.md:{n}" for n, _ in PYTHON])
def test_python_block_runs(line: int, code: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # whatever a block writes stays out of the checkout
    exec(compile(code, f"{README}:{line}", "exec"), {"__name__": "__readme__"})


def test_readme_mvae_commands_parse() -> None:
    commands = mvae_commands(TEXT)
    assert {argv[0] for _, argv in commands} >= {"train", "evaluate"}, commands
    for line, argv in commands:
        try:
            parse_args(argv)
        except SystemExit as exit_:
            pytest.fail(f"README.md:{line}: mvae {shlex.join(argv)} is refused ({exit_.code})")
