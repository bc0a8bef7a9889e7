"""Issue 41, your own images and configs (cases 10-13): a run is pinned to the data files it
started on, a split too small for a loss is refused, broken files are named with their cause,
and an impossible model size names its key. Also the run folder read once (mvae.checkpoints).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mvae import Config, ConfigError, load_config, train
from mvae.checkpoints import DataChangedError, load_run, open_run
from mvae.cli import main
from mvae.data import OwnImagesError, read_own_images
from mvae.run_report import evaluate_run
from mvae.train import evaluate_loss

TINY = dict(components=2, latent_dim=2, hidden_dim=16, hidden_layers=1, batch_size=8,
            device="cpu")


def _npz(path: Path, n: int = 40, seed: int = 0, **arrays) -> Path:
    rng = np.random.default_rng(seed)
    if not arrays:
        arrays = {"images": rng.integers(0, 256, (n, 8, 8), dtype=np.uint8)}
    np.savez(path, **arrays)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- 10. pinned data
@pytest.mark.slow
def test_a_data_file_changed_between_epochs_is_refused(tmp_path: Path) -> None:
    """Before: the resumed run trained on the new pixels and provenance.json showed only the
    new SHA-256; evaluate did not look either."""
    data = _npz(tmp_path / "mine.npz")
    first = _sha(data)
    config = load_config(None, {"dataset": str(data), "epochs": 2, **TINY})
    run = tmp_path / "run"
    train(config, run, progress=False, until_epoch=1)
    provenance = json.loads((run / "provenance.json").read_text())
    assert provenance["data"]["files"] == {str(data): first}
    _npz(data, seed=1)  # other pixels, same name
    second = _sha(data)
    for attempt in (lambda: train(config, run, progress=False), lambda: load_run(run),
                    lambda: evaluate_run(run, tmp_path / "eval", allow_unfinished=True)):
        with pytest.raises(DataChangedError) as err:
            attempt()
        message = str(err.value)
        assert "\n" not in message and f"{data} changed since the run started" in message
        assert first in message and second in message
    assert json.loads((run / "provenance.json").read_text()) == provenance
    assert not (tmp_path / "eval").exists()
    _npz(data, seed=0)  # the file as it was: the run resumes
    assert train(config, run, progress=False).finished
    assert json.loads((run / "provenance.json").read_text())["data"]["files"] == {
        str(data): first}


def test_a_changed_image_of_a_folder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "pngs"
    (folder / "a").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(20):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8), "L").save(
            folder / "a" / f"{i:02d}.png")
    config = load_config(None, {"dataset": str(folder), "epochs": 1, **TINY})
    run = tmp_path / "run"
    train(config, run, progress=False)
    changed = folder / "a" / "07.png"
    original = changed.read_bytes()
    Image.fromarray(np.zeros((8, 8), np.uint8), "L").save(changed)
    with pytest.raises(DataChangedError, match=f"{changed} changed since the run started: "
                                               f"SHA-256 {hashlib.sha256(original).hexdigest()} "
                                               f"then, {_sha(changed)} now"):
        load_run(run)
    changed.write_bytes(original)
    load_run(run)  # as it was
    (folder / "a" / "03.png").rename(folder / "a" / "20.png")  # as many images, one moved
    with pytest.raises(DataChangedError, match=f"{folder / 'a' / '03.png'} is gone"):
        load_run(run)


# --------------------------------------------------------------------------- 11. tiny splits
def test_a_test_split_of_one_image_is_refused(tmp_path: Path) -> None:
    """Before: a test split of one image gave a test loss of exactly 0.0 in every epoch (the
    loss skips batches of one)."""
    rng = np.random.default_rng(0)
    given = _npz(tmp_path / "given.npz",
                 train_images=rng.integers(0, 256, (30, 8, 8), dtype=np.uint8),
                 test_images=rng.integers(0, 256, (1, 8, 8), dtype=np.uint8))
    with pytest.raises(OwnImagesError, match=f"dataset {given}: test_images holds 1 image"):
        read_own_images(given)
    small = _npz(tmp_path / "small.npz", n=15)  # one in ten: a test split of one
    with pytest.raises(OwnImagesError, match=f"dataset {small} holds 15 images; at least 20"):
        read_own_images(small)
    model_config = Config(**TINY)
    from mvae.model import MVAE

    with pytest.raises(ValueError, match="cannot evaluate the loss on 1 image"):
        evaluate_loss(MVAE(model_config), torch.rand(1, 1, 28, 28), 8)


# --------------------------------------------------------------------------- 12. bad files
def _config_error(dataset: str) -> str:
    with pytest.raises(ConfigError) as err:
        Config.from_dict({"dataset": dataset})
    message = str(err.value)
    assert "\n" not in message and dataset in message
    assert "pickled" not in message and "unpickling" not in message
    return message


def test_an_empty_or_text_npz_names_its_cause(tmp_path: Path) -> None:
    """Before: no path (an EOFError), or numpy's "pickled data" for a text file."""
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    assert "is empty (0 bytes), not an .npz archive" in _config_error(str(empty))
    text = tmp_path / "text.npz"
    text.write_text("these are not my images\n")
    assert "is not an .npz archive (a zip of .npy arrays): it is a text file" in _config_error(
        str(text))


