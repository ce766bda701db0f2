"""Reading an offline bundle's result back: its header, then its sections checked line by line
against the batches the engine recorded for the bundle.

The result is the node's cmd.exe output in its OEM code page (CP932 on a Japanese node), decoded
as the live transports decode it (errors replaced). Every refusal is a :class:`ResultError` with
the line it is about. What this can find: a section missing, out of order or twice, a command
without its markers, a retry the engine would not have asked for, text after the end, a file cut
short (no done marker). What it cannot: command output edited by hand that keeps the structure
(the node side cannot sign; see the package's text).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from runbook_engine.engine.bundle.cmdfile import HEADER_KEYS
from runbook_engine.engine.facts.base import COMMAND_NOT_FOUND
from runbook_engine.engine.runner import Batch
from runbook_engine.engine.transports.base import CommandResult, split_output

#: the code page the node's output is read in (the transports' default)
RESULT_CODEPAGE = "cp932"

_HEADER = re.compile(r"^::rb:(" + "|".join(HEADER_KEYS) + r"):(.*)$")
_SECTION = re.compile(r"^::rb:section:(\d+):(\S+)$")
_RETRY = re.compile(r"^::rb:retry:(\d+)$")
_DONE = re.compile(r"^::rb:done:(\S+)$")
_BEGIN = re.compile(r"^::rb:begin:(\d+)$")
_END = re.compile(r"^::rb:end:(\d+):(-?\d+)\s*$")


class ResultError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


@dataclass
class Block:
    """The lines of one section (or of its retry), with the line number of its marker."""

    line: int
    lines: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Parsed:
    header: dict[str, str]
    header_lines: dict[str, int]
    sections: list[tuple[int, str, Block, Block | None]]  # index, name, block, retry block
    done_line: int


@dataclass(frozen=True)
class Served:
    """One round trip as the node answered it: the commands the engine must ask for, their
    results, where it is in the file."""

    batch: Batch
    commands: tuple[str, ...]
    results: list[CommandResult]
    line: int
    retry: bool = False

    @property
    def name(self) -> str:
        return self.batch.name + (" (repeated)" if self.retry else "")


def decode(data: bytes) -> str:
    return data.decode(RESULT_CODEPAGE, errors="replace")


def parse_header(text: str) -> tuple[dict[str, str], dict[str, int]]:
    """The header's values and their lines; a ResultError when it is not a bundle's result."""
    lines = text.replace("\r\n", "\n").split("\n")
    values: dict[str, str] = {}
    where: dict[str, int] = {}
    for n, key in enumerate(HEADER_KEYS, start=1):
        raw = lines[n - 1].rstrip("\r") if n <= len(lines) else ""
        m = _HEADER.match(raw)
        if not m or m.group(1) != key:
            if n == 1:
                raise ResultError(1, "not a runbook bundle result (its first line is not ::rb:bundle:<id>)")
            raise ResultError(n, f"header line '::rb:{key}:' expected (the result was edited or cut)")
        values[key], where[key] = m.group(2).strip(), n
    return values, where


def parse(text: str, batches: list[Batch]) -> Parsed:
    """The result's structure, checked against the *batches* the bundle ran."""
    header, where = parse_header(text)
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    sections: list[tuple[int, str, Block, Block | None]] = []
    seen: dict[int, int] = {}
    current: Block | None = None
    done_line = 0
    for n in range(len(HEADER_KEYS) + 1, len(lines) + 1):
        raw = lines[n - 1].rstrip("\r")
        if done_line:
            if raw.strip():
                raise ResultError(n, "text after the done marker (the result was edited)")
            continue
        m = _SECTION.match(raw)
        if m:
            i, name = int(m.group(1)), m.group(2)
            if i in seen:
                raise ResultError(n, f"section {i} ({name}) appears twice (first at line {seen[i]})")
            if i >= len(batches) or batches[i].name != name:
                known = f"section {i} is {batches[i].name}" if i < len(batches) else f"the bundle has {len(batches)} section(s)"
                raise ResultError(n, f"unknown section {i} ({name}): {known}")
            if i != len(sections):
                expected = batches[len(sections)]
                if i < len(sections):
                    raise ResultError(n, f"section {i} ({name}) is out of order")
                raise ResultError(n, f"section {len(sections)} ({expected.name}) is missing or out of order: "
                                     f"found section {i} ({name}) here")
            seen[i] = n
            current = Block(n)
            sections.append((i, name, current, None))
            continue
        m = _RETRY.match(raw)
        if m:
            i = int(m.group(1))
            if not sections or sections[-1][0] != i or sections[-1][3] is not None:
                raise ResultError(n, f"repeated reads of section {i} out of place")
            current = Block(n)
            sections[-1] = (*sections[-1][:3], current)
            continue
        m = _DONE.match(raw)
        if m:
            if m.group(1) != header["bundle"]:
                raise ResultError(n, f"done marker of another bundle ({m.group(1)})")
            if len(sections) != len(batches):
                missing = batches[len(sections)]
                raise ResultError(n, f"section {len(sections)} ({missing.name}) is missing")
            done_line = n
            continue
        if raw.startswith("::rb:") and not (_BEGIN.match(raw) or _END.match(raw)):
            raise ResultError(n, f"unknown marker {raw[:60]!r}")
        if current is None:
            if raw.strip():
                raise ResultError(n, "text before the first section")
            continue
        current.lines.append((n, raw))
    if not done_line:
        raise ResultError(max(len(lines), 1), "no done marker: the result is incomplete (the bundle was "
                                              "interrupted, or the file was cut short)")
    return Parsed(header, where, sections, done_line)


