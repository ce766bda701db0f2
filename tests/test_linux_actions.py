"""The Linux engine actions keep their promises: units-manual, exec-scripts, firewall-ports and
preflight-linux plan from data (pure: desired + facts -> rows with commands and undo), refuse a
hostile value and a node whose shell is not sh, and on a real systemd container (systemd-nspawn,
reached by the nspawn transport) apply, converge to a plan with no change, and undo back to the
exact before-state; a port the guide opens accepts a connection from another network namespace,
one it does not list is refused."""
from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from runbook_engine.artifacts.scripts import render_scripts
from runbook_engine.artifacts.tables import GuideTables
from runbook_engine.engine.actions import action
from runbook_engine.engine.actions.base import Context
from runbook_engine.engine.actions.firewall import layout, ruleset, table_name
from runbook_engine.engine.actions.preflightlinux import required_programs
from runbook_engine.engine.actions.scripts import script_paths
from runbook_engine.engine.cmdline import UnsafeArgument
from runbook_engine.engine.facts.base import gather
from runbook_engine.engine.facts.cluster import ABSENT, ActiveNode, ActiveNodeSh
from runbook_engine.engine.facts.linux import Mount
from runbook_engine.engine.facts.nft import NftState, parse_table
from runbook_engine.engine.facts.shfiles import FileState
from runbook_engine.engine.facts.units import UnitState, UnitStates
from runbook_engine.engine.inventory import Inventory
from runbook_engine.engine.runner import Runner, change_commands
from runbook_engine.engine.status import RowStatus
from runbook_engine.engine.targets import Target, node_target
from runbook_engine.model import loader
from runbook_engine.model.project import Project
from runbook_engine.model.schema import Service, Text

REPO = Path(__file__).resolve().parents[1]
SNIPPETS = REPO / "snippets"
GUIDE = "postgresql"
GROUP, EXEC = "failover-pg", "exec1"
CONF = "/srv/clpconf"


@pytest.fixture(scope="module")
def kb():
    return loader.load(REPO / "kb")


def unit(service: str, *, mask: bool = False, sid: str = "rbtest") -> Service:
    return Service(id=sid, service=service, display_name=service, feature="postgresql",
                   label=Text(ja="テスト用のユニット", en="A test unit"), manual_in="unit-disabled",
                   scripted=False, mask=mask)


def with_units(kb, *services: Service):
    """The PostgreSQL guide with *services* as its services.yaml."""
    return kb.guides[GUIDE].model_copy(update={"services": list(services)})


def inventory(machine: Path | str = "/nonexistent", nodes=("lx1",), **state) -> Inventory:
    return Inventory.model_validate({
        "cluster": "pgcl", "guide": GUIDE, "platform": "linux",
        "cluster_state": {"group": GROUP, **state},
        "configuration": {"folder": CONF, "resources": {"exec": EXEC}},
        "nodes": [{"name": n, "transport": "nspawn", "machine": str(machine), "lang": "en"} for n in nodes],
    })


def context(kb, guide=None, inv=None, node="lx1", target=None) -> Context:
    inv = inv or inventory()
    return Context(kb=kb, guide=guide or kb.guides[GUIDE], inventory=inv,
                   target=target or node_target(inv.node(node)), snippets=SNIPPETS)


def plan_with(name: str, ctx: Context, facts: dict):
    act = action(name)
    return act.plan(act.desired(ctx), facts)


# ------------------------------------------------------------------------------------------
# units-manual: pure plans
# ------------------------------------------------------------------------------------------

def _units(state: UnitState) -> dict:
    return {"units": {state.name: state}}


@pytest.mark.parametrize("mask,before,commands,undo", [
    (False, ("enabled", "active"),
     ["systemctl disable -- rb.service", "systemctl stop -- rb.service"],
     ["systemctl enable -- rb.service", "systemctl start -- rb.service"]),
    (True, ("enabled", "active"),
     ["systemctl disable -- rb.service", "systemctl mask -- rb.service", "systemctl stop -- rb.service"],
     ["systemctl unmask -- rb.service", "systemctl enable -- rb.service", "systemctl start -- rb.service"]),
    (True, ("disabled", "inactive"), ["systemctl mask -- rb.service"], ["systemctl unmask -- rb.service"]),
    # masked but the guide does not say mask: unmasked (its .wants links come back) and disabled
    (False, ("masked", "inactive"),
     ["systemctl unmask -- rb.service", "systemctl disable -- rb.service"], ["systemctl mask -- rb.service"]),
    (False, ("disabled", "failed"), [], []),
    (True, ("masked", "inactive"), [], []),
])
def test_units_manual_plans_disable_mask_stop_and_an_undo_in_the_order_systemd_needs(kb, mask, before, commands, undo):
    ctx = context(kb, with_units(kb, unit("rb.service", mask=mask)))
    load = "masked" if before[0] == "masked" else "loaded"
    [row] = plan_with("units-manual", ctx, _units(UnitState("rb.service", load, *before)))
    assert row.commands == commands and row.undo == undo
    assert row.status == (RowStatus.CHANGE if commands else RowStatus.OK)
    assert row.desired == {"enablement": "masked" if mask else "disabled", "state": "inactive"}


