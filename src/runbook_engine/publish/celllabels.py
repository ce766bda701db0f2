"""A Python-Markdown extension (named in mkdocs.yml) that labels each cell of a table with its
column's header, ``<td data-label="Port">``: on a phone the site's stylesheet
(docs/assets/stylesheets/runbook.css) shows a table of three columns or more as one card per row,
each cell after its column's name, so that the table fits the screen and nothing is cut off. The
cell's content is wrapped in one ``<span class="rb-value">`` for that layout. A short cell is
marked ``data-short`` (the stylesheet keeps its Japanese phrases whole).

It runs after Python-Markdown's own tree processors (inline markup and escapes resolved), so the
label is the header's text as the reader sees it.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown import Extension
from markdown.treeprocessors import Treeprocessor

#: A cell of at most this many characters is a short value (a port, a direction, a name): the
#: stylesheet breaks it between Japanese phrases only, never inside a word such as 受信.
SHORT = 8

#: Python-Markdown's placeholder for stashed raw HTML (``<br>`` in a header): not text.
_STASHED = re.compile("\x02[^\x03]*\x03")


def _text(element: etree.Element) -> str:
    return " ".join(_STASHED.sub(" ", "".join(element.itertext())).split())


def _wrap_content(cell: etree.Element) -> None:
    """Put the cell's content in one ``<span class="rb-value">``: in the phone layout the cell is
    a grid of two items, its column's name and this (bare text and elements would each become an
    item of their own)."""
    span = etree.Element("span", {"class": "rb-value"})
    span.text, cell.text = cell.text, None
    for child in list(cell):
        cell.remove(child)
        span.append(child)
    cell.append(span)


class CellLabels(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        for table in root.iter("table"):
            head = table.find("thead")
            header = head.find("tr") if head is not None else None
            if header is None:
                continue
            names = [_text(th) for th in header]
            body = table.find("tbody")
            for row in body.iter("tr") if body is not None else ():
                for name, cell in zip(names, row):
                    if cell.tag != "td":
                        continue
                    if len(_text(cell)) <= SHORT:
                        cell.set("data-short", "")
                    if name:
                        cell.set("data-label", name)
                        _wrap_content(cell)


class CellLabelsExtension(Extension):
    def extendMarkdown(self, md) -> None:  # noqa: N802 - Python-Markdown's API
        # after 'unescape' (priority 0): backslash escapes are resolved in the header text
        md.treeprocessors.register(CellLabels(md), "rb-cell-labels", -10)


def makeExtension(**kwargs) -> CellLabelsExtension:  # noqa: N802 - Python-Markdown's entry point
    return CellLabelsExtension(**kwargs)
