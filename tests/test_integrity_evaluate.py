"""Issue 41, ``mvae evaluate`` (cases 6-9): it evaluates your own images with labels, without
labels and in colour, leaves nothing half-written, never writes through a link, refuses a
checkpoint whose bytes changed, and bounds the IWAE samples before doing anything.

The runs are tiny (8x8 images, one epoch) and trained by ``mvae train`` on generated files.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from mvae import run_report
from mvae.checkpoints import CheckpointError, load_run
from mvae.cli import main
from mvae.files import LinkError
from mvae.likelihood import iwae_log_likelihood
from mvae.limits import MAX_IWAE_SAMPLES

TINY = ["--quiet", "components=2", "latent_dim=2", "hidden_dim=16", "hidden_layers=1",
        "batch_size=8", "device=cpu", "epochs=1"]


def _npz(path: Path, shape: tuple[int, ...], labels: bool) -> Path:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, *shape), dtype=np.uint8)
    np.savez(path, images=images, **({"labels": np.arange(40) % 4} if labels else {}))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Finished runs on your own images: grey without labels, grey with labels, colour."""
    root = tmp_path_factory.mktemp("own")
    out = {}
    for name, shape, labels in (("unlabelled", (8, 8), False), ("labelled", (8, 8), True),
                                ("colour", (8, 8, 3), True)):
        data = _npz(root / f"{name}.npz", shape, labels)
        out[name] = root / "runs" / name
        assert main(["train", "--run-dir", str(out[name]), f"dataset={data}", *TINY]) == 0
    return out


def _one_line(capsys, *parts: str) -> str:
    """The error, one line (beside the line that says what your images are)."""
    err = "\n".join(line for line in capsys.readouterr().err.strip().splitlines()
                    if " test images of " not in line)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in err, err
    return err


# --------------------------------------------------------------------------- 6. own images
@pytest.mark.slow
@pytest.mark.parametrize("name", ["unlabelled", "labelled", "colour"])
def test_evaluate_works_on_own_images(runs, name: str, tmp_path: Path, capsys) -> None:
    """Before: every run without labels crashed (one image per class 0-9 picked, pick[1]
    needed) and left a partial evaluation/."""
    out = tmp_path / "eval"
    assert main(["evaluate", str(runs[name]), "--out", str(out)]) == 0, capsys.readouterr().err
    record = json.loads((out / "evaluation.json").read_text())
    assert record["finished"] and np.isfinite(record["test"]["elbo"])
    with np.load(out / "examples.npz") as ex:
        channels = 3 if name == "colour" else 1
        assert ex["images"].shape == (4, channels, 8, 8)  # all 4 test images, one row
        assert ex["interpolations"].shape[:2] == (2, 8)
        if name == "labelled":  # one image per class first, then the rest
            first = len(np.unique(ex["labels"]))
            assert len(set(ex["labels"][:first].tolist())) == first
    for png in ("reconstructions.png", "samples.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_failed_evaluation_leaves_nothing_behind(runs, tmp_path: Path, monkeypatch,
                                                   capsys) -> None:
    out = tmp_path / "eval"

    def broken(examples, out_dir):
        raise RuntimeError("the figure could not be drawn")

    monkeypatch.setattr(run_report, "draw_figures", broken)
    assert main(["evaluate", str(runs["labelled"]), "--out", str(out)]) == 1
    _one_line(capsys, "the figure could not be drawn")
    assert not out.exists() and list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- 7. links
