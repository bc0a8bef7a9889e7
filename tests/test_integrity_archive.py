"""Issue 41, the archive (cases 1-5): protected when its manifest is gone, never written by
``mvae evaluate --out``, a preset's own copy named ``paper.yaml``, or ``mvae train --fresh``, and
its committed tables covered by the manifest.

Each archive here is built in a temporary folder (:func:`_archive`, or the tiny preset's archive
of ``tests/test_pipeline_archive.py`` for the Snakemake dry runs); results/paper is never
touched.
"""

from __future__ import annotations

import importlib
import json
import runpy
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import make_blobs
from test_pipeline import RUN, _archive, _config, _jobs_for, _snapshot, snakemake

from mvae import guard
from mvae.archive import (
    MANIFEST,
    ArchiveError,
    create_manifest,
    export_run,
    read_manifest,
    record_products,
    require_intact,
    verify_archive,
)
from mvae.cli import main
from mvae.presets import PresetError, load_preset

train_module = importlib.import_module("mvae.train")
ROOT = Path(__file__).resolve().parents[1]
PRESETS = ROOT / "pipeline" / "config"
TINY = ["--quiet", "components=2", "latent_dim=2", "hidden_dim=16", "hidden_layers=1",
        "batch_size=32", "device=cpu", "epochs=1"]


