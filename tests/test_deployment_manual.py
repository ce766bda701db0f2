"""The manual for one cluster (`runbook build --inventory INV`): the guide's pages with the
cluster's values where the guide's pages print placeholders, the engine's own script bytes, a
notebook that runs on the cluster, a parameter sheet that says where each value is used, no
secret anywhere, and the site without an inventory exactly as it was.

Two inventories: the Wine sandbox's, as `runbook sandbox create` writes it
(``sandbox.cluster.windows_inventory``: building a manual reaches no node, so no Wine prefix is
made), and tests/data/inventories/surfnavi-mail.yaml, a cluster in operation whose every value
differs from the guide's example and from the sandbox's, reached over SSH with a password and a
DNS server with a TSIG key, both named by environment variables that the build process has set to
canary values.
"""
from __future__ import annotations

import base64
import gzip
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
MAIL = REPO / "tests" / "data" / "inventories" / "surfnavi-mail.yaml"
CANARIES = {"MAIL_SSH_PASSWORD": "canary-ssh-7f3e9a1c5b", "MAIL_TSIG_SECRET": "Y2FuYXJ5LXRzaWctc2VjcmV0LTQ0MjE=",
            "RUNBOOK_TSIG_SECRET": "Y2FuYXJ5LXNhbmRib3gtdHNpZy05OTE="}

#: Placeholders a manual for one cluster keeps: what the operator chooses when running a command
#: (the server to check or move the group to, a service of the services table), a URL on any
#: server, and the command line's own syntax in the runbook's help text. The inventory has no
#: value for any of them; every other placeholder of the guide must be gone.
KEPT = {
    "ja": {"<サーバ名>", "<移動先サーバ名>", "<サービス名>", "<サーバ>", "<ガイド>", "<ノード>", "<手順ID>"},
    "en": {"<server>", "<service>", "<guide>", "<node>", "<step id>"},
}


def _project():
    from runbook_engine.model.project import Project

    return Project.find(REPO)


def _mermaid(project) -> None:
    from plugins.components import require
    from runbook_engine.publish.site import SiteBuildError, mermaid_js

    try:
        mermaid_js(project)
    except SiteBuildError as exc:
        require(False, str(exc))


