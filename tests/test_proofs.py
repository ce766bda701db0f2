"""The site says what the engine does: the built HTML (both languages) is compared with the
engine's plan for a fresh sandbox node, the bytes the engine writes, the runbook notebooks and the
batch simulator, never with the macros that printed the HTML.

Tests without a sandbox compare the site with the engine's own functions (``ScriptFiles.wanted``,
``automated_steps``, ``batchsim.simulate_all``); the ``wine``/``named`` tests compare it with what
the engine plans and writes on a real sandbox node (one 4-node sandbox for the module: the plan is
taken before anything is applied).
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from plugins.browser import REPO
from twins import fill_dns

LANGS = ["ja", "en"]
GUIDE = "surfnavi"
#: sc.exe's name of the "Manual" startup type, which step E's title on the site promises
#: (スタートアップの種類を手動に / Set services to manual start).
MANUAL_START = "demand"

ARMLOAD = re.compile(r'^ARMLOAD\s+(\S+)\s+(?:\S+\s+)*"([^"]+)"$')
ARMKILL = re.compile(r"^ARMKILL\s+(\S+)$")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project():
    from runbook_engine.model.project import Project

    return Project.find(REPO)


def _page(site_pages, lang: str, rel: str):
    return site_pages[("en/" if lang == "en" else "") + rel]


def _download(built_site, lang: str, name: str) -> bytes:
    base = built_site.out / ("en" if lang == "en" else "")
    return (base / "downloads" / GUIDE / lang / name).read_bytes()


def _engine_context(project, lang: str):
    """The engine's context for a node of *lang* (the scripts depend on nothing else of the node)."""
    from runbook_engine.engine.actions import Context
    from runbook_engine.engine.inventory import NodeSpec
    from runbook_engine.engine.targets import node_target

    kb = project.knowledge
    node = NodeSpec(name="sv1", transport="local", lang=lang)
    return Context(kb=kb, guide=kb.guides[GUIDE], inventory=None, target=node_target(node), snippets=project.snippets)


def _services_table(site_pages, kb, lang: str):
    page = _page(site_pages, lang, f"{GUIDE}/procedure/index.html")
    header = kb.label("service-name")(lang)
    tables = [t for t in page.tables if t.header and t.header[0] == header]
    assert len(tables) == 1, "one services table on the procedure page"
    return tables[0]


def _script_text(data: bytes, lang: str) -> str:
    from runbook_engine.artifacts.scripts import ENCODINGS

    return data.decode(ENCODINGS[lang])


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# Ports
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_site_ports_tables_show_exactly_the_port_records_the_guide_uses(site_pages, project, lang):
    """Every page with port tables shows each (protocol, direction, port) of its guide once."""
    kb = project.knowledge
    direction_of = {kb.label(d)(lang): d for d in ("in", "out")}
    prefix = "en/" if lang == "en" else ""
    pages = {rel: page for rel, page in site_pages.items()
             if rel.startswith("en/") == (lang == "en") and page.tables_with(**{"class": "rb-ports"})}
    assert f"{prefix}{GUIDE}/ports/index.html" in pages
    for rel, page in pages.items():
        gid = rel[len(prefix):].split("/", 1)[0]
        assert gid in kb.guides, f"{rel}: port tables outside a guide's pages"
        want = Counter((p.protocol, p.direction, p.port) for p in kb.ports_for(kb.guides[gid]))
        shown = Counter()
        for table in page.tables_with(**{"class": "rb-ports"}):
            for row in table.rows:
                shown[(row[0].lower(), direction_of[row[1]], int(row[2]))] += 1
            # the table's data-direction agrees with the direction column of its rows
            assert {direction_of[r[1]] for r in table.rows} == {table.context["data-direction"]}, rel
        assert shown == want, rel


