"""The SQL Server 2019 guide (kb/guides/sqlserver-2019): its facts as the vendor's public how-to
states them, its pages in both languages, and the engine's work on a Wine sandbox shaped as
Windows Server 2019 (services to manual start, the end state read back, rollback to the exact
before-state).

Sources, by the tag used in the assertion messages:
  [S2019]  EXPRESSCLUSTER/SQLServer SQLServer2019onWindows.md @e3031ab1
  [S2022]  EXPRESSCLUSTER/SQLServer SQLServer2022onWindows_en.md
  [UPG]    EXPRESSCLUSTER/SQLServer MSSQL_Upgrade_Procedure.md @a35e5c74
  [BASIC]  EXPRESSCLUSTER/BasicCluster X41/Win/2nodesMirror.md @09a87799
  [JP2017] EXPRESSCLUSTER/SQLServer SQLServer2017onWindows_jp.md
  [LS2019] EXPRESSCLUSTER/SQLServer SQLServer2019LogShipping.md
  [PORTS]  EXPRESSCLUSTER/Tools OpenPorts.bat @64ab6432, OpenPorts_X42.bat @9ebf4265
"""
from __future__ import annotations

import shutil

import pytest

from plugins.browser import REPO, assert_guide_pages
from plugins.cluster import destroy, make_sandbox
from plugins.components import run_on

GID = "sqlserver-2019"
LANGS = ["ja", "en"]


@pytest.fixture(scope="module")
def kb():
    from runbook_engine.model.project import Project

    return Project.find(REPO).knowledge


@pytest.fixture(scope="module")
def guide(kb):
    return kb.guides[GID]


# ---- the facts, against the public source ---------------------------------------------------

def test_scope_is_sql_server_2019_standard_on_x4_and_windows_server_2016_2019(kb, guide):
    assert guide.meta.family == "clusterpro-x-windows"
    assert guide.meta.scope.applies_to == ["x4.0", "x4.1", "x4.2", "x4.3"], "[S2019] EXPRESSCLUSTER X 4 (4.0/4.1/4.2/4.3)"
    assert guide.meta.environment.operating_systems == ["Windows Server 2016", "Windows Server 2019"], "[S2019] Windows Server 2016/2019"
    assert [(e.name.en, e.versions.en) for e in guide.meta.scope.editions] == [("SQL Server Standard", "2019")], \
        "[S2019] SQL Server 2019 Standard"
    assert len(guide.meta.topology.nodes) == 2, "[S2019] 2 nodes with a mirror disk"


def test_the_mirror_disk_is_x_raw_cluster_partition_and_e_ntfs_data_partition(guide):
    md = [r for r in guide.resources if r.kind == "md"]
    assert len(md) == 1
    assert (md[0].data_partition, md[0].cluster_partition, md[0].file_system) == ("E:", "X:", "NTFS"), \
        "[S2019]/[BASIC] data partition E: NTFS, cluster partition X: 1 GB RAW"
    assert "RAW" in md[0].detail.ja and "1 GB" in md[0].detail.en, "[S2019] cluster partition 1GB, RAW"


def test_the_group_is_fip_md_then_the_engine_and_the_agent_depending_on_it(guide):
    assert [r.kind for r in guide.resources] == ["fip", "md", "service", "service"], "[S2019] fip, md, service1, service2"
    engine, agent = guide.resources[2], guide.resources[3]
    assert (engine.cluster_name, agent.cluster_name) == ("service_SQLServer", "service_SQLAgent"), "[S2019] resource names"
    assert agent.depends_on == [engine.id], "[S2019] service_SQLAgent depends on service_SQLServer"
    services = {s.id: s for s in guide.services}
    assert services[engine.service].display_name == "SQL Server (MSSQLSERVER)", "[S2019]/[JP2017] SQL Server (<instance>)"
    assert services[agent.service].display_name == "SQL Server Agent (MSSQLSERVER)", "[S2019] SQL Server Agent (<instance>)"
    assert (services[engine.service].service, services[agent.service].service) == ("MSSQLSERVER", "SQLSERVERAGENT"), \
        "[JP2017] default instance MSSQLSERVER; [LS2019] NT Service\\SQLSERVERAGENT"


