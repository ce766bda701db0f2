"""nspawn transport: run a POSIX sh batch inside a systemd-nspawn container by entering its
namespaces (``nsenter -t <PID 1 of the container> -a sh -s``).

Why not SSH for the sandbox's Linux nodes: the engine runs as root on the machine that booted the
containers, so entering their namespaces reaches the same systemd, files and nftables an sshd
inside would, without a host key, an authorised key and an sshd per container to keep, and at a
fraction of the cost per round trip (no key exchange). What the engine sends is the same POSIX
batch either way (posix.py). Real Linux nodes are reached over SSH.

The container's PID 1 changes at every boot: the sandbox writes it to ``<machine>/leader`` after
booting; the transport checks that the process is alive and is systemd before entering it. The
batch runs with an environment of its own (posix.BATCH_ENV): none of this process's variables, so
no secret reaches a node's process.
"""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runbook_engine.engine.transports import register_transport
from runbook_engine.engine.transports import posix
from runbook_engine.engine.transports.base import Options, Transport, TransportError

LEADER_FILE = "leader"


class NspawnOptions(Options):
    machine: Path  # the sandbox node's directory: its `leader` file names the container's PID 1


def leader_pid(machine: Path) -> int | None:
    """The PID of the container's systemd, or None when the container is not running."""
    try:
        pid = int((Path(machine) / LEADER_FILE).read_text().strip())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError):
        return None
    return pid if comm == "systemd" else None


@register_transport("nspawn")
@dataclass
class NspawnTransport(Transport):
    machine: Path | None = None
    timeout: float | None = 600.0

    kind = "nspawn"
    shell = posix.SHELL
    Options = NspawnOptions

    @classmethod
    def from_options(cls, name: str, options: NspawnOptions) -> "NspawnTransport":
        return cls(name, machine=Path(options.machine))

    def wrap(self, commands: list[str]) -> str:
        return posix.wrap_batch(commands)

    def argv(self) -> list[str]:
        pid = leader_pid(self.machine)
        if pid is None:
            raise TransportError(f"node {self.node} is not running (no live container under {self.machine}): "
                                 "start it with `runbook sandbox create --platform linux`")
        return ["nsenter", "-t", str(pid), "-a", "--", "/bin/sh", "-s"]

    def _execute(self, batch_text: str) -> tuple[str, str, int]:
        argv = self.argv()
        # output to files, read once the shell has exited: a unit the batch starts never holds a pipe open
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp:
            inp.write(batch_text.encode("utf-8"))
            inp.seek(0)
            try:
                proc = subprocess.Popen(argv, stdin=inp, stdout=out, stderr=err, env=dict(posix.BATCH_ENV),
                                        start_new_session=True)
            except FileNotFoundError as exc:
                raise TransportError(f"nsenter not found: {exc}") from exc
            try:
                proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired as exc:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise TransportError(f"batch on {self.node} did not finish within {self.timeout} s") from exc
            out.seek(0)
            err.seek(0)
            return (out.read().decode("utf-8", errors="replace"), err.read().decode("utf-8", errors="replace"),
                    proc.returncode)