def test_an_npz_header_claiming_a_petabyte_is_named(tmp_path: Path) -> None:
    """Before: numpy tried the allocation, and the message spoke of pickled data."""
    path = tmp_path / "huge.npz"
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (1000000000000000,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * 64
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("images.npy", member)
    message = _config_error(str(path))
    assert "array images: its header claims shape (1000000000000000,)" in message
    assert "1,000,000,000,000,000 bytes) but the file holds 64" in message


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header says width x height (the pixels are never reached)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


def test_a_225_megapixel_png_is_named(tmp_path: Path) -> None:
    """Before: Pillow's DecompressionBombError (not an OSError) escaped without the path."""
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i in range(20):
        Image.new("L", (8, 8)).save(folder / f"{i:02d}.png")
    bomb = folder / "15.png"
    _png_header_only(bomb, 15000, 15000)
    message = _config_error(str(folder))
    assert f"{bomb} is too large to decode safely" in message and "225000000" in message


# --------------------------------------------------------------------------- 13. sizes
@pytest.mark.parametrize(("override", "key"), [("hidden_dim=1000000000", "hidden_dim"),
                                                ("latent_dim=100000000", "latent_dim"),
                                                ("components=1000000", "components"),
                                                ("hidden_layers=100000", "hidden_layers")])
def test_an_impossible_model_size_names_the_key(tmp_path: Path, capsys, override: str,
                                                key: str) -> None:
    """Before: torch's allocator failed ("can't allocate memory: you tried to allocate
    12544000000000 bytes"), naming no key."""
    assert main(["train", "--run-dir", str(tmp_path / "run"), override, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(
        f"mvae: config error: {override} makes a model of about"), err
    assert f"lower {key}" in err and not (tmp_path / "run").exists()


def test_the_paper_sizes_pass() -> None:
    for values in ({}, {"components": 10}, {"dataset": "cifar10", "latent_dim": 256}):
        Config(**values).validate()


# --------------------------------------------------------------------------- one reading
@pytest.mark.slow
def test_a_run_folder_is_read_once(tmp_path: Path, blobs, monkeypatch) -> None:
    """load_run parsed config.yaml twice and validated the config (which looks its dataset up,
    reading your own images) four times; now config.yaml once, and the config once beside the
    model's own check of what it is given (MVAE validates its config)."""
    import mvae.checkpoints as checkpoints

    train(Config(epochs=1, **TINY), tmp_path / "run", progress=False, datasets=blobs)
    calls = {"validate": 0, "yaml": 0}
    validate, stored = Config.validate, checkpoints.stored_config

    def counted_validate(self):
        calls["validate"] += 1
        return validate(self)

    def counted_yaml(run_dir):
        calls["yaml"] += 1
        return stored(run_dir)

    monkeypatch.setattr(Config, "validate", counted_validate)
    monkeypatch.setattr(checkpoints, "stored_config", counted_yaml)
    run = open_run(tmp_path / "run")
    assert calls == {"validate": 2, "yaml": 1} and run.epochs_done == 1
    from mvae import load_run as top_level
    from mvae.train import load_run as from_train

    assert top_level is from_train  # the callers' names keep working
    model, config = top_level(tmp_path / "run")
    assert config == run.config and not model.training
