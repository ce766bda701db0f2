"""The engine on the real sandbox cluster (Wine nodes, our sc.exe/certutil.exe, BIND with TSIG):
plan -> apply -> plan is empty, verify finds drift made behind its back, rollback restores the
exact before-state, kill -9 never leaves a half-written file, one run per node at a time, an
unreachable node fails alone, and data never reaches a command line unvalidated."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runbook_engine.engine.cmdline import UnsafeArgument, arg
from runbook_engine.engine.journal import Journal, NodeLock
from runbook_engine.engine.runner import Runner, rollback
from runbook_engine.artifacts.scripts import render_scripts

from plugins.components import run_on

pytestmark = [pytest.mark.wine, pytest.mark.named]
REPO = Path(__file__).resolve().parents[1]


def snapshot(sb, node: str) -> dict:
    """The node's state as the guide sees it, read straight from the node."""
    from runbook_engine.engine.actions.scripts import script_paths

    kb = sb.project.knowledge
    guide = kb.guides["surfnavi"]
    inv = sb.inv()
    cmds = [f'sc qc "{s.service}"' for s in guide.services]
    for path in script_paths(kb, guide, inv, inv.node(node), "configuration").values():
        cmds.append(f'if exist "{path}" (certutil -f -encode "{path}" "%TEMP%\\snap.b64" >nul & type "%TEMP%\\snap.b64") else (echo absent)')
    res = run_on(sb, node, *cmds)
    return {c.command: c.stdout for c in res}


def runner(sb, **kw) -> Runner:
    return Runner(sb.project, sb.inv(), state=sb.state, **kw)


#: the steps whose actions change something (the check steps read only)
CHANGING = ["services-manual", "script-files", "dns-records"]


def test_plan_apply_plan_converges_with_zero_changes_and_few_round_trips(sandbox):
    first = runner(sandbox).run("plan")
    by = {(r.node, r.step): r for r in first.results}
    manual = sandbox.project.knowledge.guides["surfnavi"].manual_services()
    assert by[("sv1", "services-manual")].changes == len(manual) == 16  # all start AUTO on a fresh node
    # states come from one `sc query type= service state= all`, start types from `sc qc`
    assert {r.current["state"] for r in by[("sv1", "services-manual")].rows} == {"RUNNING"}
    assert {r.current["start"] for r in by[("sv1", "services-manual")].rows} == {"auto"}
    assert by[("sv1", "script-files")].changes == 2
    assert ("sv2", "script-files") not in by  # the configuration folder is on the configuration node only
    # nothing delivered yet: every node's installed scripts are missing, and a check never changes them
    for node in ("sv1", "sv2", "sv3", "sv4"):
        inst = by[(node, "installed-scripts")]
        assert inst.status == "error" and {r.status for r in inst.rows} == {"error"}, inst.rows
        assert all("not been delivered" in r.message and not r.commands for r in inst.rows)
    assert by[("sv1", "preflight")].status == "converged", by[("sv1", "preflight")].rows
    assert by[("sv1", "registry-key")].status == "converged"
    assert by[("dns:dns-active", "dns-records")].status == "pending"
    assert first.exit_code == 1  # not converged yet
    for r in first.results:
        if not r.node.startswith("dns:"):
            assert r.round_trips - r.retries == 1, (r.node, r.step, r.round_trips, r.retries)
    # one round trip a node for the whole plan, whatever the number of its steps
    assert {n: t - first.retries[n] for n, t in first.round_trips.items() if not n.startswith("dns:")} == \
        {"sv1": 1, "sv2": 1, "sv3": 1, "sv4": 1}

    # 3-1 writes the configuration folder, 3-2 is the operator's delivery (the sandbox stands in)
    assert runner(sandbox, steps=["script-files"]).run("apply").exit_code == 0
    sandbox.deliver()
    applied = runner(sandbox).run("apply")
    assert applied.exit_code == 0, [(r.node, r.step, r.status, r.message) for r in applied.results]
    for r in applied.results:
        if not r.node.startswith("dns:"):
            assert r.round_trips - r.retries <= 2, (r.node, r.step, r.round_trips, r.retries)
    # two round trips a node for the whole apply: every step's reads, then every change and re-read
    assert {n: t - applied.retries[n] for n, t in applied.round_trips.items() if not n.startswith("dns:")} == \
        {"sv1": 2, "sv2": 2, "sv3": 2, "sv4": 2}

    again = runner(sandbox).run("plan")
    assert sum(r.changes for r in again.results) == 0
    assert again.exit_code == 0
    second_apply = runner(sandbox).run("apply")
    assert sum(r.changes for r in second_apply.results) == 0
    assert all(r.status == "converged" for r in second_apply.results), \
        [(r.node, r.step, r.status, r.message) for r in second_apply.results if r.status != "converged"]