def _archive_of(root: Path, runs: tuple[str, ...] = ("mnist-k1-s0", "mnist-k4-s0")) -> Path:
    """``root/paper``: finished runs as the archive holds them (no checkpoint), a table and a
    claims page, and a manifest of all of it."""
    dest = root / "paper"
    for run in runs:
        (dest / "runs" / run).mkdir(parents=True)
        for name in ("config.yaml", "history.json", "provenance.json", "done.json"):
            (dest / "runs" / run / name).write_text(f"{name} of {run}\n")
        (dest / "eval" / run).mkdir(parents=True)
        for name in ("reconstruction.json", "evaluated.json"):
            (dest / "eval" / run / name).write_text(json.dumps({"run": run, "sse": 13.5}))
    (dest / "tables").mkdir()
    (dest / "tables" / "table1_reconstruction.csv").write_text("run,sse\nmnist-k4-s0,13.5\n")
    (dest / "claims.md").write_text("# claims\n")
    create_manifest(dest)
    return dest


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One finished tiny run, trained by ``mvae train`` on in-memory blobs."""
    root = tmp_path_factory.mktemp("trained")
    sets = make_blobs(128, seed=0), make_blobs(64, seed=0, split="test")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train_module, "load_split", lambda config, split: sets[split == "test"])
        assert main(["train", "--run-dir", str(root / "run"), *TINY]) == 0
    return root / "run"


# --------------------------------------------------------------------------- 1. no manifest
def test_an_archive_without_its_manifest_is_refused_not_trusted(tmp_path: Path) -> None:
    """Before: require_intact(require_manifest=False), committed mode's check, passed silently
    when the manifest was deleted, and a forged number went into the tables."""
    dest = _archive_of(tmp_path)
    forged = dest / "eval" / "mnist-k4-s0" / "reconstruction.json"
    forged.write_text(json.dumps({"run": "mnist-k4-s0", "sse": 1.0}))
    (dest / MANIFEST).unlink()
    assert guard.archived_runs(dest) == ["mnist-k1-s0", "mnist-k4-s0"]
    with pytest.raises(ArchiveError) as err:
        require_intact(dest, require_manifest=False)
    message = str(err.value)
    assert "\n" not in message and f"no {MANIFEST}" in message
    assert f"git checkout -- {dest / MANIFEST}" in message
    # nor is a job's output, nor an export into it, allowed: an export would bless the forgery
    reason = guard.refusal(forged, "job", run_dir=dest / "runs" / "mnist-k4-s0")
    assert reason and f"no {MANIFEST}" in reason
    src = tmp_path / "src"
    for name in ("config.yaml", "history.json", "provenance.json", "done.json", "checkpoint.pt"):
        (src / "runs" / "new").mkdir(parents=True, exist_ok=True)
        (src / "runs" / "new" / name).write_text(name)
    (src / "eval" / "new").mkdir(parents=True)
    (src / "eval" / "new" / "evaluated.json").write_text("{}")
    with pytest.raises(guard.WriteRefused, match=f"no {MANIFEST}"):
        export_run(src, dest, "new")
    assert not (dest / MANIFEST).exists() and not (dest / "runs" / "new").exists()


def test_a_results_folder_that_trains_is_no_archive(tmp_path: Path) -> None:
    """A pipeline's own results folder keeps its checkpoints beside done.json: no manifest
    needed there, and a folder with nothing finished needs none either."""
    res = tmp_path / "quick"
    (res / "runs" / "a").mkdir(parents=True)
    for name in ("done.json", "checkpoint.pt"):
        (res / "runs" / "a" / name).write_text("x")
    require_intact(res, require_manifest=False)
    assert guard.refusal(res / "eval" / "a" / "reconstruction.json", "job",
                         run_dir=res / "runs" / "a") is None


@pytest.mark.slow
def test_committed_mode_and_the_default_pipeline_stop_without_the_manifest(
        tmp_path: Path) -> None:
    """Before: committed mode built the tables from a forged reconstruction.json (rc 0), and a
    dry run of the default pipeline planned a training job for every archived run."""
    res = _archive(tmp_path)
    forged = res / "eval" / RUN / "reconstruction.json"
    forged.write_text('{"mixture": {"sse_per_image": 1.0}}\n')
    (res / MANIFEST).unlink()
    before = _snapshot(res)
    for mode in (["committed=true"], []):
        done = snakemake("-n", "--cores", "1", *_config(tmp_path), *mode)
        out = done.stdout + done.stderr
        assert done.returncode != 0, out[-3000:]
        assert f"no {MANIFEST}" in out and f"git checkout -- {res / MANIFEST}" in out
        assert "Job stats" not in out and _jobs_for(done.stdout, RUN) == []
    assert _snapshot(res) == before


# --------------------------------------------------------------------------- 2. evaluate --out
def test_evaluate_out_inside_an_archive_is_refused(trained: Path, tmp_path: Path,
                                                   capsys) -> None:
    """Before: run_report never asked; the archived reconstruction.json was overwritten."""
    dest = _archive_of(tmp_path)
    before = _snapshot(dest)
    out = dest / "eval" / "mnist-k4-s0"
    assert main(["evaluate", str(trained), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert f"inside the archive {dest}" in err and "--out OTHER" in err
    assert _snapshot(dest) == before
    # a new folder in the archive is refused too: the archive is filled by export only
    assert main(["evaluate", str(trained), "--out", str(dest / "eval" / "mine")]) == 1
    assert not (dest / "eval" / "mine").exists() and _snapshot(dest) == before


def test_evaluate_never_writes_over_a_run_or_a_pipeline_evaluation(trained: Path,
                                                                   tmp_path: Path) -> None:
    pipeline = tmp_path / "quick" / "eval" / "x"
    pipeline.mkdir(parents=True)
    (tmp_path / "quick" / "runs" / "x").mkdir(parents=True)  # trained here: no archive
    (tmp_path / "quick" / "runs" / "x" / "checkpoint.pt").write_bytes(b"weights")
    (pipeline / "evaluated.json").write_text("{}")
    (pipeline / "reconstruction.json").write_text('{"the pipeline": 1}')
    for out in (pipeline, trained):
        reason = guard.refusal(out / "reconstruction.json", "evaluate")
        assert reason and "writes nothing in place of a run's files" in reason
    assert "only training writes" in guard.refusal(trained / "config.yaml", "evaluate")
    assert guard.refusal(trained / "evaluation" / "evaluation.json", "evaluate") is None


# --------------------------------------------------------------------------- 3. presets
def _preset_file(path: Path, **top: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({**top, "defaults": {"epochs": 1, "train_subset": 1000,
                                                        "test_subset": 500},
                                    "grid": [{"name": "a"}, {"name": "b", "components": 2}]}))
    return path


def test_a_preset_named_paper_elsewhere_is_refused(tmp_path: Path) -> None:
    """Before: the output folder was the file's basename, so my/paper.yaml wrote a 2-run
    Table I over the committed one. The folder is the preset's name; `paper` is the committed
    preset's alone."""
    for path, top in ((tmp_path / "my" / "paper.yaml", {}),
                      (tmp_path / "mine.yaml", {"name": "paper"})):
        _preset_file(path, **top)
        with pytest.raises(PresetError) as err:
            load_preset(str(path), PRESETS)
        assert "reserved for" in str(err.value) and str(PRESETS / "paper.yaml") in str(err.value)
    named = load_preset(str(_preset_file(tmp_path / "x" / "quick2.yaml", name="sweep")), PRESETS)
    assert named.folder == "sweep"
    assert load_preset("paper", PRESETS).folder == "paper"
    with pytest.raises(PresetError, match="name must be letters"):
        load_preset(str(_preset_file(tmp_path / "bad.yaml", name="../paper")), PRESETS)


