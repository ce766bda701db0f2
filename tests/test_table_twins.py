"""Every table has a twin: each table on every built page (both languages, every guide of kb/ and
the site's own pages), in every committed notebook (as Jupyter renders it: ``jupyter nbconvert
--to html``) and in a manual for one cluster (``runbook build --inventory``) names the data it
mirrors (``<!-- rb-table: SOURCE [KEY] -->``, written by ``artifacts.markdown.table``, the one
function that makes a Markdown table), and equals what that source's twin (tests/twins.py) makes
from the engine's ``desired()`` data or from the model, never from the function that printed it.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from plugins.browser import REPO, ParsedPage, parse_html, parse_page

LANGS = ["ja", "en"]
MAIL = REPO / "tests" / "data" / "inventories" / "surfnavi-mail.yaml"
VENV_BIN = Path(sys.executable).parent


def _project():
    from runbook_engine.model.project import Project

    return Project.find(REPO)


def _guide_ids() -> list[str]:
    return list(_project().knowledge.guides)


@pytest.fixture(scope="module")
def project():
    return _project()


def _page_guide_lang(rel: str, kb) -> tuple[str | None, str]:
    """(guide id or None, language) of a built page from its path (``en/<guide>/...``)."""
    lang = "en" if rel.startswith("en/") else "ja"
    first = (rel[3:] if lang == "en" else rel).split("/", 1)[0]
    return (first if first in kb.guides else None), lang


@pytest.fixture(scope="module")
def notebook_pages(tmp_path_factory) -> dict[str, ParsedPage]:
    """The committed notebooks as Jupyter renders them (``jupyter nbconvert --to html``), parsed,
    by file name (``surfnavi.ja.ipynb``)."""
    out = tmp_path_factory.mktemp("nbhtml")
    notebooks = sorted((REPO / "runbooks").glob("*.ipynb"))
    return {p.name: page for p, page in zip(notebooks, _nbconvert(notebooks, out))}


def _nbconvert(notebooks: list[Path], out: Path) -> list[ParsedPage]:
    proc = subprocess.run([str(VENV_BIN / "jupyter"), "nbconvert", "--to", "html", "--output-dir", str(out),
                           *map(str, notebooks)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [parse_html((out / f"{p.stem}.html").read_text(encoding="utf-8"), Path(p.name)) for p in notebooks]


@pytest.fixture(scope="module")
def manual(tmp_path_factory):
    """The manual for the mail cluster (tests/data/inventories/surfnavi-mail.yaml): its deployment,
    its pages parsed and its two notebooks as Jupyter renders them."""
    from plugins.components import require
    from runbook_engine.publish.deployment import load_deployment
    from runbook_engine.publish.site import SiteBuildError, build_site, mermaid_js

    project = _project()
    try:
        mermaid_js(project)
    except SiteBuildError as exc:
        require(False, str(exc))
    tmp = tmp_path_factory.mktemp("manual")
    root = build_site(project, tmp / "site-mail", inventory=MAIL).out
    pages = {str(p.relative_to(root)): parse_page(root, p) for p in sorted(root.rglob("*.html"))}
    books = [root / ("en" if lang == "en" else "") / "runbooks" / f"surfnavi.{lang}.ipynb" for lang in LANGS]
    notebooks = dict(zip((p.name for p in books), _nbconvert(books, tmp / "nbhtml")))
    return load_deployment(project, MAIL), pages, notebooks


def _all_pages(site_pages, notebook_pages, manual) -> dict[str, ParsedPage]:
    _, manual_pages, manual_notebooks = manual
    return {**{f"site: {k}": v for k, v in site_pages.items()},
            **{f"runbooks/{k}": v for k, v in notebook_pages.items()},
            **{f"manual: {k}": v for k, v in manual_pages.items()},
            **{f"manual notebook: {k}": v for k, v in manual_notebooks.items()}}


# --------------------------------------------------------------------------------------------
# Every table names its source; the sources are the registry, and every one has a twin
# --------------------------------------------------------------------------------------------


def test_every_table_on_every_page_and_in_every_notebook_names_a_registered_source(site_pages, notebook_pages, manual):
    from runbook_engine.artifacts.markdown import TABLE_SOURCES

    pages = _all_pages(site_pages, notebook_pages, manual)
    assert len(notebook_pages) == 2 * len(_guide_ids())
    unmarked = [(where, t.header) for where, page in pages.items() for t in page.tables if not t.source]
    assert unmarked == [], "tables without a source marker (make them with artifacts.markdown.table)"
    unknown = [(where, t.source, t.header) for where, page in pages.items() for t in page.tables if t.source not in TABLE_SOURCES]
    assert unknown == []
    stray = [(where, page.stray_markers) for where, page in pages.items() if page.stray_markers]
    assert stray == [], "a table marker with no table after it"


def test_the_sources_on_the_pages_are_the_registry_and_each_has_a_twin(site_pages, notebook_pages, manual):
    """A source no page uses, or one without a twin, fails: adding a kind of table means adding
    its twin."""
    from runbook_engine.artifacts.markdown import TABLE_SOURCES
    from twins import TWINS

    pages = _all_pages(site_pages, notebook_pages, manual)
    shown = {t.source for page in pages.values() for t in page.tables}
    assert set(TWINS) == set(TABLE_SOURCES)
    assert shown == set(TABLE_SOURCES), f"never shown: {sorted(set(TABLE_SOURCES) - shown)}"


def test_a_table_of_an_unregistered_source_is_refused_and_no_other_code_writes_a_markdown_table():
    from runbook_engine.artifacts.markdown import table

    with pytest.raises(ValueError, match="not registered"):
        table(["a"], [["1"]], source="ports-typo")
    with pytest.raises(TypeError):
        table(["a"], [["1"]])  # the source is required
    # a Markdown table's delimiter row, written anywhere but table() (Python, Jinja templates, page templates)
    delimiter = re.compile(r"\|\s*:?-{3,}:?\s*\|")
    found = []
    for folder, pattern in (("src", "*.py"), ("snippets", "*.j2"), ("docs", "*.md"), ("overrides", "*.html")):
        for path in sorted((REPO / folder).rglob(pattern)):
            if path.name == "markdown.py" and path.parent.name == "artifacts":
                continue
            text = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(REPO)}:{text[:m.start()].count(chr(10)) + 1}" for m in delimiter.finditer(text)]
            if path.suffix == ".py":  # or pieced together: "|" + "---|" * n
                found += [f"{path.relative_to(REPO)}:{node.lineno}" for node in ast.walk(ast.parse(text))
                          if isinstance(node, ast.Constant) and isinstance(node.value, str)
                          and ("---|" in node.value or "|---" in node.value)]
    assert found == []


# --------------------------------------------------------------------------------------------
# Every table equals its twin
# --------------------------------------------------------------------------------------------


def _check_tables(project, where: str, page: ParsedPage, guide, lang: str, deployment=None) -> list[str]:
    """The differences between the tables of *page* and their twins; each source's keys shown
    are all the keys its twin has."""
    from twins import TWINS, compare

    problems = []
    twins: dict[str, dict] = {}
    keys: dict[str, set] = {}
    for t in page.tables:
        if t.source not in twins:
            twins[t.source] = TWINS[t.source](project, guide, lang, deployment)
        keys.setdefault(t.source, set()).add(t.key)
        expected = twins[t.source].get(t.key)
        if expected is None:
            problems.append(f"{where}: {t.source} table '{t.key}' has no twin (twin keys: {sorted(twins[t.source])})")
            continue
        diff = compare(t, page, expected)
        if diff is not None:
            got, want = diff
            first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            problems.append(f"{where}: {t.source} {t.key} differs from its twin at row {first} "
                            f"(0 = header): shown {got[first] if first < len(got) else None!r}, "
                            f"twin {want[first] if first < len(want) else None!r}")
    for source, shown in keys.items():
        if shown != set(twins[source]):
            problems.append(f"{where}: {source} tables {sorted(shown)}, its twin has {sorted(twins[source])}")
    return problems


def _step_sources(project, guide, step) -> list[str]:
    """The table sources a step shows, in order (``shows:`` in procedure.yaml)."""
    kb = project.knowledge
    out = []
    for name in step.shows:
        if name == "ports":
            out += ["ports"] * sum(1 for d in ("in", "out") if kb.ports_for(guide, d))
            out += ["app-ports"] if guide.meta.app_ports else []
        elif name == "resources":
            out += ["resources"] + (["monitors"] if guide.monitors else [])
        elif name not in ("scripts", "clpcfset"):
            out.append(name)
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("gid", _guide_ids())
def test_every_table_of_a_guides_pages_and_notebook_equals_its_twin(site_pages, notebook_pages, project, gid, lang):
    """All of the guide's pages in *lang* and its committed notebook: each table equals its twin
    (the engine's desired() data on the guide's sandbox inventory, or the model), and each step
    of the procedure page and of the notebook shows the tables its ``shows:`` names."""
    kb = project.knowledge
    guide = kb.guides[gid]
    problems, checked = [], 0
    mine = {rel: page for rel, page in site_pages.items() if _page_guide_lang(rel, kb) == (gid, lang)}
    notebook = notebook_pages[f"{gid}.{lang}.ipynb"]
    for where, page in [*mine.items(), (f"runbooks/{gid}.{lang}.ipynb", notebook)]:
        problems += _check_tables(project, where, page, guide, lang)
        checked += len(page.tables)
    # each step shows its tables: under its heading on the procedure page, in order in the notebook
    procedure = mine[("en/" if lang == "en" else "") + f"{gid}/procedure/index.html"]
    for step in guide.steps():
        want = _step_sources(project, guide, step)
        shown = [t.source for t in procedure.tables if t.heading == step.id]
        if shown != want:
            problems.append(f"{gid}/procedure ({lang}) step {step.id}: tables {shown}, its shows: {want}")
    in_order = ["steps"] + [s for step in guide.steps() for s in _step_sources(project, guide, step)]
    if [t.source for t in notebook.tables] != in_order:
        problems.append(f"runbooks/{gid}.{lang}.ipynb: tables {[t.source for t in notebook.tables]}, want {in_order}")
    assert problems == []
    assert checked >= len(guide.steps()) and notebook.tables


@pytest.mark.parametrize("lang", LANGS)
def test_every_table_of_the_sites_own_pages_equals_its_twin(site_pages, project, lang):
    """The home, compatibility and inventories pages (no guide): the compatibility matrix and
    the families' versions."""
    kb = project.knowledge
    problems, checked = [], 0
    for rel, page in site_pages.items():
        gid, page_lang = _page_guide_lang(rel, kb)
        if gid is None and page_lang == lang:
            problems += _check_tables(project, rel, page, None, lang)
            checked += len(page.tables)
    assert problems == [] and checked >= 2


@pytest.mark.parametrize("lang", LANGS)
def test_every_table_of_a_manual_for_one_cluster_equals_its_twin_on_that_clusters_inventory(manual, project, lang):
    """The manual for the mail cluster: its tables (the cluster's DNS records, resources, delivery
    commands, script paths and parameter sheet among them) equal twins made from the engine's
    desired() on its own inventory, and so does its notebook."""
    deployment, pages, notebooks = manual
    kb = project.knowledge
    guide = kb.guides[deployment.guide]
    problems, sources = [], set()
    for rel, page in pages.items():
        gid, page_lang = _page_guide_lang(rel, kb)
        if page_lang == lang:
            problems += _check_tables(project, rel, page, kb.guides[gid] if gid else None, lang, deployment)
            sources |= {t.source for t in page.tables}
    book = f"surfnavi.{lang}.ipynb"
    problems += _check_tables(project, book, notebooks[book], guide, lang, deployment)
    assert problems == []
    assert {"parameters", "script-paths", "dns-records", "resources", "services", "delivery"} <= sources
