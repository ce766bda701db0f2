"""Promises of the site build: twin pages in both languages, a language switch to the twin, no
broken internal link, no request leaving the site, exact download bytes, and an atomic swap."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from plugins.browser import REPO


SITE = "http://site.invalid/"


def _resolve(root: Path, page: Path, url: str) -> Path | None:
    """The file a same-site *url* on *page* points to (None if the url leaves the site)."""
    parts = urlsplit(url)
    if parts.scheme in ("mailto", "javascript", "data", "tel"):
        return None
    full = urljoin(SITE + page.as_posix(), url)
    if not full.startswith(SITE):
        return None
    path = urlsplit(full).path.lstrip("/")
    target = root / path
    if path == "" or path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target


def _is_external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme in ("http", "https") or url.startswith("//"))


def _pages(site_pages, lang: str) -> set[str]:
    en = {p for p in site_pages if p.startswith("en/")}
    return en if lang == "en" else set(site_pages) - en


def test_site_every_japanese_page_has_an_english_twin_and_back(site_pages):
    ja = _pages(site_pages, "ja")
    en = {p.removeprefix("en/") for p in _pages(site_pages, "en")}
    assert ja == en
    assert "surfnavi/procedure/index.html" in ja


def test_site_language_switch_of_every_page_links_to_its_twin(built_site, site_pages):
    root = built_site.out
    for rel, page in site_pages.items():
        is_en = rel.startswith("en/")
        twin_rel = rel.removeprefix("en/") if is_en else "en/" + rel
        if rel.endswith("404.html"):
            # rendered for an absolute base url: the switch links to each language's root
            assert dict(page.alternates) == {"ja": "/", "en": "/en/"}, rel
            continue
        links = dict(page.alternates)
        assert set(links) == {"ja", "en"}, rel
        other = "ja" if is_en else "en"
        same = "en" if is_en else "ja"
        assert _resolve(root, Path(rel), links[other]) == root / twin_rel, (rel, links[other])
        assert _resolve(root, Path(rel), links[same]) == root / rel, (rel, links[same])


def test_site_has_no_broken_internal_link(built_site, site_pages):
    root = built_site.out
    broken = []
    for rel, page in site_pages.items():
        for tag, attr, url in page.links:
            if url.startswith("#") or _is_external(url):
                continue
            target = _resolve(root, Path(rel), url)
            if target is not None and not target.is_file():
                broken.append((rel, tag, url))
    assert broken == []


def test_site_makes_no_request_that_leaves_the_site(site_pages):
    """Everything a page loads (src=, <link href=) is local: no CDN, no web fonts, no analytics."""
    leaving = [
        (rel, tag, url)
        for rel, page in site_pages.items()
        for tag, attr, url in page.links
        if (attr == "src" or tag == "link") and _is_external(url)
    ]
    assert leaving == []


def test_site_loads_mermaid_locally_so_material_does_not_fetch_it(built_site, site_pages):
    assert (built_site.out / "assets/javascripts/mermaid.min.js").is_file()
    assert (built_site.out / "en/assets/javascripts/mermaid.min.js").is_file()
    page = site_pages["surfnavi/overview/index.html"]
    assert any(url.endswith("assets/javascripts/mermaid.min.js") for tag, attr, url in page.links if tag == "script")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_site_downloads_are_the_rendered_scripts_byte_for_byte(built_site, lang):
    from runbook_engine.model.project import Project
    from runbook_engine.artifacts.scripts import render_scripts

    project = Project.find(REPO)
    kb = project.knowledge
    base = built_site.out / ("en" if lang == "en" else "")
    for gid, guide in kb.guides.items():
        for name, script in render_scripts(kb, guide, lang, project.snippets).items():
            data = (base / "downloads" / gid / lang / name).read_bytes()
            assert data == script.data, (gid, lang, name)
            if kb.family_of(guide).os == "linux":  # bash: LF only
                assert b"\r" not in data and data.endswith(b"\n")
            else:  # cmd.exe: CRLF only
                assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")


def test_site_report_counts_pages_and_seconds_per_language(built_site, site_pages):
    assert set(built_site.languages) == {"ja", "en"}
    for lang, b in built_site.languages.items():
        assert b.seconds > 0
        assert b.pages == len(_pages(site_pages, lang)) - 1  # 404.html is not a page of the nav


# --------------------------------------------------------------------------------------------
# Atomic build
# --------------------------------------------------------------------------------------------


def _scratch_project(tmp_path: Path) -> Path:
    """A project folder sharing the repo's kb/, snippets/, overrides/ and src/, with its own docs/."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("kb", "snippets", "overrides", "src", "runbooks"):
        if (REPO / name).exists():
            (root / name).symlink_to(REPO / name)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(REPO / "docs", root / "docs")
    return root


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_site_failed_build_leaves_the_previous_site_untouched(tmp_path, monkeypatch, built_site):
    from runbook_engine.model.project import Project
    from runbook_engine.publish.site import build_site, mermaid_js

    monkeypatch.setenv("RUNBOOK_MERMAID_JS", str(mermaid_js(Project.find(REPO))))
    root = _scratch_project(tmp_path)
    out = tmp_path / "out"
    build_site(Project(root), out)
    before = _snapshot(out)
    assert "surfnavi/procedure/index.html" in before

    page = root / "docs" / "_guide" / "errata.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n{{ no_such_macro(guide_id) }}\n", encoding="utf-8")
    with pytest.raises(Exception):  # noqa: B017 - any error must propagate
        build_site(Project(root), out)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "project"]  # no staging left