def sandbox_inventory(folder: Path) -> Path:
    """The Wine sandbox's inventory of SURFNAVI's four nodes, with its two DNS servers, as
    `runbook sandbox create` writes it (prefixes that do not exist: nothing is reached), the TSIG
    secret named by an environment variable as in a real inventory (the sandbox names its key file)."""
    from runbook_engine.engine.transports.environ import SANDBOX_TSIG_ENV as TSIG_ENV
    from runbook_engine.sandbox.cluster import FORWARD_ZONE, REVERSE_ZONE, node_names, windows_inventory

    guide = _project().knowledge.guides["surfnavi"]
    names = node_names(guide)
    inv = windows_inventory(guide, names, {n: f"/nonexistent/sandbox/{n}" for n in names})
    inv["dns"] = [{"name": name, "server": "127.0.0.1", "port": port, "key_name": "runbook-sandbox",
                   "key_secret_env": TSIG_ENV, "forward_zone": FORWARD_ZONE, "reverse_zone": REVERSE_ZONE}
                  for name, port in (("dns-active", 15353), ("dns-standby", 15354))]
    path = folder / "sandbox-inventory.yaml"
    path.write_text(yaml.safe_dump(inv, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def article_text(path: Path, sources_label: str) -> str:
    """The text of a built page's article, without the lines that name public sources (they
    quote the sources' own syntax, placeholders included)."""
    page = path.read_text(encoding="utf-8")
    page = page[page.index("<article"):page.index("</article>")]
    page = re.sub(rf"<strong>{re.escape(sources_label)}</strong>:.*?</p>", "</p>", page, flags=re.S)
    page = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    page = re.sub(r"<br\s*/?>|</?(?:p|div|pre|td|th|tr|li|ul|ol|table|h[1-6])\b[^>]*>", "\n", page)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def guide_pages(site: Path, lang: str) -> dict[str, Path]:
    root = site / ("en" if lang == "en" else "") / "surfnavi"
    return {str(p.relative_to(root).parent): p for p in sorted(root.rglob("index.html"))}


def placeholders(text: str) -> set[str]:
    """The ``<...>`` of a text (Mermaid's line breaks in a figure's source are not placeholders)."""
    return set(re.findall(r"<[^<>\n]{1,40}>", text)) - {"<br/>"}


@pytest.fixture(scope="module")
def manuals(tmp_path_factory):
    """The site without an inventory, the manual for the sandbox and the manual for the mail
    cluster (built in this process, with the canaries in its environment)."""
    from runbook_engine.publish.site import build_site

    project = _project()
    _mermaid(project)
    tmp = tmp_path_factory.mktemp("manuals")
    saved = {k: os.environ.get(k) for k in CANARIES}
    os.environ.update(CANARIES)
    try:
        plain = build_site(project, tmp / "site").out
        sandbox = build_site(project, tmp / "site-sandbox", inventory=sandbox_inventory(tmp)).out
        mail = build_site(project, tmp / "site-mail", inventory=MAIL).out
        plain_again = build_site(project, tmp / "site-again").out
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"plain": plain, "sandbox": sandbox, "mail": mail, "plain-again": plain_again, "tmp": tmp}


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- without an inventory: the site as it was -------------------------------------------------------

def test_the_site_without_an_inventory_is_byte_identical_after_a_manual_for_a_cluster_was_built(manuals):
    """A build of a cluster's manual in the same process leaves nothing behind: the next plain
    build is byte for byte the first one, with no parameter sheet and the guide's placeholders."""
    plain, again = _tree(manuals["plain"]), _tree(manuals["plain-again"])
    assert plain.keys() == again.keys()
    assert [k for k in plain if plain[k] != again[k]] == []
    assert not any("parameters" in k for k in plain)
    procedure = plain["surfnavi/procedure/index.html"].decode()
    for placeholder in ("&lt;構成情報フォルダ&gt;", "&lt;FIP-host&gt;", "&lt;domain&gt;", "&lt;グループ名&gt;"):
        assert placeholder in procedure, placeholder
    assert b"mailsv" not in b"".join(plain.values())


# --- the cluster's values where the placeholders were --------------------------------------------------

@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_manual_for_a_cluster_has_no_placeholder_the_inventory_has_a_value_for(manuals, lang):
    """Every `<...>` placeholder and topology node name (SV1 ... SV4) the guide's pages print is
    replaced in both clusters' manuals; only those the operator fills in when running a command
    stay (KEPT). The plain site has them, so the test can tell."""
    from runbook_engine.publish.labels import label

    kb = _project().knowledge
    sources = label(kb, "sources")(lang)
    before = set().union(*(placeholders(article_text(p, sources)) for p in guide_pages(manuals["plain"], lang).values()))
    assert {"<FIP>", "<domain>", "<FIP-host>", "<node>", "<reverse-zone>"} <= before  # the guide prints them
    for site in ("sandbox", "mail"):
        for page, path in guide_pages(manuals[site], lang).items():
            text = article_text(path, sources)
            assert placeholders(text) <= KEPT[lang], (site, page, placeholders(text) - KEPT[lang])
            assert not re.search(r"(?<![\w-])SV[1-4](?![\w-])", text), (site, page)


def test_the_mail_clusters_manual_prints_its_nodes_addresses_fip_drive_and_paths_where_the_guide_needs_them(manuals):
    site = manuals["mail"]
    procedure = article_text(site / "surfnavi" / "procedure" / "index.html", "出典")
    # the dnscmd lines run against each node's DNS, with the FIP, its name, the MX preference and PTRs
    for line in ("dnscmd mailhost-a /RecordAdd corp.example mail A 198.51.100.20",
                 "dnscmd mailhost-d /RecordAdd corp.example @ MX 5 mail.corp.example.",
                 "dnscmd mailhost-b /RecordAdd 100.51.198.in-addr.arpa 20 PTR mail.corp.example.",
                 "dnscmd mailhost-c /RecordAdd 100.51.198.in-addr.arpa 23 PTR mailhost-c.corp.example."):
        assert line in procedure, line
    # the configuration folder, the group and the resource in the delivery commands and the layout
    for text in (r'clpcfctrl --push -w -x "D:\clp-config"', "clpcfadm.py add rsc mail-group script mail-script",
                 r"D:\clp-config\scripts\mail-group\mail-script\start.bat"):
        assert text in procedure, text
    # the resources table: the FIP's address and name, the data drive, the script resource's name
    assert "FIP アドレス: 198.51.100.20" in procedure and "mail.corp.example" in procedure
    assert "データのドライブ: F:" in procedure and "mail-script" in procedure
    # the verification steps' commands name the group and the FIP
    assert "nslookup mail.corp.example 198.51.100.20" in procedure
    assert "clpgrp -s mail-group -h <サーバ名>" in procedure
    # each engine step says where it runs on this cluster
    steps = re.findall(r"このクラスタでの実行先: (.*)", procedure)
    assert "mailsv-a" in steps[0] and "mailsv-d" in steps[0]
    assert any(s.strip() == "dns:dns-corp" for s in steps), steps
    # the installed scripts' paths under each node's CLUSTERPRO folder
    scripts = article_text(site / "surfnavi" / "scripts" / "index.html", "出典")
    assert r"D:\CLUSTERPRO\scripts\mail-group\mail-script\stop.bat" in scripts


def test_the_figures_draw_the_clusters_nodes_with_their_roles_from_cluster_state(manuals):
    from plugins.browser import parse_page

    root = manuals["mail"]
    page = parse_page(root, root / "surfnavi" / "overview" / "index.html")
    figures = [c for c in page.code_blocks if c.startswith("flowchart")]
    now = figures[0]  # the cluster as cluster_state says it is: mailsv-b active
    assert 'node_mailsv_b["mailsv-b<br/>198.51.100.22<br/>現用系<br/>プライオリティ 2"]' in now
    assert 'node_mailsv_a["mailsv-a<br/>198.51.100.21<br/>待機系<br/>プライオリティ 1"]' in now
    assert "fip ==> node_mailsv_b" in now and "198.51.100.20" in now
    # the guide's figures, drawn with the cluster's nodes: after the failovers mailsv-d is active
    assert len(figures) == 3 and "fip ==> node_mailsv_d" in figures[2]
    assert "class node_mailsv_a,node_mailsv_b,node_mailsv_c down" in figures[2]
    sandbox = manuals["sandbox"]
    first = next(c for c in parse_page(sandbox, sandbox / "surfnavi" / "overview" / "index.html").code_blocks
                 if c.startswith("flowchart"))
    assert 'node_sv1["sv1<br/>192.0.2.11<br/>構築中<br/>プライオリティ 1"]' in first  # install phase: no active node
    assert "fip ==>" not in first


def test_the_manual_holds_its_guide_only_with_a_home_of_its_own(manuals):
    site = manuals["mail"]
    assert not (site / "compatibility").exists() and not (site / "inventories").exists()
    assert not (site / "tomcat-10").exists()
    home = article_text(site / "index.html", "出典")
    assert "SURFNAVI 手順書 (クラスタ mail-cluster)" in home and "mailsv-a、mailsv-b、mailsv-c、mailsv-d" in home
    assert "Parameter sheet" in article_text(site / "en" / "index.html", "Sources")


# --- the engine's bytes, the notebook ----------------------------------------------------------------

def test_the_manuals_scripts_are_the_bytes_the_engine_writes_for_that_cluster(manuals):
    """The downloads and the scripts page hold what the script-files action writes into the
    configuration folder (asked of the action itself, on the inventory's configuration node)."""
    from runbook_engine.engine.actions import action
    from runbook_engine.engine.actions.base import Context
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.engine.targets import node_target
    from plugins.browser import parse_page

    project = _project()
    inv = load_inventory(MAIL)
    ctx = Context(project.knowledge, project.knowledge.guides["surfnavi"], inv,
                  node_target(inv.node(inv.configuration_node)), project.snippets)
    desired = {d.target: base64.b64decode(d.data["content_b64"]) for d in action("script-files").desired(ctx)}
    assert set(desired) == {r"D:\clp-config\scripts\mail-group\mail-script\start.bat",
                            r"D:\clp-config\scripts\mail-group\mail-script\stop.bat"}
    site = manuals["mail"]
    for lang in ("ja", "en"):
        folder = site / ("en" if lang == "en" else "") / "downloads" / "surfnavi" / lang
        for name, file in (("START.BAT", "start.bat"), ("STOP.BAT", "stop.bat")):
            data = (folder / name).read_bytes()
            assert data == desired[rf"D:\clp-config\scripts\mail-group\mail-script\{file}"], (lang, name)
        page = parse_page(site, site / ("en" if lang == "en" else "") / "surfnavi" / "scripts" / "index.html")
        shown = [c for c in page.code_blocks if "ARMLOAD" in c]
        assert shown[0].replace("\n", "\r\n").encode("cp932") == (folder / "START.BAT").read_bytes()  # the nodes are ja


def test_the_manuals_notebook_runs_on_the_cluster_with_its_inventory(manuals):
    import nbformat

    site = manuals["mail"]
    for lang, prefix in (("ja", ""), ("en", "en/")):
        nb = nbformat.read(site / prefix / "runbooks" / f"surfnavi.{lang}.ipynb", as_version=4)
        nbformat.validate(nb)
        params = next(c for c in nb.cells if c.id == "parameters").source
        assert "node = 'mailsv-a'" in params
        assert f"inventory = {str(MAIL)!r}" in params
        assert nb.metadata["runbook"]["cluster"] == "mail-cluster"
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "dnscmd mailhost-a /RecordAdd corp.example mail A 198.51.100.20" in text
        assert not re.search(r"(?<![\w-])SV[1-4](?![\w-])", text)
    # the notebooks of runbooks/ (the guide's, with placeholders) are not the manual's
    assert b"mailsv" not in (REPO / "runbooks" / "surfnavi.ja.ipynb").read_bytes()


# --- the parameter sheet --------------------------------------------------------------------------

def test_the_parameter_sheet_lists_every_value_and_where_each_is_used_and_each_place_holds_it(manuals):
    """Each row names its inventory key and value; every place it says a value is used (a page
    and a section, linked) holds that value, and the FIP's rows point at the DNS and verification
    steps."""
    from plugins.browser import parse_page

    site = manuals["mail"]
    sheet_path = site / "surfnavi" / "parameters" / "index.html"
    sheet = parse_page(site, sheet_path)
    rows = {(r[1], r[2]): r for t in sheet.tables for r in t.rows}
    keys = {k for k, _ in rows}
    for key in ("cluster", "cluster_state.group", "cluster_state.active", "nodes[0].name", "nodes[3].ip",
                "nodes[1].data_drive", "nodes[2].clusterpro_dir", "fip.address", "configuration.folder",
                "configuration.resources.script", "dns[0].name", "nodes[0].password_env", "dns[0].key_secret_env"):
        assert key in keys, key
    assert rows[("fip.address", "198.51.100.20")][3].count("\n") >= 1  # several pages
    html_text = sheet_path.read_text(encoding="utf-8")
    checked = 0
    # follow every link of the "used in" column and find the row's value there
    for m in re.finditer(r"<tr>(.*?)</tr>", html_text, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", m.group(1), flags=re.S)
        if len(cells) != 4:
            continue
        value = html.unescape(re.sub(r"<[^>]+>", "", cells[2]))
        for href in re.findall(r'href="([^"]+)"', cells[3]):
            path, _, anchor = href.partition("#")
            target = (sheet_path.parent / path / "index.html").resolve()
            text = html.unescape(target.read_text(encoding="utf-8"))
            assert value in text, (value, href)
            if anchor:
                assert f'id="{anchor}"' in target.read_text(encoding="utf-8"), href
            checked += 1
    assert checked > 30
    fip = html.unescape(next(m.group(0) for m in re.finditer(r"<tr>.*?</tr>", html_text, flags=re.S)
                             if "<code>fip.address</code>" in m.group(0)))
    assert "#dns-records-on-nodes" in fip and "#verify-move-group" in fip


# --- secrets ----------------------------------------------------------------------------------------

def test_no_secret_value_from_the_environment_reaches_any_file_of_a_manual(manuals):
    """The inventory names MAIL_SSH_PASSWORD and MAIL_TSIG_SECRET (and the sandbox's
    RUNBOOK_TSIG_SECRET); the builds ran with canary values in them. No file of any manual holds
    a canary (gzip files opened), and the sheet names the variables, so the inventory was read."""
    for site in ("sandbox", "mail"):
        for path in sorted(manuals[site].rglob("*")):
            if not path.is_file():
                continue
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            for canary in CANARIES.values():
                assert canary.encode() not in data, (site, path)
    sheet = (manuals["mail"] / "surfnavi" / "parameters" / "index.html").read_text(encoding="utf-8")
    assert "MAIL_SSH_PASSWORD" in sheet and "MAIL_TSIG_SECRET" in sheet


# --- the command line -------------------------------------------------------------------------------

def _copy_project(root: Path) -> Path:
    for d in ("kb", "runbooks", "docs", "overrides"):
        shutil.copytree(REPO / d, root / d)
    for d in ("snippets", "src", "schema"):
        (root / d).symlink_to(REPO / d, target_is_directory=True)
    shutil.copy2(REPO / "mkdocs.yml", root / "mkdocs.yml")
    return root


def test_runbook_build_with_an_inventory_writes_site_cluster_atomically_and_leaves_runbooks_alone(tmp_path):
    from runbook_engine.publish.site import mermaid_js

    project = _project()
    _mermaid(project)
    root = _copy_project(tmp_path / "proj")
    notebooks = _tree(root / "runbooks")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "RUNBOOK_STATE": str(tmp_path / "state"),
           "NO_MKDOCS_2_WARNING": "1", "RUNBOOK_MERMAID_JS": str(mermaid_js(project)), **CANARIES}
    argv = [sys.executable, "-m", "runbook_engine", "--root", str(root), "build", "--inventory", str(MAIL), "--lang", "en"]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = root / "site-mail-cluster"
    lines = proc.stdout.splitlines()
    assert lines[0] == f"manual for cluster mail-cluster (guide surfnavi) from {MAIL}"
    assert lines[1:3] == ["ja: rendering 11 pages", "ja: writing the search index"], lines
    assert re.fullmatch(rf"site \(ja\): 11 pages in \d+\.\d s -> {re.escape(str(out))}", lines[3]), lines
    assert re.fullmatch(rf"done in \d+\.\d s: the site is in {re.escape(str(out))}", lines[-1]), lines
    assert (out / "surfnavi" / "parameters" / "index.html").is_file() and (out / "en" / "index.html").is_file()
    assert _tree(root / "runbooks") == notebooks
    assert [p.name for p in root.iterdir() if p.name.startswith(".site-mail-cluster")] == []  # no staging left
    # again, with --json: the folder is replaced as a whole
    (out / "stale.txt").write_text("from an earlier build\n", encoding="utf-8")
    proc = subprocess.run([*argv, "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["cluster"], report["guide"], report["site"]) == ("mail-cluster", "surfnavi", str(out))
    assert not (out / "stale.txt").exists()
    for path in out.rglob("*"):
        if path.is_file():
            assert not any(c.encode() in path.read_bytes() for c in CANARIES.values()), path


def test_serve_with_an_inventory_rebuilds_the_manual_when_the_inventory_changes(tmp_path):
    """`runbook serve --inventory` watches the inventory too: a new FIP address is in the next build."""
    from runbook_engine.publish.serve import Rebuilder, sources_state
    from runbook_engine.publish.site import build_site

    project = _project()
    _mermaid(project)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(MAIL.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "site"
    build_site(project, out, inventory=inv)
    logged: list[str] = []
    rebuilder = Rebuilder(project, out, inventory=inv, log=logged.append)
    before = sources_state(project.root, (inv,))
    inv.write_text(inv.read_text(encoding="utf-8").replace("198.51.100.20", "198.51.100.99"), encoding="utf-8")
    os.utime(inv, ns=(before[str(inv)][0] + 10**9, before[str(inv)][0] + 10**9))
    assert sources_state(project.root, (inv,)) != before
    assert rebuilder.rebuild([str(inv)]), logged
    procedure = (out / "surfnavi" / "procedure" / "index.html").read_text(encoding="utf-8")
    assert "198.51.100.99" in procedure and "198.51.100.20" not in procedure


def test_a_linux_clusters_manual_fills_the_clpcfset_sequence_and_the_exec_resources_paths(tmp_path):
    """A PostgreSQL cluster (tests/data/inventories/postgresql-db.yaml): the clpcfset sequence
    creates its cluster with its servers, their addresses on the public LAN, its group and exec
    resource; the only values left to fill in are the interconnect's addresses, which an
    inventory does not hold; the exec resource's scripts are where the engine writes them."""
    from runbook_engine.publish.labels import label
    from runbook_engine.publish.site import build_site

    project = _project()
    _mermaid(project)
    site = build_site(project, tmp_path / "site", inventory=REPO / "tests/data/inventories/postgresql-db.yaml").out
    for lang, prefix in (("ja", ""), ("en", "en/")):
        sources = label(project.knowledge, "sources")(lang)
        procedure = article_text(site / prefix / "postgresql" / "procedure" / "index.html", sources)
        for line in ("clpcfset create pg-prod", "clpcfset add srv db-a 0", "clpcfset add srv db-b 1",
                     "clpcfset add device db-b lan 0 203.0.113.32", "clpcfset add grp failover pg-group",
                     "clpcfset add rsc pg-group exec pg-exec"):
            assert line in procedure, (lang, line)
        left = set(re.findall(r"'(<[^'\n]+>)'", procedure))
        network = "インタコネクト" if lang == "ja" else "Interconnect"
        assert left and all(network in p and ("db-a" in p or "db-b" in p) for p in left), left
        scripts = article_text(site / prefix / "postgresql" / "scripts" / "index.html", sources)
        assert "/opt/clp-config/scripts/pg-group/pg-exec/start.sh" in scripts
        assert "/opt/nec/clusterpro/scripts/pg-group/pg-exec/stop.sh" in scripts
        assert not re.search(r"(?<![\w-])pg-primary(?![\w-])", procedure)  # the topology's node names
    sequence = (site / "downloads" / "postgresql" / "ja" / "clpcfset-postgresql.sh").read_text(encoding="utf-8")
    assert "clpcfset create pg-prod" in sequence and "clpcfset add rsc pg-group exec pg-exec" in sequence
