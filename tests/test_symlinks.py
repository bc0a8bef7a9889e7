"""Nothing that mvae creates, replaces or removes in a run folder, a lock, a checkpoint, the
archive or a results file goes through a symbolic link: each is refused in one line, and the
file or folder the link points to is left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvae import Config, train
from mvae.archive import create_manifest, export_run
from mvae.cli import main
from mvae.files import LinkError, atomic_write_text, remove_temporaries, run_lock
from mvae.provenance import write_json

TINY = dict(components=3, latent_dim=4, hidden_dim=32, batch_size=32, device="cpu", lr=2e-3)


def _precious(tmp_path: Path) -> Path:
    target = tmp_path / "elsewhere" / "precious.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("someone else's file\n")
    return target


def test_a_lock_that_is_a_link_is_refused_not_truncated(tmp_path: Path) -> None:
    """Before: the lock was taken on the linked file, which was truncated and overwritten."""
    target = _precious(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / ".lock").symlink_to(target)
    message = r"run/\.lock is a symbolic link \(to .*precious.txt\)"
    with pytest.raises(LinkError, match=message), run_lock(tmp_path / "run"):
        pass
    assert target.read_text() == "someone else's file\n"


def test_a_run_folder_that_is_a_link_is_refused(tmp_path: Path, blobs, capsys) -> None:
    """Before: training wrote its config, checkpoint and records into the linked folder."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "run").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(LinkError, match="run is a symbolic link"):
        train(Config(epochs=1, **TINY), tmp_path / "run", progress=False, datasets=blobs)
    assert list(elsewhere.iterdir()) == []
    assert main(["train", "--run-dir", str(tmp_path / "run"), "--quiet", "epochs=1"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is a symbolic link" in err


@pytest.mark.parametrize("name", ["checkpoint.pt", "history.json", "config.yaml"])
def test_a_checkpoint_or_record_that_is_a_link_is_refused(tmp_path: Path, blobs, name) -> None:
    """Before: training replaced the link with its own file without a word."""
    target = _precious(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / name).symlink_to(target)
    with pytest.raises(LinkError, match=f"run/{name} is a symbolic link"):
        train(Config(epochs=1, **TINY), tmp_path / "run", progress=False, datasets=blobs)
    assert (tmp_path / "run" / name).is_symlink()
    assert target.read_text() == "someone else's file\n"


def test_results_writes_refuse_links(tmp_path: Path) -> None:
    target = _precious(tmp_path)
    (tmp_path / "table.json").symlink_to(target)
    with pytest.raises(LinkError, match="table.json is a symbolic link"):
        write_json(tmp_path / "table.json", {"rows": []})
    with pytest.raises(LinkError):
        atomic_write_text(tmp_path / "table.json", "x")
    assert target.read_text() == "someone else's file\n"
    # a killed writer's temp file is cleaned; a link with a temp file's name is not followed
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.pt.7.0badc0de.tmp").symlink_to(target)
    assert remove_temporaries(tmp_path / "run") == []
    assert target.exists()


def _finished(root: Path, run: str) -> None:
    for name in ("config.yaml", "history.json", "provenance.json", "done.json"):
        (root / "runs" / run).mkdir(parents=True, exist_ok=True)
        (root / "runs" / run / name).write_text(name)
    (root / "eval" / run).mkdir(parents=True)
    for name in ("reconstruction.json", "evaluated.json"):
        (root / "eval" / run / name).write_text("{}")


def test_archive_export_refuses_links_on_either_side(tmp_path: Path) -> None:
    """Before: a linked eval folder in the archive received the copies (and a linked source
    file was copied in as if it were the run's)."""
    target = _precious(tmp_path)
    src, dst = tmp_path / "src", tmp_path / "dst"
    _finished(src, "r1")
    (dst / "eval").mkdir(parents=True)
    (dst / "eval" / "r1").symlink_to(target.parent, target_is_directory=True)
    with pytest.raises(LinkError, match="dst/eval/r1 is a symbolic link"):
        export_run(src, dst, "r1")
    assert sorted(p.name for p in target.parent.iterdir()) == ["precious.txt"]
    (dst / "eval" / "r1").unlink()
    (src / "eval" / "r1" / "probes.json").symlink_to(target)
    with pytest.raises(LinkError, match="src/eval/r1/probes.json is a symbolic link"):
        export_run(src, dst, "r1")
    assert not (dst / "eval" / "r1").exists()
    (src / "eval" / "r1" / "probes.json").unlink()
    export_run(src, dst, "r1")
    (dst / "logs").rename(dst / "logs-moved")
    (dst / "logs").symlink_to(target.parent, target_is_directory=True)
    with pytest.raises(LinkError, match="logs is a symbolic link"):
        create_manifest(dst, replace=True)
