"""mvae.data.loading: prepare from the first working source, load verified splits (no network)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from data_helpers import block_network, tiny_arrays, with_spec

from mvae import data
from mvae.data import formats, integrity, registry, sources

#: A real copy of CIFAR-10's JPEG zips, where a machine has one (read before the fixture below
#: clears the variable for every test).
REAL_COPY = os.environ.get("MVAE_CIFAR10_PATH")
REAL_TEST_ZIP = Path(REAL_COPY) / "test.zip" if REAL_COPY else None


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    block_network(monkeypatch)


def test_prepare_and_load_round_trip_through_the_cache(tmp_path, monkeypatch, capsys):
    arrays = tiny_arrays()
    calls = []

    def fake_sources(name, workdir, cifar10_path, progress):
        def broken():
            calls.append("official")
            raise data.SourceUnavailable("offline\n(really)")

        def works():
            calls.append("fallback")
            (workdir / "fetched.tmp").write_bytes(b"an intermediate")
            return arrays, {"source": "synthetic", "location": "memory",
                            "file_checksums": {"x": "sha256 0"}}
        return [("official", broken), ("fallback", works)]

    monkeypatch.setattr(sources, "sources_for", fake_sources)
    with_spec(monkeypatch, "mnist", array_sha256={})
    record = data.prepare("mnist", tmp_path, progress=False)
    assert calls == ["official", "fallback"] and record["source"] == "synthetic"
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and "'official' unavailable" in warning[0]
    saved = json.loads((tmp_path / "mnist" / "SOURCE.json").read_text())
    assert saved == record
    assert {"dataset", "source", "location", "file_checksums", "array_sha256", "date"} <= set(saved)
    assert saved["array_sha256"]["test_images"] == integrity.sha256_array(arrays["test_images"])
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == [
        "SOURCE.json", "test_images.npy", "test_labels.npy", "train_images.npy",
        "train_labels.npy"]  # no temp files, downloads/ cleaned up

    train = data.load("mnist", "train", tmp_path)
    assert train.images.shape == (40, 1, 28, 28) and train.images.dtype == torch.uint8
    assert train.labels.dtype == torch.int64 and len(train) == 40
    np.testing.assert_array_equal(train.images[:, 0].numpy(), arrays["train_images"])
    np.testing.assert_array_equal(train.labels.numpy(), arrays["train_labels"])
    floats = train.floats()
    assert floats.dtype == torch.float32 and float(floats.max()) <= 1 and float(floats.min()) >= 0
    assert train.source == "synthetic"
    sub = data.load("mnist", "test", tmp_path, subset=10)
    assert sub.labels.tolist() == list(range(10))
    with pytest.raises(ValueError, match="larger"):
        data.load("mnist", "test", tmp_path, subset=30)
    data.prepare("mnist", tmp_path)  # cached: no source is asked again
    assert calls == ["official", "fallback"]


def test_all_sources_failing_gives_one_clear_error(tmp_path, monkeypatch):
    def fake_sources(name, workdir, cifar10_path, progress):
        def broken():
            raise data.SourceUnavailable("offline")
        return [("official", broken)]

    monkeypatch.setattr(sources, "sources_for", fake_sources)
    with pytest.raises(RuntimeError, match="(?s)could not obtain cifar10.*official: offline"
                                           ".*MVAE_CIFAR10_PATH"):
        data.prepare("cifar10", tmp_path, progress=False)
    assert not (tmp_path / "cifar10" / "downloads").exists()


# --------------------------------------------------------------------------- a new dataset
def _register(monkeypatch, name: str, source: registry.Source, **entry) -> None:
    """What adding a dataset takes: one registry entry (here for one test; nothing else of
    mvae.data, sources.py least of all, is touched)."""
    monkeypatch.setitem(registry.REGISTRY, name, registry.DatasetSpec(
        name=name, short_name=name, image_shape=(1, 28, 28), split_sizes=(4, 4), classes=10,
        architecture="mlp", likelihood="bernoulli", sources=(source,), **entry))


def _draw(name, workdir, progress, *, source):
    """A ``generated`` source's drawing function for the throwaway dataset below."""
    return ({f"{split}_{key}": (np.full((4, 28, 28), 7 * i, np.uint8) if key == "images" else
                                np.arange(4, dtype=np.uint8))
             for i, split in enumerate(("train", "test")) for key in ("images", "labels")},
            {"source": source.description, "location": "drawn", "file_checksums": {}})


