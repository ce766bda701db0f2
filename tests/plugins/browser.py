"""Fixtures for the manual site: one build per test session, the built pages parsed, the site
served on 127.0.0.1, Material's own search worker run under node, and Debian's Chromium.

* ``built_site``: ``build_site`` into a session tmp dir (ja at the root, en under en/).
* ``site_pages``: every built HTML page parsed with :mod:`html.parser` (links, tables, code).
* ``site_server``: the built site on 127.0.0.1 (a free port), through `runbook serve`'s handler.
* ``material_search``: runs ``material/templates/assets/javascripts/workers/search.*.min.js``
  under node with a minimal ``self``/``postMessage``/``importScripts`` shim, sends the worker's
  setup message ``{type: 0, data: {config, docs, options}}`` with a language's
  search_index.json, then one ``{type: 2, data: query}`` per query, and returns the page of each
  result group in rank order (the worker answers ``{type: 3, data: {items: [[hit, ...], ...]}}``).
* ``chromium``: a headless Chromium (playwright) started with the flags from the project notes.
* ``site_page``: a fresh browser context and page on the served site, with clipboard permissions
  for 127.0.0.1 and every request the page makes recorded (``.requests``, ``.leaving()``).
* ``screenshot_dir``: ``test-artifacts/screenshots/`` at the repository root (created on demand).

Parsed pages also carry their headings (``.headings``: level, id, text without the permalink) and
the text of ``rb-*`` blocks with the id of the heading they follow (``.blocks``). Each table has the
source (and key) its producer named (``<!-- rb-table: SOURCE [KEY] -->`` before it:
artifacts/markdown.py's ``table``); a marker that no table follows is kept in ``.stray_markers``.

Node and Chromium are real components: missing, they skip locally and fail under CI=true.
"""
from __future__ import annotations

import html.parser
import http.server
import json
import os
import re
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from plugins.components import require, require_executable

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


# --------------------------------------------------------------------------------------------
# Parsing built pages
# --------------------------------------------------------------------------------------------


@dataclass
class Table:
    context: dict[str, str]  # attributes of the nearest enclosing div with a data-* attribute or rb-* class
    header: list[str]
    rows: list[list[str]]
    heading: str = ""  # id of the last heading before it ("" before the first)
    source: str = ""  # the data it mirrors, as its marker names it ("" for a table without a marker)
    key: str = ""  # which table of its source's producer (a direction, a family, a script ...)


#: The comment line artifacts/markdown.py's ``table`` puts before every table.
TABLE_MARKER = re.compile(r"^\s*rb-table: (\S+)(?: (\S+))?\s*$")


@dataclass
class Heading:
    level: int
    id: str
    text: str  # without the permalink sign


@dataclass
class Block:
    cls: str  # class attribute of the rb-* div
    heading: str  # id of the heading it follows ("" before the first)
    text: str
    attrs: dict[str, str] = field(default_factory=dict)  # the div's attributes
    code: list[str] = field(default_factory=list)  # text of the <pre><code> blocks in it


@dataclass
class ParsedPage:
    path: Path  # relative to the site root
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, attribute, url)
    tables: list[Table] = field(default_factory=list)
    code_blocks: list[str] = field(default_factory=list)  # text of <pre><code> blocks
    alternates: list[tuple[str, str]] = field(default_factory=list)  # (hreflang, href) of the switch
    headings: list[Heading] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    stray_markers: list[str] = field(default_factory=list)  # table markers no table followed

    def tables_with(self, **context: str) -> list[Table]:
        return [t for t in self.tables if all(t.context.get(k) == v for k, v in context.items())]