def test_evaluate_never_writes_through_a_link(runs, tmp_path: Path, capsys) -> None:
    """Before: an --out linked to a folder elsewhere, or a reconstructions.png linked to a
    file elsewhere, had the link's target overwritten."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    precious = elsewhere / "precious.png"
    precious.write_bytes(b"someone else's picture")
    linked = tmp_path / "linked-out"
    linked.symlink_to(elsewhere, target_is_directory=True)
    assert main(["evaluate", str(runs["labelled"]), "--out", str(linked)]) == 1
    _one_line(capsys, f"{linked} is a symbolic link")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["precious.png"]

    out = tmp_path / "out"
    out.mkdir()
    (out / "reconstructions.png").symlink_to(precious)
    assert main(["evaluate", str(runs["labelled"]), "--out", str(out)]) == 1
    _one_line(capsys, f"{out / 'reconstructions.png'} is a symbolic link")
    assert precious.read_bytes() == b"someone else's picture"
    assert [p.name for p in out.iterdir()] == ["reconstructions.png"]
    with pytest.raises(LinkError):
        run_report.evaluate_run(runs["labelled"], out)


# --------------------------------------------------------------------------- 8. checkpoints
def test_a_checkpoint_with_one_byte_flipped_is_refused(runs, tmp_path: Path, capsys) -> None:
    """Before: torch read the damaged zip member without its CRC; the ELBO moved a little."""
    run = tmp_path / "run"
    shutil.copytree(runs["labelled"], run)
    ckpt = run / "checkpoint.pt"
    raw = bytearray(ckpt.read_bytes())
    with zipfile.ZipFile(ckpt) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)  # the largest tensor
    local = info.header_offset  # the local header: 30 bytes, the name, its own extra field
    start = local + 30 + int.from_bytes(raw[local + 26:local + 28], "little") + int.from_bytes(
        raw[local + 28:local + 30], "little")
    raw[start + info.file_size // 2] ^= 0x01
    ckpt.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="fails its CRC check"):
        load_run(run)
    assert main(["evaluate", str(run), "--out", str(tmp_path / "eval")]) == 1
    _one_line(capsys, str(ckpt), "fails its CRC check")
    assert not (tmp_path / "eval").exists()


def test_a_checkpoint_replaced_by_another_is_refused_by_its_digest(runs, tmp_path: Path,
                                                                   capsys) -> None:
    """A valid checkpoint (its CRCs right) that is not the one training wrote: its SHA-256 is
    not the one provenance.json recorded."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(runs["labelled"], run)
    ckpt = run / "checkpoint.pt"
    state = torch.load(ckpt, weights_only=True)
    name = next(iter(state["model"]))
    state["model"][name] = state["model"][name] + 1e-3
    torch.save(state, ckpt)
    recorded = json.loads((run / "provenance.json").read_text())["checkpoint"]
    assert recorded["epoch"] == 1 and len(recorded["sha256"]) == 64
    with pytest.raises(CheckpointError, match=f"recorded {recorded['sha256']}"):
        load_run(run)
    assert main(["evaluate", str(run), "--out", str(tmp_path / "eval")]) == 1
    _one_line(capsys, "is not the checkpoint training wrote")


# --------------------------------------------------------------------------- 9. IWAE samples
@pytest.mark.parametrize("samples", [str(10 ** 20), str(MAX_IWAE_SAMPLES + 1)])
def test_iwae_samples_have_an_upper_bound(runs, tmp_path: Path, capsys, samples: str) -> None:
    """Before: 10**20 samples hung with no limit, after rewriting reconstruction.json."""
    out = tmp_path / "eval"
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", str(runs["labelled"]), "--iwae-samples", samples, "--out", str(out)])
    assert stop.value.code == 2
    assert f"from 1 to {MAX_IWAE_SAMPLES:,}" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(run_report.RunReportError, match=f"from 1 to {MAX_IWAE_SAMPLES:,}"):
        run_report.evaluate_run(runs["labelled"], out, iwae_samples=int(samples))
    assert not out.exists()
    model, _ = load_run(runs["labelled"])
    with pytest.raises(ValueError, match="samples must be a whole number from 1 to"):
        iwae_log_likelihood(model, torch.zeros(2, 1, 8, 8), samples=int(samples))


def test_a_presets_iwae_samples_are_bounded_too(tmp_path: Path) -> None:
    """The pipeline's nll rule takes its samples from the preset's settings."""
    import yaml

    from mvae.presets import PresetError, load_preset

    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump({"grid": [{"name": "a"}],
                                    "settings": {"nll_samples": 10 ** 20}}))
    with pytest.raises(PresetError, match=f"nll_samples must be an integer >= 1 and <= "
                                          f"{MAX_IWAE_SAMPLES}"):
        load_preset(str(path), Path(__file__).resolve().parents[1] / "pipeline" / "config")
