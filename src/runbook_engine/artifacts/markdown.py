"""Markdown building blocks shared by the site's pages and the notebooks' cells: table cells,
tables, admonitions and inline code that is safe inside a table cell.

Every Markdown table of the site and of the notebooks is made by :func:`table`, which names the
data it mirrors by a key of :data:`TABLE_SOURCES`. The name travels with the table as an HTML
comment line before it (``<!-- rb-table: ports in -->``): Python-Markdown (the site, Material) and
mistune (Jupyter, nbconvert) both keep a comment as it is, so the built HTML and a notebook's
rendered cell say which data each table mirrors, and a reader sees nothing of it. The tests
(tests/twins.py) hold, per source, the engine's or the model's data the table must equal.
"""
from __future__ import annotations

import html
import re
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


#: What each table mirrors, by the name its producer gives :func:`table` (one line each). A table
#: of a new kind needs a name here, and the tests a twin for it (tests/twins.py).
TABLE_SOURCES: dict[str, str] = {
    # a guide's tables that a step shows (artifacts/tables.py), in the pages and the notebooks
    "resources": "the failover group's resources (resources.yaml; registry keys, mount points, services as the engine reads them)",
    "monitors": "the monitor resources the guide adds (resources.yaml: monitors)",
    "services": "the services set to manual start (services-manual / units-manual), their watch ids and flags in START.BAT",
    "ports": "the family's port records the guide uses, one table per direction (key: in | out)",
    "app-ports": "the application's own inbound ports (guide.yaml: app_ports; opened by firewall-ports)",
    "dns-records": "the DNS records the dns-records action sets, one row per record",
    "delivery": "how the cluster configuration reaches the cluster, per version (the family's delivery methods)",
    "origin": "the original document's numbered items and the steps each became (origin.yaml)",
    # the site's own pages (publish/pages.py)
    "compatibility": "guide x edition x versions x OS, one table per family (key: the family id)",
    "family-versions": "the family's versions with their internal numbers and sources (key: the family id)",
    "editions": "the guide's product editions and whether each is supported (guide.yaml: scope.editions)",
    "features": "the guide's optional features (guide.yaml: features)",
    "figure-legend": "what each element of the topology figures is (FIP, networks, disks)",
    "environment": "the operating environment the preflight checks read (OS, protocol, file system)",
    "script-variables": "the family's CLP_* script variables and their values",
    "arm-commands": "the family's ARM commands with their synopsis",
    "arm-options": "one ARM command's flags and whether they are recommended (key: the command)",
    "script-settings": "the settings at the top of the guide's scripts (scripts.yaml: settings)",
    "script-commands": "the commands of the guide's scripts, in order (scripts.yaml: commands)",
    "cases": "what a script does for every CLP_* case, as the data declares it (key: the script's name)",
    # the manual for one cluster (runbook build --inventory)
    "script-paths": "where the engine writes the scripts and where a delivery installs them (script-files, installed-scripts)",
    "parameters": "the inventory's values by section and where the manual uses them (key: the section)",
    # the notebooks (and the runbook page that shows their cells)
    "steps": "the procedure's steps with their modes, as the runner runs them",
}

#: A table's key (one table of several a producer makes at once): a bare token.
_TABLE_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def table_marker(source: str, key: str | None = None) -> str:
    """The comment line that names a table's source (and key) in the Markdown and the HTML."""
    if source not in TABLE_SOURCES:
        raise ValueError(f"table source '{source}' is not registered in TABLE_SOURCES "
                         f"(known: {', '.join(sorted(TABLE_SOURCES))})")
    if key is not None and not _TABLE_KEY.fullmatch(key):
        raise ValueError(f"table key '{key}' of source '{source}' is not a bare token")
    return f"<!-- rb-table: {source}{' ' + key if key else ''} -->"


def table(header: Iterable[str], rows: Iterable[Iterable[str]], *, source: str, key: str | None = None) -> str:
    """A Markdown table, preceded by the comment line that names its *source* (a key of
    :data:`TABLE_SOURCES`; an unknown one raises) and, where one producer makes several tables at
    once, its *key* (the direction, the family, the script ...)."""
    marker = table_marker(source, key)
    header = list(header)
    out = [marker, "", "| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
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
