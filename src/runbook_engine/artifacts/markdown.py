"""Markdown building blocks shared by the site's pages and the notebooks' cells: table cells,
tables, admonitions and inline code that is safe inside a table cell."""
from __future__ import annotations

import html
from typing import Iterable

#: Admonition type of Material and the label of its title, per kind of note in kb/.
ADMONITIONS = {
    "note": ("note", "admonition-note"),
    "important": ("warning", "admonition-important"),
    "related": ("info", "admonition-related"),
    "caution": ("danger", "admonition-caution"),
}


def cell(text: str) -> str:
    """Text for one Markdown table cell (pipes escaped, one line)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    header = list(header)
    out = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        out.append("| " + " | ".join(cell(c) for c in row) + " |")
    return "\n".join(out) + "\n"


def indent(text: str, by: str = "    ") -> str:
    return "\n".join(by + line if line.strip() else "" for line in text.splitlines())


def admonition(kind: str, title: str, body: str) -> str:
    """A Material admonition (the site's pages)."""
    return f'!!! {kind} "{title}"\n\n{indent(body)}\n'


#: the sign before a quoted admonition's title, per Material admonition type
QUOTE_SIGNS = {"note": "ℹ", "info": "ℹ", "warning": "⚠", "danger": "⛔"}


def quoted_admonition(kind: str, title: str, body: str) -> str:
    """An admonition as a blockquote with a bold title: what Jupyter (JupyterLab, nbconvert) and
    Python-Markdown all render, where ``!!!`` shows as literal text (the notebooks' cells, and
    the site's runbook page that shows them)."""
    sign = QUOTE_SIGNS.get(kind, "ℹ")
    lines = [f"> **{sign} {title}**", ">"] + [f"> {line}" if line.strip() else ">" for line in body.strip("\n").splitlines()]
    return "\n".join(lines) + "\n"


def code(text: str) -> str:
    """Inline code safe in a table cell (HTML, so backticks and pipes cannot break it)."""
    return "<code>" + html.escape(text, quote=False).replace("|", "&#124;") + "</code>"
