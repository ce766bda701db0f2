"""The configuration of one language build: mkdocs.yml plus the keys that differ per language
(theme language, site folder, site name, search options, language switch), and the nav, which
comes from kb/: mkdocs.yml lists no page (the hook sets the nav with :func:`site_nav`).

The search options live here only: mkdocs.yml names the search plugin without options, so a plain
`mkdocs build` uses Material's default separator; `runbook build` and `runbook serve` (through
:func:`language_config`) use the ones below.

The manual for one cluster (``runbook build --inventory``) is a build with the inventory's path in
``extra`` (:data:`INVENTORY_KEY`): its site name names the cluster, its nav holds that guide only
(home, the guide's pages, the parameter sheet), and the hook and the macros read the inventory
through :func:`deployment_of_config`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook_engine.artifacts.deployment import Deployment
from runbook_engine.model.project import Project
from runbook_engine.model.rules import LANGS
from runbook_engine.model.schema import KnowledgeBase
from runbook_engine.publish.deployment import load_deployment
from runbook_engine.publish.labels import label
from runbook_engine.publish.pages import PAGES, guide_pages_of

#: the key of ``extra`` that holds the inventory of a manual for one cluster
INVENTORY_KEY = "runbook_inventory"

#: Where each language lives below the site root.
LANG_DIRS = {"ja": "", "en": "en"}
LANG_NAMES = {"ja": "日本語", "en": "English"}

#: Japanese search: besides spaces and hyphens, split where the script changes (katakana, kanji,
#: hiragana; see the project notes), and where Latin letters or digits meet Japanese, so that
#: queries typed without spaces match the text: 「DNSサーバ」 finds "DNS サーバ", 「ポート623」 the
#: port table's "623". The same expression splits the pages when the browser indexes them and the
#: query when it is typed (Material's search worker sets it as lunr's separator).
JA_SEPARATOR = (
    r"[\s\-]+"
    r"|(?<=[\u30a0-\u30ff])(?=[\u4e00-\u9fff\u3040-\u309f])"
    r"|(?<=[\u4e00-\u9fff])(?=[\u30a0-\u30ff\u3040-\u309f])"
    r"|(?<=[\u3040-\u309f])(?=[\u30a0-\u30ff\u4e00-\u9fff])"
    r"|(?<=[A-Za-z0-9])(?=[\u3040-\u30ff\u4e00-\u9fff])"
    r"|(?<=[\u3040-\u30ff\u4e00-\u9fff])(?=[A-Za-z0-9])"
)
SEARCH_OPTIONS = {
    "ja": {"lang": "ja", "pipeline": ["stopWordFilter"], "separator": JA_SEPARATOR},
    "en": {"lang": "en"},
}


def config_lang(config: Any) -> str:
    """The language of a loaded MkDocs config (its theme language; Japanese by default)."""
    lang = str(config["theme"]["language"] or "ja")
    return lang if lang in LANGS else "ja"


def deployment_of_config(project: Project, config: Any) -> Deployment | None:
    """The cluster a build's manual is for (None: the site of every guide, with placeholders)."""
    path = (config.get("extra") or {}).get(INVENTORY_KEY)
    return load_deployment(project, path) if path else None


def site_name(project: Project, lang: str, deployment: Deployment | None = None) -> str:
    """The site's name: kb/site.yaml's, or for one cluster its guide's product and the cluster."""
    kb = project.knowledge
    if deployment is None:
        return kb.site.site_name(lang)
    product = kb.guides[deployment.guide].meta.product(lang)
    return label(kb, "deploy-site-name")(lang).format(product=product, cluster=deployment.cluster)


def site_nav(kb: KnowledgeBase, lang: str, deployment: Deployment | None = None) -> list:
    """The nav of a *lang* build: home, compatibility, the example inventories, then per guide of
    kb/ a section titled by its product name holding the pages it has data for (publish/pages.py's
    GUIDE_PAGES). Pages are listed by path: their titles are their first headings, from kb/, but
    the home page's: its heading is the site name, which the sidebar already shows as its own
    title (and the mobile drawer as its header), so its entry is titled "Home"."""
    if deployment is not None:  # the manual for one cluster: its guide only
        guide = kb.guides[deployment.guide]
        pages = [PAGES[p.id].format(guide=guide.id) for p in guide_pages_of(guide, deployment=True)]
        return [{kb.label("home")(lang): PAGES["home"]}, {guide.meta.product(lang): pages}]
    nav: list = [{kb.label("home")(lang): PAGES["home"]}, PAGES["compatibility"], PAGES["inventories"]]
    for gid, guide in kb.guides.items():
        nav.append({guide.meta.product(lang): [PAGES[p.id].format(guide=gid) for p in guide_pages_of(guide)]})
    return nav


def _raw_config(config_file: Path) -> dict:
    from mkdocs.utils.yaml import yaml_load

    with config_file.open("rb") as fd:
        return yaml_load(fd)


def _alternates(lang: str) -> list[dict[str, str]]:
    """The language switch of a *lang* build: ``root`` is the other language's root seen from
    this build's root (overrides/partials/alternate.html appends the page's url to it)."""
    here = LANG_DIRS[lang]
    alts = []
    for other in LANGS:
        there = LANG_DIRS[other]
        if other == lang:
            root = ""
        elif here == "":
            root = f"{there}/"
        else:
            root = "../" * len(here.split("/")) + (f"{there}/" if there else "")
        # "link" (Material's head <link rel=alternate>) is the other language's root; "abs" serves
        # pages without a page url (404.html, rendered for an absolute base url).
        alts.append({
            "name": LANG_NAMES[other], "lang": other, "link": root or "./", "root": root,
            "abs": "/" + (f"{there}/" if there else ""),
        })
    return alts


def language_config(project: Project, lang: str, site_dir: Path, config_file: Path | None = None,
                    inventory: Path | None = None):
    """The MkDocs configuration of one language build (mkdocs.yml plus per-language keys); with
    *inventory*, of the manual for that cluster."""
    from mkdocs.config import load_config

    config_file = config_file or project.root / "mkdocs.yml"
    raw = _raw_config(config_file)
    theme = dict(raw.get("theme") or {})
    theme["language"] = lang
    plugins = []
    for entry in raw.get("plugins") or []:
        name, opts = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
        if name == "search":
            opts = {**(opts or {}), **SEARCH_OPTIONS[lang]}
        plugins.append({name: opts or {}})
    extra = dict(raw.get("extra") or {})
    extra["alternate"] = _alternates(lang)
    extra["build_lang"] = lang
    deployment = None
    if inventory is not None:
        extra[INVENTORY_KEY] = str(Path(inventory).resolve())
        deployment = load_deployment(project, extra[INVENTORY_KEY])
    overrides: dict[str, Any] = {
        "theme": theme,
        "plugins": plugins,
        "extra": extra,
        "site_dir": str(site_dir),
        "site_name": site_name(project, lang, deployment),
    }
    return load_config(config_file=str(config_file), **overrides)

