"""Printable outputs: a guide (or the manual for one cluster) as one PDF, and any HTML document of
ours printed the same way (the evidence report of a run, publish/evidence.py).

The tool: Chromium, through playwright, ``page.pdf()``. The project already drives Debian's
Chromium headless for its browser tests (tests/plugins/browser.py), so printing adds no renderer:
the guide's pages are printed by the engine that shows them on the site, Material's stylesheet and
the Mermaid figures included (Mermaid renders in a browser only; WeasyPrint or a LaTeX route would
need the figures pre-rendered by a browser anyway, and would lay the tables out differently from
the site). Chromium (version 131 and later) lays out CSS page margin boxes, so the page numbers
and the running header are plain CSS (``@page { @bottom-center { content: counter(page) ... } }``,
none on the cover's named page), and it embeds the fonts it uses as subsets.

The fonts: BIZ UDPGothic and BIZ UDGothic (Debian ``fonts-morisawa-bizud-gothic``: TrueType, with
a real bold). Chromium's PDF backend (Skia) embeds TrueType fonts as CID fonts with a ToUnicode
map, but writes the CFF outlines of Noto Sans CJK (``fonts-noto-cjk``, a .ttc collection) as Type 3
glyph procedures: measured with ``pdffonts``, a page set in Noto Sans CJK JP lists only unnamed
"Type 3" fonts, the same page in BIZ UDPGothic lists ``BIZUDPGothic-Regular`` / ``-Bold`` as
embedded "CID TrueType" subsets. Noto stays as the fallback.

How a guide is printed (:func:`guide_pdf`):

1. its pages are built for one language by the site's own build (publish/build.py, with the
   inventory for a cluster's manual), keeping each page's HTML body as MkDocs rendered it (the
   Markdown of the page, before the theme wraps it): no screenshot, no scraping of the theme;
2. the bodies are joined into one HTML document in nav order (the runbook page is left out: it
   repeats the procedure as the notebook's code, and the notebook itself is the file to run),
   after a cover (title, edition, date, the cluster when there is one) and a table of contents.
   Each page's ids get the page as a prefix and the links between pages become links inside the
   document; links to files of the site (downloads) become plain text;
3. Chromium opens the document from the build folder (Material's stylesheet, mermaid.min.js),
   Mermaid renders every figure (the printer waits until each ``.mermaid`` holds an SVG and
   refuses to print a figure that failed), and the document is printed twice: the first PDF's
   named destinations (``pdfinfo -dests``, poppler-utils) give the page of each heading of the
   contents, which the second print writes in (the numbers take no more room than the
   placeholders, so no heading moves; a third print is made if one did).
"""
from __future__ import annotations

import datetime
import html
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from runbook_engine.engine.transports.environ import node_environ
from runbook_engine.model.project import Project
from runbook_engine.publish.build import build_language
from runbook_engine.publish.deployment import load_deployment
from runbook_engine.publish.files import mermaid_js
from runbook_engine.publish.labels import label
from runbook_engine.publish.pages import PAGES, guide_pages_of
from runbook_engine.publish.progress import OnStage, Stage, unheard

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ENV = "RUNBOOK_CHROMIUM"
#: Debian's Chromium headless (the flags of the project notes)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TEXT_FONT = '"BIZ UDPGothic", "Noto Sans CJK JP", sans-serif'
CODE_FONT = '"BIZ UDGothic", "Noto Sans Mono CJK JP", monospace'
#: the pages a printed guide leaves out (see the module's text)
NOT_PRINTED = ("runbook",)
MERMAID_TIMEOUT_MS = 60_000


class PdfError(RuntimeError):
    """The PDF could not be made (one line saying what to do)."""


@dataclass(frozen=True)
class PdfReport:
    path: Path
    pages: int
    seconds: float  # all of it
    build_seconds: float  # the site build of the guide's pages
    print_seconds: float  # Chromium: rendering and the prints
    prints: int


# --------------------------------------------------------------------------------------------
# Chromium
# --------------------------------------------------------------------------------------------


def chromium_path() -> Path:
    path = Path(os.environ.get(CHROMIUM_ENV) or CHROMIUM)
    if not os.access(path, os.X_OK):
        raise PdfError(f"Chromium not found at {path}: install Debian's chromium package or set {CHROMIUM_ENV}")
    return path


def _poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise PdfError(f"{tool} not found: install poppler-utils (apt-get install poppler-utils)")
    return found


