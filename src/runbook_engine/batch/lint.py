"""Lint generated CLUSTERPRO X script resources (START.BAT / STOP.BAT) before they ship.

:func:`lint_script` checks one script's bytes: encoding, CRLF line ends, GOTO targets, syntax
outside what :mod:`runbook_engine.batch.simulator` understands, forbidden stops, watch ids,
ARMLOAD ``/FOV`` and - by simulating every ``CLP_EVENT`` × ``CLP_DISK`` × ``CLP_SERVER`` path -
that every required service is started (``kind="start"``) or stopped (``kind="stop"``) on every
path. :func:`check_reverse_order` compares a start and a stop trace. :func:`check_cmd_text`,
:func:`check_cmd_name` and :func:`check_watch_id` validate values before they are rendered
into a script.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from runbook_engine.batch.cases import ALL_EVENTS, DEFAULT_GRID
from runbook_engine.model.rules import bare_token_problem, cmd_text_problem, watch_id_problem
from runbook_engine.batch.simulator import (
    Command,
    External,
    Goto,
    If,
    Trace,
    UnsupportedSyntax,
    cases,
    labels,
    parse_line,
    simulate,
    split_lines,
)

__all__ = [
    "ALL_EVENTS",
    "LintError",
    "ServiceUse",
    "Severity",
    "armload_parts",
    "check_cmd_name",
    "check_cmd_text",
    "check_reverse_order",
    "check_watch_id",
    "lint_script",
]

Severity = Literal["error", "warning"]


#: ARMLOAD options that take a value (``/U user``, ``/R count``, ``/H count``).
_ARMLOAD_VALUE_OPTS = {"/U", "/R", "/H"}

#: Stands for a variable's value when a line is parsed without an environment.
_MARK = "\x00"


@dataclass(frozen=True)
class ServiceUse:
    """A service that a script must start (ARMLOAD ``watch_id`` /S ``service_name``) or stop."""

    watch_id: str
    service_name: str


@dataclass(frozen=True)
class LintError:
    """One finding: ``str()`` gives ``file:line: message``; line 0 means the whole file."""

    file: str
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


# ---------------------------------------------------------------------------------------------
# Value checks for rendering


def check_cmd_text(value: str) -> str | None:
    """An error message if *value* is unsafe inside a double-quoted cmd argument (``ARMBCAST /MSG
    "..."``), else ``None``: the rule of :func:`runbook_engine.model.rules.cmd_text_problem`."""
    return cmd_text_problem(value)


def check_cmd_name(value: str, *, what: str = "name") -> str | None:
    """An error message if *value* is not a safe bare cmd token (1-255 characters from
    ``A-Z a-z 0-9 _ . -``), else ``None``."""
    return bare_token_problem(value, what=what)


def check_watch_id(value: str) -> str | None:
    """:func:`check_cmd_name` for an ARM watch id, which also must not start with ``NEC_``
    (reserved for CLUSTERPRO; compared case-insensitively)."""
    return watch_id_problem(value)


# ---------------------------------------------------------------------------------------------
# Reading calls


def armload_parts(call: Sequence[str]) -> tuple[str, frozenset[str], str] | None:
    """``(watch_id, upper-cased flags, target)`` of an ``("ARMLOAD", ...)`` call, or ``None``.

    Options come between the watch id and the target; ``/U``, ``/R`` and ``/H`` take a value.
    The target is the first argument after the options (the service name with ``/S``).
    """
    if not call or call[0] != "ARMLOAD" or len(call) < 2:
        return None
    watch = call[1]
    flags: set[str] = set()
    i = 2
    while i < len(call) and call[i].startswith("/"):
        opt = call[i].upper()
        flags.add(opt)
        i += 2 if opt in _ARMLOAD_VALUE_OPTS else 1
    target = call[i] if i < len(call) else ""
    return watch, frozenset(flags), target


def _stopped_service(call: Sequence[str]) -> str | None:
    """The service an ``sc [\\\\server] stop NAME`` or ``net stop NAME`` call stops."""
    if not call:
        return None
    args = list(call[1:])
    if call[0] == "SC":
        if args and args[0].startswith("\\\\"):
            args = args[1:]
        if len(args) >= 2 and args[0].lower() == "stop":
            return args[1]
    elif call[0] == "NET":
        if len(args) >= 2 and args[0].lower() == "stop":
            return args[1]
    return None


def _commands(cmd: Command | None) -> Iterable[Command]:
    """*cmd* and, for an IF, the commands nested after its condition."""
    while cmd is not None:
        yield cmd
        cmd = cmd.then if isinstance(cmd, If) else None


def _env_text(env: Mapping[str, str], keys: Sequence[str]) -> str:
    return " ".join(f"{k}={env.get(k, '(unset)')}" for k in keys)


# ---------------------------------------------------------------------------------------------
# The linter


def lint_script(
    data: bytes,
    *,
    name: str,
    kind: Literal["start", "stop"],
    encoding: str,
    services: Sequence[ServiceUse],
    forbidden_kill: Collection[str],
    events: Sequence[str] = ("START", "FAILOVER"),
    disks: Sequence[str] = ("SUCCESS",),
    servers: Sequence[str] = ("HOME", "OTHER"),
    bindings: Mapping[str, str] | None = None,
) -> list[LintError]:
    """Lint one script resource; the findings sorted by line (empty list: clean).

    *services* must be started by ``ARMLOAD watch_id /S service_name`` (``kind="start"``) or
    stopped by ``ARMKILL watch_id`` (``kind="stop"``) on every path with ``CLP_EVENT`` in
    *events*, ``CLP_DISK`` in *disks* and ``CLP_SERVER`` in *servers*. *forbidden_kill* are
    service names that must never be stopped: by ``sc stop``/``net stop``, or by ``ARMKILL`` of
    a watch id bound to them - by an ARMLOAD in this script, by *services*, or by *bindings*
    (watch id → service name, for stop scripts, which have no ARMLOAD). Watch ids and service
    names are compared case-insensitively.
    """
    out: list[LintError] = []

    def err(line: int, message: str, severity: Severity = "error") -> None:
        out.append(LintError(name, line, message, severity))

    # Bytes: line ends, BOM, encoding.
    for no, raw in enumerate(data.split(b"\n")[:-1], start=1):
        if not raw.endswith(b"\r"):
            err(no, "line ends with LF only; script resources need CRLF")
            break
    if data.startswith(b"\xef\xbb\xbf"):
        err(1, "starts with a UTF-8 byte order mark; cmd.exe would read it as part of the "
               "first command")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        bad_line = data[: exc.start].count(b"\n") + 1
        err(bad_line, f"not valid {encoding}: byte 0x{data[exc.start]:02X} at offset {exc.start}")
        return _sorted(out)
    except LookupError:
        err(0, f"unknown encoding {encoding!r}")
        return _sorted(out)

    lines = split_lines(text)
    # Parsed with every variable set to a marker: what contains the marker depends on the
    # environment and is left to the simulation.
    parsed: list[Command] = []
    try:
        for no, line in enumerate(lines, start=1):
            parsed.append(parse_line(line, no, lambda _name: _MARK))
    except UnsupportedSyntax as exc:
        err(exc.line_no, f"{exc.reason} (the simulator cannot check this script)")
        return _sorted(out)

    # GOTO targets (every GOTO, reachable or not, as written).
    known = labels(text)
    missing_goto_lines: set[int] = set()
    for no, cmd in enumerate(parsed, start=1):
        for c in _commands(cmd):
            if isinstance(c, Goto) and c.target != ":EOF":
                if _MARK in c.target:
                    continue  # a computed target: checked by simulation below
                if not c.target:
                    err(no, "GOTO without a label")
                    missing_goto_lines.add(no)
                elif c.target.upper() not in known:
                    near = [k for k in known if _similar(k, c.target.upper())]
                    hint = f" (labels: {', '.join(':' + k for k in near)})" if near else ""
                    err(no, f"GOTO target not found: {c.target}; cmd aborts the script here"
                        + hint)
                    missing_goto_lines.add(no)

    # Every reachable call under every environment, plus every call as written.
    grid = cases(DEFAULT_GRID)
    calls: set[tuple[int, tuple[str, ...]]] = set()
    for no, cmd in enumerate(parsed, start=1):
        for c in _commands(cmd):
            if isinstance(c, External) and not any(_MARK in a for a in (c.name, *c.args)):
                calls.add((no, (c.name, *c.args)))
    aborts: dict[tuple[int, str], list[dict[str, str]]] = {}
    traces: dict[tuple[tuple[str, str], ...], Trace] = {}
    try:
        for env in grid + cases({"CLP_EVENT": list(events), "CLP_DISK": list(disks),
                                 "CLP_SERVER": list(servers)}):
            traces[tuple(sorted(env.items()))] = simulate(text, env, script=name)
    except UnsupportedSyntax as exc:
        err(exc.line_no, f"{exc.reason} (the simulator cannot check this script)")
        return _sorted(_dedupe(out))
    for env in grid:
        trace = traces[tuple(sorted(env.items()))]
        calls.update(zip(trace.lines, trace.calls))
        if trace.aborted and trace.aborted_line not in missing_goto_lines:
            aborts.setdefault((trace.aborted_line or 0, trace.aborted), []).append(env)
    for (line_no, reason), envs in sorted(aborts.items()):
        err(line_no, f"script aborts: {reason} (e.g. "
            f"{_env_text(envs[0], ('CLP_EVENT', 'CLP_DISK', 'CLP_SERVER'))})")

    # Watch ids, bindings, /FOV, forbidden stops.
    forbidden = {s.upper() for s in forbidden_kill}
    bound: dict[str, str] = {}
    for watch, svc in (bindings or {}).items():
        bound[watch.upper()] = svc
    for s in services:
        bound.setdefault(s.watch_id.upper(), s.service_name)
    armload_target: dict[str, tuple[int, str]] = {}
    for no, call in sorted(calls):
        parts = armload_parts(call)
        if parts is not None:
            watch, flags, target = parts
            problem = check_watch_id(watch)
            if problem:
                err(no, problem)
            if "/FOV" in flags:
                err(no, f"ARMLOAD {watch} /FOV: a failure of {target!r} fails the whole group "
                        "over; make sure that is intended", "warning")
            first = armload_target.setdefault(watch.upper(), (no, target))
            if first[1].upper() != target.upper():
                err(no, f"watch id {watch} already starts {first[1]!r} on line {first[0]}; "
                        "watch ids must be unique")
            bound[watch.upper()] = target
    for no, call in sorted(calls):
        if call[0] == "ARMKILL" and len(call) >= 2:
            watch = call[1]
            kill_problem = check_watch_id(watch)
            if kill_problem:
                err(no, kill_problem)
            killed_svc = bound.get(watch.upper())
            if killed_svc is not None and killed_svc.upper() in forbidden:
                err(no, f"ARMKILL {watch} stops {killed_svc!r}, which must never be stopped")
        stopped = _stopped_service(call)
        if stopped is not None and stopped.upper() in forbidden:
            err(no, f"{call[0].lower()} stop {stopped!r}: this service must never be stopped")

    # Required services on every path; no watch id loaded twice on one path.
    keys = ("CLP_EVENT", "CLP_DISK", "CLP_SERVER")
    missing: dict[tuple[str, int, str], list[dict[str, str]]] = {}
    for env in cases({"CLP_EVENT": list(events), "CLP_DISK": list(disks),
                      "CLP_SERVER": list(servers)}):
        trace = traces[tuple(sorted(env.items()))]
        seen: dict[str, int] = {}
        for call, no in zip(trace.calls, trace.lines):
            parts = armload_parts(call)
            if parts is None:
                continue
            up = parts[0].upper()
            if up in seen:
                err(no, f"watch id {parts[0]} is loaded twice on one path (first on line "
                        f"{seen[up]}; {_env_text(env, keys)})")
            seen.setdefault(up, no)
        for s in services:
            why = _service_missing(kind, s, trace)
            if why is not None:
                suffix = f"; the path aborts: {trace.aborted}" if trace.aborted else ""
                missing.setdefault((why + suffix, trace.end_line, s.watch_id), []).append(env)
    for (why, end_line, _watch), envs in sorted(missing.items(), key=lambda kv: (kv[0][1],
                                                                                  kv[0][0])):
        paths = "; ".join(_env_text(e, keys) for e in envs)
        err(end_line, f"{why} on path(s): {paths}")

    return _sorted(_dedupe(out))


def _service_missing(kind: str, s: ServiceUse, trace: Trace) -> str | None:
    """Why *trace* does not start (or stop) *s*, or ``None`` if it does."""
    if kind == "start":
        without_s = False
        for call in trace.calls:
            parts = armload_parts(call)
            if parts is None:
                continue
            watch, flags, target = parts
            if watch.upper() == s.watch_id.upper() and target.upper() == s.service_name.upper():
                if "/S" in flags:
                    return None
                without_s = True
        if without_s:
            return (f"ARMLOAD {s.watch_id} runs {s.service_name!r} without /S (as a program, "
                    "not a service)")
        return f"service {s.service_name!r} is not started by ARMLOAD {s.watch_id} /S"
    for call in trace.calls:
        if call[0] == "ARMKILL" and len(call) >= 2 and call[1].upper() == s.watch_id.upper():
            return None
    return f"service {s.service_name!r} is not stopped by ARMKILL {s.watch_id}"


def _similar(a: str, b: str) -> bool:
    """True if two label names differ by at most two characters at equal length."""
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b)) <= 2


def _dedupe(errors: list[LintError]) -> list[LintError]:
    seen: set[LintError] = set()
    out: list[LintError] = []
    for e in errors:
        if e not in seen:
            seen.add(e)
            out.append(e)
    return out


def _sorted(errors: list[LintError]) -> list[LintError]:
    return sorted(errors, key=lambda e: (e.line, e.severity, e.message))


# ---------------------------------------------------------------------------------------------
# Start/stop order


def check_reverse_order(
    start_calls: Trace | Sequence[Sequence[str]],
    stop_calls: Trace | Sequence[Sequence[str]],
    *,
    name: str = "STOP.BAT",
) -> list[LintError]:
    """Errors unless the stop script kills watch ids in the reverse order the start script
    loaded them.

    Takes the :class:`Trace` (or its ``calls``) of one start path and one stop path. Only watch
    ids present in both are compared. When *stop_calls* is a Trace, an error carries the line of
    the first ARMKILL out of order; otherwise line 0.
    """
    starts = start_calls.calls if isinstance(start_calls, Trace) else start_calls
    stops = stop_calls.calls if isinstance(stop_calls, Trace) else stop_calls
    stop_lines = stop_calls.lines if isinstance(stop_calls, Trace) else None
    loaded: list[str] = []
    for call in starts:
        parts = armload_parts(tuple(call))
        if parts is not None and parts[0].upper() not in loaded:
            loaded.append(parts[0].upper())
    killed: list[tuple[str, int]] = []
    for i, call in enumerate(stops):
        if call and call[0] == "ARMKILL" and len(call) >= 2 and call[1].upper() not in {
                k for k, _ in killed}:
            killed.append((call[1].upper(), stop_lines[i] if stop_lines else 0))
    common = set(loaded) & {k for k, _ in killed}
    want = [w for w in reversed(loaded) if w in common]
    got = [(k, line) for k, line in killed if k in common]
    for (w, (k, line)) in zip(want, got):
        if w != k:
            return [LintError(name, line,
                              f"stop order {' '.join(k for k, _ in got)} is not the reverse of "
                              f"the start order {' '.join(reversed(want))}; expected "
                              f"{' '.join(want)}")]
    return []