def test_a_dataset_of_an_existing_source_kind_is_one_registry_entry(tmp_path, monkeypatch):
    """A throwaway dataset served as idx files from its own mirror (source kind idx_urls), and
    one drawn by code (generated): each registered, then prepared and loaded by name through
    the same sources, cache and checks as MNIST."""
    import hashlib
    import time

    import requests
    from data_helpers import FakeResponse, idx_folder, idx_md5s

    arrays = idx_folder(tmp_path / "served", n=4)
    base = "https://throwaway.example/"
    bodies = {base + f: (tmp_path / "served" / f).read_bytes()
              for f in registry.IDX_FILES.values()}
    monkeypatch.setattr(requests, "get", lambda url, timeout=None, **kw: FakeResponse(
        bodies[url]) if url in bodies else FakeResponse(b"", status=404))
    monkeypatch.setattr(time, "sleep", lambda s: None)
    _register(monkeypatch, "throwaway", registry.Source(
        "official", "idx_urls", "Throwaway, official idx files", urls=(base,),
        files={u.rsplit("/", 1)[1]: "md5:" + hashlib.md5(b).hexdigest()
               for u, b in bodies.items()}), content_md5=idx_md5s(arrays))
    train = data.load("throwaway", "train", tmp_path / "cache")
    np.testing.assert_array_equal(train.images[:, 0].numpy(), arrays["train_images"])
    assert train.labels.tolist() == arrays["train_labels"].tolist()
    assert train.source == "Throwaway, official idx files (throwaway.example)"

    _register(monkeypatch, "drawn", registry.Source(
        "render", "generated", "Drawn for a test", generator=f"{__name__}:_draw"))
    test = data.load("drawn", "test", tmp_path / "cache")
    assert test.images.unique().tolist() == [7] and test.source == "Drawn for a test"
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["drawn", "throwaway"]


def test_default_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MVAE_DATA_DIR", raising=False)
    assert data.default_root() == Path("data")
    monkeypatch.setenv("MVAE_DATA_DIR", str(tmp_path))
    assert data.default_root() == tmp_path


def test_class_balanced_subset_takes_the_first_of_each_class_in_order():
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert data.class_balanced_subset(labels, 3).tolist() == [0, 3, 6]
    labels = torch.tensor([2, 1, 0, 2, 0, 1, 1, 0, 2])
    assert data.class_balanced_subset(labels, 6).tolist() == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="divisible"):
        data.class_balanced_subset(labels, 5)
    with pytest.raises(ValueError, match="only 3"):
        data.class_balanced_subset(labels, 12)


def test_unknown_names_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="allowed: mnist, fashion_mnist, cifar10"):
        data.load("svhn", "train", tmp_path)
    with pytest.raises(ValueError, match="allowed: mnist, fashion_mnist, cifar10"):
        data.prepare("svhn", tmp_path)
    with pytest.raises(ValueError, match="allowed: train, test"):
        data.load("mnist", "valid", tmp_path)
    assert list(tmp_path.iterdir()) == []  # rejected before anything is fetched


def test_image_dataset_rejects_malformed_tensors():
    images = torch.zeros(3, 1, 28, 28, dtype=torch.uint8)
    ok = data.ImageDataset("mnist", "test", images, torch.zeros(3, dtype=torch.int64), "s")
    assert len(ok) == 3
    with pytest.raises(ValueError, match="uint8"):
        data.ImageDataset("mnist", "test", images.float(), torch.zeros(3, dtype=torch.int64), "s")
    with pytest.raises(ValueError, match="int64"):
        data.ImageDataset("mnist", "test", images, torch.zeros(2, dtype=torch.int64), "s")


@pytest.mark.skipif(REAL_TEST_ZIP is None or not REAL_TEST_ZIP.exists(),
                    reason="no $MVAE_CIFAR10_PATH with the JPEG copy's test.zip here")
def test_real_jpeg_copy_test_zip_has_1000_images_per_class():
    local = registry.REGISTRY["cifar10"].source("local")
    assert integrity.verify_file(REAL_TEST_ZIP, local.files["test.zip"])
    images, labels = formats.read_jpeg_zip(REAL_TEST_ZIP, "test")
    assert images.shape == (10000, 3, 32, 32)
    assert np.bincount(labels).tolist() == [1000] * 10
    assert integrity.sha256_array(images) == local.decoded_sha256["test.zip"]["images"]
