"""Search finds the right page in each language: each language has its own index with its own
settings, and Material's own search worker ranks the page an engineer wants first.

Expected first pages, and why:

* フェイルオーバーグループ → procedure: step 0-1 creates the failover group (its title says so);
  the overview only mentions it in passing.
* 切替パーティション → procedure: the switch partition is created as a resource in step 0-1 and used
  by steps A and D (IIS home directories, ExpressMail data); that is where an engineer acts on it.
* ポート番号 → ports: the page titled ポート番号 holds the port tables.
* 手動 → procedure: step E sets the services to manual start (its title).
* failover group (en) → procedure, step 0-1 "Create the failover group".
* packet filter (en) → procedure: steps G and I (unbind it from the interconnect, allow the
  cluster's ports through it) are what an engineer does about the packet filter.

Terms every guide uses (failover group, port numbers, manual) are written ``*/procedure/``: the
right page is a guide's procedure (or ports) page, whichever guide ranks first; with several
guides in kb/ that is not always the same one.

PostgreSQL (Linux) guide, both languages:

* データディレクトリ / data directory → procedure: step 2-1 creates it on the mirror disk.
* pg_hba.conf → procedure: step 2-4 edits it (md5 for 127.0.0.1, which psqlw needs).
* ユニット / systemd unit → procedure: step 1-3 disables postgresql-15.service.
* psqlw, 監視リソース → procedure: step 4-2 adds the monitor; step 0-1's table lists its settings.
* exec resource → procedure: step 4-1 adds it with this guide's scripts.
* start.sh, clplogcmd → scripts: the generated scripts and their case tables.
* listen_addresses → procedure: step 2-3 sets it.

Latin letters or digits typed against Japanese without a space (the Japanese separator splits
there, publish/config.py):

* DNSサーバ → SURFNAVI's procedure: its DNS steps register the records on the DNS server.
* ポート623 → SURFNAVI's ports page: the only port table with 623 (forced stop, chassis ID).
* JVM監視リソース, Javaインストールパス → Tomcat's procedure (its steps add the JVM monitor and
  set the Java installation path), as with the spaced queries above.
"""
from __future__ import annotations

import json
from fnmatch import fnmatch
from urllib.parse import urlsplit

import pytest

from plugins.browser import REPO

JA_QUERIES = {
    "フェイルオーバーグループ": "*/procedure/",
    "切替パーティション": "surfnavi/procedure/",
    "ポート番号": "*/ports/",
    "手動": "*/procedure/",
    "データディレクトリ": "postgresql/procedure/",
    "pg_hba.conf": "postgresql/procedure/",
    "ユニット": "postgresql/procedure/",
    "監視リソース": "postgresql/procedure/",
    "psqlw": "postgresql/procedure/",
    "start.sh": "postgresql/scripts/",
    "clplogcmd": "postgresql/scripts/",
    "パケットフィルタ": "surfnavi/procedure/",
    "起動時のパラメーター": "sqlserver-2019/procedure/",
    "サービスリソース": "sqlserver-2019/procedure/",
    "アップグレード": "sqlserver-2019/upgrade/",
    "JVM 監視リソース": "tomcat-10/procedure/",
    "シンボリックリンク": "tomcat-10/procedure/",
    "Java インストールパス": "tomcat-10/procedure/",
    "shutdown.sh": "tomcat-10/*",
    "DNSサーバ": "surfnavi/procedure/",
    "ポート623": "surfnavi/ports/",
    "JVM監視リソース": "tomcat-10/procedure/",
    "Javaインストールパス": "tomcat-10/procedure/",
}
EN_QUERIES = {
    "failover group": "*/procedure/",
    "packet filter": "surfnavi/procedure/",
    "data directory": "postgresql/procedure/",
    "pg_hba.conf": "postgresql/procedure/",
    "systemd unit": "postgresql/procedure/",
    "exec resource": "*/procedure/",
    "psqlw": "postgresql/procedure/",
    "listen_addresses": "postgresql/procedure/",
    "start.sh": "postgresql/scripts/",
    "clplogcmd": "postgresql/scripts/",
    "startup parameters": "sqlserver-2019/procedure/",
    "service resource": "sqlserver-2019/procedure/",
    "upgrade": "sqlserver-2019/upgrade/",
    "JVM monitor": "tomcat-10/procedure/",
    "symbolic links": "tomcat-10/procedure/",
    "setenv.sh": "tomcat-10/procedure/",
    "JMX": "tomcat-10/cautions/",
}