@pytest.mark.slow
def test_the_pipeline_refuses_a_copy_named_paper_before_any_job(tmp_path: Path) -> None:
    path = _preset_file(tmp_path / "copy" / "paper.yaml")
    done = snakemake("-n", "--cores", "1", "--config", f"preset={path}",
                     f"results_dir={tmp_path / 'results'}")
    assert done.returncode != 0 and "is reserved for" in done.stdout + done.stderr, done.stdout
    assert "Job stats" not in done.stdout + done.stderr
    assert not (tmp_path / "results").exists()


# --------------------------------------------------------------------------- 4. --fresh
def test_fresh_never_moves_an_archived_run(tmp_path: Path, capsys) -> None:
    """Before: the refusal advised --fresh, and --fresh moved the archived records to
    .replaced/; now --fresh is refused there, and the refusal does not advise it."""
    dest = _archive_of(tmp_path)
    before = _snapshot(dest)
    run_dir = dest / "runs" / "mnist-k4-s0"
    assert main(["train", "--fresh", "--run-dir", str(run_dir), *TINY]) == 1
    err = capsys.readouterr().err
    assert f"inside the archive {dest}" in err and "moves no files" in err
    assert "to retrain mnist-k4-s0" in err
    assert main(["train", "--run-dir", str(run_dir), *TINY]) == 1
    err = capsys.readouterr().err
    assert "is an archived result" in err and "--fresh" not in err
    assert _snapshot(dest) == before and not (dest / "runs" / ".replaced").exists()


# --------------------------------------------------------------------------- 5. tables
def test_a_committed_table_edited_by_hand_is_named(tmp_path: Path) -> None:
    """Before: the manifest held the archived runs' files only, and an edited table was read
    by the book without notice."""
    dest = _archive_of(tmp_path)
    assert {"tables/table1_reconstruction.csv", "claims.md"} <= set(read_manifest(dest))
    table = dest / "tables" / "table1_reconstruction.csv"
    table.write_text("run,sse\nmnist-k4-s0,9.9\n")
    problems = verify_archive(dest)
    assert len(problems) == 1 and problems[0].startswith(f"{table}: edited by hand")
    with pytest.raises(ArchiveError, match="edited by hand"):
        require_intact(dest, require_manifest=False)
    # a rebuild by force replaces it: not a problem then
    assert verify_archive(dest, rebuilt=("tables/",)) == []
    # a missing table is rebuilt, not refused
    table.unlink()
    assert verify_archive(dest) == []