def test_script_files_in_the_configuration_folder_are_byte_for_byte_the_rendered_scripts(sandbox):
    runner(sandbox, steps=["script-files"]).run("apply")
    kb = sandbox.project.knowledge
    guide = kb.guides["surfnavi"]
    want = render_scripts(kb, guide, "ja", sandbox.project.snippets)
    for name, script in want.items():
        path = sandbox.script_path("sv1", name)
        # scripts\<group>\<resource>\start.bat beside clp.conf, as the configuration tools keep them
        assert path.parent.parent.parent.name == "scripts" and path.name in ("start.bat", "stop.bat")
        assert path.read_bytes() == script.data
        assert b"\r\n" in script.data and b"\n" not in script.data.replace(b"\r\n", b"")
    sandbox.deliver()
    for node in ("sv2", "sv4"):
        for name, script in want.items():
            assert sandbox.script_path(node, name, "installed").read_bytes() == script.data


def test_installed_scripts_reports_a_server_whose_copy_differs_and_changes_nothing(sandbox):
    runner(sandbox, steps=["script-files"]).run("apply")
    sandbox.deliver()
    assert runner(sandbox, steps=["installed-scripts"]).run("verify").exit_code == 0
    stale = sandbox.script_path("sv3", "STOP.BAT", "installed")
    stale.write_bytes(stale.read_bytes().replace(b"ARMKILL", b"REM ARMKILL", 1))
    drift = runner(sandbox, steps=["installed-scripts"]).run("verify")
    assert drift.exit_code == 1
    kinds = {(d["kind"], d.get("node")) for d in drift.drift}
    assert ("differs-from-guide", "sv3") in kinds and ("differs-between-nodes", None) in kinds, drift.drift
    applied = runner(sandbox, steps=["installed-scripts"]).run("apply")  # a check: apply changes nothing
    assert applied.exit_code == 1 and b"REM ARMKILL" in stale.read_bytes()
    sandbox.deliver()
    assert runner(sandbox, steps=["installed-scripts"]).run("verify").exit_code == 0


def test_verify_reports_a_service_switched_back_to_automatic_behind_the_engines_back(sandbox):
    runner(sandbox, steps=CHANGING).run("apply")
    sandbox.deliver()
    clean = runner(sandbox).run("verify")
    assert clean.exit_code == 0 and clean.drift == []
    t = sandbox.transport("sv3")
    try:
        rc = t.run(['sc config "SURFNAVITunnelProxy" start= auto']).results[0].rc
    finally:
        t.close()
    assert rc == 0
    drift = runner(sandbox).run("verify")
    assert drift.exit_code == 1
    kinds = {(d["kind"], d.get("node"), d["target"]) for d in drift.drift}
    assert ("differs-from-guide", "sv3", "SURFNAVITunnelProxy") in kinds
    assert ("differs-between-nodes", None, "SURFNAVITunnelProxy") in kinds
    runner(sandbox).run("apply")
    assert runner(sandbox).run("verify").exit_code == 0


def test_rollback_restores_the_exact_before_state(tmp_path_factory):
    from plugins.cluster import destroy, make_sandbox

    sb = make_sandbox(tmp_path_factory.mktemp("rb-state"), nodes=2)
    try:
        before = {n: snapshot(sb, n) for n in ("sv1", "sv2")}
        report = runner(sb, steps=CHANGING).run("apply")
        assert report.exit_code == 0, [(r.node, r.step, r.status, r.message) for r in report.results if r.message]
        assert snapshot(sb, "sv1") != before["sv1"]
        back = rollback(sb.project, sb.inv(), report.run_id, state=sb.state)
        assert back.exit_code == 0, [(r.node, r.message) for r in back.results]
        after = {n: snapshot(sb, n) for n in ("sv1", "sv2")}
        assert after == before
        # and the DNS records are gone again
        plan = runner(sb, steps=["dns-records"]).run("plan")
        assert all(r.status == "pending" for r in plan.results)
    finally:
        destroy(sb)


