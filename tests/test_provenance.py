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


def test_the_device_names_the_kernels_an_override_selects() -> None:
    """ATEN_CPU_CAPABILITY makes torch compute with older kernels than the CPU has (an AVX-512
    machine then reproduces an AVX2 run bit for bit), so the device record says so; without
    the override it names the CPU only. Run in fresh interpreters: ATen reads it at import."""
    import os
    import subprocess
    import sys

    code = "from mvae.provenance import device_name; print(device_name('cpu'))"
    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY",
                                                             "MKL_ENABLE_INSTRUCTIONS")}
    plain = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout.strip()
    pinned = subprocess.run([sys.executable, "-c", code], env={**env, "ATEN_CPU_CAPABILITY":
                                                               "default"},
                            capture_output=True, text=True, check=True).stdout.strip()
    assert plain.startswith("cpu (") and "kernels" not in plain
    assert pinned == plain[:-1] + "; kernels DEFAULT (ATEN_CPU_CAPABILITY=default))"