def test_site_without_mermaid_fails_with_an_install_hint(tmp_path, monkeypatch):
    from runbook_engine.model.project import Project
    from runbook_engine.publish.site import SiteBuildError, build_site

    monkeypatch.setenv("RUNBOOK_MERMAID_JS", str(tmp_path / "missing" / "mermaid.min.js"))
    out = tmp_path / "out"
    with pytest.raises(SiteBuildError, match="npm pack mermaid@11") as exc:
        build_site(Project.find(REPO), out)
    assert "\n" not in str(exc.value)
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# Pages and nav from kb/: no guide's ids outside kb/
# --------------------------------------------------------------------------------------------

def _guide_ids(kb) -> set[str]:
    """What belongs to one guide only: its id, its node ids and names, and the ids of its steps
    (but a step named after the engine action it runs: that name is the engine's vocabulary)."""
    words: set[str] = set()
    for gid, guide in kb.guides.items():
        words.add(gid)
        for node in guide.meta.topology.nodes:
            words |= {node.id, node.name}
        words |= {s.id for s in guide.steps() if s.id != s.action}
    return words


def _occurrences(roots: list[Path], words: set[str]) -> list[str]:
    import re

    pattern = re.compile(r"(?<![\w-])(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")(?![\w-])")
    found = []
    for root in roots:
        for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            for n, line in enumerate(text.splitlines(), start=1):
                for m in pattern.finditer(line):
                    found.append(f"{path.relative_to(REPO)}:{n}: {m.group(1)}")
    return found


def test_site_sources_name_no_guide_node_or_step_id():
    """docs/, mkdocs.yml, snippets/ and the site's code know no guide: every page, nav entry and
    notebook cell of a guide comes from kb/."""
    from runbook_engine.model.project import Project

    words = _guide_ids(Project.find(REPO).knowledge)
    roots = [REPO / "docs", REPO / "mkdocs.yml", REPO / "snippets/notebook", REPO / "snippets/scripts",
             REPO / "src/runbook_engine/publish", REPO / "src/runbook_engine/cli/site.py"]
    assert _occurrences(roots, words) == []


def test_no_guide_node_or_step_id_outside_kb():
    """Only kb/ names a guide, its nodes or its steps: src/, docs/, snippets/ and mkdocs.yml."""
    from runbook_engine.model.project import Project

    words = _guide_ids(Project.find(REPO).knowledge)
    found = _occurrences([REPO / "src", REPO / "docs", REPO / "snippets", REPO / "mkdocs.yml"], words)
    assert found == []