def test_both_services_start_manually_and_no_script_starts_them(guide):
    assert {s.service for s in guide.manual_services()} == {"MSSQLSERVER", "SQLSERVERAGENT"}, "[S2019] startup type Manual for both"
    assert guide.scripts is None and not guide.scripted_services(), "[S2019] no script resource"
    step = guide.step("services-manual")
    assert (step.mode, step.action, step.scope) == ("automated", "services-manual", "every-node")


def test_the_secondary_points_its_startup_parameters_at_master_on_the_mirror_disk(guide):
    step = guide.step("startup-parameters")
    text = " ".join(s.text.en for s in step.substeps)
    assert r"-dE:\SQL\MSSQL15.MSSQLSERVER\MSSQL\DATA\master.mdf" in text, "[S2019] -d to E:\\SQL (master.mdf, not the source's master.md)"
    assert r"-lE:\SQL\MSSQL15.MSSQLSERVER\MSSQL\DATA\mastlog.ldf" in text, "[S2019] -l to E:\\SQL (mastlog.ldf)"
    order = [s.id for s in guide.steps()]
    assert order.index("install-primary") < order.index("install-secondary") < order.index("startup-parameters") \
        < order.index("service-resources"), "[S2019] primary, secondary, then the cluster resources"


def test_the_check_writes_on_one_server_moves_the_group_and_reads_on_the_other(guide):
    verify = next(p for p in guide.procedure.phases if p.id == "verify")
    assert [s.id for s in verify.steps] == ["write-on-primary", "move-group", "read-on-secondary"], "[S2019] sqlcmd check"
    text = " ".join(x.text.en for x in guide.step("write-on-primary").substeps)
    assert "create database testdb" in text and "testtb" in text, "[S2019] testdb / testtb"


def test_the_sql_server_monitor_waits_10_s_and_needs_the_database_agent_licence(guide):
    (mon,) = guide.monitors
    params = {p.tag: p.value for p in mon.parameters}
    assert mon.kind == "sqlserverw" and mon.optional, "[S2022] (Option) SQL Server monitor resource"
    assert params["firstmonwait"] == "10" and params["agentparam/odbcname"] == "ODBC Driver 17 for SQL Server", "[S2022]"
    assert mon.target == "service-sqlserver" and "Database Agent" in mon.requires.en, "[S2022] target service_SQLServer; licence"


def test_the_upgrade_shuts_the_secondary_down_before_upgrading_the_primary(guide):
    steps = [s.id for p in guide.upgrade.phases for s in p.steps]
    assert steps.index("upgrade-disable-recovery") < steps.index("upgrade-stop-service") \
        < steps.index("upgrade-shutdown-secondary") < steps.index("upgrade-run-primary") \
        < steps.index("upgrade-open-mirror") < steps.index("upgrade-run-secondary") \
        < steps.index("upgrade-close-mirror") < steps.index("upgrade-restore-settings"), "[S2019] Upgrade SQL Server version"
    assert all(s.mode == "manual" for p in guide.upgrade.phases for s in p.steps)


def test_the_ports_are_the_x4_scripts_own(kb, guide):
    ports = {(p.protocol, p.port): kb.port_versions(guide, p) for p in kb.ports_for(guide)}
    assert ports[("tcp", 29008)] == ["x4.2", "x4.3"], "[PORTS] OpenPorts_X42.bat: information base from X 4.2"
    assert ports[("udp", 29010)] == ["x4.0", "x4.1"], "[PORTS] OpenPorts.bat (X 4.0/4.1) only"
    assert ports[("udp", 29106)] == ["x4.0", "x4.1", "x4.2", "x4.3"], "[PORTS] heartbeat UDP 29106"


