"""Data sources, checksums and the cache, on small synthetic files (no network)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mvae import data


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_corrupted_file_raises_names_both_hashes_and_is_moved_aside(tmp_path, monkeypatch):
    good = tmp_path / "train.zip"
    good.write_bytes(b"the real bytes")
    other = tmp_path / "test.zip"
    other.write_bytes(b"untouched")
    expected = hashlib.sha256(b"what we expected").hexdigest()
    got = hashlib.sha256(b"the real bytes").hexdigest()
    monkeypatch.setitem(data.FILE_SHA256, "train.zip", expected)
    with pytest.raises(data.ChecksumError) as err:
        data.verify_file(good, data.FILE_SHA256["train.zip"])
    message = str(err.value)
    assert str(good) in message and expected in message and got in message
    assert not good.exists() and (tmp_path / "train.zip.corrupt").read_bytes() == b"the real bytes"
    assert other.read_bytes() == b"untouched"


def test_decoded_arrays_are_checked_against_known_content():
    arrays = {"train_labels": np.arange(10, dtype=np.uint8)}
    with pytest.raises(data.ChecksumError, match="mnist train_labels"):
        data.verify_arrays("mnist", arrays, "somewhere")
    # Unknown datasets (CIFAR decoded from JPEG) are recorded, not checked.
    assert data.verify_arrays("cifar10", arrays, "x")["train_labels"] == data.sha256_array(
        arrays["train_labels"])


def test_idx_round_trip_and_bad_header():
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(data.parse_idx(_idx(images)), images)
    with pytest.raises(ValueError):
        data.parse_idx(b"\x00\x00\x0d\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="payload"):
        data.parse_idx(_idx(images)[:-3])


def _jpeg_zip(path: Path, split: str, per_class: int) -> None:
    rng = np.random.default_rng(1)
    with zipfile.ZipFile(path, "w") as archive:
        for cls in reversed(data.CIFAR10_CLASSES):  # written out of order on purpose
            for i in range(per_class):
                buf = io.BytesIO()
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buf, "JPEG")
                archive.writestr(f"{split}/{cls}/{i:04d}.jpg", buf.getvalue())


def test_jpeg_copy_is_read_in_class_order_and_labelled_as_such(tmp_path, monkeypatch):
    for split in ("train", "test"):
        _jpeg_zip(tmp_path / f"{split}.zip", split, per_class=2)
        monkeypatch.setitem(data.FILE_SHA256, f"{split}.zip",
                            data.sha256_file(tmp_path / f"{split}.zip"))
    arrays, record = data._cifar_local(tmp_path)
    assert arrays["train_images"].shape == (20, 3, 32, 32)
    assert arrays["train_labels"].tolist() == [c for c in range(10) for _ in range(2)]
    assert "JPEG q75 copy" in record["source"]


def test_prepare_and_load_round_trip_through_the_cache(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    arrays = {f"{s}_{k}": (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if k == "images"
                           else np.arange(n, dtype=np.uint8) % 10)
              for s, n in (("train", 40), ("test", 20)) for k in ("images", "labels")}
    calls = []

    def fake_sources(name, workdir, cifar10_path, progress):
        def broken():
            calls.append("official")
            raise data.SourceUnavailable("offline")

        def works():
            calls.append("fallback")
            return arrays, {"source": "synthetic", "location": "memory"}
        return [("official", broken), ("fallback", works)]

    monkeypatch.setattr(data, "_sources", fake_sources)
    monkeypatch.setattr(data, "ARRAY_SHA256", {})
    record = data.prepare("mnist", tmp_path, progress=False)
    assert calls == ["official", "fallback"] and record["source"] == "synthetic"
    saved = json.loads((tmp_path / "mnist" / "SOURCE.json").read_text())
    assert saved["sizes"] == {"train": 40, "test": 20} and "array_sha256" in saved
    train = data.load("mnist", "train", tmp_path)
    assert train.images.shape == (40, 1, 28, 28) and train.images.dtype == torch.uint8
    np.testing.assert_array_equal(train.images[:, 0].numpy(), arrays["train_images"])
    assert train.source == "synthetic" and 0 <= float(train.floats().max()) <= 1
    sub = data.load("mnist", "test", tmp_path, subset=10)
    assert sorted(sub.labels.tolist()) == list(range(10))
    data.prepare("mnist", tmp_path)  # cached: no source is asked again
    assert calls == ["official", "fallback"]


def test_all_sources_failing_gives_one_clear_error(tmp_path, monkeypatch):
    def fake_sources(name, workdir, cifar10_path, progress):
        def broken():
            raise data.SourceUnavailable("offline")
        return [("official", broken)]

    monkeypatch.setattr(data, "_sources", fake_sources)
    with pytest.raises(RuntimeError, match="(?s)could not obtain cifar10.*official: offline"):
        data.prepare("cifar10", tmp_path, progress=False)


def test_class_balanced_subset():
    labels = torch.tensor([0, 1, 0, 2, 1, 2, 0, 1, 2])
    assert data.class_balanced_subset(labels, 6).tolist() == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="divisible"):
        data.class_balanced_subset(labels, 5)
    with pytest.raises(ValueError, match="only 3"):
        data.class_balanced_subset(labels, 12)


def test_unknown_names_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="allowed: mnist, fashion_mnist, cifar10"):
        data.load("svhn", "train", tmp_path)
    with pytest.raises(ValueError, match="allowed: train, test"):
        data.load("mnist", "valid", tmp_path)


def test_gzip_idx_folder_is_decoded(tmp_path):
    rng = np.random.default_rng(3)
    for key, fname in data.IDX_FILES.items():
        shape = (4, 28, 28) if "images" in key else (4,)
        (tmp_path / fname).write_bytes(gzip.compress(_idx(rng.integers(0, 10, shape))))
    arrays = data._idx_arrays(tmp_path)
    assert arrays["train_images"].shape == (4, 28, 28) and arrays["test_labels"].shape == (4,)
