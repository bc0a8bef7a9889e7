"""Atomic writes survive a full disk and a second writer; a run folder's lock names its holder
and dies with it."""

from __future__ import annotations

import errno
import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mvae.files import RunLockedError, WriteError, atomic_write, atomic_write_text, run_lock
from mvae.provenance import write_json

SRC = Path(__file__).resolve().parents[1] / "src"


def test_disk_full_keeps_the_old_file_names_the_target_and_leaves_no_temp(tmp_path) -> None:
    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"old, whole")

    def fill_disk(fh) -> None:
        fh.write(b"half a")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError, match=f"could not write {target} .no space left on device"):
        atomic_write(target, fill_disk)
    assert target.read_bytes() == b"old, whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_a_torch_style_write_failure_is_a_write_error_too(tmp_path) -> None:
    def torch_fails(fh) -> None:
        raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")

    with pytest.raises(WriteError, match="PytorchStreamWriter"):
        atomic_write(tmp_path / "c.pt", torch_fails)
    assert list(tmp_path.iterdir()) == []


def test_two_writers_of_one_file_do_not_collide(tmp_path) -> None:
    """A fixed temp name (``<file>.tmp``) made the second rename fail: names are now unique."""
    target = tmp_path / "history.json"

    def outer(fh) -> None:
        fh.write(b"first")
        atomic_write_text(target, "second")  # another writer finishes meanwhile

    atomic_write(target, outer)
    assert target.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json"]


def test_write_json_is_atomic_and_leaves_no_fixed_tmp(tmp_path) -> None:
    (tmp_path / "out.json.tmp").write_text("someone else's")
    write_json(tmp_path / "out.json", {"a": 1})
    assert (tmp_path / "out.json").read_text() == '{\n  "a": 1\n}\n'
    assert (tmp_path / "out.json.tmp").read_text() == "someone else's"


def test_lock_refuses_a_second_holder_naming_pid_and_host(tmp_path) -> None:
    with run_lock(tmp_path):
        with pytest.raises(RunLockedError) as err, run_lock(tmp_path):
            pass
        message = str(err.value)
        assert f"process {os.getpid()} on host {platform.node()}" in message
        assert str(tmp_path) in message and "run the same command again" in message
    with run_lock(tmp_path):  # released at the end of the block
        pass


def test_lock_dies_with_a_killed_process(tmp_path) -> None:
    code = ("import sys, time; from mvae.files import run_lock\n"
            "with run_lock(sys.argv[1]):\n    print('locked', flush=True); time.sleep(600)\n")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                             text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match=f"process {child.pid} "), run_lock(tmp_path):
            pass
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with run_lock(tmp_path):  # kill -9 released it: no stale lock to clear by hand
        pass
