"""Preflight facts of a Linux node: the OS release, the file system mounted at a path, and which
programs the shell finds.

* ``PRETTY_NAME`` of os-release(5): ``/etc/os-release``, else ``/usr/lib/os-release`` (the spec's
  fallback; a volatile container has only the latter).
* ``findmnt -n -r -o FSTYPE,TARGET -T <path>``: the file system holding *path* and where it is
  mounted (``-r``: raw output, a space in a name escaped as ``\\x20``); a target other than the path
  itself means nothing is mounted there.
* ``blkid -o value -s TYPE -- <device>``: the file system a partition is formatted with, mounted
  or not (a standby's mirror disk data partition is not mounted).
* ``command -v -- <program>``: its path (exit 0), or nothing (exit 127): a bare name is looked up
  on the batch's PATH, an absolute one must be an executable file.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass

from runbook_engine.engine.facts.base import Fact
from runbook_engine.engine.transports.base import CommandResult
from runbook_engine.engine.transports.posix import q

NO_MOUNT_POINT = "RB-NO-MOUNT-POINT"


@dataclass(frozen=True)
class OsRelease(Fact):
    def commands(self) -> list[str]:
        return ["cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release"]

    def process(self, results: list[CommandResult]) -> str | None:
        for line in results[0].stdout.splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key == "PRETTY_NAME":
                try:
                    words = shlex.split(value)
                except ValueError:
                    return value
                return " ".join(words) if words else None
        return None


@dataclass(frozen=True)
class Mount:
    exists: bool  # the path exists and is a folder
    fstype: str | None = None
    target: str | None = None  # the mount point of the file system holding the path
    device_fstype: str | None = None  # what the device is formatted with (None: unknown, or no device)


@dataclass(frozen=True)
class MountFileSystem(Fact):
    """The file system at *path* and, where a *device* is named, the one it is formatted with."""

    path: str
    device: str | None = None

    def commands(self) -> list[str]:
        p = q(self.path, "posix-path")
        cmds = [f"if [ -d {p} ]; then findmnt -n -r -o FSTYPE,TARGET -T {p}; else echo {NO_MOUNT_POINT}; fi"]
        if self.device:
            cmds.append(f"blkid -o value -s TYPE -- {q(self.device, 'device')}")
        return cmds

    def process(self, results: list[CommandResult]) -> Mount:
        res = results[0]
        out = res.stdout.strip()
        formatted = None
        if len(results) > 1 and results[1].rc == 0 and results[1].stdout.strip():
            formatted = results[1].stdout.strip().split()[0]
        if res.rc == 0 and out == NO_MOUNT_POINT:
            return Mount(exists=False, device_fstype=formatted)
        parts = out.split()
        if res.rc != 0 or len(parts) != 2:
            raise RuntimeError(f"findmnt -T {self.path} exited {res.rc}: {out[:200]}")
        target = parts[1].replace("\\x20", " ")
        return Mount(exists=True, fstype=parts[0], target=target, device_fstype=formatted)


@dataclass(frozen=True)
class CommandsFound(Fact):
    """Each program's path as the node's shell finds it (None: not found)."""

    programs: tuple[str, ...]

    def commands(self) -> list[str]:
        return [f"command -v -- {q(p, 'posix-path' if p.startswith('/') else 'token')}" for p in self.programs]

    def process(self, results: list[CommandResult]) -> dict[str, str | None]:
        return {p: (r.stdout.strip() or p) if r.rc == 0 else None for p, r in zip(self.programs, results)}