def pdf_pages(path: Path) -> int:
    """The number of pages of a PDF (pdfinfo)."""
    out = subprocess.run([_poppler("pdfinfo"), str(path)], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^Pages:\s+(\d+)", out, re.M)
    if not m:
        raise PdfError(f"pdfinfo does not say how many pages {path} has")
    return int(m.group(1))


def named_destinations(path: Path) -> dict[str, int]:
    """Name → page (1-based) of each named destination of a PDF (pdfinfo -dests)."""
    out = subprocess.run([_poppler("pdfinfo"), "-dests", str(path)], capture_output=True, text=True, check=True).stdout
    dests = {}
    for line in out.splitlines():
        m = re.match(r'^\s*(\d+)\s+\[.*\]\s+"(.*)"\s*$', line)
        if m:
            dests[m.group(2)] = int(m.group(1))
    return dests


class Printer:
    """A headless Chromium that prints HTML files to PDF: started once, used for several prints,
    closed at the end (a context manager). Chromium gets this process's environment without any
    variable an inventory names as a secret."""

    def __init__(self):
        self._pw = self._browser = None

    def __enter__(self) -> "Printer":
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise PdfError("playwright is not installed: pip install playwright (it drives Debian's Chromium)") from None
        executable = chromium_path()
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(node_environ(saved))  # the playwright driver starts without secrets too
        try:
            self._context = sync_playwright()
            self._pw = self._context.__enter__()
            self._browser = self._pw.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS,
                                                     env=node_environ(saved))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return self

    def __exit__(self, *exc) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._pw is not None:
            self._context.__exit__(None, None, None)

    def open(self, document: Path):
        """A page with *document* loaded and its Mermaid figures rendered (PdfError: one failed)."""
        page = self._browser.new_page()
        page.goto(document.as_uri())
        page.wait_for_function("window.rbReady === true || window.rbError !== undefined", timeout=MERMAID_TIMEOUT_MS)
        error = page.evaluate("window.rbError")
        if error is not None:
            raise PdfError(f"a figure failed to render: {' '.join(str(error).split())[:300]}")
        left = page.evaluate("[...document.querySelectorAll('.mermaid')].filter(e => !e.querySelector('svg')).length")
        if left:
            raise PdfError(f"{left} figure(s) were not rendered before printing")
        return page

    @staticmethod
    def print(page, out: Path) -> None:
        page.emulate_media(media="print")
        page.pdf(path=str(out), print_background=True, prefer_css_page_size=True, outline=True, tagged=True)


# --------------------------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------------------------


_TAG = re.compile(r"<[a-zA-Z][^<>]*>")
_ATTR = re.compile(r'(\s)(id|href)="([^"]*)"')
_MERMAID = re.compile(r'<pre class="mermaid"><code>(.*?)</code></pre>', re.S)
_H2 = re.compile(r"<h2\b[^>]*>(.*?)</h2>", re.S)