# --------------------------------------------------------------------------------------------
# Services: procedure table, START.BAT / STOP.BAT, the engine's plan
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_site_services_table_equals_start_bat_armloads_and_stop_bat_armkills_in_reverse(built_site, site_pages, project, lang):
    table = _services_table(site_pages, project.knowledge, lang)
    services = [r[0] for r in table.rows]
    watch_ids = [r[2] for r in table.rows]
    assert len(services) == len(set(services)) > 0

    start = _script_text(_download(built_site, lang, "START.BAT"), lang).splitlines()
    stop = _script_text(_download(built_site, lang, "STOP.BAT"), lang).splitlines()
    loads = [m.groups() for m in map(ARMLOAD.match, start) if m]
    kills = [m.group(1) for m in map(ARMKILL.match, stop) if m]
    assert {svc for _, svc in loads} == set(services)
    assert {w for w, _ in loads} == set(watch_ids)
    assert set(kills) == set(watch_ids)
    # one block per started section (NORMAL, FAILOVER): START in table order, STOP in reverse
    sections = len(loads) // len(services)
    assert sections == 2
    assert [w for w, _ in loads] == watch_ids * sections
    assert kills == list(reversed(watch_ids)) * sections


@pytest.mark.parametrize("lang", LANGS)
def test_every_cluster_start_and_failover_path_starts_and_stops_the_tables_services(built_site, site_pages, project, lang):
    """On every path where CLUSTERPRO starts or fails over the group with the disk connected, the
    simulated START.BAT loads the table's services in its order and STOP.BAT kills them in reverse."""
    from runbook_engine.batch.simulator import simulate_all

    kb = project.knowledge
    watch_ids = [r[2] for r in _services_table(site_pages, kb, lang).rows]
    variables = {v.name: [x.value if hasattr(x, "value") else x[0] for x in v.values] for v in kb.family_of("surfnavi").script_variables}
    paths = 0
    for name, verb, want in (("START.BAT", "ARMLOAD", watch_ids), ("STOP.BAT", "ARMKILL", list(reversed(watch_ids)))):
        text = _script_text(_download(built_site, lang, name), lang)
        for env, trace in simulate_all(text, variables):
            if env["CLP_EVENT"] in ("START", "FAILOVER") and env["CLP_DISK"] != "FAILURE":
                paths += 1
                assert trace.aborted is None, (name, env, trace.aborted)
                assert [c[1] for c in trace.calls if c[0] == verb] == want, (name, env)
    assert paths >= 8


@pytest.mark.wine
@pytest.mark.named
@pytest.mark.parametrize("lang", LANGS)
def test_site_services_table_equals_the_engines_services_manual_plan_on_a_fresh_node(fresh_plan, site_pages, project, lang):
    table = _services_table(site_pages, project.knowledge, lang)
    services = [r[0] for r in table.rows]
    rows_by_node = {r.node: r.rows for r in fresh_plan.results if r.step == "services-manual"}
    assert set(rows_by_node) == {"sv1", "sv2", "sv3", "sv4"}
    for node, rows in rows_by_node.items():
        assert [r.target for r in rows] == services, node
        for r in rows:
            # a fresh node has every service on automatic start: each row is a change to manual
            assert r.desired["start"] == MANUAL_START, (node, r.target, r.desired)
            assert r.status == "change" and r.current["start"] != MANUAL_START, (node, r.target, r.current)
            assert any(c.endswith(f"start= {MANUAL_START}") for c in r.commands), (node, r.commands)


# --------------------------------------------------------------------------------------------
# Scripts: page, downloads, engine bytes, bytes on a node
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_site_scripts_page_and_downloads_equal_the_bytes_the_engine_writes(built_site, site_pages, project, lang):
    from runbook_engine.engine.actions.scripts import ScriptFiles

    wanted = ScriptFiles().wanted(_engine_context(project, lang))
    assert sorted(wanted) == ["START.BAT", "STOP.BAT"]
    page = _page(site_pages, lang, f"{GUIDE}/scripts/index.html")
    blocks = [b.rstrip("\n") for b in page.code_blocks]
    for name, data in wanted.items():
        assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b""), f"{name}: not CRLF only"
        assert _download(built_site, lang, name) == data, name
        shown = _script_text(data, lang).replace("\r\n", "\n").rstrip("\n")
        assert blocks.count(shown) == 1, name