def _orphans(prefix: Path) -> list[str]:
    """Wine processes of *prefix* that run one of the engine's batch files (rb-*.cmd)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            env = (d / "environ").read_bytes()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"WINEPREFIX={prefix}".encode() in env and "rb-" in cmd and ".cmd" in cmd:
            out.append(f"{d.name}: {cmd[:100]}")
    return out


def _apply_process(sb) -> subprocess.Popen:
    env = {**os.environ, "RUNBOOK_STATE": str(sb.state)}
    return subprocess.Popen([sys.executable, "-m", "runbook_engine.cli", "--root", str(REPO), "apply", "--yes",
                             "--inventory", str(sb.inventory), "--node", "sv1", "--step", "script-files",
                             "--step", "services-manual"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _wait_group_gone(pgid: int, seconds: float = 60.0) -> None:
    """Until no process of the killed group *pgid* is left. wait() reaps only the group's leader:
    a child it was starting (between fork and exec it still has the node lock's descriptor) dies
    of the same SIGKILL when the kernel next runs it, which under load can be after the leader
    was reaped, and until then the node is rightly busy. An operator sees these processes too."""
    def alive() -> list[str]:  # a zombie (reaped or not by its new parent) holds no descriptor
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()  # state ppid pgrp ...
            except (OSError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(stat.parent.name)
        return out

    deadline = time.monotonic() + seconds
    while left := alive():
        assert time.monotonic() < deadline, f"processes {left} of killed group {pgid} alive after {seconds:.0f} s"
        time.sleep(0.05)


@pytest.mark.parametrize("kill_after_records", [1, 2, 3, 5])
def test_kill_9_during_apply_leaves_no_half_written_file_and_a_rerun_converges(tmp_path_factory, kill_after_records,
                                                                             monkeypatch, capsys):
    from plugins.cluster import destroy, make_sandbox
    from runbook_engine.engine.transports.wineprefix import windows_to_unix

    sb = make_sandbox(tmp_path_factory.mktemp("kill-state"), nodes=1, dns=False)
    try:
        kb = sb.project.knowledge
        guide = kb.guides["surfnavi"]
        want = render_scripts(kb, guide, "ja", sb.project.snippets)
        before = snapshot(sb, "sv1")
        proc = _apply_process(sb)
        deadline = time.monotonic() + 120
        journal = None
        while time.monotonic() < deadline and proc.poll() is None:
            runs = list((sb.state / "runs").glob("*/journal.jsonl")) if (sb.state / "runs").exists() else []
            if runs and sum(1 for _ in runs[0].open()) >= kill_after_records:
                journal = runs[0]
                break
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _wait_group_gone(proc.pid)
        for name, script in want.items():
            path = sb.script_path("sv1", name)
            assert not path.exists() or path.read_bytes() == script.data, "half-written script"
        folder = sb.script_path("sv1", "START.BAT").parent
        leftovers = list(folder.glob("*.rbtmp")) if folder.exists() else []
        # a temp file may remain after a kill, but never under the script's own name
        assert all(p.name.endswith(".rbtmp") for p in leftovers)
        rerun = runner(sb, nodes=["sv1"], steps=["script-files", "services-manual"]).run("apply")
        assert rerun.exit_code == 0, [(r.step, r.status, r.message) for r in rerun.results]
        # the dead run's batch was ended before the re-run's first batch, and its files are gone
        prefix = sb.inv().node("sv1").options.prefix
        assert _orphans(prefix) == []
        temp = [prefix / "drive_c" / "windows" / "temp", *(prefix / "drive_c" / "users").glob("*/Temp")]
        assert [p.name for d in temp for p in d.glob("rb-*")] == []
        assert sum(r.changes for r in runner(sb, nodes=["sv1"], steps=CHANGING).run("plan").results
                   if r.step != "dns-records") == 0
        if journal is not None:
            killed = journal.parent.name
            records = Journal.read(sb.state, killed)  # a torn line is tolerated
            assert records[0]["event"] == "run"
            from runbook_engine.engine.runs import list_runs

            runs = {r.run_id: r for r in list_runs(sb.state)}
            assert runs[killed].status == "interrupted" and runs[rerun.run_id].status == "finished"
            # the exact state before the killed run: it and the re-run rolled back, newest first
            from runbook_engine import cli

            monkeypatch.setenv("RUNBOOK_STATE", str(sb.state))
            capsys.readouterr()
            cli.main(["--root", str(REPO), "plan", "--inventory", str(sb.inventory), "--step", "preflight", "--lang", "en"])
            told = f"note: run {killed} was interrupted" in capsys.readouterr().err
            assert told == (runs[killed].intents > 0)  # the user is told, when it changed anything
            rc = cli.main(["--root", str(REPO), "rollback", "--to-before", killed, "--inventory", str(sb.inventory)])
            assert rc == 0
            assert snapshot(sb, "sv1") == before
            assert all(r.rolled_back for r in list_runs(sb.state) if r.intents)
    finally:
        destroy(sb)


def test_a_second_run_on_the_same_node_refuses_with_a_clear_message(sandbox):
    with NodeLock(sandbox.state / "locks" / f"sandbox.sv2.lock"):
        report = runner(sandbox, nodes=["sv1", "sv2"], steps=["preflight"]).run("plan")
    by = {r.node: r for r in report.results}
    assert by["sv2"].status == "error" and "busy" in by["sv2"].message
    assert by["sv1"].status == "converged"


def test_an_unreachable_node_fails_alone_and_the_summary_names_it(sandbox, tmp_path):
    import yaml

    from runbook_engine.sandbox.named import free_port

    data = yaml.safe_load(sandbox.inventory.read_text())
    kh = tmp_path / "known_hosts"
    kh.write_text("")
    data["nodes"].append({"name": "ghost", "transport": "ssh", "host": "127.0.0.1", "port": free_port(),
                          "user": "root", "known_hosts": str(kh)})
    inv = tmp_path / "inventory.yaml"
    inv.write_text(yaml.safe_dump(data))
    from runbook_engine.engine.inventory import load_inventory

    report = Runner(sandbox.project, load_inventory(inv), state=sandbox.state, steps=["preflight"]).run("plan")
    assert report.failed_nodes == ["ghost"]
    ghost = next(r for r in report.results if r.node == "ghost")
    assert ghost.status == "unreachable" and "127.0.0.1" in ghost.message
    assert all(r.status == "converged" for r in report.results if r.node != "ghost")
    assert report.exit_code == 1


@pytest.mark.parametrize("value,kind", [
    ('W3SVC" & del /q C:\\*', "service"),
    ("W3SVC & calc", "service"),
    ("C:\\x\\y & calc", "path"),
    ("C:\\x\\%PATH%", "path"),
    ('HKLM\\SOFTWARE\\"x', "regkey"),
    ("C:\\a\r\nb", "path"),
])
def test_metacharacters_never_reach_a_command_line(value, kind):
    with pytest.raises(UnsafeArgument):
        arg(value, kind)


def test_an_inventory_with_a_metacharacter_path_is_rejected_with_file_and_line(tmp_path, capsys):
    from runbook_engine import cli

    inv = tmp_path / "inv.yaml"
    inv.write_text("cluster: c1\nguide: surfnavi\nnodes:\n  - name: sv1\n    transport: wine\n    prefix: /tmp/x\n"
                   "    clusterpro_dir: C:\\x & calc\n")
    rc = cli.main(["--root", str(REPO), "plan", "--inventory", str(inv)])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{inv}:7: " in err and "clusterpro_dir" in err


@pytest.mark.parametrize("folder", ["C:\\clpconf\\..\\Windows\\system32", "C:\\clpconf\\.", "C:\\clpconf\\x. "])
def test_an_inventory_configuration_folder_that_leaves_its_folder_is_rejected(tmp_path, capsys, folder):
    from runbook_engine import cli

    inv = tmp_path / "inv.yaml"
    inv.write_text("cluster: c1\nguide: surfnavi\nconfiguration:\n  folder: '" + folder + "'\n"
                   "nodes:\n  - name: sv1\n    transport: wine\n    prefix: /tmp/x\n")
    rc = cli.main(["--root", str(REPO), "plan", "--inventory", str(inv)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err
    assert f"{inv}:4: " in err and "configuration.folder" in err, err


@pytest.mark.sshd
def test_apply_over_ssh_converges_a_windows_like_node_reached_through_a_real_sshd(tmp_path_factory):
    """A sandbox node behind a real sshd on 127.0.0.1 whose ForceCommand runs cmd.exe (as OpenSSH
    on Windows does): the same plan, the same commands, the same convergence as over Wine."""
    import yaml

    from plugins.cluster import destroy, make_sandbox
    from plugins.sshd import start_sshd, stop_process
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.engine.transports.wineprefix import ensure_wineserver, node_env

    state = tmp_path_factory.mktemp("ssh-state")
    sb = make_sandbox(state, nodes=1, dns=False)
    prefix = sb.inv().node("sv1").options.prefix
    ensure_wineserver(prefix)
    work = tmp_path_factory.mktemp("sshd-node")
    proc, ssh = start_sshd(work, prefix, node_env(prefix))
    try:
        inv = tmp_path_factory.mktemp("inv") / "inventory.yaml"
        sandbox_inv = yaml.safe_load(sb.inventory.read_text())
        inv.write_text(yaml.safe_dump({
            "cluster": "ssh-test", "guide": "surfnavi",
            "cluster_state": sandbox_inv["cluster_state"],
            "configuration": {k: v for k, v in sandbox_inv["configuration"].items() if k != "node"},
            "nodes": [{"name": "win1", "transport": "ssh", "host": ssh.host, "port": ssh.port, "user": ssh.user,
                       "key": str(ssh.key_path), "known_hosts": str(ssh.known_hosts)}]}))
        inventory = load_inventory(inv)
        plan = Runner(sb.project, inventory, state=state).run("plan")
        by = {r.step: r for r in plan.results}
        assert by["services-manual"].changes == 16 and by["script-files"].changes == 2, \
            [(r.step, r.status, r.message) for r in plan.results]
        assert all(r.round_trips - r.retries == 1 for r in plan.results if r.step != "dns-records")
        applied = Runner(sb.project, inventory, state=state, steps=CHANGING).run("apply")
        assert applied.exit_code == 0, [(r.step, r.status, r.message) for r in applied.results]
        again = Runner(sb.project, inventory, state=state).run("plan")
        assert sum(r.changes for r in again.results) == 0
        from runbook_engine.engine.transports.wineprefix import windows_to_unix

        kb = sb.project.knowledge
        guide = kb.guides["surfnavi"]
        want = render_scripts(kb, guide, "ja", sb.project.snippets)
        from runbook_engine.engine.actions.scripts import script_paths

        paths = script_paths(kb, guide, inventory, inventory.node("win1"), "configuration")
        for name, script in want.items():
            assert windows_to_unix(prefix, paths[name]).read_bytes() == script.data
    finally:
        stop_process(proc)
        destroy(sb)


def test_a_guide_written_only_as_yaml_goes_through_plan_on_a_sandbox_node(tmp_path_factory, monkeypatch, capsys):
    """tests/data/guides/webportal (its own services, registry key and DNS records, no MX) added to
    a copy of kb/: the sandbox takes its node names from the guide, and `runbook plan` plans every
    automated step with no change to src/."""
    import shutil

    from plugins.cluster import TEMPLATE_CACHE
    from runbook_engine import cli
    from runbook_engine.model.project import Project
    from runbook_engine.sandbox.cluster import destroy_cluster

    work = tmp_path_factory.mktemp("yaml-guide")
    root, state = work / "proj", work / "state"
    shutil.copytree(REPO / "kb", root / "kb")
    shutil.copytree(REPO / "tests" / "data" / "guides" / "webportal", root / "kb" / "guides" / "webportal")
    (root / "snippets").symlink_to(REPO / "snippets", target_is_directory=True)
    (state / "sandbox").mkdir(parents=True)
    TEMPLATE_CACHE.mkdir(parents=True, exist_ok=True)
    (state / "sandbox" / "templates").symlink_to(TEMPLATE_CACHE, target_is_directory=True)
    monkeypatch.setenv("RUNBOOK_STATE", str(state))
    project = Project(root, state_dir=state)
    guide = project.knowledge.guides["webportal"]
    try:
        assert cli.main(["--root", str(root), "sandbox", "create", "--guide", "webportal", "--nodes", "1", "--no-dns"]) == 0
        capsys.readouterr()
        rc = cli.main(["--root", str(root), "plan", "--json"])
        report = json.loads(capsys.readouterr().out)
        first = guide.meta.topology.nodes[0].id
        by = {(r["node"], r["step"]): r for r in report["results"]}
        assert {s for _, s in by} == {s.id for s in guide.steps() if s.mode in ("automated", "check")}
        assert not [r for r in report["results"] if r["status"] in ("error", "unreachable")], report["results"]
        manual = [s.service for s in guide.manual_services()]
        services_step = next(s.id for s in guide.steps() if s.action == "services-manual")
        assert [row["target"] for row in by[(first, services_step)]["rows"]] == manual
        assert rc == 1  # pending: a fresh node is not converged
    finally:
        destroy_cluster(project)


def _environ_hits(secret: bytes) -> list[str]:
    """Processes (other than this one) whose environment holds *secret*."""
    hits = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            env = (d / "environ").read_bytes()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ")[:80]
        except OSError:  # gone, or not ours to read
            continue
        if secret in env:
            hits.append(f"{d.name}: {cmd.decode(errors='replace')}")
    return hits


def test_the_sandbox_needs_no_exported_tsig_secret_and_the_secret_reaches_no_process_and_no_run_file(tmp_path_factory):
    """`runbook apply` on the sandbox from a process with no TSIG variable in its environment: the
    sandbox's inventory names its own key file (mode 0600, in the sandbox folder), the DNS step
    changes the records, and the secret is nowhere else: not in the output, not in `set` on a
    node, not in the environment of any process (Wine's long-lived wineserver and services, the
    BIND servers), not in any file of the state folder outside the sandbox's own (the run's
    journal and results)."""
    import stat

    import yaml

    from plugins.cluster import destroy, make_sandbox

    sb = make_sandbox(tmp_path_factory.mktemp("canary-state"), nodes=1)
    try:
        secret = sb.secret.encode()
        key = sb.state / "sandbox" / "dns" / "tsig.secret"
        dns = yaml.safe_load(sb.inventory.read_text())["dns"]
        assert dns and all(d["key_secret_file"] == str(key) and "key_secret_env" not in d for d in dns), dns
        assert stat.S_IMODE(key.stat().st_mode) == 0o600 and key.read_bytes().strip() == secret
        env = {k: v for k, v in os.environ.items() if k != "RUNBOOK_TSIG_SECRET"}
        assert all(sb.secret not in v for v in env.values())
        steps = [a for s in CHANGING for a in ("--step", s)]
        proc = subprocess.run([sys.executable, "-m", "runbook_engine.cli", "--root", str(REPO), "apply", "--yes", "--json",
                               "--inventory", str(sb.inventory), *steps], env={**env, "RUNBOOK_STATE": str(sb.state)},
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        results = json.loads(proc.stdout)["results"]
        assert any(r["step"] == "dns-records" and r["status"] == "changed" for r in results), results  # the secret was used
        assert sb.secret not in proc.stdout + proc.stderr
        t = sb.transport("sv1")
        try:
            shown = t.run(["set"]).results[0].stdout
        finally:
            t.close()
        assert "WINEPREFIX" in shown or "PATH" in shown.upper()  # `set` did print the environment
        assert sb.secret not in shown
        assert _environ_hits(secret) == []
        files = [f for top in sb.state.iterdir() if top.name != "sandbox"
                 for f in ([top] if top.is_file() else top.rglob("*")) if f.is_file()]
        assert any(f.name == "journal.jsonl" for f in files), files
        assert [f for f in files if secret in f.read_bytes()] == []
    finally:
        destroy(sb)


def test_a_script_path_that_is_a_folder_is_an_error_on_that_node_not_a_traceback(sandbox):
    """A folder where the configuration's start.bat should be: the step fails on that node with
    the reason, the other steps and nodes carry on, and the summary names the node."""
    folder = sandbox.script_path("sv1", "START.BAT")
    shutil.rmtree(folder, ignore_errors=True)
    folder.unlink(missing_ok=True)
    folder.mkdir(parents=True)
    try:
        report = runner(sandbox, steps=["script-files", "preflight"]).run("plan")
        by = {(r.node, r.step): r for r in report.results}
        bad = by[("sv1", "script-files")]
        assert bad.status == "error" and "start.bat" in bad.message.lower(), bad.message
        assert by[("sv2", "preflight")].status == "converged"
        assert report.failed_nodes == ["sv1"] and report.exit_code == 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