def test_units_manual_never_stops_a_unit_in_operation(kb):
    guide = with_units(kb, unit("rb.service"))
    inv = inventory(nodes=("lx1", "lx2"), phase="operation", active="lx1")
    running = _units(UnitState("rb.service", "loaded", "enabled", "active"))
    # active node: the state is the cluster's, only the enablement changes
    [row] = plan_with("units-manual", context(kb, guide, inv, "lx1"), running)
    assert row.commands == ["systemctl disable -- rb.service"] and row.desired["state"] == "cluster"
    # standby node: running is an error, nothing is planned
    [row] = plan_with("units-manual", context(kb, guide, inv, "lx2"), running)
    assert row.status == RowStatus.ERROR and row.commands == [] and "standby node lx2" in row.message
    # verify compares the enablement between nodes, never the state
    assert action("units-manual").compared(row) == {"enablement": "enabled"}


def test_units_manual_reports_a_missing_unit_and_a_state_it_does_not_change(kb):
    ctx = context(kb, with_units(kb, unit("rb.service")))
    [row] = plan_with("units-manual", ctx, _units(UnitState("rb.service", "not-found", None, "inactive")))
    assert row.status == RowStatus.ERROR and "not installed on lx1" in row.message
    [row] = plan_with("units-manual", ctx, _units(UnitState("rb.service", "loaded", "static", "active")))
    assert row.status == RowStatus.ERROR and "'static'" in row.message and row.commands == []


@pytest.mark.parametrize("name", ["rb;reboot.service", "$(reboot).service", "rb service.service", "-rb.service",
                                  "rb.service\n", "rb'.service"])
def test_a_hostile_unit_name_never_reaches_a_command_line(name):
    with pytest.raises(UnsafeArgument):
        UnitStates((name,)).commands()


def test_a_linux_action_refuses_a_node_whose_shell_is_not_sh(kb):
    inv = inventory()
    target = Target("lx1", "wine", SimpleNamespace(prefix="/tmp/x"), inv.node("lx1"))
    for name in ("units-manual", "exec-scripts", "firewall-ports", "preflight-linux"):
        with pytest.raises(ValueError, match="builds sh commands.*runs cmd"):
            action(name).desired(context(kb, inv=inv, target=target))


def test_runbook_check_refuses_a_linux_action_on_a_windows_guide_at_its_line(tmp_path, capsys):
    from runbook_engine import cli

    shutil.copytree(REPO / "kb", tmp_path / "kb")
    (tmp_path / "snippets").symlink_to(SNIPPETS, target_is_directory=True)
    proc = tmp_path / "kb" / "guides" / "surfnavi" / "procedure.yaml"
    text = proc.read_text(encoding="utf-8")
    proc.write_text(text.replace("action: services-manual", "action: units-manual"), encoding="utf-8")
    line = text[: text.index("action: services-manual")].count("\n") + 1
    assert cli.main(["--root", str(tmp_path), "check"]) == 2
    err = capsys.readouterr().err
    assert (f"kb/guides/surfnavi/procedure.yaml:{line}: step 'services-manual': action 'units-manual' is for "
            "linux guides, and this guide's family runs windows") in err, err


# ------------------------------------------------------------------------------------------
# exec-scripts: pure plans
# ------------------------------------------------------------------------------------------

def test_script_paths_join_posix_paths_for_a_linux_family_and_keep_windows_ones(kb):
    inv = inventory()
    paths = script_paths(kb, kb.guides[GUIDE], inv, inv.node("lx1"), "configuration")
    assert paths == {"start.sh": f"{CONF}/scripts/{GROUP}/{EXEC}/start.sh",
                     "stop.sh": f"{CONF}/scripts/{GROUP}/{EXEC}/stop.sh"}
    installed = script_paths(kb, kb.guides[GUIDE], inv, inv.node("lx1"), "installed")
    assert installed["start.sh"] == f"/opt/nec/clusterpro/scripts/{GROUP}/{EXEC}/start.sh"
    win = Inventory.model_validate({
        "cluster": "c", "guide": "surfnavi", "cluster_state": {"group": "g"},
        "configuration": {"folder": "C:\\clpconf\\", "resources": {"script": "script"}},
        "nodes": [{"name": "sv1", "transport": "local"}]})
    assert script_paths(kb, kb.guides["surfnavi"], win, win.node("sv1"), "configuration") == {
        "START.BAT": "C:\\clpconf\\scripts\\g\\script\\start.bat", "STOP.BAT": "C:\\clpconf\\scripts\\g\\script\\stop.bat"}


