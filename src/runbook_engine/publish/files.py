"""The files a site build makes besides those of docs/: the pages of every guide in kb/guides
(instantiated from the one set of templates in docs/_guide/), the local mermaid.min.js, the
START.BAT / STOP.BAT downloads of each guide in the build language, the clpcfset command sequence
of each guide on a clpcfset or clpcfadm version (artifacts/clpcfset.py) and the runbook notebooks when
present.

A guide page is its template as it is, at ``<guide id>/<template>.md``: the page's path says which
guide it shows, and publish/macros.py binds ``guide_id`` to that guide before the page's macros
run (:func:`runbook_engine.publish.pages.guide_of_page`).
"""
from __future__ import annotations

import os
from pathlib import Path

from runbook_engine.artifacts import clpcfset
from runbook_engine.artifacts.scripts import render_scripts
from runbook_engine.model.project import Project
from runbook_engine.publish.pages import PAGES, guide_pages_of

#: The folder of docs/ that holds the guide page templates (not pages of the site themselves).
TEMPLATES_DIR = "_guide"

#: Where the local mermaid.min.js is copied in the site (mkdocs.yml's extra_javascript names it).
MERMAID_SITE_PATH = "assets/javascripts/mermaid.min.js"
MERMAID_ENV = "RUNBOOK_MERMAID_JS"


class SiteBuildError(RuntimeError):
    """The site could not be built (the message is one line saying what to do)."""


def mermaid_js(project: Project) -> Path:
    """The local mermaid.min.js; Material would fetch it from unpkg without one."""
    env = os.environ.get(MERMAID_ENV)
    path = Path(env) if env else project.vendor / "mermaid" / "mermaid.min.js"
    if not path.is_file():
        raise SiteBuildError(
            f"mermaid.min.js not found at {path}: install it with "
            f"`npm pack mermaid@11 && tar -xzf mermaid-11*.tgz package/dist/mermaid.min.js` and copy "
            f"package/dist/mermaid.min.js there, or set {MERMAID_ENV} to its path"
        )
    return path


def generated_files(project: Project, lang: str) -> dict[str, bytes | Path]:
    """Site path → content (bytes) or source file, for everything the build generates or copies."""
    kb = project.knowledge
    out: dict[str, bytes | Path] = {MERMAID_SITE_PATH: mermaid_js(project)}
    for gid, guide in kb.guides.items():
        if guide.scripts is not None:  # a guide without scripts.yaml has no scripts page either
            for name, script in render_scripts(kb, guide, lang, project.snippets).items():
                out[f"downloads/{gid}/{lang}/{name}"] = script.data
        if clpcfset.applies(kb, guide):
            seq = clpcfset.render_script(kb, guide, clpcfset.placeholder_values(kb, guide, lang), lang)
            out[f"downloads/{gid}/{lang}/{seq.name}"] = seq.data
        notebook = project.runbooks / f"{gid}.{lang}.ipynb"
        if notebook.is_file():
            out[f"runbooks/{gid}.{lang}.ipynb"] = notebook
    return out


def guide_pages(project: Project, docs_dir: Path) -> dict[str, str]:
    """Path under docs/ → Markdown, for each page each guide of kb/ has data for."""
    templates: dict[str, str] = {}
    out: dict[str, str] = {}
    for gid, guide in project.knowledge.guides.items():
        for page in guide_pages_of(guide):
            if page.template not in templates:
                path = docs_dir / TEMPLATES_DIR / f"{page.template}.md"
                try:
                    templates[page.template] = path.read_text(encoding="utf-8")
                except OSError as exc:
                    raise SiteBuildError(f"guide page template {path} cannot be read: {exc.strerror}") from None
            out[PAGES[page.id].format(guide=gid)] = templates[page.template]
    return out
