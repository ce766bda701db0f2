"""The files a site build makes besides those of docs/: the pages of every guide in kb/guides
(instantiated from the one set of templates in docs/_guide/), the local mermaid.min.js, the
START.BAT / STOP.BAT downloads of each guide in the build language, the clpcfset command sequence
of each guide on a clpcfset or clpcfadm version (artifacts/clpcfset.py) and the runbook notebooks when
present.

A guide page is its template as it is, at ``<guide id>/<template>.md``: the page's path says which
guide it shows, and publish/macros.py binds ``guide_id`` to that guide before the page's macros
run (:func:`runbook_engine.publish.pages.guide_of_page`).

The manual for one cluster (a :class:`~runbook_engine.artifacts.deployment.Deployment`) has that
guide's pages only, the parameter sheet among them, a home page of its own
(``docs/_guide/cluster.md`` as ``index.md``), the scripts as the engine writes them for the
cluster, the clpcfset sequence with its values and its own notebooks (their parameters set to the
inventory) instead of runbooks/.
"""
from __future__ import annotations

import os
from pathlib import Path

from runbook_engine.artifacts import clpcfset
from runbook_engine.artifacts.deployment import Deployment
from runbook_engine.artifacts.notebooks import notebook_bytes
from runbook_engine.artifacts.scripts import render_scripts
from runbook_engine.model.project import Project
from runbook_engine.publish.pages import PAGES, Site, guide_pages_of

#: The folder of docs/ that holds the guide page templates (not pages of the site themselves).
TEMPLATES_DIR = "_guide"

#: The home page template of the manual for one cluster (in TEMPLATES_DIR).
CLUSTER_HOME = "cluster"
#: The site's own pages that the manual for one cluster leaves out (they are about every guide).
SITE_ONLY_PAGES = (PAGES["compatibility"], PAGES["inventories"])

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


def generated_files(project: Project, lang: str, deployment: Deployment | None = None) -> dict[str, bytes | Path]:
    """Site path → content (bytes) or source file, for everything the build generates or copies."""
    kb = project.knowledge
    out: dict[str, bytes | Path] = {MERMAID_SITE_PATH: mermaid_js(project)}
    if deployment is not None:
        return {**out, **_deployment_files(project, lang, deployment)}
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


def _deployment_files(project: Project, lang: str, d: Deployment) -> dict[str, bytes | Path]:
    """The downloads of the manual for one cluster: the scripts the engine writes there (its
    exact bytes, in the configuration node's language), the clpcfset sequence with the cluster's
    values, and the notebook with its parameters set to the inventory."""
    kb = project.knowledge
    guide = kb.guides[d.guide]
    out: dict[str, bytes | Path] = {}
    for name, data in d.scripts.items():
        out[f"downloads/{guide.id}/{lang}/{name}"] = data
    if clpcfset.applies(kb, guide):
        seq = clpcfset.render_script(kb, guide, d.cluster_values(kb, guide, lang), lang)
        out[f"downloads/{guide.id}/{lang}/{seq.name}"] = seq.data
    out[f"runbooks/{guide.id}.{lang}.ipynb"] = notebook_bytes(Site(project, lang, deployment=d).notebook(guide.id))
    return out


def _template(docs_dir: Path, name: str, cache: dict[str, str]) -> str:
    if name not in cache:
        path = docs_dir / TEMPLATES_DIR / f"{name}.md"
        try:
            cache[name] = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SiteBuildError(f"guide page template {path} cannot be read: {exc.strerror}") from None
    return cache[name]


def guide_pages(project: Project, docs_dir: Path, deployment: Deployment | None = None) -> dict[str, str]:
    """Path under docs/ → Markdown, for each page each guide of kb/ has data for (for one
    cluster: its guide's pages, the parameter sheet last, and its home page)."""
    templates: dict[str, str] = {}
    out: dict[str, str] = {}
    guides = project.knowledge.guides
    if deployment is not None:
        guides = {deployment.guide: guides[deployment.guide]}
        out[PAGES["home"]] = _template(docs_dir, CLUSTER_HOME, templates)
    for gid, guide in guides.items():
        for page in guide_pages_of(guide, deployment=deployment is not None):
            out[PAGES[page.id].format(guide=gid)] = _template(docs_dir, page.template, templates)
    return out
