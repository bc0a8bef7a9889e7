"""Training on your own images (``dataset=<path>``): an .npz file or a folder of PNGs, split,
recorded and checked (small generated sets, no network)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mvae import Config, ConfigError, load_config, train
from mvae.cli import main
from mvae.data import OwnImagesError, read_own_images
from mvae.data.own_images import SPLIT_SEED

TINY = dict(components=2, latent_dim=2, hidden_dim=16, batch_size=16, epochs=1, device="cpu")


def _npz(path: Path, n: int = 40, shape: tuple[int, ...] = (28, 28), seed: int = 0,
         **extra) -> Path:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    np.savez(path, images=images, labels=np.arange(n) % 4, **extra)
    return path


def _png_folder(folder: Path, per_class: int = 10, size: tuple[int, int] = (20, 20),
                mode: str = "RGB", classes: tuple[str, ...] = ("cats", "dogs")) -> Path:
    rng = np.random.default_rng(1)
    for c in classes:
        (folder / c).mkdir(parents=True)
        for i in range(per_class):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            pixels = rng.integers(0, 256, shape, dtype=np.uint8)
            Image.fromarray(pixels, mode).save(folder / c / f"{i:03d}.png")
    return folder


def _listing_sha256(folder: Path) -> str:
    lines = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  "
                    f"{p.relative_to(folder).as_posix()}\n"
                    for p in sorted(folder.rglob("*.png"), key=lambda p: p.relative_to(folder)
                                    .as_posix()))
    return hashlib.sha256(lines.encode()).hexdigest()


# --------------------------------------------------------------------------- training
def test_one_epoch_on_an_npz_records_its_sha256(tmp_path, capsys):
    path = _npz(tmp_path / "mine.npz")
    config = load_config(None, {"dataset": str(path), **TINY})
    assert config.name == "mine-k2" and config.image_shape == (1, 28, 28)
    assert (config.resolved_architecture, config.resolved_likelihood) == ("mlp", "bernoulli")
    result = train(config, tmp_path / "run", progress=False)
    assert result.finished and len(result.history) == 1
    assert np.isfinite(result.history[0]["train"]["loss"])
    data = json.loads((tmp_path / "run" / "provenance.json").read_text())["data"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest in data["train"] and digest in data["test"] and str(path) in data["train"]
    assert (data["train_size"], data["test_size"]) == (36, 4)
    note = capsys.readouterr().err
    assert "36 train and 4 test images of 1x28x28 (grey)" in note
    assert "architecture mlp (auto)" in note and "likelihood bernoulli (auto)" in note


def test_one_epoch_on_a_folder_of_pngs_with_class_folders(tmp_path, capsys):
    folder = _png_folder(tmp_path / "pets")
    config = Config(name="pets", dataset=str(folder), **TINY).validate()
    assert config.image_shape == (3, 20, 20)
    assert (config.resolved_architecture, config.resolved_likelihood) == ("mlp", "gaussian")
    result = train(config, tmp_path / "run", progress=False)
    assert result.finished and len(result.history) == 1
    data = json.loads((tmp_path / "run" / "provenance.json").read_text())["data"]
    assert _listing_sha256(folder) in data["train"]
    assert (data["train_size"], data["test_size"]) == (18, 2)
    own = read_own_images(folder)
    assert own.classes == ("cats", "dogs")
    assert sorted(set(own.train_labels.tolist()) | set(own.test_labels.tolist())) == [0, 1]
    assert "(colour, 2 classes)" in capsys.readouterr().err


# --------------------------------------------------------------------------- reading and splitting
def test_the_split_is_fixed_and_a_given_split_is_kept(tmp_path):
    path = _npz(tmp_path / "a.npz", n=50)
    first = read_own_images(path)
    images = np.load(path)["images"]
    perm = np.random.default_rng(SPLIT_SEED).permutation(50)
    np.testing.assert_array_equal(first.test_images[:, 0], images[np.sort(perm[:5])])
    np.testing.assert_array_equal(first.train_images[:, 0], images[np.sort(perm[5:])])
    again = Config(dataset=str(path), seed=7, **TINY).validate()
    assert again.image_shape == (1, 28, 28)  # the run's seed does not touch the split
    np.testing.assert_array_equal(read_own_images(path).test_labels, first.test_labels)

    rng = np.random.default_rng(2)
    given = tmp_path / "given.npz"
    np.savez(given, train_images=rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8),
             test_images=rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8),
             test_labels=np.array([0, 1, 2]))
    own = read_own_images(given)
    assert (len(own.train_labels), len(own.test_labels)) == (12, 3)
    assert own.test_labels.tolist() == [0, 1, 2] and own.train_labels.tolist() == [0] * 12
    assert "split: the file's train_images and test_images" in own.source


@pytest.mark.parametrize(("shape", "architecture", "likelihood"), [
    ((28, 28), "mlp", "bernoulli"), ((32, 32, 3), "conv", "gaussian"),
    ((24, 24, 3), "mlp", "gaussian"), ((32, 32), "mlp", "bernoulli"),
    ((32, 32, 1), "mlp", "bernoulli")])
def test_auto_picks_the_architecture_from_the_shape(tmp_path, shape, architecture, likelihood):
    path = _npz(tmp_path / "x.npz", n=20, shape=shape)
    config = Config(dataset=str(path)).validate()
    assert (config.resolved_architecture, config.resolved_likelihood) == (architecture,
                                                                          likelihood)


def test_grey_pngs_give_one_channel(tmp_path):
    folder = _png_folder(tmp_path / "grey", per_class=20, size=(12, 8), mode="L", classes=("x",))
    own = read_own_images(folder)
    assert own.image_shape == (1, 8, 12) and len(own.train_labels) + len(own.test_labels) == 20


# --------------------------------------------------------------------------- one-line errors
def _config_error(dataset: str, **values) -> str:
    with pytest.raises(ConfigError) as err:
        Config.from_dict({"dataset": dataset, **values})
    message = str(err.value)
    assert "\n" not in message
    return message


def test_a_wrong_dtype_is_a_one_line_config_error(tmp_path):
    path = tmp_path / "floats.npz"
    np.savez(path, images=np.zeros((20, 28, 28), dtype=np.float32))
    message = _config_error(str(path))
    assert str(path) in message and "must be uint8" in message and "float32" in message


@pytest.mark.parametrize(("images", "expected"), [
    (np.zeros((20, 784), np.uint8), "shape (20, 784)"),
    (np.zeros((20, 28, 28, 4), np.uint8), "C = 1 or 3 (channels last), got shape (20, 28, 28, 4)"),
    (np.zeros((0, 28, 28), np.uint8), "holds no images")])
def test_a_wrong_shape_is_a_one_line_config_error(tmp_path, images, expected):
    path = tmp_path / "bad.npz"
    np.savez(path, images=images)
    message = _config_error(str(path))
    assert str(path) in message and expected in message


def test_an_empty_folder_is_a_one_line_config_error_and_the_cli_says_so(tmp_path, capsys):
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    message = _config_error(str(empty))
    assert f"dataset folder {empty} holds no PNG or JPEG images" in message
    code = main(["train", "--run-dir", str(tmp_path / "run"), f"dataset={empty}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "holds no PNG or JPEG images" in err
    assert not (tmp_path / "run").exists()


def test_other_mistakes_name_the_path(tmp_path):
    assert "does not exist" in _config_error(str(tmp_path / "missing.npz"))
    assert "must be one of mnist, fashion_mnist, cifar10" in _config_error("imagenet")
    labels = tmp_path / "labels.npz"
    _npz(labels, n=20)
    np.savez(labels, images=np.zeros((20, 8, 8), np.uint8), labels=np.arange(19))
    assert "labels must be 20 integers" in _config_error(str(labels))
    few = _npz(tmp_path / "few.npz", n=19)
    assert "at least 20" in _config_error(str(few))
    assert "train_subset is for the built-in datasets" in _config_error(
        str(_npz(tmp_path / "ok.npz")), train_subset=10)
    grey = _npz(tmp_path / "grey28.npz", n=20)
    assert "architecture conv needs square images" in _config_error(str(grey),
                                                                     architecture="conv")
    mixed = _png_folder(tmp_path / "mixed", per_class=5, classes=("a",))
    Image.new("RGB", (20, 20)).save(mixed / "top.png")
    assert "mixes images at its top level (top.png)" in _config_error(str(mixed))
    sizes = _png_folder(tmp_path / "sizes", per_class=5, classes=("a",))
    Image.new("RGB", (21, 20)).save(sizes / "a" / "zzz.png")
    assert "a/zzz.png is 21x20, not 20x20" in _config_error(str(sizes))
    (tmp_path / "bad.txt").write_text("x")
    with pytest.raises(OwnImagesError, match="not an .npz archive"):
        read_own_images(tmp_path / "bad.txt")
