"""The engine knows the cluster's phase and its active node (inventory ``cluster_state``, checked
against ``clpgrp -n`` on the nodes): in operation it never stops or starts a service the cluster
monitors, a running service on the active node is correct, a running one on a standby node is
reported, and an inventory that disagrees with the cluster changes nothing. Real components: Wine
sandbox nodes with our clpgrp.exe and sc.exe."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runbook_engine.engine.facts.services import parse_query_all
from runbook_engine.engine.inventory import load_inventory
from runbook_engine.engine.journal import Journal, intents
from runbook_engine.engine.runner import Runner
from runbook_engine.model.errors import KbInvalid

from plugins.components import run_on

REPO = Path(__file__).resolve().parents[1]
STEP = ["services-manual"]


def states(sb, node: str) -> dict[str, str]:
    return parse_query_all(run_on(sb, node, "sc query type= service state= all")[0].stdout)


def monitored(sb) -> list[str]:
    return [s.service for s in sb.project.knowledge.guides["surfnavi"].manual_services()]


def runner(sb, inventory=None, **kw) -> Runner:
    return Runner(sb.project, inventory or sb.inv(), state=sb.state, steps=STEP, **kw)


@pytest.fixture(scope="module")
def operation(tmp_path_factory):
    from plugins.cluster import destroy, make_sandbox

    sb = make_sandbox(tmp_path_factory.mktemp("op-state"), nodes=2, dns=False, phase="operation", active="sv1")
    try:
        yield sb
    finally:
        destroy(sb)


# --- the inventory ---------------------------------------------------------------------------------

@pytest.mark.parametrize("state,line,words", [
    ("  phase: operation\n  group: failover1\n  active: sv9\n", 6, "unknown node 'sv9'"),
    ("  phase: operation\n  group: failover1\n", 4, "needs 'active'"),
    ("  phase: operation\n  active: sv1\n", 4, "needs 'group'"),
    ("  phase: install\n  group: 'a & b'\n", 5, "group"),
])
def test_a_cluster_state_the_engine_cannot_trust_is_an_error_at_its_line(tmp_path, state, line, words):
    inv = tmp_path / "inv.yaml"
    inv.write_text("cluster: c1\nguide: surfnavi\ncluster_state:\n" + state
                   + "nodes:\n  - name: sv1\n    transport: wine\n    prefix: /tmp/x\n")
    with pytest.raises(KbInvalid) as exc:
        load_inventory(inv)
    err = exc.value.errors[0]
    assert (err.line, words in err.message) == (line, True), err


# --- operation phase on a sandbox cluster ------------------------------------------------------------

@pytest.mark.wine
def test_operation_apply_sets_manual_start_and_stops_nothing_on_the_active_node(operation):
    sb = operation
    names = monitored(sb)
    assert {states(sb, "sv1")[n.lower()] for n in names} == {"RUNNING"}
    plan = runner(sb).run("plan")
    # clpgrp -n rides in the node's one read round trip with every step's facts
    assert {n: t - plan.retries[n] for n, t in plan.round_trips.items()} == {"sv1": 1, "sv2": 1}
    assert plan.notes == []
    by = {r.node: r for r in plan.results}
    assert {row.desired["state"] for row in by["sv1"].rows} == {"cluster"}
    assert by["sv1"].changes == by["sv2"].changes == len(names)
    for r in plan.results:
        for row in r.rows:
            assert row.commands == [f'sc config "{row.target}" start= demand'], row

    applied = runner(sb).run("apply")
    assert applied.exit_code == 0, [(r.node, r.status, r.message) for r in applied.results]
    after = states(sb, "sv1")
    assert {after[n.lower()] for n in names} == {"RUNNING"}  # the cluster's services still run
    assert {states(sb, "sv2")[n.lower()] for n in names} == {"STOPPED"}
    recs = Journal.read(sb.state, applied.run_id)
    cmds = [c for rec in intents(recs) for c in rec["commands"] + rec["undo"]]
    assert cmds and not [c for c in cmds if c.startswith(("sc stop", "sc start"))]

    again = runner(sb).run("plan")
    assert sum(r.changes for r in again.results) == 0 and again.exit_code == 0
    verify = runner(sb).run("verify")
    assert verify.exit_code == 0 and verify.drift == [], verify.drift


@pytest.mark.wine
def test_a_monitored_service_running_on_a_standby_node_is_reported_and_not_stopped(operation):
    sb = operation
    runner(sb).run("apply")
    name = monitored(sb)[0]
    assert run_on(sb, "sv2", f'sc start "{name}"')[0].rc == 0
    try:
        verify = runner(sb).run("verify")
        assert verify.exit_code == 1
        row = next(row for r in verify.results if r.node == "sv2" for row in r.rows if row.target == name)
        assert row.status == "error"
        assert "running on standby node sv2 while the group 'failover1' is active on sv1" in row.message
        applied = runner(sb).run("apply")
        assert applied.exit_code == 1
        assert states(sb, "sv2")[name.lower()] == "RUNNING"  # reported, never stopped
        assert not [c for rec in intents(Journal.read(sb.state, applied.run_id)) for c in rec["commands"]]
    finally:
        run_on(sb, "sv2", f'sc stop "{name}"')


@pytest.mark.wine
def test_an_inventory_that_disagrees_with_clpgrp_changes_nothing_on_any_node(operation):
    sb = operation
    # clpgrp -m moves the group in THIS node's view only: both nodes now say sv2
    assert [r.rc for r in run_on(sb, "sv1", "clpgrp -m failover1 -a sv2")] == [0]
    assert [r.rc for r in run_on(sb, "sv2", "clpgrp -m failover1 -a sv2")] == [0]
    try:
        name = monitored(sb)[0]
        run_on(sb, "sv1", f'sc config "{name}" start= auto')
        applied = runner(sb).run("apply")
        assert applied.exit_code == 1
        assert {r.node for r in applied.results} == {"sv1", "sv2"}
        for r in applied.results:
            assert r.status == "error" and not r.rows
            assert "active on sv1, but clpgrp on" in r.message and "says sv2" in r.message, r.message
        assert not list(intents(Journal.read(sb.state, applied.run_id)))
        t = sb.transport("sv1")
        try:
            qc = t.run([f'sc qc "{name}"']).results[0].stdout
        finally:
            t.close()
        assert "AUTO_START" in qc  # untouched
    finally:
        run_on(sb, "sv1", "clpgrp -m failover1 -a sv1")
        run_on(sb, "sv2", "clpgrp -m failover1 -a sv1")
        runner(sb).run("apply")


@pytest.mark.wine
def test_an_inventory_saying_install_on_a_running_cluster_is_refused(operation, tmp_path):
    sb = operation
    data = yaml.safe_load(sb.inventory.read_text())
    data["cluster_state"] = {"phase": "install", "group": "failover1"}
    inv = tmp_path / "inv.yaml"
    inv.write_text(yaml.safe_dump(data))
    report = runner(sb, inventory=load_inventory(inv)).run("plan")
    assert report.exit_code == 1
    assert all(r.status == "error" and "says group 'failover1' is active on sv1" in r.message for r in report.results)


@pytest.mark.wine
def test_apply_without_yes_and_without_a_terminal_exits_2_with_one_line_and_changes_nothing(operation):
    sb = operation
    runs = sb.state / "runs"
    before = sorted(runs.iterdir()) if runs.exists() else []
    env = {**os.environ, "RUNBOOK_STATE": str(sb.state)}
    proc = subprocess.run([sys.executable, "-m", "runbook_engine.cli", "--root", str(REPO), "apply",
                           "--inventory", str(sb.inventory), "--step", "services-manual"],
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "--yes" in proc.stderr
    assert (sorted(runs.iterdir()) if runs.exists() else []) == before


# --- install phase -------------------------------------------------------------------------------------

@pytest.mark.wine
def test_install_phase_stops_the_services_and_an_absent_clpgrp_costs_one_round_trip(tmp_path_factory, tmp_path):
    from plugins.cluster import destroy, make_sandbox

    sb = make_sandbox(tmp_path_factory.mktemp("inst-state"), nodes=1, dns=False)
    try:
        names = monitored(sb)
        data = yaml.safe_load(sb.inventory.read_text())
        unnamed = tmp_path / "unnamed.yaml"
        unnamed.write_text(yaml.safe_dump({**data, "cluster_state": {"phase": "install"}}))
        plain = runner(sb, inventory=load_inventory(unnamed)).run("plan")
        assert [r.round_trips - r.retries for r in plain.results] == [1]  # no group named: no check
        data["cluster_state"] = {"phase": "install", "group": "failover1"}
        inv = tmp_path / "inv.yaml"
        inv.write_text(yaml.safe_dump(data))
        checked = runner(sb, inventory=load_inventory(inv)).run("apply")
        assert checked.exit_code == 0, [(r.status, r.message) for r in checked.results]
        # clpgrp is absent: the PATH lookup answers in the same batch, no 9009 repeat; the read and
        # the change are the node's only round trips
        assert checked.round_trips["sv1"] - checked.retries["sv1"] == 2
        assert {states(sb, "sv1")[n.lower()] for n in names} <= {"STOPPED", "STOP_PENDING"}
        assert any(c.startswith("sc stop") for r in checked.results for row in r.rows for c in row.commands)
    finally:
        destroy(sb)