def test_site_nav_holds_each_guide_of_kb_with_the_pages_it_has_data_for(built_site, site_pages):
    """The nav of every page lists, per guide of kb/, a section titled by its product holding
    exactly the pages of pages.GUIDE_PAGES the guide has data for; no page is built for the rest."""
    from runbook_engine.model.project import Project
    from runbook_engine.publish.pages import GUIDE_PAGES, guide_pages_of

    kb = Project.find(REPO).knowledge
    for lang, prefix in (("ja", ""), ("en", "en/")):
        home = (built_site.out / prefix / "index.html").read_text(encoding="utf-8")
        for gid, guide in kb.guides.items():
            assert guide.meta.product(lang) in home
            shown = {p.template for p in guide_pages_of(guide)}
            for page in GUIDE_PAGES:
                rel = f"{prefix}{gid}/" + ("index.html" if page.template == "index" else f"{page.template}/index.html")
                assert (rel in site_pages) == (page.template in shown), rel
                if page.template in shown:
                    assert f'href="{gid}/' in home or f'href="./{gid}/' in home


def test_site_home_lists_every_guide_of_kb_and_the_familys_other_guides(built_site):
    import html

    from runbook_engine.model.project import Project

    kb = Project.find(REPO).knowledge
    for lang, prefix in (("ja", ""), ("en", "en/")):
        text = html.unescape((built_site.out / prefix / "index.html").read_text(encoding="utf-8"))
        for guide in kb.guides.values():
            assert guide.meta.title(lang) in text
        for ref in (r for f in kb.families.values() for r in f.guides):
            if ref.id not in kb.guides:
                assert f"{ref.title(lang)} ({kb.label('not-in-kb')(lang)})" in text


# --------------------------------------------------------------------------------------------
# The 404 page of each language, served by runbook serve's handler
# --------------------------------------------------------------------------------------------


