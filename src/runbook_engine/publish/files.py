"""The files a site build adds to those of docs/: the local mermaid.min.js, the START.BAT /
STOP.BAT downloads of each guide in the build language and the runbook notebooks when present."""
from __future__ import annotations

import os
from pathlib import Path

from runbook_engine.artifacts.scripts import render_scripts
from runbook_engine.model.project import Project

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
        for name, script in render_scripts(kb, guide, lang, project.snippets).items():
            out[f"downloads/{gid}/{lang}/{name}"] = script.data
        notebook = project.runbooks / f"{gid}.{lang}.ipynb"
        if notebook.is_file():
            out[f"runbooks/{gid}.{lang}.ipynb"] = notebook
    return out