def _text(fragment: str) -> str:
    """The text of an HTML fragment (a heading without its permalink sign)."""
    fragment = re.sub(r'<a class="headerlink".*?</a>', "", fragment, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


@dataclass(frozen=True)
class PrintedPage:
    key: str  # the page's id (PAGES key): the prefix of its ids
    url: str  # its url in the site ("<guide>/procedure/")
    title: str
    html: str  # the body as MkDocs rendered it


def _rewrite(page: PrintedPage, by_url: dict[str, str]) -> str:
    """*page*'s body for the joined document: ids prefixed with the page, links to a printed page
    made links inside the document, links to anything else of the site made plain text,
    ``<pre class="mermaid">`` made the element Mermaid renders."""
    def attr(m: re.Match) -> str:
        space, name, value = m.groups()
        if name == "id":
            return f'{space}id="{page.key}--{value}"'
        parts = urlsplit(html.unescape(value))
        if parts.scheme or value.startswith("//"):
            return m.group(0)  # outside the site: kept (printed as a link)
        if not parts.path:
            return f'{space}href="#{page.key}--{parts.fragment}"' if parts.fragment else m.group(0)
        target = posixpath.normpath(posixpath.join("/" + page.url, parts.path)).lstrip("/")
        target = target if target.endswith("/") or "." in posixpath.basename(target) else target + "/"
        key = by_url.get(target)
        if key is None:
            return ' data-rb-unlinked=""'  # a download or a page not printed: plain text
        return f'{space}href="#{key}--{parts.fragment}"' if parts.fragment else f'{space}href="#{key}"'

    body = _TAG.sub(lambda t: _ATTR.sub(attr, t.group(0)), page.html)
    return _MERMAID.sub(r'<div class="mermaid">\1</div>', body)


def _contents(pages: list[PrintedPage], numbers: dict[str, int] | None) -> tuple[str, list[str]]:
    """The table of contents (each page and its second-level headings) and the ids of its
    entries' targets. Each entry links a target inside its heading (``rb-toc-N``); *numbers*
    (target -> page) fills the page column, or a placeholder of the same width."""
    items, targets = [], []
    for page in pages:
        entries = [(1, page.title)] + [(2, _text(m.group(1))) for m in _H2.finditer(page.html)]
        for level, text in entries:
            n = len(targets)
            targets.append(f"rb-toc-{n}")
            number = str(numbers[f"rb-toc-{n}"]) if numbers and f"rb-toc-{n}" in numbers else "000"
            hidden = "" if numbers else ' style="visibility:hidden"'
            items.append(f'<li class="rb-toc-{level}"><a href="#rb-toc-{n}">{html.escape(text)}</a>'
                         f'<span class="rb-toc-page"{hidden}>{number}</span></li>')
    return "<ol class=\"rb-toc\">" + "".join(items) + "</ol>", targets


def _mark_targets(pages: list[PrintedPage], bodies: list[str]) -> list[str]:
    """Each page's body with the table of contents' targets put inside their headings: the
    page's title (its first heading) and each second-level heading, in the order _contents
    numbers them."""
    out, n = [], 0
    for page, body in zip(pages, bodies):
        first = re.search(r"<h1\b[^>]*>", body)
        parts = [f'<section class="rb-page" id="{page.key}">']
        if first is None:
            parts.append(f'<h1><span id="rb-toc-{n}"></span>{html.escape(page.title)}</h1>')
            n += 1
        else:
            body = body[:first.end()] + f'<span id="rb-toc-{n}"></span>' + body[first.end():]
            n += 1

        def mark(m: re.Match) -> str:
            nonlocal n
            tag = f"{m.group(0)}<span id=\"rb-toc-{n}\"></span>"
            n += 1
            return tag

        body = re.sub(r"<h2\b[^>]*>", mark, body)  # the headings _H2 finds, in the same order
        parts += [body, "</section>"]
        out.append("".join(parts))
    return out


def document(*, lang: str, title: str, header: str, cover: str, contents_title: str | None,
             pages: list[PrintedPage] | None = None, body: str = "", stylesheets: list[str] = (),
             mermaid: str | None = None, numbers: dict[str, int] | None = None, extra_css: str = "") -> str:
    """A printable HTML document: the cover, the table of contents (when *contents_title*), then
    *pages* (or *body*). *header* is the running header's text; *stylesheets* and *mermaid* are
    paths relative to the document; *extra_css* is added to the print stylesheet."""
    toc = ""
    if pages is not None:
        by_url = {p.url: p.key for p in pages}
        bodies = _mark_targets(pages, [_rewrite(p, by_url) for p in pages])
        if contents_title:
            listing, _ = _contents(pages, numbers)
            toc = f'<nav class="rb-contents"><h1 class="rb-contents-title">{html.escape(contents_title)}</h1>{listing}</nav>'
        body = "".join(bodies)
    links = "".join(f'<link rel="stylesheet" href="{html.escape(s)}">' for s in stylesheets)
    script = ""
    if mermaid:
        script = (f'<script src="{html.escape(mermaid)}"></script><script>'
                  "mermaid.initialize({startOnLoad: false, theme: 'default', "
                  f"fontFamily: {TEXT_FONT!r}, flowchart: {{useMaxWidth: true}}}});"
                  "mermaid.run({querySelector: '.mermaid'})"
                  ".then(() => { window.rbReady = true; }, (e) => { window.rbError = String(e && e.message || e); });"
                  "</script>")
    else:
        script = "<script>window.rbReady = true;</script>"
    return (f'<!doctype html><html lang="{lang}" dir="ltr"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"{links}<style>{print_css(header)}{extra_css}</style></head>"
            f'<body data-md-color-scheme="default"><div class="md-typeset">{cover}{toc}{body}</div>{script}</body></html>')


def print_css(header: str) -> str:
    """The print stylesheet: A4, the running header and the page numbers in the page margins (not
    on the cover), each page of the guide on a new sheet, code and tables that wrap, every tab of
    a tabbed block shown, and the fonts (see the module's text)."""
    head = header.replace("\\", "\\\\").replace('"', '\\"')
    return f"""
@page {{ size: A4; margin: 18mm 16mm 18mm 16mm;
  @top-left {{ content: "{head}"; font-family: {TEXT_FONT}; font-size: 8pt; color: #666; }}
  @bottom-center {{ content: counter(page) " / " counter(pages); font-family: {TEXT_FONT}; font-size: 9pt; }} }}
@page cover {{ margin: 0; @top-left {{ content: none; }} @bottom-center {{ content: none; }} }}
html, body {{ margin: 0; padding: 0; background: #fff; }}
body, .md-typeset {{ font-family: {TEXT_FONT}; font-size: 10pt; line-height: 1.6; color: #000;
  --md-text-font-family: {TEXT_FONT}; --md-code-font-family: {CODE_FONT}; }}
.md-typeset code, .md-typeset pre, .md-typeset kbd {{ font-family: {CODE_FONT}; }}
.md-typeset {{ font-size: 10pt; }}
.md-typeset h1, .md-typeset h2, .md-typeset h3 {{ word-break: auto-phrase; }}
.md-typeset h1 {{ font-size: 18pt; font-weight: 700; color: #1a237e; margin: 0 0 1em; }}
.md-typeset h2 {{ font-size: 14pt; font-weight: 700; break-after: avoid; }}
.md-typeset h3, .md-typeset h4 {{ font-weight: 700; break-after: avoid; }}
.md-typeset .headerlink {{ display: none; }}
.rb-page {{ break-before: page; }}
.rb-cover {{ page: cover; height: 297mm; box-sizing: border-box; padding: 60mm 25mm 30mm;
  display: flex; flex-direction: column; }}
.rb-cover .rb-cover-product {{ font-size: 14pt; color: #3949ab; margin: 0 0 4mm; }}
.rb-cover h1 {{ font-size: 24pt; line-height: 1.35; margin: 0 0 12mm; color: #1a237e; }}
.rb-cover dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 2mm 8mm; font-size: 11pt; margin: 0; }}
.rb-cover dt {{ font-weight: 700; }} .rb-cover dd {{ margin: 0; }}
.rb-cover .rb-cover-foot {{ margin-top: auto; font-size: 9pt; color: #555; }}
.rb-contents {{ break-before: page; }}
.rb-toc {{ list-style: none; padding: 0; margin: 0; }}
.rb-toc li {{ display: flex; align-items: baseline; margin: 0; }}
.rb-toc li a {{ color: #000; text-decoration: none; }}
.rb-toc li::after {{ content: ""; order: 1; flex: 1; border-bottom: 1px dotted #999; margin: 0 2mm; }}
.rb-toc .rb-toc-page {{ order: 2; min-width: 3em; text-align: right; font-variant-numeric: tabular-nums; }}
.rb-toc .rb-toc-1 {{ font-weight: 700; margin-top: 3mm; }}
.rb-toc .rb-toc-2 {{ padding-left: 6mm; }}
.md-typeset pre > code, .md-typeset pre {{ white-space: pre-wrap; word-break: break-all; overflow: visible; }}
.md-typeset pre {{ break-inside: auto; }}
.md-typeset .md-typeset__scrollwrap, .md-typeset .md-typeset__table {{ overflow: visible; display: block; }}
.md-typeset table:not([class]) {{ display: table; width: 100%; font-size: 8.5pt; break-inside: auto; }}
.md-typeset table:not([class]) tr {{ break-inside: avoid; }}
.md-typeset table:not([class]) td, .md-typeset table:not([class]) th {{ overflow-wrap: anywhere; }}
.md-typeset .tabbed-set > input, .md-typeset .tabbed-labels {{ display: none; }}
.md-typeset .tabbed-content {{ display: block; }}
.md-typeset .tabbed-content > .tabbed-block {{ display: block !important; }}
.md-typeset .admonition, .md-typeset details {{ break-inside: avoid; }}
.mermaid {{ text-align: center; break-inside: avoid; margin: 1em 0; }}
.md-typeset p:has(+ .mermaid) {{ break-after: avoid; }}
.mermaid svg {{ max-width: 100%; height: auto; }}
a[data-rb-unlinked] {{ color: inherit; text-decoration: none; }}
"""


def cover_html(title: str, product: str, rows: list[tuple[str, str]], foot: str) -> str:
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows)
    return (f'<section class="rb-cover"><p class="rb-cover-product">{html.escape(product)}</p>'
            f"<h1>{html.escape(title)}</h1><dl>{items}</dl>"
            f'<p class="rb-cover-foot">{html.escape(foot)}</p></section>')


