"""Writing files that a crash, a full disk or a second process cannot leave half-done.

Two helpers, standard library only (so that a lock can be taken and tested without importing
torch):

:func:`atomic_write`  write through a temp file whose name is unique to this process and call,
                      ``fsync`` it, rename it over the target and ``fsync`` the folder. A reader, a
                      kill -9 or a second writer sees the old file or the new one, never a mix;
                      a failed write (disk full) removes its temp file and names the target.
:func:`run_lock`      an exclusive ``flock`` on ``<folder>/.lock`` while a process trains there.
                      The kernel drops the lock when the process dies (kill -9 included), so a
                      stale lock file never blocks anyone; the file's text says who holds it, for
                      the error a second process gets.

Neither writes through, replaces or removes a symbolic link: a ``.lock``, checkpoint or results
file that is a link (to a file someone else owns) is refused with :class:`LinkError`, one line
naming it, and the file it points to is left as it is (:func:`refuse_link`).
:func:`remove_temporaries` clears what a killed writer left (``<name>.<pid>.<hex>.tmp``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import platform
import re
import stat
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

LOCK_NAME = ".lock"


class WriteError(OSError):
    """A file could not be written (disk full, no permission); the message names it."""


class RunLockedError(RuntimeError):
    """Another process holds the folder's lock; the message names its PID and host."""


class LinkError(OSError):
    """A path to be written, replaced or removed is a symbolic link; the message names it."""


def refuse_link(path: str | Path, what: str = "write") -> None:
    """Raise :class:`LinkError` when ``path`` itself is a symbolic link (dangling or not).

    Writing through a link (``open``), replacing it (``rename``) or removing what it points to
    would change a file or folder somewhere else, chosen by whoever made the link. Folders above
    ``path`` may be links (a results folder on another disk); ``path`` itself may not.
    """
    path = Path(path)
    if path.is_symlink():
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise LinkError(f"{path} is a symbolic link (to {target}); mvae does not {what} through "
                        "or replace links: replace it with a regular file or folder, or use "
                        "another path")


#: A temp file of :func:`atomic_write`: ``<name>.<pid>.<8 hex>.tmp``.
_TEMP = re.compile(r"(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp")


def remove_temporaries(folder: str | Path, names: tuple[str, ...] | None = None) -> list[Path]:
    """Remove the temp files a killed :func:`atomic_write` left in ``folder`` (``names``: only
    those of these targets). Only regular files are removed, never a link or a folder; call it
    while holding the folder's lock, so that no live writer's temp file is taken."""
    removed = []
    folder = Path(folder)
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        match = _TEMP.fullmatch(entry.name)
        if not match or (names is not None and match["name"] not in names):
            continue
        with contextlib.suppress(OSError):
            if stat.S_ISREG(entry.lstat().st_mode):
                entry.unlink()
                removed.append(entry)
    return removed


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable: the folder entry, not only the file's bytes, must reach the disk."""
    with contextlib.suppress(OSError):  # not every platform or file system can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(binary file)`` on a unique temp file beside ``path``, then rename it there.

    The temp name holds the PID and a random part, so two processes writing the same file never
    rename each other's half. Any failure removes the temp file; an ``OSError`` (and torch's
    ``RuntimeError`` for a failed write) becomes :class:`WriteError` naming ``path``.
    """
    path = Path(path)
    refuse_link(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as fh:  # not mkstemp: its 0600 mode would ignore the umask
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(err, OSError | RuntimeError) and not isinstance(err, WriteError):
            raise WriteError(f"could not write {path} ({_reason(err)}); the file there was "
                             "left as it was: free disk space or fix permissions and run "
                             "again") from err
        raise
    _fsync_folder(path.parent)


def _reason(err: BaseException) -> str:
    """The short cause of a failed write: ENOSPC by name, else the error's own text."""
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return "no space left on device"
    text = " ".join(str(err).split())
    return text[:200] or type(err).__name__


def atomic_write_text(path: str | Path, text: str) -> None:
    """:func:`atomic_write` for a text file (UTF-8)."""
    data = text.encode()
    atomic_write(path, lambda fh: fh.write(data))


def holder_text() -> str:
    """Who holds a lock: PID, host, start time and command (JSON, one line)."""
    return json.dumps({"pid": os.getpid(), "host": platform.node(),
                       "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                       "command": " ".join(sys.argv)[:300]})


def describe_holder(lock_path: Path) -> str:
    """The lock file's record as words, or a plain 'another process' when it is unreadable."""
    try:
        info = json.loads(lock_path.read_text() or "{}")
        return (f"process {info['pid']} on host {info['host']} (since {info['since']}, "
                f"command: {info.get('command') or '?'})")
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextlib.contextmanager
def run_lock(folder: str | Path, what: str = "trained") -> Iterator[Path]:
    """Hold an exclusive, non-blocking lock on ``folder`` for the ``with`` block.

    A second process gets :class:`RunLockedError` at once (it does not wait: two trainings of one
    run must not interleave epochs). The lock is ``flock``'s, so it dies with its process. A
    folder or ``.lock`` that is a symbolic link is refused (:class:`LinkError`): the lock file is
    truncated and rewritten, which must never happen to the file a link points to.
    """
    import fcntl  # POSIX only; imported here so that the module loads everywhere

    folder = Path(folder)
    refuse_link(folder, "lock")
    lock_path = folder / LOCK_NAME
    refuse_link(lock_path, "lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as err:
        if err.errno == errno.ELOOP:  # made a link between the check and the open
            refuse_link(lock_path, "lock")
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LinkError(f"{lock_path} is not a regular file; move it away and run again")
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockedError(
                f"{folder} is being {what} by {describe_holder(lock_path)}; wait for it to "
                "finish (or stop it), then run the same command again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder_text().encode() + b"\n", 0)
        yield lock_path
    finally:
        os.close(fd)  # closing the last descriptor releases the flock
