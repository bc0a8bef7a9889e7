"""Content hashes, the errors a bad file raises, and moving a bad file aside.

A file that fails its check is renamed to ``<file>.corrupt`` (never deleted, never followed if it
is a symbolic link: the link itself is renamed) so that no later run trusts it by accident and a
person can still look at it.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np


class ChecksumError(RuntimeError):
    """A file or array does not have the expected content hash (the message names both)."""


class SourceUnavailable(RuntimeError):
    """A source could not be reached or used; :func:`mvae.data.prepare` tries the next one."""


def file_hash(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in blocks so that large archives need little memory."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file."""
    return file_hash(path)


def sha256_array(array: np.ndarray) -> str:
    """SHA-256 of an array's bytes in C order (dtype and shape are checked separately)."""
    return hashlib.sha256(memoryview(np.ascontiguousarray(array)).cast("B")).hexdigest()


def split_hash(known_hash: str) -> tuple[str, str]:
    """``"md5:abc"`` -> ``("md5", "abc")``; a bare hex digest is a SHA-256 (pooch's convention)."""
    algorithm, _, value = known_hash.rpartition(":")
    return (algorithm or "sha256").lower(), value.lower()


def move_aside(path: Path) -> str:
    """Rename a bad file to ``<file>.corrupt`` so that no later run trusts it; say what happened.

    ``os.replace`` renames a symbolic link itself, not its target, and replaces an old
    ``.corrupt`` entry (a link there included) without writing through it.
    """
    aside = path.with_name(path.name + ".corrupt")
    try:
        if aside.is_dir() and not aside.is_symlink():
            raise IsADirectoryError(f"{aside} is a folder")
        os.replace(path, aside)
    except OSError as err:  # a read-only copy (a shared folder): report, do not fail differently
        return f"it could not be moved aside ({err})"
    return f"the file was moved aside to {aside}"


def mismatch(path: Path, what: str, expected: str, got: str) -> ChecksumError:
    """The error for a file whose ``what`` is ``got``, not ``expected``; moves the file aside."""
    moved = move_aside(path)
    return ChecksumError(f"checksum mismatch for {path}: expected {what} {expected}, got {got}; "
                         f"{moved}")


def verify_file(path: Path, known_hash: str) -> str:
    """Return the file's hash if it is ``known_hash`` (``"sha256:<hex>"``, ``"md5:<hex>"`` or a
    bare SHA-256); else move the file aside and raise :class:`ChecksumError`."""
    algorithm, expected = split_hash(known_hash)
    got = file_hash(path, algorithm)
    if got != expected:
        raise mismatch(path, algorithm, expected, got)
    return got


def warn(message: str) -> None:
    """One line on stderr: a fall-through is expected offline, not an error worth a traceback."""
    print("mvae.data: warning: " + " ".join(message.split()), file=sys.stderr)
