"""README.md's examples are true: every ```python block runs as it stands and returns what its
comments say (a shape such as ``(4,)``, "a scalar"), the library example gives the types and
values the README names, and every ``mvae`` command of its shell blocks is one the command line
accepts (parsed, not run: they train)."""

from __future__ import annotations

import ast
import io
import math
import re
import shlex
import tokenize
from pathlib import Path
from typing import Any

import pytest
import torch

import mvae
from mvae.cli import parse_args
from mvae.objective import LossTerms

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


def run_block(code: str, line: int) -> tuple[dict[str, Any], dict[int, Any]]:
    """Run a block statement by statement: its namespace, and the value of each top-level
    statement by the README line it starts on (an expression's value, an assignment's target)."""
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    values: dict[int, Any] = {}
    for node in ast.parse(code).body:
        where = f"{README}:{line + node.lineno - 1}"
        if isinstance(node, ast.Expr):
            values[line + node.lineno - 1] = eval(  # noqa: S307  (README's own example)
                compile(ast.Expression(node.value), where, "eval"), namespace)
            continue
        exec(compile(ast.Module([node], []), where, "exec"), namespace)
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            values[line + node.lineno - 1] = namespace[node.targets[0].id]
    return namespace, values


def comments(code: str, line: int) -> dict[int, str]:
    """The comment of each line of a block, by README line."""
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return {line + t.start[0] - 1: t.string.lstrip("# ") for t in tokens
            if t.type == tokenize.COMMENT}


SHAPE = re.compile(r"\((\d+(?:, *\d+)*),?\)$")


def check_comment(comment: str, value: Any) -> int:
    """Assert what ``comment`` says of ``value``: a shape at its end such as ``(4,)``, or "a
    scalar"; how many claims it checked."""
    shape = SHAPE.search(comment)
    if shape:
        assert tuple(value.shape) == tuple(int(n) for n in shape.group(1).split(",")), comment
        return 1
    if comment.endswith("a scalar"):
        assert isinstance(value, float) or (torch.is_tensor(value) and value.dim() == 0), comment
        return 1
    return 0


@pytest.mark.parametrize(("line", "code"), PYTHON, ids=[f"README.md:{n}" for n, _ in PYTHON])
def test_python_block_runs_and_returns_what_its_comments_say(line: int, code: str, tmp_path,
                                                              monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # whatever a block writes stays out of the checkout
    _, values = run_block(code, line)
    for at, comment in comments(code, line).items():
        if at in values:
            check_comment(comment, values[at])


def test_comment_claims_are_checked_and_can_fail() -> None:
    assert check_comment("log p(x), (4,)", torch.zeros(4)) == 1
    assert check_comment("a batch, (2, 3)", torch.zeros(2, 3)) == 1
    assert check_comment("dHSIC of 4 variables, a scalar", torch.tensor(0.5)) == 1
    assert check_comment("the paper's MNIST setup", None) == 0
    with pytest.raises(AssertionError):
        check_comment("log p(x), (4,)", torch.zeros(4, 1))
    with pytest.raises(AssertionError):
        check_comment("a scalar", torch.zeros(3))


def test_the_library_example_returns_what_the_readme_says(tmp_path, monkeypatch) -> None:
    """The ``Use the library`` block: each name is what its comment calls it."""
    monkeypatch.chdir(tmp_path)
    found = [(line, code) for line, code in PYTHON if "mixture_loss" in code]
    assert found, "README.md's library example (mvae.mixture_loss) is gone"
    line, code = found[0]
    ns, values = run_block(code, line)
    said = comments(code, line)
    assert sum(check_comment(said[at], values[at]) for at in said if at in values) >= 2
    assert isinstance(ns["config"], mvae.Config) and ns["config"] == mvae.Config()  # the paper's
    assert isinstance(ns["model"], mvae.MVAE)                                        # MNIST setup
    x = ns["x"]
    assert tuple(x.shape) == (128, 1, 28, 28) and x.min() >= 0 and x.max() <= 1  # images in [0, 1]
    terms = ns["terms"]
    assert isinstance(terms, LossTerms)
    for name in ("loss", "reconstruction", "kl_gauss"):  # loss, reconstruction, kl_gauss, ...
        value = getattr(terms, name)
        assert torch.is_tensor(value) and value.dim() == 0 and torch.isfinite(value), name
    assert any(p.grad is not None and p.grad.abs().sum() > 0  # terms.loss.backward()
               for p in ns["model"].parameters())
    elbo = ns["elbo"]                                          # the ELBO, nats per image
    assert isinstance(elbo, float) and math.isfinite(elbo) and elbo < 0
    assert elbo == pytest.approx(-(terms.reconstruction + terms.kl_gauss
                                   + terms.kl_dirichlet).item(), rel=1e-5)
    dhsic = next(v for at, v in values.items() if "dHSIC" in said.get(at, ""))
    assert torch.is_tensor(dhsic) and dhsic.dim() == 0 and dhsic >= 0  # a scalar
    log_px = ns["log_px"]                                      # log p(x), (4,)
    assert tuple(log_px.shape) == (4,) and bool((log_px <= 0).all())


def test_readme_mvae_commands_parse() -> None:
    commands = mvae_commands(TEXT)
    assert {argv[0] for _, argv in commands} >= {"train", "evaluate"}, commands
    for line, argv in commands:
        try:
            parse_args(argv)
        except SystemExit as exit_:
            pytest.fail(f"README.md:{line}: mvae {shlex.join(argv)} is refused ({exit_.code})")
