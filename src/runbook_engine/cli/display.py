"""What a long command shows a person while it works.

On a terminal: a progress display (rich) with each line printed above it as it comes, and tables
drawn by rich. Anywhere else (a pipe, a file, a test, ``TERM=dumb``): plain lines as they come,
flushed one by one, tables as aligned text, never an ANSI code. Callbacks may come from several
threads (the runner's targets): every output goes through one lock.
"""
from __future__ import annotations

import os
import sys
import threading
import unicodedata
from typing import TextIO


def on_terminal(stream: TextIO) -> bool:
    """Whether *stream* is a terminal that takes a live display."""
    try:
        return stream.isatty() and os.environ.get("TERM", "") != "dumb"
    except (AttributeError, ValueError):
        return False


def width(text: str) -> int:
    """Columns *text* takes on a terminal (East Asian wide and full-width characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def plain_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A table as aligned plain lines: columns two spaces apart, a dashed line under the headers."""
    cols = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c + " " * (w - width(c)) for c, w in zip(cells, cols)).rstrip()

    return [line(headers), line(["-" * w for w in cols])] + [line(r) for r in rows]


class Display:
    """Progress and lines on *stream* (default: stdout); ``quiet`` shows nothing (``--json`` to a
    pipe: stdout is for the JSON only)."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False):
        self.stream = stream if stream is not None else sys.stdout
        self.quiet = quiet
        self.live = not quiet and on_terminal(self.stream)
        self._lock = threading.Lock()
        self._progress = None
        self._task = None

    # -- progress ------------------------------------------------------------------------------
    def start(self, description: str, total: int | None) -> None:
        """Show a progress display of *total* items (a terminal only)."""
        if not self.live:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(),
                                  console=Console(file=self.stream, highlight=False), transient=True)
        self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, description: str | None = None, by: int = 1) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.update(self._task, advance=by,
                                      **({"description": description} if description else {}))

    def stop(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None

    def __enter__(self) -> "Display":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- output --------------------------------------------------------------------------------
    def line(self, text: str = "") -> None:
        """One line, now (above the progress display on a terminal)."""
        if self.quiet:
            return
        with self._lock:
            if self._progress is not None:
                self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
            else:
                print(text, file=self.stream, flush=True)

    def table(self, headers: list[str], rows: list[list[str]], title: str = "") -> None:
        if self.quiet:
            return
        if not self.live:
            for text in ([title] if title else []) + plain_table(headers, rows):
                self.line(text)
            return
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        t = Table(title=Text(title) if title else None, title_justify="left")
        for h in headers:
            t.add_column(Text(h))
        for r in rows:  # Text: a bracket in a cell is text, never rich markup
            t.add_row(*(Text(c) for c in r))
        with self._lock:
            console = self._progress.console if self._progress is not None else Console(file=self.stream)
            console.print(t)