def print_document(printer: Printer, doc: Path, make_html, out: Path, *, numbered: bool) -> int:
    """Write the document *make_html(numbers)* to *doc*, print it to *out*; with *numbered*,
    print again with the contents' page numbers until they agree with the print (at most 3
    prints). Returns the number of prints."""
    numbers = None
    for prints in range(1, 4):
        doc.write_text(make_html(numbers), encoding="utf-8")
        page = printer.open(doc)
        try:
            printer.print(page, out)
        finally:
            page.close()
        if not numbered:
            return prints
        dests = {k: v for k, v in named_destinations(out).items() if k.startswith("rb-toc-")}
        if numbers is not None and dests == numbers:
            return prints
        numbers = dests
    return prints


def print_html(make_html, doc: Path, out: Path) -> tuple[int, float]:
    """Write the HTML document *make_html(None)* to *doc* and print it to *out* (both atomically:
    a partial file renamed); returns the PDF's pages and the seconds it took."""
    from runbook_engine.artifacts.files import write_atomic

    t0 = time.perf_counter()
    write_atomic(doc, make_html(None).encode("utf-8"))
    partial = out.with_name(f".{out.name}.printing")
    scratch = doc.with_name(f".{doc.name}.printing.html")
    try:
        with Printer() as printer:
            print_document(printer, scratch, make_html, partial, numbered=False)
        count = pdf_pages(partial)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
        scratch.unlink(missing_ok=True)
    return count, time.perf_counter() - t0


