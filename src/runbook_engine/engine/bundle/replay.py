"""A transport that answers the runner from an offline bundle's result instead of a node.

The runner asks for batches as in a live run; each must be, command for command, the next batch
the node answered (a retry only where the node repeated it). The first difference stops the
replay: the node's answers would be read for other questions. Served in order, one round trip a
batch, so the report counts round trips as a live run does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from runbook_engine.model.errors import KbError
from runbook_engine.engine.bundle.result import Served
from runbook_engine.engine.targets import Target
from runbook_engine.engine.transports.base import BatchResult, Transport, TransportError


class Replay:
    """The answered batches of one node, served in order."""

    def __init__(self, file: str, node: str, served: list[Served], end_line: int):
        self.file, self.node, self.served, self.end_line = file, node, list(served), end_line
        self.pos = 0
        self.problem: KbError | None = None

    def answer(self, commands: list[str]) -> BatchResult:
        if self.problem is not None:
            raise TransportError(self.problem.message)
        if self.pos >= len(self.served):
            self.problem = KbError(self.file, self.end_line, "the engine asks for a batch the result does not have "
                                   f"({commands[0][:60]}...): the guide or the engine changed since the bundle was written")
            raise TransportError(self.problem.message)
        s = self.served[self.pos]
        if tuple(commands) != s.commands:
            self.problem = KbError(self.file, s.line, f"section {s.name}: the engine asks for other commands than the "
                                   "bundle ran (the guide or the engine changed since the bundle was written)")
            raise TransportError(self.problem.message)
        self.pos += 1
        return BatchResult(results=list(s.results))

    @property
    def unused(self) -> list[Served]:
        return self.served[self.pos:]

    def transports(self) -> Callable[[Target], Transport]:
        """The runner's transport factory: this replay for the bundle's node, nothing else."""

        def open_(target: Target) -> Transport:
            if target.name != self.node:
                raise TransportError(f"{target.name} is not the bundle's node ({self.node})")
            return ReplayTransport(target.name, replay=self)

        return open_


@dataclass
class ReplayTransport(Transport):
    replay: Replay | None = None

    kind = "replay"

    def run(self, commands: list[str]) -> BatchResult:
        if not commands:
            return BatchResult(results=[])
        if self.replay is None:
            raise TransportError("no replay")
        result = self.replay.answer(commands)
        self.round_trips += 1
        return result