def _commands_in(block: Block, batch: Batch, expected: list[int], what: str) -> dict[int, int]:
    """Check that *block* holds exactly the commands *expected* (indices), each between its begin
    and end marker, nothing outside them; their rc by index."""
    rcs: dict[int, int] = {}
    todo = list(expected)
    inside: int | None = None
    for n, raw in block.lines:
        b, e = _BEGIN.match(raw), _END.match(raw)
        if b:
            j = int(b.group(1))
            if inside is not None:
                raise ResultError(n, f"{what}: command {inside} has no end marker")
            if not todo or j != todo[0]:
                want = f"command {todo[0]}" if todo else "no more commands"
                raise ResultError(n, f"{what}: command {j} found where {want} was expected")
            inside = todo.pop(0)
        elif e:
            j = int(e.group(1))
            if inside != j:
                raise ResultError(n, f"{what}: end marker of command {j} without its begin marker")
            rcs[j] = int(e.group(2))
            inside = None
        elif inside is None and raw.strip():
            raise ResultError(n, f"{what}: text outside any command")
    if inside is not None:
        raise ResultError(block.lines[-1][0], f"{what}: command {inside} has no end marker")
    if todo:
        last = block.lines[-1][0] if block.lines else block.line
        raise ResultError(last, f"{what}: command {todo[0]} ({batch.commands[todo[0]][:60]}) is missing")
    return rcs


def served(parsed: Parsed, batches: list[Batch]) -> list[Served]:
    """The round trips the node answered, in order, each checked command by command; the
    repeated reads of a section only where the engine would ask for them (a command of the
    retry group answered 9009)."""
    out: list[Served] = []
    for i, name, block, retry in parsed.sections:
        batch = batches[i]
        what = f"section {i} ({name})"
        rcs = _commands_in(block, batch, list(range(len(batch.commands))), what)
        text = "\n".join(raw for _, raw in block.lines)
        out.append(Served(batch, batch.commands, split_output(list(batch.commands), text), block.line))
        again = [g for g in batch.retry if any(rcs[j] == COMMAND_NOT_FOUND for j in g)]
        if not again and retry is not None:
            raise ResultError(retry.line, f"{what}: repeated reads although no command answered {COMMAND_NOT_FOUND}")
        if again and retry is None:
            last = block.lines[-1][0] if block.lines else block.line
            raise ResultError(last, f"{what}: a command answered {COMMAND_NOT_FOUND} and its repeat is missing")
        if again:
            idx = [j for g in again for j in g]
            _commands_in(retry, batch, idx, f"{what}, repeated")
            results = split_output(list(batch.commands), "\n".join(raw for _, raw in retry.lines))
            out.append(Served(batch, tuple(batch.commands[j] for j in idx), [results[j] for j in idx],
                              retry.line, retry=True))
    return out


__all__ = ["Parsed", "ResultError", "Served", "decode", "parse", "parse_header", "served"]
