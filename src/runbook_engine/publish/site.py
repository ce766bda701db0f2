"""Build the bilingual manual site: one MkDocs build per language from the same page templates.

Japanese goes to ``out/``, English to ``out/en/``. Both builds use ``mkdocs.yml`` with a few keys
overridden per language (theme language, site dir, search options, language switch). Everything
is built into a temporary folder beside ``out`` and swapped in only when both languages built:
a failed build leaves the previous site untouched and raises.

This file is also the MkDocs hook module named in ``mkdocs.yml`` (``hooks:``): its ``on_files``
adds the generated downloads (START.BAT / STOP.BAT of each guide in the build language, the
runbook notebooks when present) and the local copy of mermaid.min.js as site files. MkDocs loads
hook files by path, outside the package, so every import here is absolute.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_engine.model.project import Project

LANGS = ("ja", "en")
#: Where each language lives below the site root.
LANG_DIRS = {"ja": "", "en": "en"}
LANG_NAMES = {"ja": "日本語", "en": "English"}

#: Where the local mermaid.min.js is copied in the site (mkdocs.yml's extra_javascript names it).
MERMAID_SITE_PATH = "assets/javascripts/mermaid.min.js"
MERMAID_ENV = "RUNBOOK_MERMAID_JS"

#: Japanese search: besides spaces and hyphens, split where the script changes (katakana, kanji,
#: hiragana), so that compounds typed without spaces match (see the project notes).
JA_SEPARATOR = (
    r"[\s\-]+"
    r"|(?<=[\u30a0-\u30ff])(?=[\u4e00-\u9fff\u3040-\u309f])"
    r"|(?<=[\u4e00-\u9fff])(?=[\u30a0-\u30ff\u3040-\u309f])"
    r"|(?<=[\u3040-\u309f])(?=[\u30a0-\u30ff\u4e00-\u9fff])"
)
SEARCH_OPTIONS = {
    "ja": {"lang": "ja", "pipeline": ["stopWordFilter"], "separator": JA_SEPARATOR},
    "en": {"lang": "en"},
}


class SiteBuildError(RuntimeError):
    """The site could not be built (the message is one line saying what to do)."""


@dataclass(frozen=True)
class LanguageBuild:
    lang: str
    seconds: float
    pages: int
    site_dir: Path


@dataclass(frozen=True)
class BuildReport:
    out: Path
    languages: dict[str, LanguageBuild] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(b.seconds for b in self.languages.values())


# --------------------------------------------------------------------------------------------
# Inputs that do not come from docs/
# --------------------------------------------------------------------------------------------


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
    from runbook_engine.artifacts.scripts import render_scripts

    kb = project.knowledge
    out: dict[str, bytes | Path] = {MERMAID_SITE_PATH: mermaid_js(project)}
    for gid, guide in kb.guides.items():
        for name, script in render_scripts(kb, guide, lang, project.snippets).items():
            out[f"downloads/{gid}/{lang}/{name}"] = script.data
        notebook = project.runbooks / f"{gid}.{lang}.ipynb"
        if notebook.is_file():
            out[f"runbooks/{gid}.{lang}.ipynb"] = notebook
    return out


# --------------------------------------------------------------------------------------------
# MkDocs hooks (mkdocs.yml: hooks: [src/runbook_engine/publish/site.py])
# --------------------------------------------------------------------------------------------


def _config_lang(config: Any) -> str:
    lang = str(config["theme"]["language"] or "ja")
    return lang if lang in LANGS else "ja"


def on_files(files: Any, config: Any) -> Any:
    """Add the generated downloads and vendored scripts as files of the build."""
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    project = Project.find(Path(config["config_file_path"]).parent)
    try:
        generated = generated_files(project, _config_lang(config))
    except SiteBuildError as exc:
        raise PluginError(str(exc)) from None
    for src_uri, content in generated.items():
        if files.get_file_from_path(src_uri) is not None:
            files.remove(files.get_file_from_path(src_uri))
        if isinstance(content, Path):
            files.append(File.generated(config, src_uri, abs_src_path=str(content)))
        else:
            files.append(File.generated(config, src_uri, content=content))
    return files


# --------------------------------------------------------------------------------------------
# Per-language configuration
# --------------------------------------------------------------------------------------------


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


def _nav(raw_nav: list, project: Project, lang: str) -> list:
    """mkdocs.yml lists paths only; pages of a guide folder become a section titled by the guide."""
    kb = project.knowledge
    nav: list = []
    sections: dict[str, list] = {}
    for item in raw_nav:
        path = item if isinstance(item, str) else None
        folder = path.split("/", 1)[0] if path and "/" in path else None
        if folder in kb.guides:
            if folder not in sections:
                sections[folder] = []
                nav.append({kb.guides[folder].meta.product(lang): sections[folder]})
            sections[folder].append(path)
        else:
            nav.append(item)
    return nav


def language_config(project: Project, lang: str, site_dir: Path, config_file: Path | None = None):
    """The MkDocs configuration of one language build (mkdocs.yml plus per-language keys)."""
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
            if lang != "ja":
                opts.pop("pipeline", None)
                opts.pop("separator", None)
        plugins.append({name: opts or {}})
    extra = dict(raw.get("extra") or {})
    extra["alternate"] = _alternates(lang)
    extra["build_lang"] = lang
    overrides: dict[str, Any] = {
        "theme": theme,
        "plugins": plugins,
        "extra": extra,
        "site_dir": str(site_dir),
        "site_name": project.knowledge.site.site_name(lang),
    }
    if raw.get("nav"):
        overrides["nav"] = _nav(raw["nav"], project, lang)
    return load_config(config_file=str(config_file), **overrides)


# --------------------------------------------------------------------------------------------
# Build and serve
# --------------------------------------------------------------------------------------------


def _build_language(project: Project, lang: str, site_dir: Path, config_file: Path | None) -> LanguageBuild:
    from mkdocs.commands.build import build

    start = time.perf_counter()
    cfg = language_config(project, lang, site_dir, config_file)
    pages: list[str] = []

    def count_pages(html, page, config):  # noqa: ARG001 - MkDocs event signature
        pages.append(page.file.src_uri)
        return html

    cfg.plugins.events["post_page"].append(count_pages)
    import logging

    class Collect(logging.Handler):
        def __init__(self):
            super().__init__(logging.WARNING)
            self.messages: list[str] = []

        def emit(self, record):
            self.messages.append(" ".join(record.getMessage().split()))

    collect = Collect()
    loggers = [logging.getLogger("mkdocs"), logging.getLogger("mkdocs_macros")]
    for lg in loggers:
        lg.addHandler(collect)
    try:
        build(cfg)
    except SystemExit as exc:  # strict mode and mkdocs-macros exit on an error
        detail = "; ".join(m for m in collect.messages if "Aborted" not in m)[:600] or f"exit code {exc.code}"
        raise SiteBuildError(f"{lang} build failed: {detail}") from None
    finally:
        for lg in loggers:
            lg.removeHandler(collect)
    return LanguageBuild(lang, time.perf_counter() - start, len(pages), site_dir)


def build_site(project: Project, out: Path, *, config_file: Path | None = None) -> BuildReport:
    """Build Japanese into *out* and English into *out*/en, atomically.

    Both languages are built into a temporary folder beside *out*; only when both succeeded is it
    renamed into place (the previous *out* is renamed away first, then removed). On any error the
    previous *out* stays as it was and the error propagates.
    """
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    mermaid_js(project)  # fail early, with the one-line install hint
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    languages: dict[str, LanguageBuild] = {}
    try:
        # Japanese first: a build cleans its site_dir, so en/ is built after the root.
        for lang in LANGS:
            site_dir = staging / LANG_DIRS[lang] if LANG_DIRS[lang] else staging
            built = _build_language(project, lang, site_dir, config_file)
            languages[lang] = LanguageBuild(lang, built.seconds, built.pages, out / LANG_DIRS[lang])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / "site")
    try:
        os.rename(staging, out)
    except BaseException:
        if old is not None:
            os.rename(old / "site", out)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return BuildReport(out, languages)


def serve(project: Project, host: str = "127.0.0.1", port: int = 8000, out: Path | None = None) -> None:
    """Build the site, then serve it with http.server until interrupted (no live reload)."""
    out = Path(out) if out else project.state / "site"
    report = build_site(project, out)
    for b in report.languages.values():
        print(f"{b.lang}: {b.pages} pages in {b.seconds:.2f} s → {b.site_dir}")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    with http.server.ThreadingHTTPServer((host, port), handler) as httpd:
        print(f"serving {out} on http://{host}:{httpd.server_address[1]}/")
        with contextlib.suppress(KeyboardInterrupt):
            httpd.serve_forever()
