"""Files and folders on a POSIX node (the twin of files.py for sh): a file's existence, mode and
bytes (``base64 -w 0``, so that any byte comes back exactly), a folder's existence; and the
commands that write a file atomically, remove it, and make or remove folders.

A write is one command: the content as base64 in a single-quoted word (the base64 alphabet holds
no quote), decoded into a temporary file in the same folder (``.<name>.rbtmp``, made under
``umask 077``), given its mode, then renamed over the file (``mv -f``: rename(2) in one file
system). A kill at any point leaves the old file or the new one, never a half-written one; a
leftover temporary file is overwritten by the next write.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

from runbook_engine.engine.facts.base import Fact
from runbook_engine.engine.transports.base import CommandResult
from runbook_engine.engine.transports.posix import q

#: what a path is on the node
FILE, ABSENT, FOLDER, OTHER = "file", "absent", "folder", "other"


@dataclass(frozen=True)
class FileState:
    path: str
    kind: str  # file | absent | other (a folder, a link, a device: nothing this engine writes over)
    mode: int | None = None  # permission bits, e.g. 0o700
    data: bytes | None = None


@dataclass(frozen=True)
class ShFile(Fact):
    """A regular file's mode and content; a symbolic link or anything else is ``other``."""

    path: str

    def commands(self) -> list[str]:
        p = q(self.path, "posix-path")
        return [f"if [ -L {p} ]; then echo other link; elif [ -f {p} ]; then stat -c 'file %a' -- {p} && "
                f"base64 -w 0 -- {p} && echo; elif [ -e {p} ]; then echo other; else echo absent; fi"]

    def process(self, results: list[CommandResult]) -> FileState:
        res = results[0]
        lines = res.stdout.splitlines()
        if res.rc != 0 or not lines:
            raise RuntimeError(f"cannot read {self.path} (rc {res.rc}): {res.stdout.strip()[:200]}")
        head = lines[0].split()
        if head[0] == FILE and len(head) == 2:
            return FileState(self.path, FILE, int(head[1], 8), base64.b64decode("".join(lines[1:]).strip()))
        if head[0] in (ABSENT, OTHER):
            return FileState(self.path, head[0])
        raise RuntimeError(f"cannot read {self.path}: unexpected answer {res.stdout.strip()[:200]!r}")


@dataclass(frozen=True)
class Folders(Fact):
    """Which of *paths* are folders (``folder``), absent, or something else (``other``)."""

    paths: tuple[str, ...]

    def commands(self) -> list[str]:
        return [f"if [ -d {p} ]; then echo {FOLDER}; elif [ -e {p} ] || [ -L {p} ]; then echo {OTHER}; "
                f"else echo {ABSENT}; fi" for p in (q(x, "posix-path") for x in self.paths)]

    def process(self, results: list[CommandResult]) -> dict[str, str]:
        out = {}
        for path, res in zip(self.paths, results):
            answer = res.stdout.strip()
            if res.rc != 0 or answer not in (FOLDER, ABSENT, OTHER):
                raise RuntimeError(f"cannot read {path} (rc {res.rc}): {answer[:200]}")
            out[path] = answer
        return out


def ancestors(folder: str) -> list[str]:
    """Every folder from the first below ``/`` down to *folder*: ``/a/b`` -> ``/a``, ``/a/b``."""
    parts = [p for p in folder.split("/") if p]
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def write_commands(path: str, data: bytes, mode: int) -> list[str]:
    """Write *data* to *path* with permission bits *mode*, atomically (one command)."""
    folder, name = path.rsplit("/", 1)
    p, tmp = q(path, "posix-path"), q(f"{folder}/.{name}.rbtmp", "posix-path")
    encoded = base64.b64encode(data).decode("ascii")
    return [f"umask 077 && printf '%s' '{encoded}' | base64 -d > {tmp} && chmod {mode:04o} -- {tmp} && "
            f"mv -f -- {tmp} {p}"]


def chmod_commands(path: str, mode: int) -> list[str]:
    return [f"chmod {mode:04o} -- {q(path, 'posix-path')}"]


def delete_commands(path: str) -> list[str]:
    return [f"rm -f -- {q(path, 'posix-path')}"]


def mkdir_commands(folders: list[str]) -> list[str]:
    """Make *folders* (parents first), each mode 0755 whatever the umask; one that exists is left."""
    return [f"[ -d {p} ] || mkdir -m 0755 -- {p}" for p in (q(f, "posix-path") for f in folders)]


def rmdir_commands(folders: list[str]) -> list[str]:
    """Remove each of *folders* that is empty, deepest first (one that holds anything stays)."""
    return [f'if [ -d {p} ] && [ -z "$(ls -A -- {p})" ]; then rmdir -- {p}; fi'
            for p in (q(f, "posix-path") for f in reversed(folders))]