def _first_pages_fit(results: dict, queries: dict) -> dict:
    """query -> the first page found when it does not fit the expected pattern ({} when all fit)."""
    got = {q: (results[q][0]["page"] if results[q] else None) for q in queries}
    return {q: (page, queries[q]) for q, page in got.items() if page is None or not fnmatch(page, queries[q])}


def _index(built_site, lang: str) -> dict:
    path = built_site.out / ("en/" if lang == "en" else "") / "search" / "search_index.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_site_search_index_of_each_language_holds_only_its_pages(built_site):
    from runbook_engine.model.project import Project

    kb = Project.find(REPO).knowledge
    ja, en = _index(built_site, "ja"), _index(built_site, "en")
    for index in (ja, en):
        assert index["docs"], "empty search index"
        assert not any(d["location"].startswith(("en/", "/en/", "../")) for d in index["docs"])
    ja_titles = {d["title"] for d in ja["docs"] if "#" not in d["location"]}
    en_titles = {d["title"] for d in en["docs"] if "#" not in d["location"]}
    for label in ("procedure", "ports", "cautions", "scripts"):
        assert kb.label(label)("ja") in ja_titles and kb.label(label)("ja") not in en_titles
        assert kb.label(label)("en") in en_titles and kb.label(label)("en") not in ja_titles
    # no Japanese text in the English index (but the quoted proper nouns), none missing in ja
    from runbook_engine.model.schema import japanese_in

    allowed = {n for f in kb.families.values() for n in f.proper_nouns}
    stray = {run for d in en["docs"] for run in japanese_in(d["text"] + d["title"])} - allowed
    assert stray == set()


def test_site_search_config_is_the_one_configured_per_language(built_site):
    from runbook_engine.publish.site import JA_SEPARATOR

    ja, en = _index(built_site, "ja")["config"], _index(built_site, "en")["config"]
    assert ja["lang"] == ["ja"]
    assert ja["pipeline"] == ["stopWordFilter"]
    assert ja["separator"] == JA_SEPARATOR
    assert en["lang"] == ["en"]
    assert en["separator"] != JA_SEPARATOR


def test_site_japanese_search_ranks_the_right_page_first(material_search):
    results = material_search("ja", list(JA_QUERIES))
    assert _first_pages_fit(results, JA_QUERIES) == {}


def test_site_english_search_ranks_the_right_page_first(material_search):
    results = material_search("en", list(EN_QUERIES))
    assert _first_pages_fit(results, EN_QUERIES) == {}


@pytest.mark.browser
def test_site_search_box_in_chromium_finds_the_port_page(chromium, site_server):
    """The same search through the real UI: type in the box, then a key (Material searches on
    keyup); the first result links to the ports page. No request leaves 127.0.0.1."""
    page = chromium.new_page()
    leaving: list[str] = []
    page.on("request", lambda r: leaving.append(r.url) if not r.url.startswith((site_server, "data:", "blob:")) else None)
    try:
        page.goto(site_server + "surfnavi/")
        box = page.locator("input[data-md-component=search-query]")
        box.click()
        box.fill("ポート番号")
        box.press("End")
        first = page.locator(".md-search-result__item a").first
        first.wait_for(timeout=15000)
        assert fnmatch(urlsplit(first.get_attribute("href")).path, "/*/ports/")
        page.goto(site_server + "surfnavi/overview/")
        # Material replaces each <pre class="mermaid"> by a <div class="mermaid"> (closed shadow
        # root) once the local mermaid rendered it
        page.wait_for_function(
            "document.querySelectorAll('div.mermaid').length >= 2 && !document.querySelector('pre.mermaid')",
            timeout=15000,
        )
    finally:
        page.close()
    assert leaving == []
