"""The training-step benchmark runs end to end on the CPU (a smoke run, not a timing test)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_benchmark_smoke_run_writes_a_record(tmp_path, monkeypatch, capsys) -> None:
    out = tmp_path / "bench.json"
    monkeypatch.setattr(sys, "argv", ["train_step.py", "--smoke", "--components", "1", "3",
                                      "--only", "steps", "threads", "test_loss",
                                      "--eval-batches", "64", "100", "--json", str(out)])
    try:
        runpy.run_path(str(ROOT / "benchmarks" / "train_step.py"), run_name="__main__")
    except SystemExit as done:
        assert done.code == 0
    record = json.loads(out.read_text())
    rows = {(r["model"], r["K"]): r for r in record["steps"]}
    assert set(rows) == {("mnist-mlp", 1), ("mnist-mlp", 3), ("cifar10-conv", 4)}
    for row in rows.values():
        assert row["fast_ms"] > 0 and row["fast_images_per_s"] > 0
        assert row["precision"] in ("fp32", "bf16")
        if record["baseline_commit"]:  # a git checkout: the old step was timed beside the new
            assert row["baseline_ms"] > 0 and row["speedup"] == row["baseline_ms"] / row["fast_ms"]
    threads = {r["model"]: r for r in record["threads_per_job"]}
    assert set(threads) == {"mnist", "cifar"}
    assert all(r["one_2thread_images_per_s"] > 0 and r["two_1thread_images_per_s"] > 0
               for r in threads.values())
    test_loss = {(r["model"], r["batch"]): r for r in record["test_loss"]}
    assert set(test_loss) == {(m, b) for m in ("mnist-mlp", "cifar10-conv") for b in (64, 100)}
    assert all(r["images_per_s"] > 0 for r in test_loss.values())
    assert record["provenance"]["device"].startswith("cpu")
    assert "fast" in capsys.readouterr().out


@pytest.mark.slow
def test_concurrency_smoke_run_times_each_n_and_names_the_best(tmp_path) -> None:
    """The GPU session's schedule question, asked on the CPU: N = 1 and 2 processes train at
    once; the record holds each N's throughput, and the last line names the best for a script."""
    import subprocess

    out = tmp_path / "concurrency.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "concurrency.py"), "--smoke",
                           "--epochs", "2", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, check=True)
    record = json.loads(out.read_text())
    rows = {r["concurrent"]: r for r in record["rows"]}
    assert set(rows) == {1, 2}
    assert len(rows[2]["epoch_seconds"]) == 2  # one per run
    assert all(r["images_per_second"] > 0 for r in rows.values())
    best = max(rows.values(), key=lambda r: r["images_per_second"])["concurrent"]
    assert record["best"] == best
    assert done.stdout.strip().splitlines()[-1] == f"best: {best}"
    refused = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "concurrency.py"),
                              "--smoke", "--epochs", "1"], capture_output=True, text=True)
    assert refused.returncode == 2 and "at least 2" in refused.stderr
