"""Start a one-node SLURM cluster on this machine, for testing the pipeline's SLURM profile.

Needs Debian's ``slurmctld slurmd slurm-client munge`` and root (slurmd runs jobs as their
user). Everything the cluster writes (its ``slurm.conf``, state, spool and logs) goes to a folder
of the caller's, except what the daemons fix themselves: munge's key (``/etc/munge/munge.key``,
made only where none exists) and socket (``/run/munge``), and slurmd's copy of its configuration
(``/run/slurm``). No accounting (``accounting_storage/none``), no cgroups
(``proctrack/linuxproc``, ``task/none``): the stock setup of a small cluster without slurmdbd.

    python scripts/slurm_localhost.py start DIR   # prints `export SLURM_CONF=DIR/slurm.conf`
    python scripts/slurm_localhost.py stop DIR

:func:`cluster` does the same as a context manager (the tests use it); it stops every daemon it
started, also when the body fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

DAEMONS = ("slurmctld", "slurmd")
#: Programs the cluster needs (Debian: slurmctld, slurmd, slurm-client, munge).
PROGRAMS = ("munged", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue")


class ClusterError(RuntimeError):
    """The cluster could not start; the message says why (and where its logs are)."""


def missing_programs() -> list[str]:
    return [p for p in PROGRAMS if shutil.which(p) is None]


def slurm_conf(folder: Path, cpus: int, memory_mb: int) -> str:
    return f"""\
ClusterName=mvaetest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
MinJobAge=600
SlurmctldParameters=enable_configless
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=localhost CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def _memory_mb() -> int:
    with open("/proc/meminfo") as fh:
        total_kb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
    return max(1024, total_kb // 1024 - 2048)  # leave the machine some room


def _munge_running() -> bool:
    return subprocess.run(["munge", "-n"], capture_output=True).returncode == 0


def _start_munge(folder: Path) -> subprocess.Popen | None:
    """munged, unless one already answers (a machine's own)."""
    if shutil.which("munge") and _munge_running():
        return None
    key = Path("/etc/munge/munge.key")
    if not key.is_file():
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
    Path("/run/munge").mkdir(parents=True, exist_ok=True)
    with open(folder / "munged.log", "w") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(["munged", "--force", "--foreground"], stdout=log,
                                stderr=subprocess.STDOUT)
    for _ in range(50):
        if _munge_running():
            return proc
        time.sleep(0.1)
    proc.terminate()
    raise ClusterError(f"munged did not start (see {folder / 'munged.log'})")


def _wait_for_node(env: dict[str, str], folder: Path, timeout: float) -> None:
    deadline = time.time() + timeout
    state = ""
    while time.time() < deadline:
        out = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True,
                             env=env)
        state = out.stdout.strip()
        if out.returncode == 0 and state in ("idle", "mixed", "allocated"):
            return
        time.sleep(0.5)
    raise ClusterError(f"the node is not up after {timeout:.0f} s (state {state!r}); see "
                       f"{folder}/slurmctld.log and {folder}/slurmd.log")


def start(folder: str | Path, cpus: int | None = None, timeout: float = 60) -> dict[str, str]:
    """Write the config, start munge (if needed), slurmctld and slurmd; return the environment
    (``SLURM_CONF``) clients need. Raises :class:`ClusterError` when it cannot start."""
    missing = missing_programs()
    if missing:
        raise ClusterError(f"not installed: {', '.join(missing)} (Debian: apt-get install "
                           "slurmctld slurmd slurm-client munge)")
    if os.geteuid() != 0:
        raise ClusterError("slurmd must run as root")
    folder = Path(folder).resolve()
    for sub in ("state", "spool"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    conf = folder / "slurm.conf"
    conf.write_text(slurm_conf(folder, cpus or os.cpu_count() or 1, _memory_mb()))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    munge = _start_munge(folder)
    if munge is not None:
        (folder / "munged.pid").write_text(str(munge.pid))
    # slurmd fetches the config from slurmctld (configless mode) and caches it where every
    # client on the node finds it (/run/slurm/conf): jobs clear SLURM_CONF from their
    # environment (the SLURM executor plugin does), and /etc/slurm is left alone.
    commands = {"slurmctld": ["slurmctld", "-f", str(conf)],
                "slurmd": ["slurmd", "--conf-server", "localhost:6817"]}
    for daemon in DAEMONS:
        done = subprocess.run(commands[daemon], capture_output=True, text=True, env=env)
        if done.returncode != 0:
            stop(folder)
            raise ClusterError(f"{daemon} did not start: {done.stderr.strip() or done.stdout}")
    try:
        _wait_for_node(env, folder, timeout)
    except ClusterError:
        stop(folder)
        raise
    return {"SLURM_CONF": str(conf)}


def stop(folder: str | Path, timeout: float = 15) -> None:
    """Stop the daemons :func:`start` started in ``folder`` (by their pid files) and wait until
    they have exited."""
    folder = Path(folder)
    pids = []
    for name in ("slurmd", "slurmctld", "munged"):
        pid_file = folder / f"{name}.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            pids.append(pid)
        pid_file.unlink(missing_ok=True)
    deadline = time.time() + timeout
    while pids and time.time() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # a child of ours (munged) exits as a zombie: reap it
    return True


@contextlib.contextmanager
def cluster(folder: str | Path, cpus: int | None = None) -> Iterator[dict[str, str]]:
    """A running one-node cluster for the body; its environment variables are yielded."""
    env = start(folder, cpus)
    try:
        yield env
    finally:
        stop(folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--cpus", type=int, default=None)
    args = parser.parse_args()
    if args.action == "stop":
        stop(args.folder)
        return 0
    try:
        env = start(args.folder, args.cpus)
    except ClusterError as err:
        print(f"slurm_localhost: {err}")
        return 1
    print(f"export SLURM_CONF={env['SLURM_CONF']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
