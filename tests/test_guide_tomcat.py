"""The Apache Tomcat 10 guide (kb/guides/tomcat-10): its facts as the vendor's public how-to
states them, and its pages in both languages.

Sources, by the tag used in the assertion messages:
  [TC]     EXPRESSCLUSTER/Apache-Tomcat tomcat-10-linux.md @c7b04fdc
  [BASIC]  EXPRESSCLUSTER/BasicCluster X41/Lin/2nodesMirror_Lin.md @e4bbd92c
  [RES-JP] EXPRESSCLUSTER/CreateClusterOnLinux doc/jp/ResourceParameters_Linux_jp.md @374fea53
  [MON-JP] EXPRESSCLUSTER/CreateClusterOnLinux doc/jp/MonitorParameters_Linux_jp.md @982a5eec
  [CAT]    apache/tomcat java/org/apache/catalina/startup/Catalina.java (stopServer: System.exit(1))
"""
from __future__ import annotations

import re

import pytest

from plugins.browser import REPO, assert_guide_pages

GID = "tomcat-10"
LANGS = ["ja", "en"]
HOME = "/opt/apache-tomcat-10.1.12"
SETENV = ('CATALINA_OPTS="${CATALINA_OPTS} -Dcom.sun.management.jmxremote.port=1099 '
          '-Dcom.sun.management.jmxremote.ssl=false -Dcom.sun.management.jmxremote.authenticate=false"')
LINKS = "for d in bin conf webapps; do ln -s /mnt/md1/apache-tomcat/$d $d; done"


@pytest.fixture(scope="module")
def kb():
    from runbook_engine.model.project import Project

    return Project.find(REPO).knowledge


@pytest.fixture(scope="module")
def guide(kb):
    return kb.guides[GID]


