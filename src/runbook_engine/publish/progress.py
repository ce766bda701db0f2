"""What a build tells whoever waits for it: each stage as it starts and as it ends, as data.

A build (publish/build.py), a PDF (publish/pdf.py) and the live preview (publish/serve.py) call
an *on_stage* callback with a :class:`Stage`; the command line words it in the operator's
language and shows it (cli/site.py). Nothing here prints. The stages, in the order a build
passes them:

* ``notebooks``: the runbook notebooks rendered (start), written (end: ``count`` written,
  ``path`` their folder);
* per language (``lang``): ``pages`` (start: ``count`` pages to render, known once MkDocs has its
  nav), a ``page`` for each page rendered, ``search`` (start: MkDocs' post-build events, where
  the search plugin writes the index), ``language`` (end: ``count`` pages, ``seconds``, ``path``
  the folder the language ends up in);
* ``print`` (start, a PDF: Chromium prints the document);
* ``site`` (end: the whole build's ``seconds`` and ``path``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Stage:
    name: str
    lang: str = ""
    done: bool = False
    count: int | None = None
    seconds: float | None = None
    path: Path | None = None


OnStage = Callable[[Stage], None]


def unheard(stage: Stage) -> None:  # noqa: ARG001 - nobody listens
    """The callback of a build nobody watches."""