@pytest.mark.wine
@pytest.mark.named
def test_engine_plans_on_a_fresh_cluster_to_write_and_check_the_sites_downloads(fresh_plan, built_site, sandbox):
    from runbook_engine.engine.actions.scripts import script_paths

    kb = sandbox.project.knowledge
    guide = kb.guides[GUIDE]
    inv = sandbox.inv()
    # the configuration folder is on the configuration node; every node gets the delivered copies
    conf_node = inv.configuration_node
    for step, nodes, where in (("script-files", [conf_node], "configuration"),
                               ("installed-scripts", ["sv1", "sv2", "sv3", "sv4"], "installed")):
        assert {r.node for r in fresh_plan.results if r.step == step} == set(nodes), step
        for node in nodes:
            rows = next(r.rows for r in fresh_plan.results if r.node == node and r.step == step)
            lang = inv.node(node).lang
            paths = script_paths(kb, guide, inv, inv.node(node), where)
            want = {paths[n]: _digest(_download(built_site, lang, n)) for n in ("START.BAT", "STOP.BAT")}
            assert {r.target: r.desired for r in rows} == want, (step, node)
            assert all(r.current is None for r in rows), (step, node)  # fresh: absent
            assert {r.status for r in rows} == ({"change"} if step == "script-files" else {"error"}), (step, node)


def _site_dns_rows(site_pages, kb, lang: str) -> list[tuple[str, str, str]]:
    page = _page(site_pages, lang, f"{GUIDE}/procedure/index.html")
    header = kb.label("dns-owner")(lang)
    tables = [t for t in page.tables if header in t.header]
    assert len(tables) == 1, "one DNS records table on the procedure page"
    return [(r[0], r[1], r[2]) for r in tables[0].rows]


@pytest.mark.wine
@pytest.mark.named
@pytest.mark.parametrize("lang", LANGS)
def test_site_dns_table_is_the_engines_dns_records_plan(fresh_plan, site_pages, sandbox, lang):
    """Every row of the site's DNS table, its placeholders filled from the inventory, is a record
    the engine plans on each DNS server, and the engine plans no other (PTRs of every node too)."""
    from runbook_engine.engine.actions.dns import guide_records

    kb = sandbox.project.knowledge
    guide = kb.guides[GUIDE]
    inv = sandbox.inv()
    site = sorted((t, fill_dns(o, inv, guide).lower(), fill_dns(d, inv, guide).lower()) for t, o, d in _site_dns_rows(site_pages, kb, lang))
    engine = sorted((r.rtype, r.name, r.value) for r in guide_records(guide, inv))
    assert site == engine
    planned = {r.node: r.rows for r in fresh_plan.results if r.step == "dns-records"}
    assert planned, "the sandbox has DNS servers"
    for server, rows in planned.items():
        got = sorted((row.target.split()[1], row.target.split()[0], v) for row in rows for v in row.desired)
        assert got == engine, server


@pytest.mark.parametrize("lang", LANGS)
def test_site_dns_table_is_the_engines_records_for_an_example_inventory_of_every_topology_node(site_pages, project, tmp_path, lang):
    """Without a sandbox: kb/inventories/windows-ssh.yaml with a node for each node of the
    guide's topology (a real inventory file, loaded as `runbook plan` loads it) fills the site's
    placeholders; the rows are then exactly the records the engine's DNS step sets
    (guide_records, what DnsRecords.desired reads), type, owner and data, none twice."""
    import yaml

    from runbook_engine.engine.actions.dns import guide_records
    from runbook_engine.engine.inventory import load_inventory

    kb = project.knowledge
    guide = kb.guides[GUIDE]
    raw = yaml.safe_load((REPO / "kb" / "inventories" / "windows-ssh.yaml").read_text(encoding="utf-8"))
    first = raw["nodes"][0]
    raw["nodes"] = [{**first, "name": n.id, "hostname": n.id, "host": f"192.0.2.{21 + i}", "ip": f"192.0.2.{21 + i}"}
                    for i, n in enumerate(guide.meta.topology.nodes)]
    raw["fip"]["mx_preference"] = 20
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    inv = load_inventory(path)
    rows = _site_dns_rows(site_pages, kb, lang)
    site = [(t, fill_dns(o, inv, guide).lower(), fill_dns(d, inv, guide).lower()) for t, o, d in rows]
    engine = [(r.rtype, r.name, r.value) for r in guide_records(guide, inv)]
    assert len(site) == len(set(site)) and sorted(site) == sorted(engine)
    assert {t for t, _, _ in site} == {r.rtype for r in guide.dns.records}
    assert sum(1 for t, _, _ in site if t == "PTR") > len(guide.meta.topology.nodes)  # the FIP's and every node's