# --------------------------------------------------------------------------------------------
# The guide
# --------------------------------------------------------------------------------------------


def guide_pdf(project: Project, guide_id: str, lang: str, out: Path, *, inventory: Path | None = None,
              today: datetime.date | None = None, on_stage: OnStage = unheard) -> PdfReport:
    """The guide *guide_id* in *lang* as one PDF at *out* (with *inventory*: the manual for that
    cluster). The file is written atomically: a temporary file beside *out*, renamed. *on_stage*
    hears the build's stages (publish/progress.py), then ``print``."""
    t0 = time.perf_counter()
    kb = project.knowledge
    guide = kb.guides[guide_id]
    deployment = load_deployment(project, inventory) if inventory is not None else None
    L = lambda i, **f: label(kb, i)(lang).format(**f) if f else label(kb, i)(lang)  # noqa: E731
    mermaid_js(project)  # fail early, with the one-line install hint
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rb-pdf-") as tmp:
        site = Path(tmp) / "site"
        content: dict = {}
        os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
        language = build_language(project, lang, site, inventory=inventory, content=content, on_stage=on_stage)
        built = time.perf_counter()
        on_stage(Stage("language", lang, done=True, count=language.pages, seconds=language.seconds))
        pages = []
        for p in guide_pages_of(guide, deployment=deployment is not None):
            if p.id in NOT_PRINTED:
                continue
            c = content[PAGES[p.id].format(guide=guide_id)]
            pages.append(PrintedPage(p.id, c["url"], c["title"], c["html"]))
        title = guide.meta.title(lang)
        rows = [(L("pdf-edition"), guide.meta.edition_label(lang) + (f" ({guide.meta.published})" if guide.meta.published else "")),
                (L("pdf-date"), (today or datetime.date.today()).isoformat())]
        header = title
        if deployment is not None:
            rows.insert(0, (L("pdf-cluster"), L("pdf-cluster-value", cluster=deployment.cluster,
                                                 nodes=L("list-separator").join(n.name for n in deployment.nodes))))
            header = L("deploy-site-name", product=guide.meta.product(lang), cluster=deployment.cluster)
        cover = cover_html(title, header if deployment is not None else guide.meta.product(lang), rows, L("pdf-generated"))
        css = [str(p.relative_to(site)) for p in sorted((site / "assets" / "stylesheets").glob("main.*.min.css"))]
        css.append("assets/stylesheets/runbook.css")

        def make(numbers):
            return document(lang=lang, title=title, header=header, cover=cover, contents_title=L("pdf-contents"),
                            pages=pages, stylesheets=css, mermaid="assets/javascripts/mermaid.min.js", numbers=numbers)

        partial = out.with_name(f".{out.name}.printing")
        on_stage(Stage("print", lang))
        try:
            with Printer() as printer:
                prints = print_document(printer, site / "print.html", make, partial, numbered=True)
            count = pdf_pages(partial)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    done = time.perf_counter()
    return PdfReport(out, count, done - t0, built - t0, done - built, prints)
