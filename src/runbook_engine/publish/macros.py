"""The mkdocs-macros entry point (``macros: modules: [runbook_engine.publish.macros]``): every
public method of :class:`runbook_engine.publish.pages.Site` becomes a macro of the build's language,
and before each page's macros run, ``guide_id`` is the id of the guide the page shows (its folder,
see publish/files.py), or None on the site's own pages."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook_engine.model.project import Project
from runbook_engine.publish.pages import Site, guide_of_page


def define_env(env: Any) -> None:
    config_dir = Path(env.conf["config_file_path"]).parent
    project = Project.find(config_dir)
    lang = str(env.conf["theme"]["language"] or "ja")

    def page_path() -> str:
        page = getattr(env, "page", None)
        return page.file.src_uri if page is not None else "index.md"

    site = Site(project, lang, page_path)
    env.variables["lang"] = lang
    env.variables["guide_id"] = None
    env.variables["kb"] = site.kb
    for name in dir(site):
        if name.startswith("_"):
            continue
        attr = getattr(site, name)
        if callable(attr):
            env.macro(attr, name)


def on_pre_page_macros(env: Any) -> None:
    env.variables["guide_id"] = guide_of_page(env.page.file.src_uri, env.variables["kb"])
