"""Errors are values with a location: ``kb/guides/<id>/procedure.yaml:42: message``."""
from __future__ import annotations

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
