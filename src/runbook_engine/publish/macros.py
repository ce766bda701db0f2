"""The mkdocs-macros entry point (``macros: modules: [runbook_engine.publish.macros]``): every
public method of :class:`runbook_engine.publish.pages.Site` becomes a macro of the build's language,
and before each page's macros run, ``guide_id`` is the id of the guide the page shows (its folder,
see publish/files.py), or None on the site's own pages.

In a build of the manual for one cluster (publish/config.py puts the inventory's path in
``extra``), the Site carries that cluster's values, and each page's Markdown, as the macros
rendered it, is kept for the parameter sheet (rendered last: it says where each value is used)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook_engine.model.project import Project
from runbook_engine.publish.config import deployment_of_config
from runbook_engine.publish.pages import Site, guide_of_page


def define_env(env: Any) -> None:
    config_dir = Path(env.conf["config_file_path"]).parent
    project = Project.find(config_dir)
    lang = str(env.conf["theme"]["language"] or "ja")

    def page_path() -> str:
        page = getattr(env, "page", None)
        return page.file.src_uri if page is not None else "index.md"

    site = Site(project, lang, page_path, deployment=deployment_of_config(project, env.conf))
    env.variables["lang"] = lang
    env.variables["guide_id"] = None
    env.variables["kb"] = site.kb
    env.variables["_runbook_site"] = site
    for name in dir(site):
        if name.startswith("_"):
            continue
        attr = getattr(site, name)
        if callable(attr):
            env.macro(attr, name)


def on_pre_page_macros(env: Any) -> None:
    env.variables["guide_id"] = guide_of_page(env.page.file.src_uri, env.variables["kb"])


def on_post_page_macros(env: Any) -> None:
    site: Site = env.variables["_runbook_site"]
    if site.deployment is not None:
        site.rendered.pages[env.page.file.src_uri] = env.markdown