def _fetch(url: str, method: str = "GET") -> tuple[int, str]:
    """(status, body) of *url*; an HTTP error status is an answer too."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as resp:
            return resp.status, resp.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8")


def _not_found_texts(lang: str) -> tuple[str, str]:
    from runbook_engine.model.project import Project
    from runbook_engine.publish.labels import label

    kb = Project.find(REPO).knowledge
    return label(kb, "not-found-title")(lang), kb.site.site_name(lang)


@pytest.mark.parametrize("path, lang", [
    ("no-such-page/", "ja"), ("surfnavi/no-such-page/", "ja"), ("no-such-file.txt", "ja"), ("downloads/", "ja"),
    ("en/no-such-page/", "en"), ("en/surfnavi/no-such-page/", "en"), ("en/downloads/", "en"), ("english/", "ja"),
])
def test_serve_answers_an_unknown_path_with_its_languages_404_page(site_server, path, lang):
    """Status 404 and the 404 page of the language the path is under (no folder listing, not
    http.server's bare error page); HEAD gets the status without a body."""
    import html
    import re

    status, body = _fetch(site_server + path)
    assert status == 404
    title, site_name = _not_found_texts(lang)
    assert re.search(r'<html[^>]* lang="' + lang + '"', body)
    assert f"<title>{title} - {site_name}</title>" in html.unescape(body)
    assert f"<h1>{title}</h1>" in html.unescape(body)
    assert "Error response" not in body and "Directory listing" not in body
    assert _fetch(site_server + path, "HEAD") == (404, "")
    assert _fetch(site_server + ("en/" if lang == "en" else ""))[0] == 200


def test_site_404_page_of_each_language_links_only_its_own_language(built_site, site_pages):
    """MkDocs renders error pages for the root "/": the English one must still link the English
    pages, stylesheets, scripts and search index (its base url is /en/), the Japanese one the
    Japanese; only the language switch links the other language's root."""
    import re

    from runbook_engine.model.project import Project

    kb = Project.find(REPO).knowledge
    for rel, prefix in (("404.html", "/"), ("en/404.html", "/en/")):
        text = (built_site.out / rel).read_text(encoding="utf-8")
        assert re.search(r'"base": ?"' + re.escape(prefix) + '"', text), rel
        # as the browser resolves them, wherever the 404 page is served
        urls = {urlsplit(urljoin(SITE + "any/unknown/path", url)).path
                for _tag, _attr, url in site_pages[rel].links if url.startswith("/")}
        own = urls - {"/", "/en/"}  # the language roots: the switch and <link rel=alternate>
        assert all(u.startswith(prefix) for u in own), (rel, sorted(u for u in own if not u.startswith(prefix)))
        if prefix == "/":
            assert not any(u.startswith("/en/") for u in own), rel
        assert any(re.fullmatch(re.escape(prefix) + r"assets/stylesheets/main\.\w+\.min\.css", u) for u in own)
        assert {f"{prefix}{gid}/" for gid in kb.guides} <= own  # the nav: every guide, this language


# --------------------------------------------------------------------------------------------
# Live preview: runbook serve rebuilds on a change in kb/
# --------------------------------------------------------------------------------------------


def _serve_project(tmp_path: Path) -> Path:
    """A project whose kb/ and runbooks/ are copies (the test edits kb/, serve writes notebooks)."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("snippets", "overrides", "src", "docs"):
        (root / name).symlink_to(REPO / name)
    shutil.copytree(REPO / "kb", root / "kb")
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    (root / "runbooks").mkdir()
    return root


def _get(url: str) -> str:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.read().decode("utf-8")
    except (urllib.error.URLError, OSError):
        return ""


def test_serve_rebuilds_when_kb_changes_and_keeps_the_last_good_site_on_an_error(tmp_path):
    """`runbook serve` in a subprocess on a free port: a new guide title in kb/ shows up on the
    served page; a broken kb/ file prints one error line and the page stays as it was."""
    import os
    import queue
    import re
    import signal
    import subprocess
    import sys
    import threading
    import time

    from runbook_engine.model.project import Project
    from runbook_engine.publish.site import mermaid_js

    root = _serve_project(tmp_path)
    kb = Project(root).knowledge
    gid, guide = next(iter(kb.guides.items()))
    meta_file = root / "kb" / "guides" / gid / "guide.yaml"
    old_title = guide.meta.title("en")
    assert meta_file.read_text(encoding="utf-8").count(old_title) == 1
    new_title = old_title + " (live preview)"

    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(REPO / "src"),
           "RUNBOOK_MERMAID_JS": str(mermaid_js(Project.find(REPO))), "RUNBOOK_STATE": str(tmp_path / "state")}
    env.pop("RUNBOOK_ROOT", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook_engine.cli", "--root", str(root), "serve", "--port", "0",
         "--out", str(tmp_path / "site"), "--lang", "en"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()

    def wait_line(pattern: str, timeout: float = 60) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                assert proc.poll() is None, f"serve exited {proc.returncode}"
                continue
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s")

    def wait_page(url: str, text: str, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in _get(url):
                return
            time.sleep(0.5)
        raise AssertionError(f"{text!r} not served at {url} within {timeout} s")

    try:
        base = re.search(r"on (http://127\.0\.0\.1:\d+/)", wait_line(r"^serving ", timeout=120)).group(1)
        page = f"{base}en/{gid}/"
        assert old_title in _get(page)
        # an unknown path: status 404 and the English 404 page under /en/, the Japanese elsewhere
        for path, lang in ((f"en/{gid}/no-such-page/", "en"), (f"{gid}/no-such-page/", "ja")):
            status, body = _fetch(base + path)
            assert status == 404 and f"<h1>{_not_found_texts(lang)[0]}</h1>" in body, path

        meta_file.write_text(meta_file.read_text(encoding="utf-8").replace(old_title, new_title), encoding="utf-8")
        wait_line(r"^rebuilt in [\d.]+ s \(kb/guides/")
        wait_page(page, new_title)

        good = meta_file.read_text(encoding="utf-8")
        meta_file.write_text(good + "\nnot: [valid\n", encoding="utf-8")
        failed = wait_line(r"^rebuild failed")
        assert "still serving the last good site" in failed
        assert new_title in _get(page)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_site_own_labels_are_not_in_kb_yet_and_follow_the_rules_of_kb_texts():
    """publish/labels.py holds the site's UI texts that kb/site.yaml does not have yet: none of
    them may be in kb/ too (moved there, it is removed here), each is used, each is a valid kb
    text in both languages, the English side without Japanese, both sides with the same
    placeholders."""
    import string

    from runbook_engine.model.project import Project
    from runbook_engine.model.schema import Text, japanese_in
    from runbook_engine.publish.labels import SITE_LABELS

    from runbook_engine.publish.checks import used_labels

    project = Project.find(REPO)
    kb = project.knowledge
    assert set(SITE_LABELS) & set(kb.site.labels) == set()
    assert set(SITE_LABELS) <= set(used_labels(project))  # each is used where `runbook check` sees it
    fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
    for label_id, text in SITE_LABELS.items():
        assert Text.model_validate(text.model_dump()) == text, label_id
        assert japanese_in(text.en) == [], label_id
        assert fields(text.ja) == fields(text.en), label_id
