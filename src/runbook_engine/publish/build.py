"""Build the bilingual site atomically: one MkDocs build per language from the same pages.

Japanese goes to ``out/``, English to ``out/en/``. Everything is built into a temporary folder
beside ``out`` and swapped in only when both languages built: a failed build leaves the previous
site untouched and raises.

With an inventory, the same build makes the manual for that cluster (publish/config.py,
publish/deployment.py); the notebooks in runbooks/ are not touched (the manual has its own).

Each stage is told as it starts and ends through an *on_stage* callback (publish/progress.py),
from MkDocs' own build events.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from runbook_engine.model.project import Project
from runbook_engine.publish.config import LANG_DIRS, LANGS, language_config
from runbook_engine.publish.files import SiteBuildError, mermaid_js
from runbook_engine.publish.progress import OnStage, Stage, unheard


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


class _Collect(logging.Handler):
    """Keeps the warnings and errors MkDocs and mkdocs-macros log, for a one-line error."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(" ".join(record.getMessage().split()))


def build_language(project: Project, lang: str, site_dir: Path, config_file: Path | None = None,
                   inventory: Path | None = None, content: dict | None = None,
                   on_stage: OnStage = unheard) -> LanguageBuild:
    """One language's site into *site_dir* (not atomic: :func:`build_site` is). With *content*,
    each page's HTML body (MkDocs' ``page_content``: the page's Markdown rendered, without the
    theme) is kept there by its path under docs/, with its title and url (publish/pdf.py prints
    them). *on_stage* hears ``pages`` (with their number), each ``page`` and ``search`` as they
    start; the caller tells the language's end (it knows where the language ends up)."""
    from mkdocs.commands.build import build

    start = time.perf_counter()
    cfg = language_config(project, lang, site_dir, config_file, inventory)
    pages: list[str] = []

    def count_pages(html, page, config):  # noqa: ARG001 - MkDocs event signature
        pages.append(page.file.src_uri)
        return html

    def keep_content(html, page, config, files):  # noqa: ARG001 - MkDocs event signature
        content[page.file.src_uri] = {"html": html, "title": page.title, "url": page.url}
        return html

    def pages_start(nav, config, files):  # noqa: ARG001 - MkDocs event signature
        on_stage(Stage("pages", lang, count=len(files.documentation_pages())))
        return nav

    def page_rendered(html, page, config, files):  # noqa: ARG001 - MkDocs event signature
        on_stage(Stage("page", lang, done=True))
        return html

    def search_start(config):  # noqa: ARG001 - MkDocs event signature
        on_stage(Stage("search", lang))

    cfg.plugins.events["post_page"].append(count_pages)
    if content is not None:
        cfg.plugins.events["page_content"].append(keep_content)
    cfg.plugins.events["nav"].append(pages_start)
    cfg.plugins.events["page_content"].append(page_rendered)
    cfg.plugins.events["post_build"].insert(0, search_start)  # before the search plugin writes the index
    collect = _Collect()
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


def build_site(project: Project, out: Path, *, config_file: Path | None = None,
               inventory: Path | None = None, on_stage: OnStage = unheard) -> BuildReport:
    """Build Japanese into *out* and English into *out*/en, atomically (with *inventory*: the
    manual for that cluster), telling *on_stage* each stage (publish/progress.py).

    Both languages are built into a temporary folder beside *out*; only when both succeeded is it
    renamed into place (the previous *out* is renamed away first, then removed). On any error the
    previous *out* stays as it was and the error propagates.
    """
    start = time.perf_counter()
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
            built = build_language(project, lang, site_dir, config_file, inventory, on_stage=on_stage)
            languages[lang] = LanguageBuild(lang, built.seconds, built.pages, out / LANG_DIRS[lang])
            on_stage(Stage("language", lang, done=True, count=built.pages, seconds=built.seconds,
                           path=languages[lang].site_dir))
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
    on_stage(Stage("site", done=True, seconds=time.perf_counter() - start, path=out))
    return BuildReport(out, languages)


def build_all(project: Project, out: Path, on_stage: OnStage = unheard) -> tuple[list[Path], BuildReport]:
    """The notebooks (runbooks/) and the site, written together or not at all: the notebooks
    are rendered in memory and written (each atomically) before the site build, which copies
    them; if the site build fails, every notebook written is put back as it was before (or
    removed if it did not exist), and the error propagates. Returns the notebooks written.
    *on_stage* hears the notebooks' stage, then the site's (:func:`build_site`)."""
    from runbook_engine.artifacts.files import write_atomic
    from runbook_engine.artifacts.notebooks import changed_notebooks

    on_stage(Stage("notebooks"))
    changed = changed_notebooks(project)
    before = {p: (p.read_bytes() if p.exists() else None) for p in changed}
    try:
        for path, data in changed.items():
            write_atomic(path, data)
        on_stage(Stage("notebooks", done=True, count=len(changed), path=project.runbooks))
        report = build_site(project, out, on_stage=on_stage)
    except BaseException:
        for path, data in before.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                write_atomic(path, data)
        raise
    return list(changed), report
