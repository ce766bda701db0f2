"""Build cmd.exe command lines from data: every argument is validated against a strict pattern
and quoted. Nothing from a guide or an inventory reaches a command line any other way."""
from __future__ import annotations

from runbook_engine.model.rules import PATTERNS


class UnsafeArgument(ValueError):
    """A value would change the meaning of a command line (metacharacters, quotes, breaks)."""


# The value patterns have one home (model.rules); these are the kinds a command line takes.
_PATTERNS = {kind: PATTERNS[kind] for kind in ("service", "path", "regkey", "regvalue", "drive", "token", "start")}


def arg(value: str, kind: str) -> str:
    """Validate *value* as a *kind* and return it double-quoted for cmd.exe."""
    if not isinstance(value, str) or not _PATTERNS[kind].fullmatch(value):
        raise UnsafeArgument(f"refusing {kind} {value!r}: it does not match {_PATTERNS[kind].pattern}")
    return f'"{value}"'


def bare(value: str, kind: str) -> str:
    """Validate *value* and return it unquoted (for keywords such as ``start= demand``)."""
    if not isinstance(value, str) or not _PATTERNS[kind].fullmatch(value):
        raise UnsafeArgument(f"refusing {kind} {value!r}: it does not match {_PATTERNS[kind].pattern}")
    return value


def temp_name(tag: str) -> str:
    """A per-call file name under %TEMP% (tag is a validated token)."""
    return "%TEMP%\\rb-" + bare(tag, "token")
