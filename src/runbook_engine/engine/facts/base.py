"""A fact reads one piece of state from a node: the commands to run, and how to read their output.

Facts never run anything themselves: the runner gathers the commands of all facts an action needs
into one batch (one round trip) and hands each fact its own results.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runbook_engine.engine.transports.base import CommandResult


@dataclass(frozen=True)
class Fact:
    def commands(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def process(self, results: list[CommandResult]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


COMMAND_NOT_FOUND = 9009


def read_batch(facts: dict[str, Fact], extra_before: list[str] | None = None) -> tuple[list[str], dict[str, tuple[int, int]]]:
    """The one batch :func:`gather` sends: *extra_before* (changes), then every fact's commands;
    and each fact's span in it. Offline bundles write the same batch."""
    commands = list(extra_before or [])
    spans: dict[str, tuple[int, int]] = {}
    for key, fact in facts.items():
        cmds = fact.commands()
        spans[key] = (len(commands), len(commands) + len(cmds))
        commands.extend(cmds)
    return commands, spans


class FactFailed:
    """A fact whose output could not be read (with ``isolate``): the error, for its step alone."""

    def __init__(self, error: Exception):
        self.error = error


def gather(transport, facts: dict[str, Fact], extra_before: list[str] | None = None, *,
           isolate: bool = False) -> dict[str, Any]:
    """Run *extra_before* (changes) then every fact's commands in ONE round trip; return processed
    facts. With *isolate*, a fact whose processing raises is returned as :class:`FactFailed` (the
    facts of several steps share the batch: one step's unreadable fact fails that step only)."""
    commands, spans = read_batch(facts, extra_before)
    batch = transport.run(commands)
    changes, reads = batch.results[: len(extra_before or [])], batch.results[len(extra_before or []):]
    if any(r.rc == COMMAND_NOT_FOUND for r in reads):
        # Measured under Wine on 2 loaded cores: now and then cmd.exe cannot start a program it
        # ran a moment before and reports 9009 ("not recognized"). A read is safe to repeat once
        # (never the changes before it); the extra round trip shows in the step's count. A real
        # absence fails again.
        reads = transport.run(commands[len(extra_before or []):]).results
        transport.retries += 1
    base = len(extra_before or [])
    out: dict[str, Any] = {"__changes__": changes}
    for key, (a, b) in spans.items():
        try:
            out[key] = facts[key].process(reads[a - base:b - base])
        except Exception as exc:  # noqa: BLE001 - handed to the step that owns the fact
            if not isolate:
                raise
            out[key] = FactFailed(exc)
    return out
