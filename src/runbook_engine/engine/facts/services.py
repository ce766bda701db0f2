"""Service facts: start type and state, read with ``sc qc`` and ``sc query``."""
from __future__ import annotations

import re
from dataclasses import dataclass

from runbook_engine.engine.cmdline import arg
from runbook_engine.engine.transports.base import CommandResult
from runbook_engine.engine.facts.base import Fact

START_TYPES = {"2": "auto", "3": "demand", "4": "disabled", "0": "boot", "1": "system"}
_START = re.compile(r"START_TYPE\s*:\s*(\d+)")
_STATE = re.compile(r"STATE\s*:\s*(\d+)\s+(\w+)")


@dataclass(frozen=True)
class ServiceState:
    name: str
    exists: bool
    start: str | None = None  # auto | demand | disabled | ...
    state: str | None = None  # RUNNING | STOPPED | ...
    error: str | None = None

    def as_dict(self) -> dict:
        return {"exists": self.exists, "start": self.start, "state": self.state}


_BLOCK = re.compile(r"^SERVICE_NAME:\s*(.+?)\s*$", re.M)


def parse_query_all(stdout: str) -> dict[str, str]:
    """``sc query type= service state= all`` output -> {service name (lower case): STATE}."""
    out: dict[str, str] = {}
    marks = list(_BLOCK.finditer(stdout))
    for i, m in enumerate(marks):
        block = stdout[m.end(): marks[i + 1].start() if i + 1 < len(marks) else len(stdout)]
        s = _STATE.search(block)
        if s:
            out[m.group(1).lower()] = s.group(2)
    return out


@dataclass(frozen=True)
class ServicesConfig(Fact):
    """Start type and state of several services: one ``sc query type= service state= all`` for
    every state, one ``sc qc`` per service for its start type (half the processes of a
    ``qc`` + ``query`` pair per service)."""

    names: tuple[str, ...]

    def commands(self) -> list[str]:
        return ["sc query type= service state= all"] + [f"sc qc {arg(n, 'service')}" for n in self.names]

    def process(self, results: list[CommandResult]) -> dict[str, ServiceState]:
        states = parse_query_all(results[0].stdout) if results[0].rc == 0 else {}
        out: dict[str, ServiceState] = {}
        for name, qc in zip(self.names, results[1:]):
            if qc.rc == 1060:
                out[name] = ServiceState(name, exists=False)
            elif qc.rc != 0:
                out[name] = ServiceState(name, exists=False, error=f"sc qc exited {qc.rc}: {qc.stdout.strip()[:200]}")
            else:
                m = _START.search(qc.stdout)
                start = START_TYPES.get(m.group(1), m.group(1)) if m else None
                out[name] = ServiceState(name, exists=True, start=start, state=states.get(name.lower()))
        return out
