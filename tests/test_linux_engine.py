"""The engine on real Linux nodes (systemd in systemd-nspawn containers, nftables in their network
namespaces), with the PostgreSQL guide: plan -> apply -> plan is empty, the end state is what the
guide asks for (units, script bytes and modes, the ports a probe from another namespace can reach),
verify finds a unit re-enabled behind the engine's back and apply repairs it, rollback restores the
exact before-state, and kill -9 during an apply never leaves a half-written script."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from plugins.cluster import REPO
from plugins.components import run_on
from plugins.linux import make_linux_sandbox

pytestmark = pytest.mark.linux

GUIDE = "postgresql"
UNIT = "postgresql-15.service"
CONTROL_PORT = 18080  # a port the guide does not list; a listener is started there for the probe
STEPS = {"os-check": "preflight-linux", "firewall-ports": "firewall-ports", "unit-disabled": "units-manual",
         "exec-resource": "exec-scripts"}


def snapshot(sb, node: str) -> dict:
    """The node's state as the guide sees it, read straight from the node (not by the engine)."""
    folder = sb.inv().configuration.folder
    res = run_on(sb, node,
                   f"systemctl show -p UnitFileState -p ActiveState -- {UNIT}",
                   "nft list tables",
                   f"if [ -d {folder} ]; then find {folder} -exec stat -c '%n %F %a' {{}} + | sort; "
                   f"find {folder} -type f -exec sha256sum {{}} + | sort; else echo absent; fi")
    return {r.command: (r.rc, r.stdout) for r in res}


def runner(sb, **kw):
    from runbook_engine.engine.runner import Runner

    return Runner(sb.project, sb.inv(), state=sb.state, **kw)


def cli(sb, *args):
    env = {**os.environ, "RUNBOOK_STATE": str(sb.state)}
    return subprocess.run([sys.executable, "-m", "runbook_engine.cli", "--root", str(REPO), *args,
                           "--inventory", str(sb.inventory)], env=env, capture_output=True, text=True)


def probe(sb, node: str, port: int) -> str:
    from runbook_engine.sandbox.cluster import sandbox_root
    from runbook_engine.sandbox.linux import probe as probe_port

    return probe_port(sandbox_root(sb.project), sb.inv().node(node).ip, port)


