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
                                      "--json", str(out)])
    try:
        runpy.run_path(str(ROOT / "benchmarks" / "train_step.py"), run_name="__main__")
    except SystemExit as done:
        assert done.code == 0
    record = json.loads(out.read_text())
    rows = {(r["model"], r["K"]): r for r in record["rows"]}
    assert set(rows) == {("mnist-mlp", 1), ("mnist-mlp", 3), ("cifar10-conv", 4)}
    for K in (1, 3):
        row = rows[("mnist-mlp", K)]
        assert row["looped_ms"] > 0 and row["stacked_ms"] > 0 and row["speedup_vs_looped"] > 0
    assert record["provenance"]["device"].startswith("cpu")
    assert "looped_ms" in capsys.readouterr().out
