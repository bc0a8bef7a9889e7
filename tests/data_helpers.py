"""Small synthetic dataset files for the mvae.data tests (no network, a few KB each)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import requests
from PIL import Image

from mvae.data import registry


def block_network(monkeypatch) -> None:
    """No test may reach a real source or run a program: a slip would make the suite slow and
    machine-dependent."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to reach the network or run a program: {args}")

    monkeypatch.setattr(requests.sessions.Session, "request", refuse)
    monkeypatch.setattr(requests, "get", refuse)
    monkeypatch.setattr(requests, "head", refuse)
    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.delenv("MVAE_CIFAR10_PATH", raising=False)


def with_spec(monkeypatch, name: str, **changes) -> registry.DatasetSpec:
    """Replace a registry entry for one test (e.g. ``array_sha256={}`` for synthetic arrays)."""
    changed = registry.REGISTRY[name].replace(**changes)
    monkeypatch.setitem(registry.REGISTRY, name, changed)
    return changed


def sha256_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def idx_folder(folder: Path, n: int = 4, seed: int = 3) -> dict[str, np.ndarray]:
    """The four gzipped idx files of a tiny MNIST-like set; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for key, fname in registry.IDX_FILES.items():
        shape = (n, 28, 28) if "images" in key else (n,)
        arrays[key] = rng.integers(0, 10 if "labels" in key else 256, shape).astype(np.uint8)
        (folder / fname).write_bytes(gzip.compress(idx(arrays[key])))
    return arrays


def idx_md5s(arrays: dict[str, np.ndarray]) -> dict[str, str]:
    return {key: hashlib.md5(idx(a)).hexdigest() for key, a in arrays.items()}


def jpeg_zip(path: Path, split: str, per_class: int, extra: str | None = None) -> None:
    """A zip laid out like the JPEG copy; image i of class c is a flat grey (20c + 5i)."""
    with zipfile.ZipFile(path, "w") as archive:
        for c in reversed(range(10)):  # written out of order on purpose
            for i in reversed(range(per_class)):
                buf = io.BytesIO()
                Image.new("RGB", (32, 32), (20 * c + 5 * i,) * 3).save(buf, "JPEG", quality=95)
                archive.writestr(f"{split}/{registry.CIFAR10_CLASSES[c]}/{i:04d}.jpg",
                                 buf.getvalue())
        if extra:
            archive.writestr(extra, b"not read")


def local_source(folder: Path, *names: str) -> registry.Source:
    """CIFAR-10's local source with the hashes of the synthetic files ``names`` in ``folder``."""
    local = registry.REGISTRY["cifar10"].source("local")
    files = {**local.files, **{n: sha256_of((folder / n).read_bytes()) for n in names}}
    return dataclasses.replace(local, files=files)


def tiny_arrays(n_train: int = 40, n_test: int = 20, seed: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"{s}_{k}": (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if k == "images"
                         else (np.arange(n) % 10).astype(np.uint8))
            for s, n in (("train", n_train), ("test", n_test)) for k in ("images", "labels")}


class FakeResponse:
    """What pooch's HTTPDownloader reads from ``requests.get``: a body, streamed."""

    def __init__(self, body: bytes, status: int = 200) -> None:
        self.body, self.status_code = body, status
        self.headers = {"content-length": str(len(body))}

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.exceptions.HTTPError(f"{self.status_code} error")

    def iter_content(self, chunk_size: int = 1024):
        for start in range(0, len(self.body), chunk_size):
            yield self.body[start:start + chunk_size]
