"""mvae.data.cache: the verified .npy cache and its sealed record; damage is named, moved aside
and healed by the next run (synthetic arrays, no network)."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from data_helpers import block_network, tiny_arrays, with_spec

from mvae.data import cache, load, registry, sources
from mvae.data.integrity import ChecksumError, sha256_array


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    block_network(monkeypatch)


def _cached(tmp_path: Path, monkeypatch) -> tuple[Path, dict[str, np.ndarray]]:
    """A synthetic MNIST cache (no published hashes apply) and the arrays in it."""
    with_spec(monkeypatch, "mnist", array_sha256={})
    arrays = tiny_arrays()
    cache.store("mnist", arrays, {"source": "synthetic", "location": "memory"}, tmp_path)
    monkeypatch.setattr(sources, "sources_for", lambda *a: [("synthetic", lambda: (
        arrays, {"source": "synthetic again", "location": "memory"}))])
    return tmp_path / "mnist", arrays


def test_decoded_arrays_are_checked_against_known_content():
    arrays = {"train_labels": np.arange(10, dtype=np.uint8)}
    with pytest.raises(ChecksumError, match="mnist train_labels") as err:
        cache.verify_arrays("mnist", arrays, "somewhere")
    assert registry.spec("mnist").array_sha256["train_labels"] in str(err.value)
    assert sha256_array(arrays["train_labels"]) in str(err.value)
    # CIFAR-10 (no published decoded hashes) is recorded, not checked.
    assert cache.verify_arrays("cifar10", arrays, "x")["train_labels"] == hashlib.sha256(
        bytes(range(10))).hexdigest()


def test_store_rejects_wrong_shapes(tmp_path):
    arrays = tiny_arrays()
    arrays["train_images"] = arrays["train_images"][:, :27]
    with pytest.raises(ValueError, match="unexpected arrays"):
        cache.store("mnist", arrays, {"source": "synthetic"}, tmp_path)


def test_npy_header_is_what_numpy_writes():
    for shape in [(10000,), (60000, 28, 28), (50000, 3, 32, 32), (7,), (40, 28, 28)]:
        buf = io.BytesIO()
        np.save(buf, np.zeros(shape, np.uint8))
        assert buf.getvalue()[:len(cache.npy_header(shape))] == cache.npy_header(shape), shape
        assert len(buf.getvalue()) == len(cache.npy_header(shape)) + int(np.prod(shape))


def test_load_detects_a_tampered_cache_and_the_next_load_heals_it(tmp_path, monkeypatch):
    with_spec(monkeypatch, "mnist", array_sha256={})
    arrays = tiny_arrays()
    cache.store("mnist", arrays, {"source": "synthetic", "location": "memory"}, tmp_path)
    path = tmp_path / "mnist" / "test_images.npy"
    tampered = np.load(path)
    tampered[0, 0, 0] ^= 1
    np.save(path, tampered)
    train_bytes = (tmp_path / "mnist" / "train_images.npy").read_bytes()
    with pytest.raises(ChecksumError, match="test_images.npy"):
        load("mnist", "test", tmp_path)
    assert (tmp_path / "mnist" / "test_images.npy.corrupt").exists() and not path.exists()
    assert (tmp_path / "mnist" / "train_images.npy").read_bytes() == train_bytes
    monkeypatch.setattr(sources, "sources_for", lambda *a: [("synthetic", lambda: (
        arrays, {"source": "synthetic again", "location": "memory"}))])
    healed = load("mnist", "test", tmp_path)  # the incomplete cache is prepared again
    assert healed.source == "synthetic again"
    np.testing.assert_array_equal(healed.images[:, 0].numpy(), arrays["test_images"])


@pytest.mark.parametrize("damage", ["same-size garbage", "truncated", "object header"])
def test_a_damaged_npy_is_named_moved_aside_and_rebuilt(tmp_path, monkeypatch, damage):
    folder, arrays = _cached(tmp_path, monkeypatch)
    path = folder / "train_images.npy"
    good = path.read_bytes()
    if damage == "same-size garbage":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, len(good), np.uint8).tobytes())
    elif damage == "truncated":
        path.write_bytes(good[:len(good) // 2])
    else:  # a header numpy would refuse with its "allow_pickle" advice
        buf = io.BytesIO()
        np.save(buf, np.array([None] * 3, dtype=object), allow_pickle=True)
        path.write_bytes(buf.getvalue())
    with pytest.raises(ChecksumError) as err:
        load("mnist", "train", tmp_path)
    message = str(err.value)
    assert f"dataset cache file {path} is damaged" in message and "allow_pickle" not in message
    assert "moved aside" in message and "run again" in message
    assert (folder / "train_images.npy.corrupt").exists() and not path.exists()
    healed = load("mnist", "train", tmp_path)  # the next run rebuilds the missing file
    np.testing.assert_array_equal(healed.images[:, 0].numpy(), arrays["train_images"])


def test_garbage_source_json_is_named_not_a_bare_json_error(tmp_path, monkeypatch):
    folder, _ = _cached(tmp_path, monkeypatch)
    (folder / "SOURCE.json").write_bytes(b"\x00\xff garbage")
    npy = (folder / "train_images.npy").read_bytes()
    with pytest.raises(ChecksumError, match=r"SOURCE.json is damaged: it is not valid JSON"):
        load("mnist", "train", tmp_path)
    assert (folder / "SOURCE.json.corrupt").exists()
    assert (folder / "train_images.npy").read_bytes() == npy  # the good arrays are not blamed
    assert load("mnist", "train", tmp_path).source == "synthetic again"


@pytest.mark.parametrize("edit", ["sizes", "array_sha256"])
def test_an_edited_source_json_blames_itself_not_a_good_array(tmp_path, monkeypatch, edit):
    folder, _ = _cached(tmp_path, monkeypatch)
    record = json.loads((folder / "SOURCE.json").read_text())
    if edit == "sizes":
        record["sizes"]["train"] = 30
    else:
        record["array_sha256"]["train_images"] = "0" * 64
    (folder / "SOURCE.json").write_text(json.dumps(record))
    with pytest.raises(ChecksumError, match="SOURCE.json is damaged: its content does not "
                                            "match its record_sha256"):
        load("mnist", "train", tmp_path)
    assert sorted(p.name for p in folder.iterdir() if "corrupt" in p.name) == [
        "SOURCE.json.corrupt"]


def test_an_old_record_is_checked_against_the_registry_and_sealed(tmp_path, monkeypatch):
    folder, arrays = _cached(tmp_path, monkeypatch)
    published = {k: sha256_array(a) for k, a in arrays.items()}
    with_spec(monkeypatch, "mnist", array_sha256=published, split_sizes=(40, 20))
    record = json.loads((folder / "SOURCE.json").read_text())
    del record["record_sha256"]  # as written before records were sealed
    (folder / "SOURCE.json").write_text(json.dumps({**record, "sizes": {"train": 30, "test": 20}}))
    with pytest.raises(ChecksumError, match="its sizes .* are not mnist's"):
        load("mnist", "train", tmp_path)
    assert (folder / "train_images.npy").exists()  # the good array file stays
    (folder / "SOURCE.json").write_text(json.dumps(record))
    assert len(load("mnist", "train", tmp_path)) == 40
    sealed = json.loads((folder / "SOURCE.json").read_text())
    assert sealed["record_sha256"] == cache.record_sha256(record)


def test_a_cached_file_that_is_a_link_is_replaced_on_rebuild_not_written_through(tmp_path,
                                                                                 monkeypatch):
    """A damaged cache file that is a symlink: the link is moved aside and the rebuilt file is a
    real file; what the link pointed to is never written."""
    folder, arrays = _cached(tmp_path, monkeypatch)
    outside = tmp_path / "outside.npy"
    outside.write_bytes(b"someone else's file")
    (folder / "train_images.npy").unlink()
    os.symlink(outside, folder / "train_images.npy")
    with pytest.raises(ChecksumError, match="train_images.npy is damaged"):
        load("mnist", "train", tmp_path)
    healed = load("mnist", "train", tmp_path)
    np.testing.assert_array_equal(healed.images[:, 0].numpy(), arrays["train_images"])
    assert not (folder / "train_images.npy").is_symlink()
    assert (folder / "train_images.npy.corrupt").is_symlink()
    assert outside.read_bytes() == b"someone else's file"


def test_a_damaged_file_in_a_read_only_cache_is_reported_not_moved(tmp_path, monkeypatch):
    folder, _ = _cached(tmp_path, monkeypatch)
    path = folder / "test_labels.npy"
    path.write_bytes(path.read_bytes()[:-1])

    def read_only(src, dst):
        raise PermissionError(30, "Read-only file system", str(src))

    monkeypatch.setattr(os, "replace", read_only)
    with pytest.raises(ChecksumError, match="test_labels.npy is damaged.*could not be moved "
                                            "aside.*Read-only file system"):
        load("mnist", "test", tmp_path)
    assert path.exists() and not (folder / "test_labels.npy.corrupt").exists()