def _file_facts(ctx, states: dict[str, FileState], folders: str = "absent") -> dict:
    act = action("exec-scripts")
    desired = act.desired(ctx)
    fact_keys = act.facts(ctx, desired)
    dirs = {f: folders for f in fact_keys["folders"].paths}
    return {"folders": dirs, **{d.target: states.get(d.target, FileState(d.target, "absent")) for d in desired}}


def test_exec_scripts_makes_the_folders_writes_0700_atomically_and_undoes_to_nothing(kb):
    ctx = context(kb)
    rows = plan_with("exec-scripts", ctx, _file_facts(ctx, {}))
    assert [r.target for r in rows] == [f"{CONF}/scripts/{GROUP}/{EXEC}/start.sh", f"{CONF}/scripts/{GROUP}/{EXEC}/stop.sh"]
    start = rows[0]
    data = render_scripts(kb, kb.guides[GUIDE], "en", SNIPPETS)["start.sh"].data
    assert start.desired["mode"] == "0700" and start.desired["sha256"].startswith("sha256:")
    assert start.commands[:4] == [f"[ -d /srv ] || mkdir -m 0755 -- /srv", f"[ -d {CONF} ] || mkdir -m 0755 -- {CONF}",
                                  f"[ -d {CONF}/scripts ] || mkdir -m 0755 -- {CONF}/scripts",
                                  f"[ -d {CONF}/scripts/{GROUP} ] || mkdir -m 0755 -- {CONF}/scripts/{GROUP}"]
    write = start.commands[-1]
    assert base64.b64encode(data).decode() in write
    assert write.endswith(f"chmod 0700 -- {CONF}/scripts/{GROUP}/{EXEC}/.start.sh.rbtmp && mv -f -- "
                          f"{CONF}/scripts/{GROUP}/{EXEC}/.start.sh.rbtmp {CONF}/scripts/{GROUP}/{EXEC}/start.sh")
    assert start.undo[0] == f"rm -f -- {CONF}/scripts/{GROUP}/{EXEC}/start.sh"
    assert [u.split(" ")[3] for u in start.undo[1:]] == [f"{CONF}/scripts/{GROUP}/{EXEC}", f"{CONF}/scripts/{GROUP}",
                                                        f"{CONF}/scripts", CONF, "/srv"]  # deepest first


def test_exec_scripts_changes_only_the_mode_when_the_bytes_are_right_and_puts_old_bytes_back(kb):
    ctx = context(kb)
    scripts = render_scripts(kb, kb.guides[GUIDE], "en", SNIPPETS)
    path = f"{CONF}/scripts/{GROUP}/{EXEC}/"
    states = {path + "start.sh": FileState(path + "start.sh", "file", 0o755, scripts["start.sh"].data),
              path + "stop.sh": FileState(path + "stop.sh", "file", 0o640, b"#!/bin/sh\nold\n")}
    start, stop = plan_with("exec-scripts", ctx, _file_facts(ctx, states, "folder"))
    assert start.commands == [f"chmod 0700 -- {path}start.sh"] and start.undo == [f"chmod 0755 -- {path}start.sh"]
    assert len(stop.commands) == 1 and "mkdir" not in stop.commands[0]
    assert stop.undo[0].startswith(f"umask 077 && printf '%s' '{base64.b64encode(b'#!/bin/sh' + bytes([10]) + b'old' + bytes([10])).decode()}'")
    assert "chmod 0640" in stop.undo[0] and stop.before == {"content_b64": "IyEvYmluL3NoCm9sZAo=", "mode": "0640"}
    same = {p: FileState(p, "file", 0o700, scripts[p.rsplit("/", 1)[1]].data) for p in states}
    assert [r.status for r in plan_with("exec-scripts", ctx, _file_facts(ctx, same, "folder"))] == [RowStatus.OK] * 2


def test_exec_scripts_writes_nothing_over_a_folder_or_a_link(kb):
    ctx = context(kb)
    path = f"{CONF}/scripts/{GROUP}/{EXEC}/start.sh"
    start, _ = plan_with("exec-scripts", ctx, _file_facts(ctx, {path: FileState(path, "other")}, "folder"))
    assert start.status == RowStatus.ERROR and start.commands == [] and "not a regular file" in start.message


@pytest.mark.parametrize("folder", ["/srv/clp conf", "/srv/$(reboot)", "/srv/../etc", "/srv/a;b", "relative/x"])
def test_a_hostile_configuration_folder_is_refused_by_the_inventory(folder):
    with pytest.raises(ValueError):
        Inventory.model_validate({"cluster": "c", "guide": GUIDE, "platform": "linux", "configuration": {"folder": folder},
                                  "nodes": [{"name": "lx1", "transport": "nspawn", "machine": "/x"}]})


# ------------------------------------------------------------------------------------------
# firewall-ports: pure plans
# ------------------------------------------------------------------------------------------

