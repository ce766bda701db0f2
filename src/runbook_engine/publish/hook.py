"""The MkDocs hook module named in mkdocs.yml (``hooks:``): the pages and nav of every guide in
kb/ come from here, through MkDocs' own build events.

Why a hook and not mkdocs-gen-files + mkdocs-literate-nav: the pages are one set of templates
instantiated per guide and the nav is a list computed from kb/; both are a few lines on MkDocs'
``on_config`` / ``on_files`` events, need no generator script, no SUMMARY.md nav file and no
further dependency, and the project already has this hook for its generated downloads. A plain
``mkdocs build`` or ``mkdocs serve`` runs it as well, so it builds the same Japanese site.

* ``on_config`` sets the nav from kb/ (:func:`runbook_engine.publish.config.site_nav`):
  mkdocs.yml lists no page.
* ``on_files`` drops the templates in docs/_guide/ from the build and adds, as generated files,
  each guide's pages (:func:`runbook_engine.publish.files.guide_pages`), the START.BAT / STOP.BAT
  downloads in the build language, the runbook notebooks when present and the local
  mermaid.min.js.
* ``on_template_context`` gives the 404 page (overrides/404.html) its texts and its language's
  root as base url.

For the manual of one cluster (publish/config.py: the inventory in ``extra``) the nav holds its
guide only, the site's pages about every guide are left out, and the parameter sheet comes last in
the files: MkDocs renders the pages in that order, and the sheet says where the pages before it
use each value.

MkDocs loads hook files by path, outside the package, so every import here is absolute.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook_engine.model.project import Project
from runbook_engine.publish.config import LANG_DIRS, config_lang, deployment_of_config, site_nav
from runbook_engine.publish.files import SITE_ONLY_PAGES, TEMPLATES_DIR, SiteBuildError, generated_files, guide_pages
from runbook_engine.publish.pages import PAGES
from runbook_engine.publish.labels import label


def _project(config: Any) -> Project:
    return Project.find(Path(config["config_file_path"]).parent)


def on_config(config: Any) -> Any:
    """The nav: home, compatibility, then one section per guide of kb/ (see site_nav)."""
    project = _project(config)
    config["nav"] = site_nav(project.knowledge, config_lang(config), deployment_of_config(project, config))
    return config


def on_files(files: Any, config: Any) -> Any:
    """Replace the page templates by every guide's pages; add downloads and vendored scripts."""
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File, Files, file_sort_key

    project = _project(config)
    deployment = deployment_of_config(project, config)
    try:
        generated: dict[str, str | bytes | Path] = {
            **guide_pages(project, Path(config["docs_dir"]), deployment),
            **generated_files(project, config_lang(config), deployment),
        }
    except SiteBuildError as exc:
        raise PluginError(str(exc)) from None
    dropped = SITE_ONLY_PAGES if deployment is not None else ()
    for file in [f for f in files if f.src_uri.startswith(TEMPLATES_DIR + "/") or f.src_uri in dropped]:
        files.remove(file)
    for src_uri, content in generated.items():
        if files.get_file_from_path(src_uri) is not None:
            files.remove(files.get_file_from_path(src_uri))
        if isinstance(content, Path):
            files.append(File.generated(config, src_uri, abs_src_path=str(content)))
        else:
            files.append(File.generated(config, src_uri, content=content))
    # in the order MkDocs lists docs/ (the search index follows it), as if the pages were files;
    # the parameter sheet last (see the module's text)
    last = PAGES["parameters"].format(guide=deployment.guide) if deployment is not None else None
    return Files(sorted(files, key=lambda f: (f.src_uri == last, file_sort_key(f))))


def on_template_context(context: Any, template_name: str, config: Any) -> Any:
    """The 404 page: its texts in the build language, and that language's root as its base url.
    MkDocs renders error pages for "/" (served at any depth, they link absolutely); the English
    build lives under /en/, so its 404 page must link /en/... (its nav, stylesheets, scripts and
    the search index Material loads from the base url)."""
    if template_name != "404.html":
        return context
    lang = config_lang(config)
    root = "/" + (f"{LANG_DIRS[lang]}/" if LANG_DIRS[lang] else "")
    kb = _project(config).knowledge
    context["base_url"] = root
    context["not_found"] = {
        "title": label(kb, "not-found-title")(lang),
        "text": label(kb, "not-found-text")(lang),
        "home": label(kb, "not-found-home")(lang),
        "home_url": root,
    }
    return context
