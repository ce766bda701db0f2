"""The transport contract: carry a batch of cmd.exe command lines to a node in one round trip.

A transport knows nothing of guides or actions. It takes command lines (already validated and
quoted by the caller), runs them on the node in order inside one cmd.exe invocation, and returns
each command's output and exit code. One call to :meth:`Transport.run` is one round trip.

The batch is wrapped in a small .cmd file whose markers let the output be split per command::

    @echo off
    echo ::rb:begin:0
    (call )
    sc qc "W3SVC"
    echo ::rb:end:0:%ERRORLEVEL%
    ...

Concrete transports only implement :meth:`Transport._execute` (run one batch text, return the raw
stdout, stderr and exit code).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

MARK_BEGIN = "::rb:begin:"
MARK_END = "::rb:end:"
_END_RE = re.compile(r"^::rb:end:(\d+):(-?\d+)\s*$")


class TransportError(Exception):
    """The node could not be reached or the batch could not be run at all."""


@dataclass(frozen=True)
class CommandResult:
    command: str
    rc: int
    stdout: str


@dataclass
class BatchResult:
    results: list[CommandResult]
    stderr: str = ""
    seconds: float = 0.0


def command_lines(index: int, command: str) -> list[str]:
    """The lines that run one command of a batch and mark its output and rc (offline bundles
    write the same lines)."""
    if "\r" in command or "\n" in command:
        raise ValueError(f"command {index} contains a line break")
    # `(call )` resets ERRORLEVEL to 0 (on Windows and in Wine): builtins such as echo or
    # `if exist` leave it untouched, and each command must report its own code.
    return [f"echo {MARK_BEGIN}{index}", "(call )", command, f"echo {MARK_END}{index}:%ERRORLEVEL%"]


def wrap_batch(commands: list[str]) -> str:
    """The .cmd text (CRLF) that runs *commands* in order and marks each one's output and rc."""
    lines = ["@echo off"]
    for i, cmd in enumerate(commands):
        lines.extend(command_lines(i, cmd))
    lines.append("exit /b 0")
    return "\r\n".join(lines) + "\r\n"


def split_output(commands: list[str], stdout: str) -> list[CommandResult]:
    """Split the batch's stdout by the markers. A command whose end marker is missing is rc -1."""
    out: dict[int, list[str]] = {}
    rcs: dict[int, int] = {}
    current: int | None = None
    for raw in stdout.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip("\r")
        if line.startswith(MARK_BEGIN):
            try:
                current = int(line[len(MARK_BEGIN):].strip())
            except ValueError:
                current = None
            if current is not None:
                out.setdefault(current, [])
            continue
        m = _END_RE.match(line)
        if m:
            rcs[int(m.group(1))] = int(m.group(2))
            current = None
            continue
        if current is not None:
            out[current].append(line)
    return [
        CommandResult(command=c, rc=rcs.get(i, -1), stdout="\n".join(out.get(i, [])).strip("\n"))
        for i, c in enumerate(commands)
    ]


class Options(BaseModel):
    """The inventory keys a transport reads from a target (none here). Relative ``Path`` fields
    are relative to the inventory file."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class Transport:
    """Base class. Subclasses implement ``_execute`` (or ``run``), register themselves by name
    (:func:`runbook_engine.engine.transports.register_transport`) and declare their ``Options``."""

    node: str
    round_trips: int = field(default=0, init=False)
    retries: int = field(default=0, init=False)  # round trips repeated for Wine's sporadic 9009 (facts/base.py)

    kind = "base"
    shell = "cmd"  # the node's command language: "cmd" (cmd.exe batches) or "sh" (POSIX sh, posix.py)
    Options = Options

    @classmethod
    def from_options(cls, name: str, options: Any) -> "Transport":
        """The transport for target *name* from its validated inventory options."""
        return cls(name)

    def describe(self, result: CommandResult) -> str:
        """A command as a report names it (never a secret)."""
        return str(result.command)

    def run(self, commands: list[str]) -> BatchResult:
        """Run *commands* on the node in one round trip."""
        if not commands:
            return BatchResult(results=[])
        text = self.wrap(commands)
        t0 = time.perf_counter()
        stdout, stderr, _rc = self._execute(text)
        self.round_trips += 1
        return BatchResult(
            results=split_output(commands, stdout), stderr=stderr, seconds=time.perf_counter() - t0
        )

    def wrap(self, commands: list[str]) -> str:
        """The batch text that runs *commands* in this transport's shell, marking each one's
        output and exit code (the same markers for every shell: :func:`split_output`)."""
        return wrap_batch(commands)

    def _execute(self, batch_text: str) -> tuple[str, str, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; safe to call twice."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