def test_the_rule_that_rebuilds_a_table_records_it(tmp_path: Path) -> None:
    """The grid's refresh (--forcerun table ...) rewrites the tables: the table rule's script
    records the new digests, so the archive it then commits verifies."""
    dest = _archive_of(tmp_path)
    rebuilt = dest / "tables" / "table1_reconstruction.csv"
    rebuilt.write_text("run,sse\nmnist-k4-s0,13.4\n")  # what the new code computed
    (dest / "tables" / "fashion.json").write_text("{}")  # a table new to this archive
    outside = tmp_path / "elsewhere" / "tables" / "t.csv"
    outside.parent.mkdir(parents=True)
    outside.write_text("x")
    recorded = record_products([rebuilt, dest / "tables" / "fashion.json", outside,
                                dest / "eval" / "mnist-k4-s0" / "reconstruction.json"])
    assert recorded == ["tables/table1_reconstruction.csv", "tables/fashion.json"]
    assert verify_archive(dest) == []
    assert not (outside.parent.parent / MANIFEST).exists()


def test_the_table_script_stops_in_an_archive_without_its_manifest(tmp_path: Path) -> None:
    dest = _archive_of(tmp_path)
    (dest / MANIFEST).unlink()
    before = _snapshot(dest)
    output = SimpleNamespace(csv=str(dest / "tables" / "t.csv"),
                             json=str(dest / "tables" / "t.json"))
    sm = SimpleNamespace(output=[output.csv, output.json], log=[str(tmp_path / "t.log")],
                         input=[], wildcards=SimpleNamespace(table="t"),
                         params=SimpleNamespace(selection={}, preset="paper"))
    sm.output = type("Named", (list,), {})(sm.output)
    sm.output.csv, sm.output.json = output.csv, output.json
    with pytest.raises(SystemExit, match=f"no {MANIFEST}"):
        runpy.run_path(str(ROOT / "pipeline" / "scripts" / "table.py"),
                       init_globals={"snakemake": sm})
    assert _snapshot(dest) == before and not (tmp_path / "t.log").exists()


@pytest.mark.slow
def test_committed_mode_refuses_an_edited_table_unless_rebuilding_it(tmp_path: Path) -> None:
    res = _archive(tmp_path)
    table = res / "tables" / "table1_reconstruction.csv"
    table.parent.mkdir()
    table.write_text("run,sse_per_image\nmnist-k1-s0,13.4\n")
    record_products([table])
    table.write_text("run,sse_per_image\nmnist-k1-s0,9.9\n")
    committed = ["--config", "preset=tiny", "committed=true", f"results_dir={tmp_path}"]
    done = snakemake("-n", "--cores", "1", *committed)
    assert done.returncode != 0 and f"{table}: edited by hand" in done.stdout + done.stderr
    forced = snakemake("-n", "--cores", "1", "--forcerun", "table", "figure", *committed)
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert f"output: {table}" in forced.stdout


def test_shutil_copy_of_an_archive_keeps_it_an_archive(tmp_path: Path) -> None:
    """A copy without its manifest (cp -r of the files) is still refused: the archive is known
    by its runs without checkpoints, not by a file one can forget to copy."""
    dest = _archive_of(tmp_path)
    copy = tmp_path / "copy" / "paper"
    shutil.copytree(dest, copy, ignore=shutil.ignore_patterns(MANIFEST))
    assert guard.is_archive(copy) and guard.archive_of(copy / "tables" / "x.csv") == copy
    assert "no MANIFEST.sha256" in guard.refusal(copy / "claims.md", "report")


def test_the_forced_rules_are_read_from_the_command_line() -> None:
    from mvae.archive import forced_by, rebuilt_prefixes

    grid = ["--cores", "1", "--nolock", "--forcerun", "table", "figure", "provenance",
            "--config", "preset=paper", "committed=true", "--", "report"]
    assert forced_by(grid) == ({"table", "figure", "provenance"}, False)
    assert set(rebuilt_prefixes(*forced_by(grid))) == {"tables/", "claims.md", "figures/"}
    assert forced_by(["-F", "-n"]) == (set(), True)
    assert rebuilt_prefixes(*forced_by(["-n", "--config", "committed=true"])) == ()
