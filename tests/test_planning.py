"""mvae.planning reads run times off an archive: a wrong reference or scaling would let the grid
start a run that cannot finish before its session ends (or refuse one that can)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mvae.config import Config
from mvae.model import forward_flops
from mvae.planning import estimate, job_minutes, training_wall_seconds

ROOT = Path(__file__).resolve().parents[1]
RUNS = ("mnist-k10-s0", "cifar10-k4")
MNIST = Config(dataset="mnist", latent_dim=20, hidden_dim=500, hidden_layers=2, batch_size=128,
               epochs=100)


def _archive_run(archive: Path, name: str, config: Config, train_seconds: float,
                 evaluation: dict[str, float]) -> None:
    run = archive / "runs" / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(config.to_dict()))
    (run / "done.json").write_text(json.dumps({"run": name, "epochs": config.epochs,
                                               "train_seconds": train_seconds}))
    for rule, seconds in {"train": train_seconds + 50, **evaluation}.items():
        (archive / "benchmarks" / rule).mkdir(parents=True, exist_ok=True)
        (archive / "benchmarks" / rule / f"{name}.tsv").write_text(
            f"s\th:m:s\tmax_rss\n{seconds}\t0:00:00\t1.0\n")


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    _archive_run(tmp_path, "k1", MNIST.replace(components=1), 1000.0,
                 {"reconstruct": 10.0, "probe": 50.0})
    _archive_run(tmp_path, "k4", MNIST.replace(components=4), 6000.0,
                 {"reconstruct": 40.0, "probe": 200.0})
    _archive_run(tmp_path, "bin-k4", MNIST.replace(components=4, binarize=True), 5000.0,
                 {"reconstruct": 40.0, "probe": 200.0, "nll": 3000.0})
    _archive_run(tmp_path, "cifar-k1", Config(dataset="cifar10", latent_dim=256, epochs=20,
                                              conv_channels=[8, 8, 8, 8, 8], train_subset=1000,
                                              components=1),
                 2000.0, {"reconstruct": 100.0, "score": 900.0})
    return tmp_path


def test_training_scales_the_median_rate_per_component_epoch(archive: Path) -> None:
    # seconds per component-epoch: k1 10, k4 15, bin-k4 12.5 -> median 12.5
    found = estimate(archive, MNIST.replace(components=6), epochs_done=20)
    assert found is not None
    assert found.train_seconds == pytest.approx(12.5 * 6 * 80)
    assert found.basis == ("bin-k4", "k1", "k4")  # the CIFAR run is another network


def test_training_rate_counts_the_test_loss_when_the_archive_knows_it(archive: Path) -> None:
    # k1 recorded its wall seconds (2000 for 1000 of training); k4's one job trained every epoch
    # (its 9000 s wall counts); bin-k4 was resumed, so its last job's 100 s say nothing
    for name, extra in {"k1": {"wall_seconds": 2000.0}, "k4": {"job_seconds": 9000.0},
                        "bin-k4": {"job_seconds": 100.0}}.items():
        done = archive / "runs" / name / "done.json"
        done.write_text(json.dumps({**json.loads(done.read_text()), **extra}))
    assert training_wall_seconds({"train_seconds": 10.0, "wall_seconds": 12.0}) == 12.0
    # seconds per component-epoch: k1 20, k4 22.5, bin-k4 12.5 -> median 20
    found = estimate(archive, MNIST.replace(components=6), epochs_done=20)
    assert found.train_seconds == pytest.approx(20.0 * 6 * 80)


def test_evaluation_comes_from_the_nearest_run_with_the_same_rules(archive: Path) -> None:
    # K = 6: k4 is nearest among non-binarised runs; its rules scale by 6 / 4, no NLL
    assert estimate(archive, MNIST.replace(components=6)).eval_seconds == pytest.approx(
        (40 + 200) * 6 / 4)
    # a binarised run takes the binarised reference, NLL included
    assert estimate(archive, MNIST.replace(components=2, binarize=True)).eval_seconds == \
        pytest.approx((40 + 200 + 3000) * 2 / 4)
    # K = 2 is as near to 1 as to 4 (scaled 2x / 0.5x): the larger K is taken
    assert estimate(archive, MNIST.replace(components=2)).eval_seconds == pytest.approx(120.0)


def test_inception_scores_do_not_scale_with_components(archive: Path) -> None:
    cifar = Config(dataset="cifar10", latent_dim=256, epochs=20, conv_channels=[8, 8, 8, 8, 8],
                   train_subset=1000, components=4)
    found = estimate(archive, cifar)
    assert found.train_seconds == pytest.approx(2000.0 * 4)
    assert found.eval_seconds == pytest.approx(100.0 * 4 + 900.0)
    assert not found.flop_scaled


def test_a_width_never_trained_scales_the_nearest_run_by_flops(archive: Path) -> None:
    """Another width of the same family: cifar-k1's seconds times the ratio of FLOPs per image
    (fixed-cost rules unscaled); a family with no archived run still has no estimate."""
    ref = Config(dataset="cifar10", latent_dim=256, epochs=20, conv_channels=[8, 8, 8, 8, 8],
                 train_subset=1000, components=1)
    wide = ref.replace(conv_channels=[16, 16, 16, 16, 16], components=2, epochs=30)
    ratio = forward_flops(wide) / forward_flops(ref)
    assert ratio > 2 * 2  # twice the components, each wider
    found = estimate(archive, wide, epochs_done=10)
    assert found is not None and found.flop_scaled and found.basis == ("cifar-k1",)
    assert found.train_seconds == pytest.approx(2000.0 / 20 * ratio * 20)
    assert found.eval_seconds == pytest.approx(100.0 * ratio + 900.0)
    assert estimate(archive, wide.replace(train_subset=2000)) is None


def test_a_cluster_job_asks_for_twice_the_estimate_in_half_hours(archive: Path,
                                                                   tmp_path: Path) -> None:
    """K = 6 trains 12.5 s x 6 x 100 = 7500 s: twice is 250 min, asked as 270; a small run asks
    for the hour floor; no estimate (another family, or no archive) gives the default."""
    assert job_minutes(archive, MNIST.replace(components=6)) == 270
    assert job_minutes(archive, MNIST.replace(components=1, epochs=5)) == 60
    assert job_minutes(archive, MNIST.replace(train_subset=500), default=123) == 123
    assert job_minutes(tmp_path / "no-archive", MNIST) == 240


def test_forward_flops_count_every_layer_of_every_component() -> None:
    """The MLP by hand: 2 FLOPs per weight of each Linear, per image: encoder 784-500-500 to
    (mu, var, alpha) = 2 x 20 + 1 outputs, decoder 20-500-500-784, once per component."""
    per_component = 2 * (784 * 500 + 500 * 500 + 500 * 41 + 20 * 500 + 500 * 500 + 500 * 784)
    for k in (1, 3):
        assert forward_flops(MNIST.replace(components=k)) == k * per_component


@pytest.fixture
def archive_without_runs(tmp_path: Path) -> Path:
    """A copy of the committed paper archive with RUNS not archived, whatever the repository
    holds (once the grid is complete there would be nothing left to plan)."""
    root = tmp_path / "archive"
    shutil.copytree(ROOT / "results" / "paper", root / "paper")
    for run in RUNS:
        (root / "paper" / "runs" / run / "done.json").unlink(missing_ok=True)
        shutil.rmtree(root / "paper" / "eval" / run, ignore_errors=True)
    return root


def _grid(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "paper_grid.py"), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.mark.slow
def test_the_grid_plans_from_the_committed_archive(tmp_path: Path,
                                                  archive_without_runs: Path) -> None:
    """--plan prints an estimate (over --speed) for every run still to do and starts nothing."""
    def plan(speed: str) -> dict[str, int]:
        done = _grid("--results-root", str(tmp_path / "work"), "--archive-root",
                     str(archive_without_runs), "--no-commit", "--plan", "--speed", speed,
                     "--runs", *RUNS)
        assert done.returncode == 0, done.stderr
        return {m[1]: int(m[2]) for m in re.finditer(r"^(\S+): ~(\d+) min$", done.stdout, re.M)}

    slow, fast = plan("1"), plan("2")
    assert set(slow) == set(fast) == set(RUNS)
    assert all(abs(fast[run] - slow[run] / 2) <= 1 for run in RUNS)
    assert all(slow[run] >= 10 for run in RUNS)  # hours of CPU training, not a placeholder
    assert not (tmp_path / "work" / "paper").exists()  # nothing trained


@pytest.mark.slow
def test_a_restarted_grid_resumes_its_most_advanced_run_first(tmp_path: Path,
                                                             archive_without_runs: Path) -> None:
    """Without --runs the preset's order holds, except that runs with trained epochs in the
    results root (checkpoints to resume) come first, the one with the most epochs first."""
    def planned() -> list[str]:
        done = _grid("--results-root", str(tmp_path / "work"), "--archive-root",
                     str(archive_without_runs), "--no-commit", "--plan")
        assert done.returncode == 0, done.stderr
        return re.findall(r"^(\S+): ", done.stdout, re.M)

    fresh = planned()
    assert fresh.index(RUNS[0]) < fresh.index(RUNS[1])  # the preset's order: MNIST first
    for run, epochs in ((RUNS[1], 3), (RUNS[0], 1)):
        history = tmp_path / "work" / "paper" / "runs" / run / "history.json"
        history.parent.mkdir(parents=True)
        history.write_text(json.dumps([{"epoch": e} for e in range(epochs)]))
    assert planned() == [RUNS[1], RUNS[0]] + [r for r in fresh if r not in RUNS]


@pytest.mark.slow
def test_the_grid_archives_only_inside_the_repository_unless_told_not_to_commit(
        tmp_path: Path) -> None:
    done = _grid("--results-root", str(tmp_path / "work"), "--archive-root", str(tmp_path),
                 "--plan", "--runs", *RUNS)
    assert done.returncode != 0 and "outside this repository" in done.stderr


@pytest.mark.slow
def test_the_grid_starts_no_run_that_cannot_finish_by_the_deadline(
        tmp_path: Path, archive_without_runs: Path) -> None:
    soon = time.localtime(time.time() + 180)
    if soon.tm_mday != time.localtime().tm_mday:
        pytest.skip("the deadline would cross midnight")
    done = _grid("--results-root", str(tmp_path / "work"), "--archive-root",
                 str(archive_without_runs), "--no-commit", "--finish-by",
                 f"{soon.tm_hour:02d}:{soon.tm_min:02d}", "--runs", *RUNS)
    assert done.returncode == 0, done.stderr
    for run in RUNS:
        assert re.search(rf"{run} not started: needs ~\d+ min, [0-3] min left", done.stdout)
    assert not (tmp_path / "work" / "code").exists()  # no lane checked out code for a run


@pytest.mark.slow
@pytest.mark.parametrize("cores", [1, 2])
def test_a_lane_trains_with_all_its_cores(tmp_path: Path, cores: int) -> None:
    """A lone lane (--lanes 1 --cores 2) trains with 2 threads, though the preset says 1."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from paper_grid import snakemake_command
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    cmd = snakemake_command(tmp_path, "paper", "cifar10-k4", cores)
    done = subprocess.run([*cmd[:3], "-n", *cmd[3:]], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    train = done.stdout[done.stdout.index("rule train:"):].split("\n\n")[0]
    threads = re.search(r"^\s+threads: (\d+)$", train, re.M)  # Snakemake omits "threads: 1"
    assert (int(threads[1]) if threads else 1) == cores, train


@pytest.mark.slow
def test_the_grids_refresh_rebuilds_every_table_of_the_archive(tmp_path: Path) -> None:
    """After each archived run the grid rewrites the selections, then every table, figure, the
    claims and the provenance by force. Run on a copy of the committed archive: the first call
    for real, the second as a dry run. (While the selections job is in a plan, Snakemake 9.27
    leaves the table jobs out of it, forced or not: one call with both left the tables stale.)"""
    import shutil

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from paper_grid import refresh_commands
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    archive = tmp_path / "paper"
    shutil.copytree(ROOT / "results" / "paper", archive)
    selections, report = refresh_commands(archive)
    done = subprocess.run(selections, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rule selections" in done.stdout + done.stderr
    done = subprocess.run([*report[:3], "-n", *report[3:]], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    plan = dict(re.findall(r"^(\w+)\s+(\d+)$", done.stdout, re.M))
    tables = list((archive / "tables").glob("*.csv"))
    # every committed table but verdicts.csv, which the claims rule writes beside claims.md
    assert int(plan["table"]) == len(tables) - 1 and "selections" not in plan
    assert plan.get("claims") == "1" and plan.get("provenance") == "1"


def test_two_lanes_prepare_a_dataset_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two lanes that start on the same dataset run its data job once, not side by side (side by
    side, Snakemake's deletion of one job's output broke the other lane's training)."""
    import argparse
    import threading

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import paper_grid
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        time.sleep(0.3)  # a data job takes a while: long enough for the other lane to arrive
        Path(cmd[-1]).parent.mkdir(parents=True, exist_ok=True)
        Path(cmd[-1]).write_text("{}")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(paper_grid.subprocess, "run", fake_run)
    monkeypatch.setattr(paper_grid, "data_marker", lambda ds: tmp_path / ds / "ready.json")
    (tmp_path / "grid-logs").mkdir()
    args = argparse.Namespace(results_root=tmp_path, preset="paper")
    ok: list[bool] = []
    lanes = [threading.Thread(target=lambda: ok.append(
        paper_grid.prepare_data("dsprites", ROOT, args))) for _ in range(2)]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    assert ok == [True, True]
    assert [cmd[-1] for cmd in calls] == [str(tmp_path / "dsprites" / "ready.json")]