def _site_ports(kb, guide) -> dict[str, list[int]]:
    """(protocol, port) of the inbound rows of the site's port tables, as a reader sees them."""
    md = GuideTables(kb, "en").ports(guide)
    found: dict[str, set[int]] = {"tcp": set(), "udp": set()}
    for block in re.findall(r'<div class="rb-(?:ports" data-direction="in"|app-ports") markdown>(.*?)</div>', md, re.S):
        for proto, port in re.findall(r"^\| (TCP|UDP) \| [^|]+ \| (\d+) \|", block, re.M):
            found[proto.lower()].add(int(port))
    return {k: sorted(v) for k, v in found.items()}


@pytest.mark.parametrize("gid", ["postgresql", "tomcat-10"])
def test_site_ports_table_equals_engine_firewall_plan(kb, gid):
    guide = kb.guides[gid]
    [d] = action("firewall-ports").desired(context(kb, guide))
    site = _site_ports(kb, guide)
    assert site["tcp"] and {"tcp": d.value["tcp"], "udp": d.value["udp"]} == site
    assert d.value["keep_open"] == [22] and d.data["table"] == "runbook_" + gid.replace("-", "_")


def test_the_firewall_keeps_the_transports_management_port_open(kb):
    inv = inventory()
    target = Target("lx1", "nspawn", SimpleNamespace(machine="/x", port=2222), inv.node("lx1"))
    [d] = action("firewall-ports").desired(context(kb, inv=inv, target=target))
    assert d.value["keep_open"] == [2222]


def test_firewall_plan_is_one_nft_transaction_and_its_undo_deletes_or_restores_the_table(kb):
    ctx = context(kb)
    [row] = plan_with("firewall-ports", ctx, {"nft inet runbook_postgresql": NftState(exists=False)})
    [cmd] = row.commands
    assert cmd.startswith("printf '%s\\n' 'table inet runbook_postgresql {}' 'delete table inet runbook_postgresql' "
                          "'table inet runbook_postgresql {' ") and cmd.endswith(" | nft -f -")
    assert ("'    tcp dport { 5432, 29001, 29002, 29003, 29004, 29008, 29009, 29010, 29031, 29051, 29071 } accept "
            "comment \"guide\"'") in cmd
    assert "'    udp dport { 29002, 29003, 29006 } accept comment \"guide\"'" in cmd
    assert row.undo == ["printf '%s\\n' 'table inet runbook_postgresql {}' 'delete table inet runbook_postgresql' | nft -f -"]
    old = "table inet runbook_postgresql {\n\tchain input {\n\t\ttcp dport 5433 accept\n\t}\n}"
    state = NftState(exists=True, ports={"keep_open": [], "tcp": [5433], "udp": []}, layout=["chain", "other"], text=old)
    [row] = plan_with("firewall-ports", ctx, {"nft inet runbook_postgresql": state})
    assert row.current["rules"] == ["chain", "other"] and row.before == {"ruleset": old}
    assert row.undo == ["printf '%s\\n' 'table inet runbook_postgresql {}' 'delete table inet runbook_postgresql' "
                        "'table inet runbook_postgresql {' '\tchain input {' '\t\ttcp dport 5433 accept' '\t}' '}' | nft -f -"]