class _PageParser(html.parser.HTMLParser):
    def __init__(self, page: ParsedPage) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.divs: list[dict[str, str]] = []
        self.table: Table | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.in_head_row = False
        self.pre = 0
        self.code: list[str] | None = None
        self.heading: tuple[int, str, list[str]] | None = None
        self.headerlink = 0  # depth inside <a class="headerlink"> (the permalink sign)
        self.blocks: list[tuple[int, str, str, list[str], dict, list[str]]] = []  # (div depth, class, heading, text, attrs, code)
        self.marker: tuple[str, str] | None = None  # the table marker waiting for its table

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.heading = (int(tag[1]), a.get("id", ""), [])
        elif tag == "a" and self.heading is not None and "headerlink" in a.get("class", "").split():
            self.headerlink += 1
        if tag == "div" and any(c.startswith("rb-") for c in a.get("class", "").split()):
            last = self.page.headings[-1].id if self.page.headings else ""
            self.blocks.append((len(self.divs) + 1, a.get("class", ""), last, [], a, []))
        for attr in ("href", "src"):
            if attr in a:
                self.page.links.append((tag, attr, a[attr]))
        if tag == "a" and "md-select__link" in a.get("class", ""):
            self.page.alternates.append((a.get("hreflang", ""), a.get("href", "")))
        if tag == "div":
            self.divs.append(a)
        elif tag == "table":
            ctx = next((d for d in reversed(self.divs) if any(k.startswith("data-") for k in d) or "rb-" in d.get("class", "")), {})
            source, key = self.marker or ("", "")
            self.marker = None
            self.table = Table(dict(ctx), [], [], self.page.headings[-1].id if self.page.headings else "", source, key)
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")
        elif tag == "pre":
            self.pre += 1
        elif tag == "code" and self.pre:
            self.code = []

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and self.heading is not None:
            level, hid, parts = self.heading
            self.page.headings.append(Heading(level, hid, " ".join("".join(parts).split())))
            self.heading = None
        elif tag == "a" and self.headerlink:
            self.headerlink -= 1
        if tag == "div" and self.blocks and self.blocks[-1][0] == len(self.divs):
            _, cls, hid, parts, attrs, code = self.blocks.pop()
            self.page.blocks.append(Block(cls, hid, "".join(parts).strip(), attrs, code))
        if tag == "div" and self.divs:
            self.divs.pop()
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None and self.table is not None:
            if not self.table.header:
                self.table.header = self.row
            else:
                self.table.rows.append(self.row)
            self.row = None
        elif tag == "table" and self.table is not None:
            self.page.tables.append(self.table)
            self.table = None
        elif tag == "code" and self.code is not None:
            self.page.code_blocks.append("".join(self.code))
            for block in self.blocks:
                block[5].append("".join(self.code))
            self.code = None
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_comment(self, data):
        m = TABLE_MARKER.match(data)
        if m is None:
            return
        if self.marker is not None:
            self.page.stray_markers.append(" ".join(filter(None, self.marker)))
        self.marker = (m.group(1), m.group(2) or "")

    def close(self):
        super().close()
        if self.marker is not None:
            self.page.stray_markers.append(" ".join(filter(None, self.marker)))
            self.marker = None

    def handle_data(self, data):
        if self.heading is not None and not self.headerlink:
            self.heading[2].append(data)
        for block in self.blocks:
            block[3].append(data)
        if self.cell is not None:
            self.cell.append(data)
        if self.code is not None:
            self.code.append(data)


@dataclass
class CaseRow:
    values: list[str]  # the variables' cells as shown ("(any)", "(not set)" or the value)
    shown: list[str]  # the commands cell, one line per command or shared run, as shown
    calls: list[str]  # the commands, shared runs expanded
    last: str  # how the script ended (aborted / exit code)


@dataclass
class CaseTable:
    runs: dict[int, list[str]]  # shared run number -> its commands (the block above the table)
    names: dict[str, int]  # how a row names a shared run ("Shared commands 1 (14 commands)") -> number
    rows: list[CaseRow]


