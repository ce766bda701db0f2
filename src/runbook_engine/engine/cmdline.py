"""Build cmd.exe command lines from data: every argument is validated against a strict pattern
and quoted. Nothing from a guide or an inventory reaches a command line any other way."""
from __future__ import annotations

import re


class UnsafeArgument(ValueError):
    """A value would change the meaning of a command line (metacharacters, quotes, breaks)."""


_PATTERNS = {
    "service": re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}$"),
    "path": re.compile(r"^[A-Za-z]:\\(?:[A-Za-z0-9 _.()-]+\\?)*$"),
    "regkey": re.compile(r"^HKLM\\(?:[A-Za-z0-9 _.-]+\\)*[A-Za-z0-9 _.-]+$"),
    "regvalue": re.compile(r"^[A-Za-z0-9 _.-]{1,64}$"),
    "drive": re.compile(r"^[A-Za-z]:$"),
    "token": re.compile(r"^[A-Za-z0-9_.-]{1,64}$"),
    "start": re.compile(r"^(auto|demand|disabled)$"),
}


def arg(value: str, kind: str) -> str:
    """Validate *value* as a *kind* and return it double-quoted for cmd.exe."""
    if not isinstance(value, str) or not _PATTERNS[kind].match(value):
        raise UnsafeArgument(f"refusing {kind} {value!r}: it does not match {_PATTERNS[kind].pattern}")
    return f'"{value}"'


def bare(value: str, kind: str) -> str:
    """Validate *value* and return it unquoted (for keywords such as ``start= demand``)."""
    if not isinstance(value, str) or not _PATTERNS[kind].match(value):
        raise UnsafeArgument(f"refusing {kind} {value!r}: it does not match {_PATTERNS[kind].pattern}")
    return value


def temp_name(tag: str) -> str:
    """A per-call file name under %TEMP% (tag is a validated token)."""
    return "%TEMP%\\rb-" + bare(tag, "token")