def test_the_table_the_engine_writes_parses_back_to_its_desired_value(kb):
    """nft 1.0.6's JSON of the table ruleset() writes (captured from a container) reads back as the
    value it was written from, with the layout of ours."""
    value = {"keep_open": [22], "tcp": [5432, 29001], "udp": [29002]}
    listing = {"nftables": [
        {"metainfo": {"version": "1.0.6", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "runbook_t"}},
        {"chain": {"family": "inet", "table": "runbook_t", "name": "input", "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
        {"rule": {"chain": "input", "comment": "loopback", "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "lo"}}, {"accept": None}]}},
        {"rule": {"chain": "input", "comment": "established", "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": None}]}},
        {"rule": {"chain": "input", "comment": "icmp", "expr": [{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": {"set": [1, 58]}}}, {"accept": None}]}},
        {"rule": {"chain": "input", "comment": "keep-open", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"accept": None}]}},
        {"rule": {"chain": "input", "comment": "guide", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"set": [5432, 29001]}}}, {"accept": None}]}},
        {"rule": {"chain": "input", "comment": "guide", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 29002}}, {"accept": None}]}},
        {"rule": {"chain": "input", "comment": "reject", "expr": [{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": 6}}, {"reject": {"type": "tcp reset"}}]}},
        {"rule": {"chain": "input", "comment": "reject", "expr": [{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": 17}}, {"reject": {"type": "icmpx", "expr": "port-unreachable"}}]}},
    ]}
    ports, found = parse_table(listing, "runbook_t")
    assert ports == value and found == layout(value)
    # a rule added behind the engine's back is not ours: the layout differs
    listing["nftables"].insert(5, {"rule": {"chain": "input", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 5433}}, {"accept": None}]}})
    assert parse_table(listing, "runbook_t")[1] != layout(value)
    assert ruleset("runbook_t", value)[0] == "table inet runbook_t {"


@pytest.mark.parametrize("bad", [{"tcp": ["22; flush ruleset"]}, {"tcp": [0]}, {"udp": [65536]}, {"tcp": [True]}])
def test_a_port_that_is_not_a_port_never_reaches_nft(bad):
    with pytest.raises(ValueError):
        ruleset("runbook_t", {"keep_open": [22], "tcp": [], "udp": [], **bad})
    with pytest.raises(ValueError):
        ruleset("runbook_t; flush ruleset", {"keep_open": [22], "tcp": [], "udp": []})
    assert table_name("tomcat-10") == "runbook_tomcat_10"


# ------------------------------------------------------------------------------------------
# preflight-linux: pure plans
# ------------------------------------------------------------------------------------------

def test_preflight_linux_requires_bash_every_program_the_scripts_run_and_clplogcmd(kb):
    assert required_programs(kb.guides["postgresql"]) == ["bash", "rm", "su", "/usr/pgsql-15/bin/pg_ctl", "clplogcmd"]
    tomcat = required_programs(kb.guides["tomcat-10"])
    assert tomcat[0] == "bash" and tomcat[-1] == "clplogcmd" and all(p.startswith("/") for p in tomcat[1:-1]), tomcat


def test_preflight_linux_rows(kb):
    ctx = context(kb)
    act = action("preflight-linux")
    desired = act.desired(ctx)
    assert [d.target for d in desired] == ["os", "filesystem /postgres", "command bash", "command clplogcmd"]
    # the scripts' own programs are a step of their own, after the application is installed
    assert [d.target for d in action("script-programs").desired(ctx)] == [
        "command rm", "command su", "command /usr/pgsql-15/bin/pg_ctl"]
    found = {"bash": "/usr/bin/bash", "rm": "/usr/bin/rm", "su": "/usr/bin/su",
             "/usr/pgsql-15/bin/pg_ctl": "/usr/pgsql-15/bin/pg_ctl", "clplogcmd": None}
    facts = {"os": "Red Hat Enterprise Linux 8.6 (Ootpa)", "filesystem /postgres": Mount(True, "ext4", "/postgres"),
             "commands": found}
    rows = {r.target: r for r in act.plan(desired, facts)}
    assert {t for t, r in rows.items() if r.status == RowStatus.ERROR} == {"command clplogcmd"}
    assert rows["command clplogcmd"].message == "clplogcmd not found (the scripts run it)"
    facts.update({"os": "Debian GNU/Linux 12 (bookworm)", "filesystem /postgres": Mount(True, "xfs", "/postgres")})
    rows = {r.target: r for r in act.plan(desired, facts)}
    assert rows["os"].status == RowStatus.ERROR and rows["filesystem /postgres"].message == "the file system on /postgres must be ext4"
    facts["filesystem /postgres"] = Mount(False)
    assert "mount point /postgres does not exist" in act.plan(desired, facts)[1].message
    facts["filesystem /postgres"] = Mount(True, "xfs", "/")
    assert act.plan(desired, facts)[1].status == RowStatus.ERROR
    # not mounted here: the data partition's own format is what counts (blkid, as the guide checks)
    assert act.facts(ctx, desired)["filesystem /postgres"].commands()[1] == "blkid -o value -s TYPE -- /dev/sdb1"
    facts["filesystem /postgres"] = Mount(True, "xfs", "/", device_fstype="ext4")
    row = act.plan(desired, facts)[1]
    assert (row.status, row.current, row.message) == (RowStatus.OK, "ext4 (not mounted)",
                                                      "not mounted here; /dev/sdb1 is formatted ext4")
    facts["filesystem /postgres"] = Mount(True, "xfs", "/", device_fstype="xfs")
    assert act.plan(desired, facts)[1].status == RowStatus.ERROR
    facts["filesystem /postgres"] = Mount(True, "xfs", "/")
    # on a standby node in operation the mirror disk is mounted on the active node: correct
    inv = inventory(nodes=("lx1", "lx2"), phase="operation", active="lx1")
    sb = act.desired(context(kb, inv=inv, node="lx2"))
    row = act.plan(sb, facts)[1]
    assert row.status == RowStatus.OK and "active on lx1" in row.message


# ------------------------------------------------------------------------------------------
# the cluster check on a sh node
# ------------------------------------------------------------------------------------------

def test_the_cluster_check_asks_clpgrp_in_the_shell_of_each_nodes_transport():
    inv = inventory()
    runner = Runner(Project(REPO), inv)
    sh = runner.cluster_fact(node_target(inv.node("lx1")))
    assert isinstance(sh, ActiveNodeSh) and sh.commands() == [
        f"if command -v clpgrp >/dev/null 2>&1; then clpgrp -n {GROUP} 2>&1; else echo {ABSENT}; fi"]
    assert type(runner.cluster_fact(Target("sv1", "wine", SimpleNamespace(prefix="/x"), inv.node("lx1")))) is ActiveNode
    with pytest.raises(UnsafeArgument):
        ActiveNodeSh("g; reboot").commands()


# ------------------------------------------------------------------------------------------
# On a real systemd container
# ------------------------------------------------------------------------------------------

def _plan(act, ctx, t):
    desired = act.desired(ctx)
    return act.plan(desired, gather(t, act.facts(ctx, desired)))


def _apply(act, ctx, t):
    """As the runner applies: the changes, then the facts again, in one round trip."""
    desired = act.desired(ctx)
    facts = act.facts(ctx, desired)
    rows = act.plan(desired, gather(t, facts))
    after = gather(t, facts, extra_before=change_commands(rows))
    assert [c.rc for c in after["__changes__"]] == [0] * len(after["__changes__"]), after["__changes__"]
    return rows, act.plan(desired, after)


def _undo(t, rows) -> None:
    """As rollback does: each changed row's undo, newest first, in one round trip."""
    res = t.run([c for r in reversed(rows) if r.status == RowStatus.CHANGE for c in r.undo]).results
    assert [r.rc for r in res] == [0] * len(res), res


def _unit_state(node, name: str) -> tuple[str, str]:
    out = node.sh(f"systemctl show -p UnitFileState -p ActiveState -- {name}")[0].stdout
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return props["UnitFileState"], props["ActiveState"]


UNIT_FILE = "[Unit]\nDescription=runbook test unit\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n"


def _install_unit(node, folder: str, name: str) -> None:
    data = base64.b64encode(UNIT_FILE.encode()).decode()
    res = node.sh(f"printf '%s' {data} | base64 -d > {folder}/{name}", "systemctl daemon-reload",
                  f"systemctl enable --now -- {name}")
    assert [r.rc for r in res] == [0, 0, 0], res
    assert _unit_state(node, name) == ("enabled", "active")


@pytest.mark.linux
@pytest.mark.parametrize("mask,folder,name", [(False, "/etc/systemd/system", "rbtest.service"),
                                              # a unit file under /etc cannot be masked (the mask is a link there)
                                              (True, "/run/systemd/system", "rbmask.service")])
def test_units_manual_on_systemd_disables_stops_converges_and_rolls_back(kb, linux_node, mask, folder, name):
    _install_unit(linux_node, folder, name)
    ctx = context(kb, with_units(kb, unit(name, mask=mask)), inventory(linux_node.machine))
    act = action("units-manual")
    with linux_node.transport() as t:
        rows, after = _apply(act, ctx, t)
        assert [r.status for r in rows] == [RowStatus.CHANGE] and [r.status for r in after] == [RowStatus.OK]
        assert _unit_state(linux_node, name) == ("masked" if mask else "disabled", "inactive")
        assert [r.changes for r in _plan(act, ctx, t)] == [False]  # idempotent: nothing left to do
        assert t.round_trips == 3  # read; change + read; read
        _undo(t, rows)
    assert _unit_state(linux_node, name) == ("enabled", "active")


@pytest.mark.linux
def test_units_manual_leaves_a_unit_running_on_a_standby_node_and_reports_it(kb, linux_node):
    _install_unit(linux_node, "/etc/systemd/system", "rbstandby.service")
    inv = inventory(linux_node.machine, nodes=("lx0", "lx1"), phase="operation", active="lx0")
    ctx = context(kb, with_units(kb, unit("rbstandby.service")), inv, "lx1")
    with linux_node.transport() as t:
        [row] = _plan(action("units-manual"), ctx, t)
    assert row.status == RowStatus.ERROR and row.commands == [] and row.current == {"enablement": "enabled", "state": "active"}
    assert _unit_state(linux_node, "rbstandby.service") == ("enabled", "active")


def _files(node, paths) -> dict[str, tuple[str, bytes] | None]:
    out = {}
    for p, r in zip(paths, node.sh(*[f"[ -f {p} ] && stat -c %a -- {p} && base64 -w 0 -- {p}" for p in paths])):
        lines = r.stdout.splitlines()
        out[p] = (lines[0], base64.b64decode(lines[1] if len(lines) > 1 else "")) if r.rc == 0 else None
    return out


@pytest.mark.linux
def test_exec_scripts_on_a_linux_node_are_byte_exact_0700_and_roll_back_to_nothing(kb, linux_node):
    inv = inventory(linux_node.machine)
    ctx = context(kb, inv=inv)
    act = action("exec-scripts")
    paths = list(script_paths(kb, kb.guides[GUIDE], inv, inv.node("lx1"), "configuration").values())
    scripts = render_scripts(kb, kb.guides[GUIDE], "en", SNIPPETS)
    assert linux_node.sh(f"[ -e {CONF} ]")[0].rc == 1  # a fresh tmpfs root
    with linux_node.transport() as t:
        rows, after = _apply(act, ctx, t)
        assert [r.status for r in rows] == [RowStatus.CHANGE] * 2 and [r.status for r in after] == [RowStatus.OK] * 2
        assert _files(linux_node, paths) == {p: ("700", scripts[p.rsplit("/", 1)[1]].data) for p in paths}
        assert b"\r" not in scripts["start.sh"].data
        assert not any(r.changes for r in _plan(act, ctx, t))
        # the mode only, behind the engine's back: a chmod, and its undo
        linux_node.sh(f"chmod 0755 {paths[1]}")
        chmod_rows, _ = _apply(act, ctx, t)
        assert [r.commands for r in chmod_rows] == [[], [f"chmod 0700 -- {paths[1]}"]]
        _undo(t, chmod_rows)
        assert _files(linux_node, paths[1:])[paths[1]][0] == "755"
        _apply(act, ctx, t)
        _undo(t, rows)
    assert _files(linux_node, paths) == {p: None for p in paths}
    # the folders the write made are gone too, the one that was there stays
    assert [r.rc for r in linux_node.sh(f"[ -e {CONF} ]", "[ -d /srv ]")] == [1, 0]
    assert linux_node.sh("ls -A /srv/*rbtmp* 2>/dev/null; find / -xdev -name '*.rbtmp' 2>/dev/null")[0].stdout == ""


@pytest.mark.linux
def test_exec_scripts_undo_puts_an_older_script_back_with_its_mode(kb, linux_node):
    inv = inventory(linux_node.machine)
    paths = list(script_paths(kb, kb.guides[GUIDE], inv, inv.node("lx1"), "configuration").values())
    folder = paths[0].rsplit("/", 1)[0]
    old = "#!/bin/bash\n# an older start.sh, mode 0750\nexit 0\n".encode()
    linux_node.sh(f"mkdir -p {folder}", f"printf '%s' {base64.b64encode(old).decode()} | base64 -d > {paths[0]}",
                  f"chmod 0750 {paths[0]}")
    with linux_node.transport() as t:
        rows, _ = _apply(action("exec-scripts"), context(kb, inv=inv), t)
        assert rows[0].before == {"content_b64": base64.b64encode(old).decode(), "mode": "0750"}
        _undo(t, rows)
    assert _files(linux_node, paths) == {paths[0]: ("750", old), paths[1]: None}
    linux_node.sh(f"rm -rf {CONF}")


def _tables(node) -> str:
    return node.sh("nft list ruleset")[0].stdout


@pytest.mark.linux
def test_firewall_ports_opens_the_guides_ports_refuses_the_rest_and_rolls_back(kb, linux_node):
    """Probed from another network namespace over a veth pair: before apply every listener
    accepts; after it a port of the guide accepts and an unlisted one is refused (TCP reset,
    ICMP port unreachable); after the undo both accept again. Another table is never touched."""
    linux_node.listen("tcp/5432", "tcp/5433", "tcp/29001", "udp/29002", "udp/29005")
    probes = [("tcp", 5432), ("tcp", 5433), ("tcp", 29001), ("udp", 29002), ("udp", 29005)]
    assert [linux_node.probe(*p) for p in probes] == ["accepted"] * 5
    other = linux_node.sh("nft add table inet someone_else", "nft add chain inet someone_else c "
                          "'{ type filter hook input priority 10; policy accept; }'")
    assert [r.rc for r in other] == [0, 0], other
    before = _tables(linux_node)
    ctx = context(kb, inv=inventory(linux_node.machine))
    act = action("firewall-ports")
    with linux_node.transport() as t:
        rows, after = _apply(act, ctx, t)
        assert [r.current for r in rows] == [None] and [r.status for r in after] == [RowStatus.OK]
        assert [linux_node.probe(*p) for p in probes] == ["accepted", "refused", "accepted", "accepted", "refused"]
        assert "table inet someone_else" in _tables(linux_node)
        assert not any(r.changes for r in _plan(act, ctx, t))
        _undo(t, rows)
    assert _tables(linux_node) == before
    assert [linux_node.probe(*p) for p in probes] == ["accepted"] * 5
    linux_node.sh("nft delete table inet someone_else")


@pytest.mark.linux
def test_firewall_ports_rewrites_a_table_edited_behind_its_back_and_undo_restores_that_text(kb, linux_node):
    ctx = context(kb, inv=inventory(linux_node.machine))
    act = action("firewall-ports")
    with linux_node.transport() as t:
        _apply(act, ctx, t)
        linux_node.sh("nft insert rule inet runbook_postgresql input tcp dport 5433 accept")
        edited = _tables(linux_node)
        [row] = _plan(act, ctx, t)
        assert row.changes and "other" in row.current["rules"]
        rows, after = _apply(act, ctx, t)
        assert [r.status for r in after] == [RowStatus.OK] and "5433" not in _tables(linux_node)
        _undo(t, rows)
        assert _tables(linux_node) == edited
    linux_node.sh("nft delete table inet runbook_postgresql")


@pytest.mark.linux
def test_preflight_linux_on_a_container_reads_the_os_the_mount_and_the_programs(kb, linux_node):
    ctx = context(kb, inv=inventory(linux_node.machine))
    act = action("preflight-linux")
    with linux_node.transport() as t:
        rows = {r.target: r for r in _plan(act, ctx, t)}
        assert t.round_trips == 1
        linux_node.sh("mkdir -p /postgres", "mount -t tmpfs rbdata /postgres")
        mounted = {r.target: r for r in _plan(act, ctx, t)}
        linux_node.sh("umount /postgres", "rmdir /postgres")
    assert rows["os"].status == RowStatus.ERROR and rows["os"].current.startswith("Debian GNU/Linux")
    assert rows["filesystem /postgres"].message.startswith("mount point /postgres does not exist")
    assert {t: r.status for t, r in rows.items() if t.startswith("command")} == {
        "command bash": RowStatus.OK, "command clplogcmd": RowStatus.ERROR}
    with linux_node.transport() as t:
        programs = {r.target: r.status for r in _plan(action("script-programs"), ctx, t)}
    assert programs == {"command rm": RowStatus.OK, "command su": RowStatus.OK,
                        "command /usr/pgsql-15/bin/pg_ctl": RowStatus.ERROR}
    assert rows["command bash"].current.endswith("/bash")
    assert mounted["filesystem /postgres"].current == "tmpfs"
    assert mounted["filesystem /postgres"].message == "the file system on /postgres must be ext4"


@pytest.mark.linux
def test_the_cluster_check_on_a_node_without_clpgrp_answers_in_one_round_trip(linux_node):
    with linux_node.transport() as t:
        assert gather(t, {"active": ActiveNodeSh(GROUP)})["active"] is None
        assert t.round_trips == 1


# ------------------------------------------------------------------------------------------
# Through the runner: plan, apply, plan, verify, rollback on the container
# ------------------------------------------------------------------------------------------

#: the PostgreSQL guide's steps whose planned_action changes a node, and that action
RUNNER_STEPS = {"firewall-ports": "firewall-ports", "unit-disabled": "units-manual", "exec-resource": "exec-scripts"}


def _automated_project(tmp_path: Path, unit_name: str) -> Project:
    """A copy of the project whose PostgreSQL guide's services.yaml names *unit_name* (a unit of
    the container)."""
    shutil.copytree(REPO / "kb", tmp_path / "kb")
    (tmp_path / "snippets").symlink_to(SNIPPETS, target_is_directory=True)
    folder = tmp_path / "kb" / "guides" / GUIDE
    steps = {s.id: s.action for s in Project(tmp_path).knowledge.guides[GUIDE].steps()}
    assert all(steps[step] == name for step, name in RUNNER_STEPS.items())  # the guide runs them
    (folder / "services.yaml").write_text(
        "services:\n"
        f"  - {{id: rbunit, service: {unit_name}, display_name: {unit_name}, feature: postgresql,\n"
        "     manual_in: unit-disabled, scripted: false, label: {ja: テスト用のユニット, en: A test unit}}\n",
        encoding="utf-8")
    return Project(tmp_path)


@pytest.mark.linux
def test_the_runner_converges_a_linux_node_reports_drift_and_rolls_back_to_the_exact_before_state(kb, linux_node, tmp_path):
    from runbook_engine.engine.runner import rollback

    name = "rbrunner.service"
    _install_unit(linux_node, "/etc/systemd/system", name)
    project = _automated_project(tmp_path, name)
    inv = inventory(linux_node.machine)
    state = tmp_path / "state"
    before = (_tables(linux_node), _unit_state(linux_node, name), linux_node.sh(f"[ -e {CONF} ]")[0].rc)

    def run(mode: str):
        return Runner(project, inv, state=state, steps=list(RUNNER_STEPS)).run(mode)

    plan = run("plan")
    assert plan.exit_code == 1 and {r.step: r.changes for r in plan.results} == {
        "firewall-ports": 1, "unit-disabled": 1, "exec-resource": 2}
    # one round trip for the node: the cluster check (no clpgrp here) and every step's facts
    assert plan.round_trips == {"lx1": 1}
    assert {r.step: r.round_trips for r in plan.results} == {s: 1 for s in RUNNER_STEPS}
    first = run("apply")
    assert first.exit_code == 0, [r.as_dict() for r in first.results]
    assert {r.step: r.round_trips for r in first.results} == {s: 2 for s in RUNNER_STEPS}
    assert first.round_trips == {"lx1": 2}  # every step's changes and re-reads in the second
    assert run("plan").exit_code == 0
    # re-enabled behind the engine's back: verify reports it, apply repairs it
    linux_node.sh(f"systemctl enable -- {name}")
    verify = run("verify")
    assert verify.exit_code == 1 and [d["target"] for d in verify.drift] == [name]
    repair = run("apply")
    assert repair.exit_code == 0 and run("verify").exit_code == 0
    # newest first: the repair, then the first apply
    for run_id in (repair.run_id, first.run_id):
        assert rollback(project, inv, run_id, state).exit_code == 0
    assert (_tables(linux_node), _unit_state(linux_node, name), linux_node.sh(f"[ -e {CONF} ]")[0].rc) == before