def case_table(page: ParsedPage, script: str, lang: str) -> CaseTable:
    """The case table of *script* on a scripts page: its shared runs (from the blocks above the
    table) and its rows, each shared run a row names (worded by the publish labels) expanded into
    the run's commands in ``calls``."""
    from runbook_engine.model.project import Project
    from runbook_engine.publish.labels import label

    kb = Project.find(REPO).knowledge
    runs = {int(b.attrs["data-shared"]): b.code[0].rstrip("\n").split("\n")
            for b in page.blocks if "rb-case-shared" in b.cls.split() and b.attrs.get("data-script") == script}
    names = {f"{label(kb, 'case-shared')(lang).format(n=n)} ({label(kb, 'case-shared-count')(lang).format(count=len(run))})": n
             for n, run in runs.items()}
    (table,) = page.tables_with(**{"data-script": script})
    rows = []
    width = len(table.header) - 2
    for row in table.rows:
        shown = row[width].split("\n") if row[width] != "—" else []
        calls = [c for line in shown for c in (runs[names[line]] if line in names else [line])]
        rows.append(CaseRow(row[:width], shown, calls, row[width + 1]))
    return CaseTable(runs, names, rows)


def parse_page(root: Path, path: Path) -> ParsedPage:
    return parse_html(path.read_text(encoding="utf-8"), path.relative_to(root))


def parse_html(text: str, path: Path = Path("")) -> ParsedPage:
    """HTML text parsed as a built page is (a notebook cell's Markdown rendered, for example)."""
    page = ParsedPage(path)
    parser = _PageParser(page)
    parser.feed(text)
    parser.close()
    return page


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory):
    """The site built once per session: ``BuildReport`` (``.out`` is the site root)."""
    from runbook_engine.model.project import Project
    from runbook_engine.publish.site import build_site, mermaid_js

    project = Project.find(REPO)
    try:
        mermaid_js(project)
    except Exception as exc:  # noqa: BLE001 - reported as the reason
        require(False, str(exc))
    return build_site(project, tmp_path_factory.mktemp("site") / "out")


@pytest.fixture(scope="session")
def site_pages(built_site) -> dict[str, ParsedPage]:
    """Every built HTML page, by its path relative to the site root (``en/surfnavi/index.html``)."""
    root = built_site.out
    return {str(p.relative_to(root)): parse_page(root, p) for p in sorted(root.rglob("*.html"))}


@pytest.fixture(scope="session")
def site_server(built_site) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT/``) of the built site served by http.server with the
    handler `runbook serve` uses (publish/serve.py: its language's 404 page for a missing path)."""
    from runbook_engine.publish.serve import site_handler

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), site_handler(built_site.out))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


_NODE_SHIM = r"""
// Run Material's search worker under node: the worker calls addEventListener("message"),
// postMessage() and importScripts() (for lunr's language support, relative to its own folder).
const fs = require("fs"), path = require("path"), vm = require("vm");
const [workerPath, indexPath, queriesPath] = process.argv.slice(2);
const workerDir = path.dirname(workerPath);
const listeners = [];
let reply = null;
globalThis.self = globalThis;
globalThis.addEventListener = (type, fn) => { if (type === "message") listeners.push(fn); };
globalThis.postMessage = (msg) => { const r = reply; reply = null; r(msg); };
globalThis.importScripts = (...urls) => {
  for (const url of urls)
    vm.runInThisContext(fs.readFileSync(path.resolve(workerDir, url), "utf8"), { filename: url });
};
vm.runInThisContext(fs.readFileSync(workerPath, "utf8"), { filename: workerPath });
const send = (msg) => new Promise((resolve) => { reply = resolve; listeners.forEach((fn) => fn({ data: msg })); });
(async () => {
  const index = JSON.parse(fs.readFileSync(indexPath, "utf8"));
  const ready = await send({ type: 0, data: { config: index.config, docs: index.docs, options: { suggest: false } } });
  if (ready.type !== 1) throw new Error("worker did not answer the setup with type 1");
  const out = {};
  for (const q of JSON.parse(fs.readFileSync(queriesPath, "utf8"))) {
    const res = await send({ type: 2, data: q });
    if (res.type !== 3) throw new Error("worker did not answer a query with type 3");
    out[q] = res.data.items.map((group) => ({
      page: group[0].location.split("#")[0],
      hits: group.map((hit) => [hit.location, hit.score]),
    }));
  }
  process.stdout.write(JSON.stringify(out));
})().catch((err) => { console.error(err); process.exit(1); });
"""


