"""Batches a dead run left running on a node whose cmd.exe runs on this machine (local, Wine).

A run killed with ``kill -9`` leaves its node-side batch running: it would race the next run's
plan (``sc stop`` answering 1062 because the orphan had just stopped the service) and leave its
temporary ``rb-*.cmd`` behind. So each batch is started in a session of its own with a *lease*
beside its .cmd file: the engine process and the batch process, each by pid and start time (a
reused pid is not taken for them). Before a transport runs a batch it reaps the leases of dead
engines: it waits for the orphan batch to finish (up to :data:`ORPHAN_WAIT` seconds; a batch is
short), ends its process group if it does not, and removes the orphan's .cmd, its lease and the
``rb-*`` temporary files its commands left in the node's temp folders. A lease whose engine is
alive is left alone: that batch is another live run's (a read-only cluster check, say).

Over SSH the node-side batch is the OpenSSH server's business when the connection drops; this
module does not reach it (said in the contributor notes).
"""
from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

#: how long a reaper waits for an orphan batch to finish before it ends it
ORPHAN_WAIT = 60.0
LEASE_SUFFIX = ".lease"


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def alive(ident: list | tuple) -> bool:
    """The process (pid, start time) is still running (a reused pid is another process)."""
    pid, start = ident
    return start is not None and _start_time(pid) == start



def ident(pid: int) -> tuple[int, int | None]:
    return pid, _start_time(pid)


@dataclass
class Reaped:
    lease: Path
    waited: float
    killed: bool
    removed: list[Path]


def write_lease(cmd_file: Path, batch_pid: int | None) -> Path:
    """The lease of *cmd_file* (written atomically beside it): this process, and the batch
    running it once there is one (*batch_pid* None: written before the file and the batch)."""
    lease = cmd_file.with_suffix(LEASE_SUFFIX)
    tmp = lease.with_name(f"{lease.name}.{os.getpid()}.tmp")  # whose, if a kill leaves it
    batch = ident(batch_pid) if batch_pid is not None else (0, None)
    tmp.write_text(json.dumps({"engine": ident(os.getpid()), "batch": batch, "cmd": cmd_file.name}))
    os.replace(tmp, lease)
    return lease


def reap(folder: Path, temp_dirs: Callable[[], Iterable[Path]] = tuple, wait: float = ORPHAN_WAIT) -> list[Reaped]:
    """End the work of dead runs whose leases are in *folder*; see the module's text. *temp_dirs*
    is asked for the node's temp folders only when there is an orphan to clean up after."""
    out = []
    folder = Path(folder)
    if not folder.is_dir():
        return out
    for tmp in folder.glob(f"rb-*{LEASE_SUFFIX}.*.tmp"):  # a lease a killed engine was writing
        pid = tmp.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            tmp.unlink(missing_ok=True)
    for lease in sorted(folder.glob(f"rb-*{LEASE_SUFFIX}")):
        try:
            data = json.loads(lease.read_text())
        except (OSError, ValueError):
            continue  # being written (the .tmp is renamed into place whole) or already gone
        if alive(data["engine"]):
            continue
        t0, killed = time.monotonic(), False
        batch = data["batch"]
        while alive(batch) and time.monotonic() - t0 < wait:
            time.sleep(0.1)
        if alive(batch):
            try:
                os.killpg(batch[0], signal.SIGKILL)  # its own session: the batch and its programs
            except ProcessLookupError:
                pass
            killed = True
            while alive(batch):
                time.sleep(0.05)
        removed = []
        for p in [folder / data["cmd"], lease] + [q for d in temp_dirs() for q in _leftovers(Path(d))]:
            if p.exists():
                p.unlink(missing_ok=True)
                removed.append(p)
        out.append(Reaped(lease, time.monotonic() - t0, killed, removed))
    return out


def _leftovers(temp: Path) -> list[Path]:
    """The temporary files a batch's commands write (engine/facts/files.py: rb-<tag>.w64/.b64)."""
    if not temp.is_dir():
        return []
    return [p for pattern in ("rb-*.w64", "rb-*.b64") for p in temp.glob(pattern)]