@pytest.mark.wine
@pytest.mark.named
def test_scripts_the_engine_wrote_on_a_node_are_the_sites_downloads_byte_for_byte(applied_scripts, built_site, sandbox):

    node = sandbox.inv().node(applied_scripts)
    for name in ("START.BAT", "STOP.BAT"):
        written = sandbox.script_path(applied_scripts, name).read_bytes()
        assert written == _download(built_site, node.lang, name), name


# --------------------------------------------------------------------------------------------
# Steps: procedure page, notebooks, guide, engine
# --------------------------------------------------------------------------------------------


def _notebook_steps(nb: dict) -> list[tuple[str, str]]:
    return [(c["metadata"]["runbook"]["step"], c["metadata"]["runbook"]["mode"])
            for c in nb["cells"] if c["cell_type"] == "code" and "runbook" in c.get("metadata", {})]


@pytest.mark.parametrize("lang", LANGS)
def test_site_step_list_equals_the_notebooks_step_cells_and_the_guides_steps(built_site, site_pages, project, lang):
    from runbook_engine.engine.runner import automated_steps
    from runbook_engine.artifacts.notebooks import build_notebook, notebook_path

    kb = project.knowledge
    guide = kb.guides[GUIDE]
    page = _page(site_pages, lang, f"{GUIDE}/procedure/index.html")
    headings = [h for h in page.headings if h.level == 3]
    shown = [h.id for h in headings]
    labels = [h.text.split(". ", 1)[0] for h in headings]
    engine_labels = [kb.label(f"mode-{m}")(lang) for m in ("automated", "check")]
    mode_of = {b.heading: b.text for b in page.blocks if "rb-step-mode" in b.cls.split()}
    shown_automated = [h.id for h in headings if any(label in mode_of[h.id] for label in engine_labels)]

    assert shown == [s.id for s in guide.steps()]
    assert labels == [s.label for s in guide.steps()]
    committed = json.loads(notebook_path(project, GUIDE, lang).read_text(encoding="utf-8"))
    fresh = json.loads(json.dumps(build_notebook(project, guide, lang)))
    served = json.loads((built_site.out / ("en" if lang == "en" else "") / "runbooks" / f"{GUIDE}.{lang}.ipynb").read_text(encoding="utf-8"))
    for name, nb in (("committed", committed), ("regenerated", fresh), ("site download", served)):
        steps = _notebook_steps(nb)
        assert [s for s, _ in steps] == shown, name
        assert [s for s, m in steps if m in ("automated", "check")] == shown_automated, name
        assert nb["metadata"]["runbook"]["steps"] == shown, name
    assert shown_automated == [s.id for s in automated_steps(guide)]


@pytest.mark.wine
@pytest.mark.named
def test_engine_plans_exactly_the_automated_steps_the_site_shows(fresh_plan, site_pages, project):
    kb = project.knowledge
    page = _page(site_pages, "ja", f"{GUIDE}/procedure/index.html")
    engine_labels = [kb.label(f"mode-{m}")("ja") for m in ("automated", "check")]
    shown = [b.heading for b in page.blocks if "rb-step-mode" in b.cls.split() and any(l in b.text for l in engine_labels)]
    planned = list(dict.fromkeys(r.step for r in fresh_plan.results))
    assert sorted(planned, key=shown.index) == shown and set(planned) == set(shown)


# --------------------------------------------------------------------------------------------
# Case tables: scripts page vs the simulator
# --------------------------------------------------------------------------------------------


