"""The training-step benchmark runs end to end on the CPU (a smoke run, not a timing test)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
