"""Training-code digests from git, and witnesses of identical numbers (mvae.code_identity)."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest
import yaml

from mvae.code_identity import (
    UNKNOWN,
    code_changes,
    code_digest,
    differing_modules,
    group_summary,
    normalized_source,
    objective_key,
    seed_group_table,
    training_files,
    witnessed_commits,
    witnesses,
)
from mvae.config import Config

MODEL = '"""The model."""\n\n\ndef forward(x):\n    """Twice x."""\n    return 2 * x\n'
#: The model after it starts to use dHSIC (a module that did not exist at the first commit).
MODEL2 = MODEL.replace("    return 2 * x",
                       "    from mvae.dhsic import dhsic\n    return 3 * x + dhsic(x)")
TRAIN = ("from mvae import model\nfrom mvae.data import N\nfrom mvae.provenance import collect"
         "\n\n\ndef train():\n    collect()\n    return model.forward(N)\n")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                           *args], check=True, capture_output=True, text=True).stdout.strip()


def _commit(repo: Path, files: dict[str, str | None], message: str) -> str:
    for path, text in files.items():
        if text is None:
            _git(repo, "rm", "-q", path)
            continue
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
        _git(repo, "add", path)
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A repository whose commits change, in turn: nothing that training imports; training's
    code (with a module new to it); a docstring only; a module's path; train split in two."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    c = {"first": _commit(repo, {"src/mvae/train.py": TRAIN, "src/mvae/model.py": MODEL,
                                 "src/mvae/data.py": "N = 10\n",
                                 "src/mvae/provenance.py": "def collect():\n    return {}\n",
                                 "src/mvae/evaluate.py": "SCORE = 1\n"}, "first")}
    c["other"] = _commit(repo, {"src/mvae/evaluate.py": "SCORE = 2\n",
                                "src/mvae/provenance.py": "def collect():\n    return {1: 2}\n",
                                "src/mvae/dhsic.py": "def dhsic(z):\n    return 0\n",
                                "README.md": "hello\n"},
                         "evaluation, records, a module nothing imports yet")
    c["dhsic"] = _commit(repo, {"src/mvae/model.py": MODEL2}, "the model uses dHSIC")
    c["doc"] = _commit(repo, {"src/mvae/model.py": MODEL2.replace("Twice x.", "Three times x.")
                              + "# a comment\n"}, "docstring and comment")
    c["moved"] = _commit(repo, {
        "src/mvae/dhsic.py": None, "src/mvae/ops/dhsic.py": "def dhsic(z):\n    return 0\n",
        "src/mvae/model.py": MODEL2.replace("mvae.dhsic", "mvae.ops.dhsic")}, "dhsic.py moved")
    c["split"] = _commit(repo, {"src/mvae/train.py": "from mvae.loop import train\n",
                                "src/mvae/loop.py": TRAIN}, "train split in two")
    return repo, c


def test_digest_changes_with_training_code_only(history: tuple[Path, dict[str, str]]) -> None:
    repo, c = history
    d = {name: code_digest(commit, repo) for name, commit in c.items()}
    assert all(x.known for x in d.values())
    assert set(d["first"].modules) == {"mvae.train", "mvae.model", "mvae.data"}
    assert set(training_files(c["first"], repo)) == {
        "src/mvae/train.py", "src/mvae/model.py", "src/mvae/data.py"}
    # evaluation, records and a module nothing imports changed: neither digest moves
    assert (d["first"].blobs, d["first"].code) == (d["other"].blobs, d["other"].code)
    # training's code changes and takes in a new module: both move
    assert d["dhsic"].blobs != d["other"].blobs and d["dhsic"].code != d["other"].code
    assert differing_modules(d["other"], d["dhsic"]) == ["mvae.dhsic", "mvae.model"]
    # a docstring and a comment: the bytes changed, the code did not
    assert d["doc"].blobs != d["dhsic"].blobs and d["doc"].code == d["dhsic"].code
    # a module moved: only its importer's line counts as a change, not the module
    assert "mvae.ops.dhsic" in d["moved"].modules
    assert differing_modules(d["doc"], d["moved"]) == ["mvae.model"]
    # code split off train is found in its new module
    assert {"mvae.train", "mvae.loop"} <= set(d["split"].modules)
    assert code_digest(c["dhsic"][:9], repo).code == d["dhsic"].code  # a short hash resolves


def test_code_changes_lists_the_commits_that_changed_code(
        history: tuple[Path, dict[str, str]]) -> None:
    repo, c = history
    changes = code_changes(c["first"], c["split"], repo)
    assert changes == [(c["dhsic"][:9], ["dhsic", "model"]), (c["moved"][:9], ["model"]),
                       (c["split"][:9], ["train"])]  # loop.py is train.py as it was
    assert code_changes(c["first"], c["other"], repo) == []
    assert code_changes("0" * 40, c["split"], repo) is None


@pytest.mark.parametrize("commit", [None, "", "unknown", "0" * 40, "deadbeef", "--all",
                                    "HEAD~99"])
def test_a_commit_not_in_the_repository_is_unknown(history: tuple[Path, dict[str, str]],
                                                   commit: str | None) -> None:
    repo, _ = history
    digest = code_digest(commit, repo)
    assert not digest.known and digest.blobs == digest.code == UNKNOWN and not digest.modules
    assert training_files(commit, repo) is None


def test_a_folder_that_is_no_repository_gives_unknown(history: tuple[Path, dict[str, str]],
                                                      tmp_path: Path) -> None:
    _, c = history
    (tmp_path / "plain").mkdir()
    assert not code_digest(c["first"], tmp_path / "plain").known


def test_normalized_source_drops_docstrings_and_comments_only() -> None:
    base = normalized_source(MODEL)
    assert normalized_source(MODEL.replace("Twice x.", "2x") + "# note\n") == base
    assert normalized_source(MODEL.replace("2 * x", "2.0 * x")) != base
    only_doc = 'class A:\n    """Doc."""\n'
    assert normalized_source(only_doc) == normalized_source("class A:\n    pass\n")
    assert normalized_source("def (") == "def ("  # no syntax tree: the text itself


def test_kl_weight_and_averaged_kls_resolve_to_one_objective() -> None:
    summed = Config(name="a", components=4, kl_weight=0.25)
    averaged = Config(name="b", components=4, kl_reduction="mean")
    assert objective_key(summed) == objective_key(averaged)
    assert objective_key(summed) != objective_key(Config(name="c", components=4))
    assert objective_key(summed) != objective_key(averaged.replace(seed=1))
    assert objective_key(Config(name="d", components=1, kl_reduction="mean")) == \
        objective_key(Config(name="e", components=1))


# ------------------------------------------------------------------------- a fake archive
def _terms(kl: float, loss: float = 81.0) -> dict[str, float]:
    return {"loss": loss, "reconstruction": 66.0, "kl_gauss": kl, "kl_dirichlet": 5.0,
            "dhsic": 0.007}


def _run(results: Path, config: Config, commit: str, kl: float, sse: float = 6.34,
         last_loss: float = 81.0, device: str = "cpu") -> None:
    run, out = config.name, results / "runs" / config.name
    out.mkdir(parents=True)
    (out / "config.yaml").write_text(yaml.safe_dump(config.to_dict()))
    (out / "provenance.json").write_text(json.dumps(
        {"git": {"commit": commit, "dirty": False}, "device": device, "seed": config.seed}))
    epochs = [{"epoch": e, "train": _terms(kl, loss), "test": _terms(kl, loss + 4)}
              for e, loss in ((1, 160.0), (2, last_loss))]
    (out / "history.json").write_text(json.dumps(epochs))
    (out / "done.json").write_text(json.dumps({"run": run, "final": epochs[-1]}))
    (results / "eval" / run).mkdir(parents=True)
    (results / "eval" / run / "reconstruction.json").write_text(json.dumps(
        {"run": run, "config": config.to_dict(), "provenance": {"time": run},
         "mixture": {"sse_per_image": sse}, "components": [{"sse_per_image": 40.0}]}))


def _archive(results: Path, c: dict[str, str], sse_b: float = 6.34, last_loss_b: float = 81.0
             ) -> None:
    _run(results, Config(name="k4-klw1of4", components=4, kl_weight=0.25), c["first"], 39.2)
    _run(results, Config(name="k4-klmean", components=4, kl_reduction="mean"), c["doc"],
         39.2 / 4, sse=sse_b, last_loss=last_loss_b)
    _run(results, Config(name="k4", components=4), c["first"], 39.2, sse=7.0)
    _run(results, Config(name="k4-klmean-s1", components=4, kl_reduction="mean", seed=1),
         c["doc"], 39.2 / 4)


def test_witness_found_and_bit_identical(history: tuple[Path, dict[str, str]],
                                         tmp_path: Path) -> None:
    repo, c = history
    _archive(tmp_path / "results", c)
    pairs = witnesses(tmp_path / "results", repo)
    assert len(pairs) == 1  # not the ELBO run, not the other seed
    row = pairs.iloc[0]
    assert {row.run_a, row.run_b} == {"k4-klw1of4", "k4-klmean"}
    assert {row.commit_a, row.commit_b} == {c["first"][:9], c["doc"][:9]}
    assert not row.same_code and set(row.differs_in.split()) == {"model", "dhsic"}
    assert row.bit_identical and row.epochs_identical == row.epochs == 2
    assert witnessed_commits(pairs, repo) == {c[k][:9] for k in ("other", "dhsic", "doc")}


@pytest.mark.parametrize("change", ["sse", "epoch"])
def test_witness_fails_on_one_bit(history: tuple[Path, dict[str, str]], tmp_path: Path,
                                  change: str) -> None:
    repo, c = history
    _archive(tmp_path / "results", c,
             sse_b=math.nextafter(6.34, 7) if change == "sse" else 6.34,
             last_loss_b=math.nextafter(81.0, 82) if change == "epoch" else 81.0)
    row = witnesses(tmp_path / "results", repo).iloc[0]
    assert not row.bit_identical
    if change == "sse":
        assert not row.sse_identical and not row.reconstruction_identical and row.final_identical
    else:
        assert row.sse_identical and not row.final_identical and row.epochs_identical == 1
    assert witnessed_commits(witnesses(tmp_path / "results", repo), repo) == set()


def test_seed_group_table(history: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    repo, c = history
    results = tmp_path / "results"
    _archive(results, c)
    _run(results, Config(name="k4-s1", components=4, seed=1), c["moved"], 39.0, device="gpu")
    _run(results, Config(name="k4-s2", components=4, seed=2), "f" * 40, 39.0)
    groups = {"k4": ["k4", "k4-s1", "k4-s3"], "k4-klmean": ["k4-klmean", "k4-klmean-s1"],
              "unknown": ["k4", "k4-s2"]}
    table = seed_group_table(results, groups, repo)
    rows = table.set_index("run", drop=False)
    assert list(table["group"]) == ["k4", "k4", "k4", "k4-klmean", "k4-klmean", "unknown",
                                    "unknown"]
    first = table[table.group == "k4"].set_index("run")
    assert first.loc["k4", "commit"] == c["first"][:9] and first.loc["k4-s1", "device"] == "gpu"
    assert not first.loc["k4-s3", "archived"] and first.loc["k4", "archived_in_group"] == 2
    assert first.loc["k4-s1", "differs_in"] == "model ops"  # ops/dhsic.py is new to it
    assert first.loc["k4", "differs_in"] == ""
    assert not first.loc["k4", "same_code"] and first.loc["k4", "devices_in_group"] == 2
    assert first.loc["k4", "changes"] == 2 and first.loc["k4", "witnessed"] == 0
    assert first.loc["k4", "unwitnessed"] == \
        f"{c['dhsic'][:9]} (dhsic model); {c['moved'][:9]} (model)"
    assert rows.loc["k4-klmean-s1", "same_code"] and rows.loc["k4-klmean-s1", "changes"] == 0
    unknown = table[table.group == "unknown"].iloc[-1]
    assert unknown.commit == "fffffffff" and unknown.code == UNKNOWN
    assert unknown.same_code is None and unknown.unwitnessed == UNKNOWN
    # the witness pair spans the first of group k4's changes, not the second
    witnessed = witnessed_commits(witnesses(results, repo), repo)
    again = seed_group_table(results, groups, repo, witnessed)
    k4 = again[again.group == "k4"].iloc[0]
    assert k4.witnessed == 1 and k4.unwitnessed == f"{c['moved'][:9]} (model)"
    summary = group_summary(again).set_index("group")
    assert summary.loc["k4", "runs"] == 3 and summary.loc["k4", "archived"] == 2
    assert summary.loc["k4", "devices"] == "cpu | gpu"
    assert summary.loc["k4", "commits"] == f"{c['first'][:9]} {c['moved'][:9]}"