def _format_call(call: tuple[str, ...]) -> str:
    return " ".join([call[0], *(f'"{a}"' if (" " in a or not a) else a for a in call[1:])])


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", ["START.BAT", "STOP.BAT"])
def test_site_case_tables_equal_the_simulators_traces(built_site, site_pages, project, lang, name):
    """Every environment of CLP_EVENT (documented values and unset) × CLP_DISK × CLP_SERVER is
    covered by exactly one row (an "(any)" cell covers every value) and the row shows the
    commands and the abort of the simulated run of the downloaded script: its own commands, and
    each shared run it names (listed once above the table) expanded in its place."""
    from plugins.browser import case_table
    from runbook_engine.batch.simulator import simulate_all

    kb = project.knowledge
    variables: dict[str, list] = {}
    for v in kb.family_of("surfnavi").script_variables:
        variables[v.name] = [x.value if hasattr(x, "value") else x[0] for x in v.values]
    variables["CLP_EVENT"] = [*variables["CLP_EVENT"], None]
    traces = {tuple(env.get(n) for n in variables): trace
              for env, trace in simulate_all(_script_text(_download(built_site, lang, name), lang), variables)}

    page = _page(site_pages, lang, f"{GUIDE}/scripts/index.html")
    tables = page.tables_with(**{"data-script": name})
    assert len(tables) == 1
    table = tables[0]
    assert table.header[:len(variables)] == list(variables)
    rows = case_table(page, name, lang).rows
    assert len(rows) == len(table.rows)
    any_cell, unset_cell = f"({kb.label('any-value')(lang)})", f"({kb.label('unset-value')(lang)})"
    covered: Counter = Counter()
    for row in rows:
        choices = []
        for var, cell in zip(variables, row.values):
            choices.append(variables[var] if cell == any_cell else [None] if cell == unset_cell else [cell])
        envs = [()]
        for c in choices:
            envs = [e + (v,) for e in envs for v in c]
        for env in envs:
            assert env in traces, (row, env)
            covered[env] += 1
            trace = traces[env]
            assert row.calls == [_format_call(c) for c in trace.calls], (name, env)
            assert row.last == (trace.aborted or "—"), (name, env)
    assert set(covered) == set(traces) and set(covered.values()) == {1}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", ["START.BAT", "STOP.BAT"])
def test_site_case_tables_show_what_the_guides_data_declares(site_pages, project, lang, name):
    """Each row of a case table, its shared runs expanded, shows for every environment it covers
    the calls batch/intent.py declares from the guide's data (the services, their flags and
    order, the message of that case); with the test above, the script the site ships does what
    the site says it must."""
    from plugins.browser import case_table
    from runbook_engine.batch.cases import case_variables
    from runbook_engine.batch.intent import declared_cases

    kb = project.knowledge
    family = kb.family_of(GUIDE)
    variables = case_variables(family)
    kind = "start" if name == "START.BAT" else "stop"
    declared = {tuple(env.get(n) for n in variables): o for env, o in declared_cases(family, kb.guides[GUIDE], kind, lang)}
    any_cell, unset_cell = f"({kb.label('any-value')(lang)})", f"({kb.label('unset-value')(lang)})"
    covered = []
    for row in case_table(_page(site_pages, lang, f"{GUIDE}/scripts/index.html"), name, lang).rows:
        envs = [()]
        for var, cell in zip(variables, row.values):
            envs = [e + (v,) for e in envs for v in (variables[var] if cell == any_cell else [None] if cell == unset_cell else [cell])]
        for env in envs:
            assert row.calls == [_format_call(c) for c in declared[env].calls], (name, env, declared[env].messages)
            assert row.last == "—", (name, env)
        covered += envs
    assert sorted(covered, key=repr) == sorted(declared, key=repr)


# --------------------------------------------------------------------------------------------
# Sandbox fixtures (module scope: the plan is taken before anything is applied)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh_plan(sandbox):
    from runbook_engine.engine.runner import Runner

    return Runner(sandbox.project, sandbox.inv(), state=sandbox.state).run("plan")


@pytest.fixture(scope="module")
def applied_scripts(fresh_plan, sandbox) -> str:
    """script-files applied on sv1 (after the fresh plan was taken); the node's name."""
    from runbook_engine.engine.runner import Runner

    report = Runner(sandbox.project, sandbox.inv(), state=sandbox.state, nodes=["sv1"], steps=["script-files"]).run("apply")
    assert report.exit_code == 0, [(r.node, r.step, r.status, r.message) for r in report.results]
    return "sv1"


# --------------------------------------------------------------------------------------------
# The proofs prove something: every mutation of tests/mutations.yaml is caught
# --------------------------------------------------------------------------------------------