def _codes(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def _step_codes(step, lang="en") -> list[str]:
    return [c for t in [step.text(lang), *(s.text(lang) for s in step.substeps)] for c in _codes(t)]


# ---- the facts, against the public source ---------------------------------------------------

def test_scope_is_tomcat_10_1_12_on_x5_1_and_rhel_8_6_with_three_licences(kb, guide):
    assert guide.meta.family == "clusterpro-x-linux" and kb.family_of(guide).os == "linux"
    assert guide.meta.scope.applies_to == ["x5.1"], "[TC] EXPRESSCLUSTER X 5.1.1"
    assert guide.meta.environment.operating_systems == ["Red Hat Enterprise Linux 8.6"], "[TC] RHEL 8.6"
    (ed,) = guide.meta.scope.editions
    assert "10.1.12" in ed.versions.en and "11.0.14.1" in ed.versions.en, "[TC] Tomcat 10.1.12, OpenJDK 11.0.14.1"
    conditions = " ".join(c.en for c in ed.conditions)
    for licence in ("CLUSTERPRO X", "Replicator", "Java Resource Agent"):
        assert licence in conditions, f"[TC] the necessary licences: {licence}"
    assert [n.name for n in sorted(guide.meta.topology.nodes, key=lambda n: n.priority)] == ["server1", "server2"], \
        "[TC] clpstat: server1 (current), server2"


def test_the_group_is_fip_md_and_exec_with_the_sources_devices(guide):
    assert [(r.kind, r.cluster_name) for r in guide.resources] == [("fip", "fip"), ("md", "md"), ("exec", "exec")], \
        "[TC] clpstat: fip, md, exec"
    md = guide.resources[1]
    assert (md.mount_point, md.data_partition, md.cluster_partition, md.file_system) == \
        ("/mnt/md1", "/dev/md1/dp", "/dev/md1/cp", "ext4"), "[TC] md: /mnt/md1, /dev/md1/dp, /dev/md1/cp, ext4"
    assert "192.168.0.110" in guide.resources[0].detail.en, "[TC] fip 192.168.0.110"
    assert "1 GB" in md.detail.en, "[BASIC] cluster partition 1GB, not formatted"


def test_the_exec_resource_runs_startup_and_shutdown_and_a_failed_stop_is_not_a_failure(guide):
    ex = guide.resources[2]
    assert [c for c in _codes(ex.detail.en)] == [f"{HOME}/bin/startup.sh", f"{HOME}/bin/shutdown.sh"], \
        "[TC] start.sh: startup.sh; stop.sh: shutdown.sh; exit $?"
    sc = guide.scripts
    start, stop = sc.commands_of("start", "START"), sc.commands_of("stop", "START")
    assert [sc.resolve(c.argv[0]) for c in start] == [f"{HOME}/bin/startup.sh"] and start[0].failure, \
        "[TC] start.sh returns startup.sh's exit code"
    assert [sc.resolve(c.argv[0]) for c in stop] == [f"{HOME}/bin/shutdown.sh"] and stop[0].failure is None, \
        "ours: a failed shutdown.sh (Tomcat already down: Catalina.stopServer exits 1) would stop the cluster and the OS"
    assert sc.commands_of("start", "FAILOVER") == start and sc.commands_of("stop", "FAILOVER") == stop


def test_the_application_ports_are_http_8080_and_jmx_1099(guide):
    assert [(p.protocol, p.port) for p in guide.meta.app_ports] == [("tcp", 8080), ("tcp", 1099)], \
        "[TC] http://192.168.0.110:8080; jmxremote.port=1099, Connection Port 1099"


def test_the_jvm_monitor_watches_exec_on_port_1099_and_fails_over(kb, guide):
    (mon,) = guide.monitors
    fam = kb.family_of(guide)
    assert mon.kind == "jraw" and mon.id == "jraw", "[TC] clpstat: jraw"
    assert "jraw" in {t.kind for t in fam.monitor_types} and next(t for t in fam.monitor_types if t.kind == "jraw").sources
    assert (mon.target, mon.recovery_target, mon.recovery_action) == ("exec", "exec", "failover"), \
        "[TC] Target Resource exec; Executing failover to the recovery target (exec1 in the source: exec)"
    params = {p.name.en.split(": ")[-1]: p.value for p in mon.parameters}
    assert params == {"Target": "Tomcat", "JVM Type": "OpenJDK", "Identifier": "tomcat", "Connection Port": "1099"}, \
        "[TC] Monitor(special) tab"
    assert "Java Resource Agent" in mon.requires.en and "3-1" in mon.requires.en, "[TC] licence and Java Installation Path"
    assert fam.recovery_actions["failover"] == {"emergency/threshold/restart": "0", "emergency/threshold/fo": "1"}, \
        "[MON-JP] 回復対象に対してフェイルオーバ実行"


def test_setenv_is_the_one_line_whose_jmx_port_is_the_monitors_connection_port(guide):
    step = guide.step("setenv")
    for lang in LANGS:
        assert SETENV in _step_codes(step, lang), f"[TC] setenv.sh, one line ({lang})"
    port = re.search(r"jmxremote\.port=(\d+)", SETENV).group(1)
    (mon,) = guide.monitors
    assert {p.value for p in mon.parameters if p.name.en.endswith("Connection Port")} == {port}, \
        "[TC] jmxremote.port equals the JVM monitor's Connection Port"
    assert f"{HOME}/bin/setenv.sh" in _step_codes(step), "[TC] a new setenv.sh in /opt/apache-tomcat-10.1.12/bin"


def test_the_java_path_is_set_before_the_monitor_is_added(guide):
    order = [s.id for s in guide.steps()]
    assert order.index("install-clusterpro") < order.index("java-path") < order.index("jvm-monitor"), \
        "[TC] licence, then Java Installation Path, then the JVM monitor resource"
    assert "/usr/lib/jvm/jre-11-openjdk" in _step_codes(guide.step("java-path")), "[TC] e.g. /usr/lib/jvm/jre-11-openjdk"
    assert guide.step("java-path").scope == "configuration"


def test_bin_conf_webapps_move_to_the_mirror_disk_with_a_reason_per_directory(guide):
    plan = guide.step("directory-plan")
    groups = {s.id: _codes(s.text.en) for s in plan.substeps}
    assert groups == {"shared-dirs": ["bin", "conf", "webapps"], "lib-local": ["lib"],
                      "per-server-dirs": ["logs", "temp", "work"]}, "[TC] (A) bin conf webapps, (B) lib, (C) logs temp work"
    assert all(len(s.text.ja) > 40 and len(s.text.en) > 60 for s in plan.substeps), "[TC] each with its reason"
    primary = _step_codes(guide.step("move-to-mirror"))
    assert primary[:4] == ["mkdir /mnt/md1/apache-tomcat", f"cd {HOME}", "mv bin conf webapps /mnt/md1/apache-tomcat", LINKS], \
        "[TC] On the primary server: mkdir, cd, mv, ln -s loop"
    assert guide.step("move-to-mirror").scope == "first-node"
    secondary = _step_codes(guide.step("links-secondary"))
    assert secondary[:3] == [f"cd {HOME}", "rm -fr bin conf webapps", LINKS], "[TC] On the secondary server: rm -fr, ln -s loop"
    order = [s.id for s in guide.steps()]
    assert order.index("move-to-mirror") < order.index("move-group-secondary") < order.index("links-secondary"), \
        "[TC] primary, clpgrp -m, secondary"
    assert "clpgrp -m" in _step_codes(guide.step("move-group-secondary")), "[TC] clpgrp -m"


def test_every_step_is_manual_and_names_its_public_source(guide):
    assert {s.mode for s in guide.steps()} == {"manual"}, "no Linux action yet: every step is manual"
    assert all(s.sources for s in guide.steps()), [s.id for s in guide.steps() if not s.sources]


def test_the_verification_is_clpstat_browse_fault_test_and_a_planned_move(guide):
    verify = next(p for p in guide.procedure.phases if p.id == "verify")
    assert [s.id for s in verify.steps] == ["check-status", "browse-fip", "fault-test", "move-back"]
    status = " ".join(s.text.en for s in guide.step("check-status").substeps)
    assert "current server1" in status and "exec, fip and md are Online" in status, "[TC] Test 1: clpstat"
    assert "fipw1, jraw, mdnw1, mdw1 and userw are Normal" in status, "[TC] Test 1: the monitors"
    assert "http://192.168.0.110:8080" in _step_codes(guide.step("browse-fip")), "[TC] Test 2: http://192.168.0.110:8080"
    fault = guide.step("fault-test")
    assert f"{HOME}/bin/shutdown.sh" in _step_codes(fault), "[TC] Test 3: shutdown.sh on the active node"
    assert "current server2" in " ".join(s.text.en for s in fault.substeps), "[TC] Test 3: current server2"
    assert "clpgrp -m" in _step_codes(guide.step("move-back")), "[TC] clpgrp -m"


def test_the_cautions_name_jmx_licence_path_lib_standby_stop_and_the_source_defects(guide):
    items = {c.id: c for c in guide.cautions.items}
    assert {"jmx-unprotected", "licence-and-java-path", "same-path", "local-lib", "no-start-on-standby",
            "stop-when-down", "source-defects"} <= set(items)
    assert "jmxremote.authenticate=false" in items["jmx-unprotected"].text.en, "[TC] ssl=false, authenticate=false"
    stop = items["stop-when-down"].text
    assert "deact/action 4" in stop.en and "クラスタサービス停止と OS シャットダウン" in stop.ja, \
        "[RES-JP] deact/action default 4: stop the cluster service and shut down the OS"
    assert "exits with 1" in stop.en, "[CAT] stopServer: System.exit(1) without the shutdown port"
    defects = items["source-defects"].text.en
    assert "exec1" in defects and "no 4" in defects, "[TC] exec vs exec1; steps 1, 2, 3, 5"


def test_the_linux_family_lists_the_guide_as_in_the_knowledge_base(kb):
    refs = {r.id: r for r in kb.families["clusterpro-x-linux"].guides}
    assert refs[GID].in_kb


# ---- the site ---------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_the_guide_has_its_own_pages_and_none_for_what_it_lacks(built_site, lang):
    assert_guide_pages(built_site, GID, lang, present=("", "overview", "environment", "procedure", "scripts", "cautions", "ports", "runbook"), absent=("errata", "upgrade"))


@pytest.mark.parametrize("lang", LANGS)
def test_the_procedure_page_shows_setenv_the_links_and_the_jvm_monitor_table(built_site, site_pages, kb, lang):
    import html

    rel = ("en/" if lang == "en" else "") + f"{GID}/procedure/index.html"
    page = site_pages[rel]
    text = html.unescape((built_site.out / rel).read_text(encoding="utf-8"))
    assert SETENV in text and LINKS in text
    header = kb.label("monitors")(lang)
    tables = [t for t in page.tables if header in t.header]
    assert tables, "the procedure page shows the monitor table"
    for table in tables:
        col = {h: i for i, h in enumerate(table.header)}
        (row,) = table.rows
        assert row[col[header]].endswith("(jraw)")
        assert kb.label("recovery-action-failover")(lang) in row[col[kb.label("recovery-target")(lang)]]