def _eventually(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def expected_ports(sb) -> dict[str, set[int]]:
    """What the firewall must accept, from the same data the site's port tables print: the
    family's incoming records for the guide's version, and the guide's application ports."""
    kb = sb.project.knowledge
    guide = kb.guides[GUIDE]
    want: dict[str, set[int]] = {"tcp": set(), "udp": set()}
    for p in kb.ports_for(guide):
        if p.direction == "in" and kb.port_versions(guide, p):
            want[p.protocol].add(p.port)
    for p in guide.meta.app_ports:
        want[p.protocol].add(p.port)
    return want


@pytest.fixture(scope="module")
def linux_cluster(tmp_path_factory):
    from runbook_engine.sandbox.cluster import destroy_cluster

    sb = make_linux_sandbox(tmp_path_factory.mktemp("linux-engine"), guide=GUIDE, nodes=2)
    try:
        for node in ("pg-primary", "pg-secondary"):
            # a service the guide knows nothing of, on a port it does not list
            res = run_on(sb, node, f"systemd-run --unit=rb-control --quiet /usr/local/sbin/rb-standin {CONTROL_PORT}")
            assert res[0].rc == 0, res[0].stdout
        deadline = time.monotonic() + 10
        while probe(sb, "pg-primary", CONTROL_PORT) != "open" and time.monotonic() < deadline:
            time.sleep(0.1)
        yield sb
    finally:
        destroy_cluster(sb.project)


def test_the_guide_runs_its_linux_steps_through_the_engine(linux_cluster):
    guide = linux_cluster.project.knowledge.guides[GUIDE]
    steps = {s.id: s for s in guide.steps()}
    assert {sid: steps[sid].action for sid in STEPS} == STEPS
    assert steps["os-check"].mode == "check"
    assert all(steps[sid].mode == "automated" for sid in STEPS if sid != "os-check")


def test_plan_apply_plan_converges_and_the_end_state_is_the_guides(linux_cluster):
    sb = linux_cluster
    before = {n: snapshot(sb, n) for n in ("pg-primary", "pg-secondary")}
    assert probe(sb, "pg-primary", CONTROL_PORT) == "open"  # a fresh node filters nothing
    first = runner(sb).run("plan")
    assert not first.failed_nodes, [(r.node, r.step, r.status, r.message) for r in first.results]
    by = {(r.node, r.step): r for r in first.results}
    assert by[("pg-primary", "unit-disabled")].changes == 1 and by[("pg-secondary", "unit-disabled")].changes == 1
    assert by[("pg-primary", "exec-resource")].changes == 2  # start.sh and stop.sh
    assert ("pg-secondary", "exec-resource") not in by  # the configuration node only
    assert by[("pg-primary", "firewall-ports")].changes == 1
    assert by[("pg-primary", "os-check")].status == "converged"  # the sandbox shows the guide's OS and ext4
    # a plan changes nothing
    assert {n: snapshot(sb, n) for n in before} == before

    applied = runner(sb).run("apply")
    assert applied.exit_code == 0, [(r.node, r.step, r.status, r.message) for r in applied.results]
    again = runner(sb).run("plan")
    assert sum(r.changes for r in again.results) == 0, [(r.node, r.step, r.changes) for r in again.results]

    # end state, read without the engine
    from runbook_engine.artifacts.scripts import render_scripts

    kb = sb.project.knowledge
    want = render_scripts(kb, kb.guides[GUIDE], "ja", sb.project.snippets)
    for node in ("pg-primary", "pg-secondary"):
        unit = run_on(sb, node, f"systemctl show -p UnitFileState -p ActiveState -- {UNIT}")[0].stdout
        assert sorted(unit.splitlines()) == ["ActiveState=inactive", "UnitFileState=disabled"]
    folder = f"{sb.inv().configuration.folder}/scripts/failover1/exec1"
    for name, script in want.items():
        mode, data = run_on(sb, "pg-primary", f"stat -c %a {folder}/{name}", f"base64 -w0 {folder}/{name}")
        assert mode.stdout == "700"
        import base64

        assert base64.b64decode(data.stdout) == script.data  # byte for byte what the site offers
    # the ports: what the site's port table lists is reachable from another namespace, nothing else
    ports = expected_ports(sb)
    assert 5432 in ports["tcp"] and 29001 in ports["tcp"]
    for node in ("pg-primary", "pg-secondary"):
        # PostgreSQL is stopped now (the cluster starts it): a listener of the test's own on its port
        res = run_on(sb, node, "systemd-run --unit=rb-pgport --quiet /usr/local/sbin/rb-standin 5432")
        assert res[0].rc == 0
        assert _eventually(lambda: probe(sb, node, 5432) == "open")
        assert probe(sb, node, 29001) == "open"  # CLUSTERPRO's stand-in
        assert probe(sb, node, CONTROL_PORT) == "refused"  # listening, but not a port of the guide
        run_on(sb, node, "systemctl stop rb-pgport")
    # verify: converged, and the nodes agree with each other
    ver = runner(sb).run("verify")
    assert ver.exit_code == 0, [(r.node, r.step, r.status, r.message) for r in ver.results]

    # drift: the unit re-enabled and started behind the engine's back
    run_on(sb, "pg-secondary", f"systemctl enable --now -- {UNIT}")
    drift = runner(sb).run("verify")
    bad = [(r.node, r.step) for r in drift.results if r.status == "pending"]
    assert bad == [("pg-secondary", "unit-disabled")], [(r.node, r.step, r.status) for r in drift.results]
    assert drift.exit_code != 0
    repaired = runner(sb).run("apply")
    assert repaired.exit_code == 0
    assert sum(r.changes for r in runner(sb).run("plan").results) == 0

    # rollback of both runs, newest first: the exact state before the first apply
    from runbook_engine.engine.runner import rollback

    for run in (repaired, applied):
        rb = rollback(sb.project, sb.inv(), run.run_id, state=sb.state)
        assert rb.exit_code == 0, [(r.node, r.step, r.status, r.message) for r in rb.results]
    assert {n: snapshot(sb, n) for n in before} == before
    assert probe(sb, "pg-primary", CONTROL_PORT) == "open"
    for node in ("pg-primary", "pg-secondary"):
        unit = run_on(sb, node, f"systemctl show -p UnitFileState -p ActiveState -- {UNIT}")[0].stdout
        assert sorted(unit.splitlines()) == ["ActiveState=active", "UnitFileState=enabled"]


def test_the_cli_plans_a_linux_node(linux_cluster):
    out = cli(linux_cluster, "plan", "--node", "pg-secondary", "--json")
    import json

    report = json.loads(out.stdout)
    by = {r["step"]: r for r in report["results"] if r["node"] == "pg-secondary"}
    # the earlier test rolled everything back: the firewall and the unit are pending again (exit 1)
    assert out.returncode == 1 and by["firewall-ports"]["status"] == by["unit-disabled"]["status"] == "pending", out.stderr
    assert by["os-check"]["status"] == by["script-programs"]["status"] == "converged"


@pytest.mark.parametrize("kill_after_records", [1, 3])
def test_kill_9_during_apply_on_a_linux_node_leaves_no_half_written_script(tmp_path_factory, kill_after_records):
    from runbook_engine.artifacts.scripts import render_scripts
    from runbook_engine.sandbox.cluster import destroy_cluster

    sb = make_linux_sandbox(tmp_path_factory.mktemp("linux-kill"), guide=GUIDE, nodes=1)
    try:
        kb = sb.project.knowledge
        want = render_scripts(kb, kb.guides[GUIDE], "ja", sb.project.snippets)
        env = {**os.environ, "RUNBOOK_STATE": str(sb.state)}
        proc = subprocess.Popen([sys.executable, "-m", "runbook_engine.cli", "--root", str(REPO), "apply", "--yes",
                                 "--inventory", str(sb.inventory)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            runs = list((sb.state / "runs").glob("*/journal.jsonl")) if (sb.state / "runs").exists() else []
            if runs and sum(1 for _ in runs[0].open()) >= kill_after_records:
                break
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        folder = f"{sb.inv().configuration.folder}/scripts/failover1/exec1"
        import base64

        for name, script in want.items():
            res = run_on(sb, "pg-primary", f"if [ -e {folder}/{name} ]; then base64 -w0 {folder}/{name}; else echo absent; fi")
            assert res[0].stdout == "absent" or base64.b64decode(res[0].stdout) == script.data, "half-written script"
        rerun = runner(sb).run("apply")
        assert rerun.exit_code == 0, [(r.node, r.step, r.status, r.message) for r in rerun.results]
        assert sum(r.changes for r in runner(sb).run("plan").results) == 0
        names = run_on(sb, "pg-primary", f"ls -A {folder}")[0].stdout.split()
        assert sorted(names) == sorted(want)  # no temporary file left beside the scripts
    finally:
        destroy_cluster(sb.project)


def test_the_runbook_notebook_runs_on_a_linux_node(tmp_path_factory, tmp_path, monkeypatch):
    """The guide's Japanese notebook, executed by nbclient against a Linux sandbox node: the
    engine's steps run there (apply), the operator's are confirmed from an answers file, and a
    second run changes nothing."""
    import yaml

    from runbook_engine.publish.execute import RunRequest, run_notebook
    from runbook_engine.sandbox.cluster import destroy_cluster

    sb = make_linux_sandbox(tmp_path_factory.mktemp("linux-nb"), guide=GUIDE, nodes=2)
    try:
        guide = sb.project.knowledge.guides[GUIDE]
        answers = tmp_path / "answers.yaml"
        answers.write_text(yaml.safe_dump({s.id: f"done by the test ({s.id})" for s in guide.steps()
                                           if s.mode == "manual"}, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("RUNBOOK_STATE", str(sb.state))
        first = run_notebook(sb.project, RunRequest(guide=GUIDE, node="pg-secondary", lang="ja", mode="apply",
                                                    inventory=str(sb.inventory), answers=str(answers)))
        assert first["status"] == "ok", first
        by = {st["step"]: st for st in first["steps"]}
        assert by["unit-disabled"]["changes"] == 1 and by["firewall-ports"]["changes"] == 1
        assert by["os-check"]["status"] == by["script-programs"]["status"] == "converged"
        # the configuration folder is on pg-primary: on pg-secondary the exec scripts are not this node's
        assert by["exec-resource"]["status"] == "skipped"
        unit = run_on(sb, "pg-secondary", f"systemctl show -p UnitFileState -p ActiveState -- {UNIT}")[0].stdout
        assert sorted(unit.splitlines()) == ["ActiveState=inactive", "UnitFileState=disabled"]
        second = run_notebook(sb.project, RunRequest(guide=GUIDE, node="pg-secondary", lang="ja", mode="apply",
                                                     inventory=str(sb.inventory)))
        assert second["status"] == "ok" and sum(st["changes"] for st in second["steps"]) == 0, second
    finally:
        destroy_cluster(sb.project)
