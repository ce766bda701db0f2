"""Write-ahead journal of a run, and the per-node locks that keep runs from overlapping.

Every change is written (and fsynced) as an ``intent`` with its before-state and undo commands
before it is applied, then a ``done`` record with the after-state. ``runbook rollback RUN_ID``
replays the undo commands of the intents in reverse order. Secrets never enter the journal:
commands carry no credentials, and DNS keys are read from the environment at the moment of use.

A run starts with a ``run`` record (mode, guide, cluster, nodes, steps, who runs it: the
operator) and ends with one ``result`` record per step and target (its status, changes, message
and what it read: the evidence ``runbook report`` prints) and the ``end`` record.
"""
from __future__ import annotations

import fcntl
import getpass
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from runbook_engine.engine.messages import Said


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


#: who runs the engine, when the command line or the notebook does not say
OPERATOR_ENV = "RUNBOOK_OPERATOR"


def operator_name(given: str | None = None) -> str:
    """Who runs the engine, as the journal records it: *given*, else $RUNBOOK_OPERATOR, else the
    login name of this process (never a made-up name)."""
    if given and given.strip():
        return given.strip()
    if os.environ.get(OPERATOR_ENV, "").strip():
        return os.environ[OPERATOR_ENV].strip()
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry: the user id says who
        return f"uid {os.getuid()}"


def rollback_run_id(run_id: str) -> str:
    """The id of the journal a rollback of *run_id* writes (``runbook runs`` finds it there)."""
    return f"{run_id}.rollback"


class Journal:
    def __init__(self, state: Path, run_id: str | None = None):
        self.run_id = run_id or new_run_id()
        self.dir = Path(state) / "runs" / self.run_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "journal.jsonl"
        # a run may append to its journal from several steps (a notebook run): continue the numbering
        self._seq = sum(1 for _ in self.path.open("rb")) if self.path.exists() else 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def write(self, event: str, **data: Any) -> int:
        self._seq += 1
        rec = {"seq": self._seq, "t": time.time(), "event": event, **data}
        line = (json.dumps(rec, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        os.write(self._fd, line)  # one write of one line: O_APPEND keeps lines whole
        os.fsync(self._fd)
        return self._seq

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @staticmethod
    def read(state: Path, run_id: str) -> list[dict]:
        path = Path(state) / "runs" / run_id / "journal.jsonl"
        if not path.exists():
            raise FileNotFoundError(f"no journal for run '{run_id}' in {path.parent.parent}")
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a torn last line after kill -9: everything before it is intact
        return out


class NodeBusy(Exception):
    """Another run holds the node's lock: the English line, and :attr:`said` for the operator's
    language."""

    def __init__(self, message: str, said: Said):
        super().__init__(message)
        self.said = said


@dataclass
class NodeLock:
    path: Path
    fd: int = -1

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(self.fd, 200).decode(errors="replace").strip() or "another run"
            os.close(self.fd)
            self.fd = -1
            open_by = _processes_holding(self.path)
            seen = f" (open in {', '.join(open_by)})" if open_by else ""
            said = (Said.of("error-node-busy-open", holder=holder, lock=self.path.name, open=", ".join(open_by))
                    if open_by else Said.of("error-node-busy", holder=holder, lock=self.path.name))
            raise NodeBusy(f"node is busy: {holder} holds {self.path.name}{seen}; wait for it to finish", said) from None
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"run (pid {os.getpid()})".encode())
        return self

    def __exit__(self, *exc):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _processes_holding(path: Path) -> list[str]:
    """The processes that have *path* open (Linux /proc; empty elsewhere or when unreadable): the
    holder written in the file is who took the lock, these are who keep it."""
    out = []
    target = str(Path(path).resolve())
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if any(os.readlink(f) == target for f in (d / "fd").iterdir()):
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                out.append(f"pid {d.name}: {cmd[:80]}")
        except OSError:
            continue
    return out


def node_lock(state: Path, cluster: str, node: str) -> NodeLock:
    return NodeLock(Path(state) / "locks" / f"{cluster}.{node}.lock")


def intents(records: list[dict]) -> Iterator[dict]:
    return (r for r in records if r.get("event") == "intent")