# ---- the site ---------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_the_guide_has_its_own_pages_and_none_for_what_it_lacks(built_site, lang):
    assert_guide_pages(built_site, GID, lang, present=("", "overview", "environment", "procedure", "upgrade", "cautions", "ports", "runbook"), absent=("scripts", "errata"))


@pytest.mark.parametrize("lang", LANGS)
def test_the_resources_table_is_the_failover_group_in_start_order(site_pages, kb, guide, lang):
    page = site_pages[("en/" if lang == "en" else "") + f"{GID}/procedure/index.html"]
    header = kb.label("cluster-name")(lang)
    tables = [t for t in page.tables if header in t.header]
    assert len(tables) == 2, "steps 0-1 and 3-2 show the resources"
    names = {r.id: r.cluster_name or r.name(lang) for r in guide.resources}
    expected = [[r.name(lang), r.cluster_name or "—", ", ".join(names[d] for d in r.depends_on) or "—"] for r in guide.resources]
    for t in tables:
        col = {h: i for i, h in enumerate(t.header)}
        got = [[row[col[kb.label("resource")(lang)]], row[col[header]], row[col[kb.label("depends-on")(lang)]]] for row in t.rows]
        assert got == expected


# ---- the engine on a Wine node shaped as Windows Server 2019 ----------------------------------

@pytest.fixture(scope="module")
def sql_sandbox(tmp_path_factory):
    state = tmp_path_factory.mktemp("sqlstate")
    sb = make_sandbox(state, nodes=None, dns=False, guide=GID)
    try:
        yield sb
    finally:
        destroy(sb)
        shutil.rmtree(state / "sandbox" / "nodes", ignore_errors=True)


def _services(sb, node: str) -> dict[str, tuple[str | None, str | None]]:
    """(start type, state) of each of the guide's services, read back with sc on the node."""
    from runbook_engine.engine.facts.services import ServicesConfig

    fact = ServicesConfig(("MSSQLSERVER", "SQLSERVERAGENT"))
    states = fact.process(run_on(sb, node, *fact.commands()))
    return {name: (st.start, st.state) for name, st in states.items()}


def _run(sb, mode: str):
    from runbook_engine.engine.runner import Runner

    return Runner(sb.project, sb.inv(), state=sb.state).run(mode)


def _rows(report):
    return [row for res in report.results for row in res.rows]


def test_the_engine_plans_sets_manual_start_and_rolls_back_on_windows_server_2019_nodes(sql_sandbox):
    sb = sql_sandbox
    nodes = [n.name for n in sb.inv().nodes]
    assert nodes == ["server1", "server2"]
    before = {n: _services(sb, n) for n in nodes}
    assert all(v == ("auto", "RUNNING") for n in nodes for v in before[n].values()), before

    plan = _run(sb, "plan")
    rows = {(r.node, r.action, r.target): r for r in _rows(plan)}
    for n in nodes:
        assert rows[(n, "preflight", "os")].current == "Windows Server 2019 Standard"
        assert rows[(n, "preflight", "filesystem E:")].current == "NTFS", "the mirror disk's data partition is the data drive"
        assert rows[(n, "services-manual", "MSSQLSERVER")].status.value == "change"
    assert {r.action for r in _rows(plan)} == {"preflight", "services-manual"}, "no script, registry or DNS step"

    applied = _run(sb, "apply")
    assert applied.exit_code == 0, applied.as_dict()
    after = {n: _services(sb, n) for n in nodes}
    assert all(v == ("demand", "STOPPED") for n in nodes for v in after[n].values()), after
    assert _run(sb, "plan").exit_code == 0, "a second plan changes nothing"

    from runbook_engine.engine.runner import rollback

    rollback(sb.project, sb.inv(), applied.run_id, state=sb.state)
    assert {n: _services(sb, n) for n in nodes} == before, "rollback restores the exact before-state"
