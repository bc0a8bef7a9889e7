"""The dirty flag says whether the code behind a number had uncommitted changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mvae.provenance import git_commit


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MVAE_GIT_COMMIT", raising=False)
    (tmp_path / "src").mkdir()
    (tmp_path / "results" / "paper").mkdir(parents=True)
    (tmp_path / "src" / "model.py").write_text("x = 1\n")
    (tmp_path / "results" / "paper" / "table.csv").write_text("a\n1\n")
    (tmp_path / "results" / "paper" / "figure.svg").write_text("<svg/>\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return tmp_path


def test_a_clean_checkout_is_not_dirty(repo: Path) -> None:
    record = git_commit(repo / "src")
    assert len(record["commit"]) == 40
    assert record["dirty"] is False


def test_a_changed_source_file_is_dirty_seen_from_any_subfolder(repo: Path) -> None:
    (repo / "src" / "model.py").write_text("x = 2\n")
    assert git_commit(repo / "results" / "paper")["dirty"] is True


def test_rewritten_results_are_outputs_not_a_dirty_checkout(repo: Path) -> None:
    (repo / "results" / "paper" / "table.csv").write_text("a\n2\n")  # rewritten
    (repo / "results" / "paper" / "figure.svg").unlink()  # what Snakemake does before a job
    assert git_commit(repo / "src")["dirty"] is False