def material_worker() -> Path:
    import material

    workers = Path(material.__file__).parent / "templates" / "assets" / "javascripts" / "workers"
    found = sorted(workers.glob("search.*.min.js"))
    assert found, f"Material's search worker not found in {workers}"
    return found[0]


@pytest.fixture(scope="session")
def material_search(built_site, tmp_path_factory) -> Callable[[str, list[str]], dict[str, list[dict]]]:
    """``search(lang, queries)`` → ``{query: [{"page": location, "hits": [...]}, ...]}`` in rank
    order, computed by Material's search worker (the same code the browser runs) under node."""
    node = require_executable("node", "nodejs")
    work = tmp_path_factory.mktemp("search")
    shim = work / "run-worker.js"
    shim.write_text(_NODE_SHIM, encoding="utf-8")
    # the worker loads ../lunr/... relative to itself: use the copy in the built site
    worker = built_site.out / "assets" / "javascripts" / "workers" / material_worker().name

    def search(lang: str, queries: list[str]) -> dict[str, list[dict]]:
        index = built_site.out / ("en/" if lang == "en" else "") / "search" / "search_index.json"
        qfile = work / f"queries-{lang}.json"
        qfile.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
        proc = subprocess.run(
            [node, str(shim), str(worker), str(index), str(qfile)],
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return search


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian Chromium driven by playwright (flags from the project notes)."""
    require(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} not found (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a test dependency
        require(False, "playwright (python) is not installed")
    from runbook_engine.engine.transports.environ import node_environ

    # The playwright driver and Chromium live for the whole session: they start with no secret in
    # their environment (a secret a test set earlier in the session stays with this process)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(node_environ(saved))
    try:
        pw_context = sync_playwright()
        pw = pw_context.__enter__()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=node_environ(saved))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        yield browser
    finally:
        browser.close()
        pw_context.__exit__(None, None, None)


# --------------------------------------------------------------------------------------------
# Browser pages on the served site
# --------------------------------------------------------------------------------------------

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where browser tests save screenshots (kept as CI artefacts)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@dataclass
class SitePage:
    """A playwright page on the served site and every request it made, in order."""

    page: object
    base: str  # http://127.0.0.1:PORT/
    requests: list[str] = field(default_factory=list)

    def leaving(self) -> list[str]:
        """Requests to anything but the local site (data: and blob: urls stay in the page)."""
        return [u for u in self.requests if not u.startswith((self.base, "data:", "blob:"))]

    def goto(self, rel: str) -> None:
        self.page.goto(self.base + rel)


@pytest.fixture
def site_page(chromium, site_server) -> Iterator[SitePage]:
    """A new context (clipboard read/write granted for the site's origin) and page; each request
    is recorded through ``page.on("request")``."""
    origin = site_server.rstrip("/")
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = context.new_page()
    sp = SitePage(page, site_server)
    page.on("request", lambda r: sp.requests.append(r.url))
    try:
        yield sp
    finally:
        context.close()


def assert_guide_pages(built_site, gid: str, lang: str, present: tuple[str, ...], absent: tuple[str, ...]) -> None:
    """The built site has the guide's pages *present* ("" is its index) in *lang*, and no folder
    for the pages *absent* (those the guide has no data for)."""
    root = built_site.out / ("en" if lang == "en" else "") / gid
    for page in present:
        assert (root / page / "index.html").is_file(), page
    for page in absent:
        assert not (root / page).exists(), f"{page}: the guide has no {page}"
