"""Errors are values with a location: ``kb/guides/<id>/procedure.yaml:42: message``."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class KbError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class KbInvalid(Exception):
    """Raised when the knowledge base does not load; carries every error found."""

    def __init__(self, errors: list[KbError]):
        self.errors = sorted(set(errors))
        super().__init__("\n".join(str(e) for e in self.errors))


def closest(value: str, known) -> str | None:
    """The known name closest to *value* (difflib's ratio, at least 0.6 as in
    ``get_close_matches``; of equally close names the first), or None."""
    import difflib

    best, score = None, 0.6
    for name in known:
        ratio = difflib.SequenceMatcher(None, str(value), str(name)).ratio()
        if ratio > score or (ratio == score and best is None):
            best, score = str(name), ratio
    return best


def did_you_mean(value: str, known) -> str:
    """``"; did you mean 'my-guide'?"`` for the known name :func:`closest` to *value*, or ``""``."""
    best = closest(value, known)
    return f"; did you mean '{best}'?" if best is not None else ""


def unknown(what: str, value: str, known, *, where: str = "", limit: int = 0) -> str:
    """The one line for a name that is not one of *known*, with what is known and the closest
    name: ``unknown guide 'my-guid' (known: iis, my-guide); did you mean 'my-guide'?``. *where*
    follows the name (``in inv.yaml``); *limit* > 0 lists only the first *limit* names."""
    names = [str(k) for k in known]
    shown = names[:limit] if 0 < limit < len(names) else names
    listing = ", ".join(shown) + (f" and {len(names) - len(shown)} more" if len(shown) < len(names) else "")
    return (f"unknown {what} '{value}'{' ' + where if where else ''} (known: {listing or 'none'})"
            + did_you_mean(value, names))


def one_line(text: str) -> str:
    """*text* as one line of plain characters: line breaks become ``; ``, control characters (an
    ANSI colour code's ESC included) are dropped with the code they start."""
    text = re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]", "", str(text))  # CSI sequences (colours)
    text = re.sub(r"\s*[\r\n]+\s*", "; ", text.strip())
    return "".join(c for c in text if c == "\t" or (ord(c) >= 32 and ord(c) != 127)).replace("\t", " ")