@pytest.mark.mutation
@pytest.mark.wine
@pytest.mark.named
@pytest.mark.browser
@pytest.mark.timeout(1800)
def test_every_mutation_is_caught(capsys, request):
    """Slow (a few minutes): copies the repository, applies each mutation alone and runs the
    tests named for it there (tests/mutation_harness.py). Deselect locally with -m "not mutation"."""
    import os
    import shutil

    from plugins.components import require, require_executable

    import mutation_harness

    for name, package in (("wine", "wine"), ("x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64"), ("named", "bind9"), ("git", "git")):
        require_executable(name, package)
    require(os.access("/usr/bin/chromium", os.X_OK), "/usr/bin/chromium not found (Debian package chromium)")
    # a selection whose tests all passed earlier in this session is not run again as the baseline
    already = mutation_harness.passed_in_session([item.nodeid for item in request.session.items])
    report = mutation_harness.run_all(log=lambda line: None, already_passed=already)
    with capsys.disabled():
        print("\n" + report.summary())
    survivors = {o.mutation.id: o.error or o.tail for o in report.survivors}
    assert survivors == {}, f"score {report.caught}/{len(report.outcomes)}"


def test_the_mutation_harness_has_each_class_of_slip_the_proofs_stand_against():
    """Each class of slip the proofs stand against (a script wrong consistently, a table compared
    with nothing, an end state read as a status, a misused command line, a flake of the harness)
    has mutations of its own, so that the suite's mutation test covers every class."""
    import mutation_harness

    kinds = Counter(m.kind for m in mutation_harness.load_mutations())
    for kind in ("declared-outcomes", "tables", "end-states", "cli-misuse", "flakes"):
        assert kinds[kind] >= 2, (kind, dict(kinds))


def test_a_copy_without_git_holds_the_same_files_as_gits_list(tmp_path):
    """The mutation harness's copy has no .git, and the tests that copy the project again there
    (guides kept outside, clpcfset) read the tree by its .gitignore files: the same list as git's,
    for a small tree of ignored folders, files and a nested .gitignore, and for this project
    (when it is a git work tree; a harness's copy is not)."""
    import subprocess

    from plugins.project import project_files, walked_files

    tree = tmp_path / "tree"
    files = {".gitignore": "build/\n*.pyc\n", "a/b.txt": "x", "build/x.txt": "x", "a/build/y.txt": "x",
             "a/c.pyc": "x", "cache/.gitignore": "*\n", "cache/data.json": "x", "d/e/f.md": "x"}
    for rel, text in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text, encoding="utf-8")
    walked = walked_files(tree)
    assert walked == [".gitignore", "a/b.txt", "d/e/f.md"]
    assert project_files(tree) == walked  # no .git: the walk
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    assert project_files(tree) == walked  # git's own list

    if (REPO / ".git").exists():
        listed = project_files(REPO)
        assert "src/runbook_engine/cli/__init__.py" in listed and not any(p.startswith(".venv/") for p in listed)
        assert walked_files(REPO) == listed


def test_the_mutation_baseline_leaves_out_only_selections_whose_every_test_passed_in_the_session():
    """The harness's baseline skips a selection only when each of its tests (every parameter of a
    function) passed earlier in the session: one failed phase, a skip or a test not yet run keeps
    the selection in the baseline."""
    from types import SimpleNamespace

    import mutation_harness as mh

    def rep(nodeid, when, outcome):
        return SimpleNamespace(nodeid=nodeid, when=when, passed=outcome == "passed",
                               failed=outcome == "failed", skipped=outcome == "skipped")

    saved = dict(mh.SESSION_OUTCOMES)
    mh.SESSION_OUTCOMES.clear()
    try:
        ids = ["t.py::a[x]", "t.py::a[y]", "t.py::b", "t.py::c", "t.py::d", "t.py::e"]
        for n in ("t.py::a[x]", "t.py::a[y]", "t.py::b", "t.py::c", "t.py::d"):
            for when in ("setup", "call", "teardown"):
                mh.record_outcome(rep(n, when, "passed"))
        mh.record_outcome(rep("t.py::c", "teardown", "failed"))  # the call passed, the teardown did not
        mh.record_outcome(rep("t.py::d", "call", "skipped"))
        check = mh.passed_in_session(ids)
        assert check("t.py::a") and check("t.py::a[x]") and check("t.py::b")
        assert not check("t.py::c") and not check("t.py::d")
        assert not check("t.py::e")  # collected, not run yet
        assert not check("t.py::zzz")  # names no collected test
        mh.record_outcome(rep("t.py::a[y]", "teardown", "failed"))
        assert not check("t.py::a") and check("t.py::a[x]")
    finally:
        mh.SESSION_OUTCOMES.clear()
        mh.SESSION_OUTCOMES.update(saved)
