"""Where a number came from: code version, software versions, device and time.

Every run folder and every results file carries this record so that a figure in the book can say
which commit, machine and library versions produced it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mvae.files import atomic_write_text


def git_commit(path: Path | None = None) -> dict[str, Any]:
    """Commit and dirty flag of the checkout holding ``path`` (default: this package).

    Changes under the top-level ``results/`` do not count as dirty: they are the pipeline's own
    outputs (a committed-mode report rebuilt in the checkout rewrites tracked files there), not
    changes to the code that produced a number.

    A copy of a clean checkout without its ``.git`` (what a lent GPU machine receives) names its
    commit in ``$MVAE_GIT_COMMIT``; the copy's sender is responsible for it being clean.
    """
    if os.environ.get("MVAE_GIT_COMMIT"):
        return {"commit": os.environ["MVAE_GIT_COMMIT"], "dirty": False, "from": "MVAE_GIT_COMMIT"}
    where = str(path or Path(__file__).resolve().parent)
    try:
        commit = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", where, "status", "--porcelain",
                                 "--untracked-files=no", "--", ":(top)",
                                 ":(top,exclude)results"], capture_output=True, text=True,
                                timeout=10, check=True).stdout
        return {"commit": commit, "dirty": bool(status.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}


#: Environment variables that make torch (ATen) and MKL use an older instruction set than the
#: CPU has: an AVX-512 machine then computes bit for bit as an AVX2 one (measured: retraining an
#: AVX2-archived run, ``mvae.pretrained``), so the device record names them.
KERNEL_OVERRIDES = ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS")


def device_name(device: torch.device | str) -> str:
    """The GPU's name, or the CPU's with its vector units: ``cpu (AMD EPYC, 2 cores, avx2)``;
    with the kernels ATen uses added when :data:`KERNEL_OVERRIDES` are set."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    caps = torch.cpu.get_capabilities()
    units = [u for u in ("amx_bf16", "avx512_bf16", "avx512_f", "avx2") if caps.get(u)]
    overrides = [f"{name}={os.environ[name]}" for name in KERNEL_OVERRIDES if os.environ.get(name)]
    kernels = (f"; kernels {torch.backends.cpu.get_cpu_capability()} ({', '.join(overrides)})"
               if overrides else "")
    return (f"cpu ({caps.get('cpu_name') or platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, {'/'.join(units) or 'no AVX2'}{kernels})")


def collect(device: torch.device | str = "cpu") -> dict[str, Any]:
    """A JSON-ready provenance record for the current process."""
    from mvae import __version__

    return {
        "git": git_commit(),
        "mvae": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "device": device_name(device),
        "host": platform.node(),
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def write_json(path: Path, record: Any) -> None:
    """Atomic JSON write (:func:`mvae.files.atomic_write`: unique temp file, fsync, rename): a
    crash, a full disk or a second writer never leaves half a results file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=False, default=str) + "\n")
