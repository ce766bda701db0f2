"""`--executor ansible`: each round trip of a run is one ansible-runner call for all the nodes, and
the run is the native executor's run: the same reports, the same journal, the same rollback.

On real nodes: two SURFNAVI Wine nodes behind real sshds whose commands run in Wine's cmd.exe
(Japanese, CP932), and two PostgreSQL sandbox containers with their own sshd, reached from the
sandbox's probe namespace by the `runbook` command itself. Each proves: apply converges, a second
apply changes nothing, rollback restores what the nodes answered before (read back through another
transport), plan = 1 and apply = 2 round trips per node, the journal equals a native run's on a
fresh twin, and nothing secret reaches the files written for ansible-runner.

Ansible is an optional extra (`pip install .[ansible]`): these tests skip without it locally and
fail under CI=true (plugins/components.py)."""
from __future__ import annotations

import base64
import importlib.util
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from plugins.components import require

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def need_ansible() -> None:
    require(importlib.util.find_spec("ansible_runner") is not None and (BIN / "ansible-playbook").exists(),
            "ansible-runner / ansible-playbook not installed: install the [ansible] extra (pip install .[ansible])")


def journal_by_node(state: Path, run_id: str) -> dict[str, list[dict]]:
    """A run's journal as what it says happened, per node in order (the nodes run in parallel, so
    records of different nodes interleave differently from run to run); times, sequence numbers,
    run ids, the engine's pid and the executor's name left out."""
    from runbook_engine.engine.journal import Journal

    keep = ("event", "step", "action", "transport", "target", "current", "desired", "commands", "undo", "before",
            "after", "ok", "status", "message", "intents", "mode", "guide", "nodes", "steps", "exit_code",
            "failed_nodes", "refused", "notes")
    out: dict[str, list[dict]] = {}
    for r in Journal.read(state, run_id):
        out.setdefault(r.get("node", "-"), []).append({k: v for k, v in r.items() if k in keep})
    return out


def trips(report) -> dict[str, int]:
    """Round trips per node, without the reads repeated because Wine answered 9009 (facts/base.py)."""
    return {n: k - report.retries.get(n, 0) for n, k in report.round_trips.items()}


def rounds(report, expected: int) -> int:
    """The ansible-runner calls a run of *expected* rounds makes: one more for a round in which a
    node repeated its read (it goes alone, or with the others that repeat theirs)."""
    return expected + (1 if any(report.retries.values()) else 0)


def rows(report) -> dict:
    """What a plan found on every node: {(node, step, target): (current, desired, status, commands)}."""
    return {(r.node, r.step, row.target): (row.current, row.desired, str(row.status), row.commands)
            for r in report.results for row in r.rows}


def currents(report) -> dict:
    return {k: v[0] for k, v in rows(report).items()}


class ScanningExecutor:
    """Mixed into AnsibleExecutor: before each round's private data dir is removed, every file in it
    is searched for the secret values (the instrumented executor is the real one otherwise)."""

    secret_values: tuple[str, ...] = ()

    def _discard(self, private: Path) -> None:
        self.scanned = getattr(self, "scanned", 0)
        self.leaks = getattr(self, "leaks", [])
        for p in private.rglob("*"):
            if p.is_file():
                self.scanned += 1
                data = p.read_bytes()
                self.leaks += [f"{p.relative_to(private)}" for v in self.secret_values if v.encode() in data]
        super()._discard(private)


# --- what travels (no node, no Ansible) ----------------------------------------------------------

def test_a_posix_raw_line_run_by_a_login_shell_answers_as_the_batch_on_stdin():
    """raw has no stdin: the POSIX batch travels quoted inside the command line that the node's
    login shell runs (`$SHELL -c LINE`); it must answer exactly as the ssh-posix transport's
    `/bin/sh -s` with the batch on stdin."""
    from runbook_engine.engine.executors.ansible import raw_lines
    from runbook_engine.engine.transports import posix
    from runbook_engine.engine.transports.base import split_output
    from runbook_engine.engine.transports.ssh_posix import REMOTE_COMMAND

    commands = ["echo one", "printf 'no final newline'", "false", "exit 3", "echo out; echo err >&2",
                "cat", "printf '%s\\n' \"it's\" '$HOME' '`x`' '日本語'", "cd /; pwd"]
    lines, chunks = raw_lines("sh", commands)
    assert len(lines) == 1 and chunks == [commands]
    via_line = subprocess.run(["/bin/sh", "-c", lines[0]], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    via_stdin = subprocess.run(["/bin/sh", "-c", REMOTE_COMMAND], input=posix.wrap_batch(commands), capture_output=True,
                               text=True, timeout=30)
    got, want = split_output(commands, via_line.stdout), split_output(commands, via_stdin.stdout)
    assert got == want
    assert [r.rc for r in got] == [0, 0, 1, 3, 0, 0, 0, 0]
    assert got[6].stdout == "it's\n$HOME\n`x`\n日本語" and got[7].stdout == "/"


def test_a_cmd_batch_is_refused_when_it_cannot_travel_as_the_native_one_line_form():
    from runbook_engine.engine.executors.ansible import raw_lines
    from runbook_engine.engine.transports.ssh import oneline_chunks, oneline_command

    commands = [f'sc qc "Service{i:03d}"' for i in range(400)]
    lines, chunks = raw_lines("cmd", commands)
    assert chunks == oneline_chunks(commands) and len(lines) == len(chunks) > 1
    assert lines == [oneline_command(c) for c in chunks]
    with pytest.raises(ValueError, match="non-ASCII"):
        raw_lines("cmd", ['echo "日本語"'])


def test_cp932_output_comes_back_from_ansibles_surrogate_escapes():
    from runbook_engine.engine.executors.ansible import node_bytes

    raw = "サービス名: W3SVC ～ ｶﾅ 表示\r\n".encode("cp932")
    as_ansible_hands_it_over = raw.decode("utf-8", "surrogateescape")  # ansible's to_text(surrogate_then_replace)
    assert node_bytes(as_ansible_hands_it_over) == raw
    assert node_bytes(as_ansible_hands_it_over).decode("cp932") == "サービス名: W3SVC ～ ｶﾅ 表示\r\n"


def test_an_ansible_inventory_without_a_node_is_refused_before_anything_runs(tmp_path):
    """`--ansible-inventory`: its hosts are the runbook nodes by name; a node it lacks is one line
    naming the hosts it has, exit 2, before any node is touched."""
    need_ansible()
    inv = tmp_path / "inventory.yaml"
    inv.write_text("cluster: c1\nguide: surfnavi\nnodes:\n"
                   "  - {name: sv1, transport: wine, prefix: /nonexistent/rb-sv1}\n"
                   "  - {name: sv2, transport: wine, prefix: /nonexistent/rb-sv2}\n")
    hosts = tmp_path / "hosts.yml"
    hosts.write_text("all:\n  children:\n    clusters:\n      hosts:\n        sv1: {ansible_host: 192.0.2.21}\n"
                     "        sv3: {ansible_host: 192.0.2.23}\n")
    passwords = tmp_path / "passwords.yaml"
    (tmp_path / "known_hosts").touch()
    passwords.write_text("cluster: c1\nguide: surfnavi\nnodes:\n" + "".join(
        f"  - {{name: {n}, transport: ssh, host: 192.0.2.2{i}, user: admin, known_hosts: known_hosts, "
        f"password_env: RB_PW_{n.upper()}}}\n" for i, n in enumerate(("sv1", "sv2"), 1)))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "RUNBOOK_STATE": str(tmp_path / "state")}
    for argv, line in (
        (["-i", str(inv), "--ansible-inventory", str(hosts)],
         f"error: --ansible-inventory: unknown host 'sv2' in {hosts} (known: sv1, sv3); did you mean 'sv1'?"),
        (["-i", str(inv)], "error: --executor ansible: node 'sv1' uses transport wine, which Ansible does not reach "
                           "from the runbook inventory: give it an ssh or ssh-posix transport, or pass "
                           "--ansible-inventory with a host of that name"),
        (["-i", str(passwords)], "error: --executor ansible: the nodes log in with different passwords (RB_PW_SV1, "
                                 "RB_PW_SV2); Ansible's --ask-pass takes one: use keys, one password_env, or "
                                 "--ansible-inventory"),
    ):
        proc = subprocess.run([sys.executable, "-m", "runbook_engine", "--root", str(REPO), "plan", *argv,
                               "--executor", "ansible", "--lang", "en"], capture_output=True, text=True, env=env, timeout=120)
        assert (proc.returncode, proc.stdout, proc.stderr.splitlines()) == (2, "", [line])
    assert not (tmp_path / "state" / "runs").exists()


# --- Windows nodes: Wine's cmd.exe behind real sshds ---------------------------------------------

def _ssh_nodes(sb, tmp_path_factory, tag: str) -> tuple[list, Path]:
    """sshd in front of each sandbox node's Wine prefix; an inventory reaching them over `ssh`."""
    from plugins.sshd import start_sshd
    from runbook_engine.engine.transports.wineprefix import ensure_wineserver, node_env

    sandbox_inv = yaml.safe_load(sb.inventory.read_text())
    procs, nodes = [], []
    for n in sandbox_inv["nodes"]:
        prefix = Path(n["prefix"])
        ensure_wineserver(prefix)
        proc, ssh = start_sshd(tmp_path_factory.mktemp(f"sshd-{tag}-{n['name']}"), prefix, node_env(prefix))
        procs.append(proc)
        nodes.append({"name": n["name"], "transport": "ssh", "host": ssh.host, "port": ssh.port, "user": ssh.user,
                      "key": str(ssh.key_path), "known_hosts": str(ssh.known_hosts), "lang": n["lang"],
                      "hostname": n["hostname"], "ip": n["ip"]})
    path = tmp_path_factory.mktemp(f"inv-{tag}") / "inventory.yaml"
    path.write_text(yaml.safe_dump({**{k: v for k, v in sandbox_inv.items() if k not in ("nodes", "dns")},
                                    "nodes": nodes}))
    return procs, path


@pytest.mark.wine
@pytest.mark.sshd
def test_ansible_executor_on_windows_nodes_is_the_native_run(tmp_path_factory, monkeypatch):
    need_ansible()
    from plugins.cluster import destroy, make_sandbox
    from plugins.sshd import stop_process
    from runbook_engine.engine.executors.ansible import AnsibleExecutor
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.engine.runner import Runner, automated_steps, rollback
    from runbook_engine.engine.targets import node_target
    from runbook_engine.engine.transports import open_transport
    from runbook_engine.engine.transports.environ import register_secret_names

    class Scanning(ScanningExecutor, AnsibleExecutor):
        pass

    # a secret in this process's environment, named as one (ansible-runner records its environment)
    secret = base64.b64encode(secrets.token_bytes(24)).decode()
    monkeypatch.setenv("RB_TEST_EXECUTOR_SECRET", secret)
    register_secret_names(["RB_TEST_EXECUTOR_SECRET"])
    Scanning.secret_values = (secret,)

    state = tmp_path_factory.mktemp("ansible-exec-win")
    sb = make_sandbox(state, nodes=2, dns=False)
    procs: list = []
    try:
        procs, inv_path = _ssh_nodes(sb, tmp_path_factory, "a")
        inv = load_inventory(inv_path)
        names = [n.name for n in inv.nodes]
        # every engine step of the guide but the check of the delivered scripts (delivery is the
        # operator's step, after the apply)
        steps = [s.id for s in automated_steps(sb.project.knowledge.guides["surfnavi"]) if s.id != "installed-scripts"]
        before = Runner(sb.project, sb.inv(), state=state, steps=steps).run("plan")  # read through the Wine transport
        assert not before.failed_nodes, [(r.node, r.step, r.message) for r in before.results]

        ex = Scanning()
        try:
            plan = Runner(sb.project, inv, state=state, steps=steps, executor=ex).run("plan")
            assert trips(plan) == {n: 1 for n in names} and ex.calls == rounds(plan, 1)
            native_plan = Runner(sb.project, inv, state=state, steps=steps).run("plan")  # the same SSH nodes, natively
            assert rows(plan) == rows(native_plan) and sum(r.changes for r in plan.results) > 0

            calls = ex.calls
            applied = Runner(sb.project, inv, state=state, steps=steps, executor=ex).run("apply")
            assert applied.exit_code == 0, [(r.node, r.step, r.status, r.message) for r in applied.results]
            # one ansible-runner call per round; sv1, the configuration node, also gets the scripts: its
            # change batch is longer than one cmd.exe line, so it goes out as several exec requests in
            # that call's raw loop, each a round trip as the native SSH transport counts it
            assert trips(applied)["sv2"] == 2 and trips(applied)["sv1"] > 2
            assert ex.calls - calls == 2 or any(applied.retries.values())
            calls = ex.calls
            again = Runner(sb.project, inv, state=state, steps=steps, executor=ex).run("apply")
            assert again.exit_code == 0 and sum(r.changes for r in again.results) == 0
            assert trips(again) == {n: 1 for n in names} and ex.calls - calls == rounds(again, 1)  # no 2nd round

            # a batch longer than one cmd.exe line: several raw lines, counted as the native transport counts
            long = [f"echo line {i:03d} of a batch longer than one cmd.exe command line" for i in range(300)]
            long.append('sc qc "NoSuchService"')
            t = ex.open(node_target(inv.node(names[0])))
            native_t = open_transport(inv.node(names[0]))
            try:
                got, want = t.run(long), native_t.run(long)
                assert t.round_trips == native_t.round_trips > 1
                assert [(r.rc, r.stdout) for r in got.results[:-1]] == [(r.rc, r.stdout) for r in want.results[:-1]]
                assert [r.stdout for r in got.results[:-1]] == [c[5:] for c in long[:-1]]
                assert got.results[-1].rc == 1060  # the marker's code, not SSH's 8 bits
            finally:
                t.close()
                native_t.close()

            undone = rollback(sb.project, inv, applied.run_id, state, executor=ex)
            assert undone.exit_code == 0, [(r.node, r.status, r.message) for r in undone.results]
            # one round trip each (two where an undo met Wine's 9009 and was sent once more: runner._undo)
            assert {r.node: r.round_trips for r in undone.results}.keys() == set(names)
            assert {r.round_trips for r in undone.results} <= {1, 2}
        finally:
            ex.close()
        assert ex.scanned > 0 and ex.leaks == []
        assert not ex.work.exists()
        after = Runner(sb.project, sb.inv(), state=state, steps=steps).run("plan")
        assert currents(after) == currents(before)  # the nodes answer as before the apply
        ansible_journal = journal_by_node(state, applied.run_id)
    finally:
        for p in procs:
            stop_process(p)
        destroy(sb)

    # the twin: fresh nodes, the same run through the native executor over the same kind of SSH
    state2 = tmp_path_factory.mktemp("native-exec-win")
    twin = make_sandbox(state2, nodes=2, dns=False)
    procs = []
    try:
        procs, inv2 = _ssh_nodes(twin, tmp_path_factory, "b")
        native = Runner(twin.project, load_inventory(inv2), state=state2, steps=steps).run("apply")
        assert native.exit_code == 0 and trips(native) == trips(applied)  # exec requests, node by node
        assert journal_by_node(state2, native.run_id) == ansible_journal and len(ansible_journal["sv1"]) > 3
    finally:
        for p in procs:
            stop_process(p)
        destroy(twin)
    from runbook_engine.engine.journal import Journal

    assert [r.get("executor") for r in Journal.read(state, applied.run_id) if r["event"] == "run"] == ["ansible"]
    assert [r.get("executor") for r in Journal.read(state2, native.run_id) if r["event"] == "run"] == ["native"]


# --- Linux nodes: systemd containers with sshd, the `runbook` command in the probe namespace -------

def _runbook_in(ns: str, state: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    proc = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "runbook_engine", "--root", str(REPO),
                           *argv, "--json"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src"), "RUNBOOK_STATE": str(state), **(env or {})})
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"runbook {' '.join(argv)}: rc {proc.returncode}: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    return proc.returncode, out, proc.stderr


def _linux_cluster(state: Path):
    from plugins.linux import PACKAGES
    from plugins.components import require_executable
    from runbook_engine.model.project import Project
    from runbook_engine.sandbox.cluster import create_cluster, sandbox_root
    from runbook_engine.sandbox.linux import probe_namespace

    for prog, pkg in PACKAGES.items():
        require_executable(prog, pkg)
    require(os.geteuid() == 0, "the Linux sandbox boots containers and creates network namespaces: needs root")
    project = Project(REPO, state_dir=state)
    inv = create_cluster(project, project.knowledge, nodes=2, guide_id="postgresql", transport="ssh")
    return project, inv, probe_namespace(sandbox_root(project))


def _nspawn_inventory(project, inv_path: Path, where: Path) -> Path:
    """The same containers entered from here (transport nspawn): how the test reads them back."""
    data = yaml.safe_load(inv_path.read_text())
    back = where / "nspawn.yaml"
    back.write_text(yaml.safe_dump({**{k: v for k, v in data.items() if k != "nodes"}, "nodes": [
        {"name": n["name"], "transport": "nspawn", "machine": str(project.state / "sandbox" / "linux" / n["name"])}
        for n in data["nodes"]]}))
    return back


def _read_back(project, back: Path) -> dict:
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.engine.runner import Runner

    report = Runner(project, load_inventory(back), state=project.state).run("plan")
    assert not report.failed_nodes, [(r.node, r.step, r.message) for r in report.results]
    return currents(report)


def _json_rows(out: dict) -> dict:
    return {(r["node"], r["step"], row["target"]): (row["current"], row["desired"], row["status"], row["commands"])
            for r in out["results"] for row in r["rows"]}


#: run in the probe namespace: a plan through the executor, every file ansible-runner received scanned
SCAN = """
import json, sys
from runbook_engine.engine.executors.ansible import AnsibleExecutor
from runbook_engine.engine.inventory import load_inventory
from runbook_engine.engine.runner import Runner
from runbook_engine.model.project import Project
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from test_ansible_executor import ScanningExecutor

class Scanning(ScanningExecutor, AnsibleExecutor):
    secret_values = tuple(sys.argv[3].split(","))

project = Project(Path(sys.argv[1]))
ex = Scanning()
try:
    rep = Runner(project, load_inventory(sys.argv[2]), state=project.state, executor=ex).run("plan")
finally:
    ex.close()
print(json.dumps({"round_trips": rep.round_trips, "status": sorted({(r.node, str(r.status)) for r in rep.results}),
                  "messages": sorted({r.message for r in rep.results if r.message}), "scanned": ex.scanned,
                  "leaks": ex.leaks}))
"""


@pytest.mark.linux
def test_ansible_executor_on_linux_nodes_is_the_native_run(tmp_path_factory):
    need_ansible()
    from runbook_engine.engine.transports import open_transport
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.sandbox.cluster import destroy_cluster

    state = tmp_path_factory.mktemp("ansible-exec-linux")
    project, inv, ns = _linux_cluster(state)
    work = tmp_path_factory.mktemp("ansible-exec-linux-work")
    try:
        back = _nspawn_inventory(project, inv, work)
        before = _read_back(project, back)
        names = ["pg-primary", "pg-secondary"]

        code, plan, _ = _runbook_in(ns, state, "plan", "-i", str(inv), "--executor", "ansible")
        native_code, native_plan, _ = _runbook_in(ns, state, "plan", "-i", str(inv))
        assert (code, plan["round_trips"]) == (native_code, {n: 1 for n in names}) == (1, {n: 1 for n in names})
        assert _json_rows(plan) == _json_rows(native_plan)

        code, applied, err = _runbook_in(ns, state, "apply", "--yes", "-i", str(inv), "--executor", "ansible")
        assert code == 0, (err, [(r["node"], r["step"], r["status"], r["message"]) for r in applied["results"]])
        assert applied["round_trips"] == {n: 2 for n in names} and sum(r["changes"] for r in applied["results"]) > 0
        code, again, _ = _runbook_in(ns, state, "apply", "--yes", "-i", str(inv), "--executor", "ansible")
        assert code == 0 and sum(r["changes"] for r in again["results"]) == 0 and again["round_trips"] == {n: 1 for n in names}
        converged = _read_back(project, back)
        assert converged != before

        # the user's own Ansible inventory instead of one made from the runbook inventory's ssh options
        nodes = {n["name"]: n for n in yaml.safe_load(inv.read_text())["nodes"]}
        hosts = work / "hosts.yml"
        hosts.write_text(yaml.safe_dump({"all": {"children": {"postgres": {"hosts": {name: {
            "ansible_host": n["host"], "ansible_user": n["user"], "ansible_ssh_private_key_file": n["key"],
            "ansible_ssh_common_args": f"-o UserKnownHostsFile={n['known_hosts']} -o StrictHostKeyChecking=yes",
            "ansible_python_interpreter": "/usr/bin/python3"} for name, n in nodes.items()}}}}}))
        code, verified, _ = _runbook_in(ns, state, "verify", "-i", str(inv), "--executor", "ansible",
                                        "--ansible-inventory", str(hosts))
        native_code, native_verified, _ = _runbook_in(ns, state, "verify", "-i", str(inv))
        assert verified["round_trips"] == {n: 1 for n in names}, verified
        assert (code, _json_rows(verified), verified["drift"]) == (native_code, _json_rows(native_verified),
                                                                   native_verified["drift"])

        code, undone, _ = _runbook_in(ns, state, "rollback", applied["run_id"], "-i", str(inv), "--executor", "ansible")
        assert code == 0, undone
        assert {r["node"]: r["round_trips"] for r in undone["results"]} == {n: 1 for n in names}
        assert _read_back(project, back) == before  # the containers answer as before the apply

        # a password login (by environment variable name) on one node, a key on the other; nothing
        # secret in any file ansible-runner received
        password = "rb-" + secrets.token_hex(12)
        t = open_transport(load_inventory(back).node("pg-secondary"))
        try:
            res = t.run([f"echo 'root:{password}' | chpasswd",
                         "printf 'PasswordAuthentication yes\\nPermitRootLogin yes\\n' > /etc/ssh/sshd_config.d/00-rb-test.conf",
                         "systemctl reload ssh"]).results
            assert [r.rc for r in res] == [0, 0, 0], res
        finally:
            t.close()
        data = yaml.safe_load(inv.read_text())
        data["nodes"][1].pop("key")
        data["nodes"][1]["password_env"] = "RB_TEST_SSH_PASSWORD"
        pw_inv = work / "password.yaml"
        pw_inv.write_text(yaml.safe_dump(data))
        tsig = base64.b64encode(secrets.token_bytes(24)).decode()
        for given, ok in ((password, True), ("wrong-" + password, False)):
            proc = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", SCAN, str(REPO), str(pw_inv),
                                   f"{given},{tsig}", str(Path(__file__).parent)], capture_output=True, text=True,
                                  timeout=300, env={**os.environ, "PYTHONPATH": str(REPO / "src"), "RUNBOOK_STATE": str(state),
                                                    "RB_TEST_SSH_PASSWORD": given, "RUNBOOK_TSIG_SECRET": tsig})
            assert proc.returncode == 0, proc.stderr[-3000:]
            out = json.loads(proc.stdout)
            assert out["scanned"] > 0 and out["leaks"] == [], out
            if ok:
                assert out["round_trips"] == {n: 1 for n in names} and "unreachable" not in str(out["status"]), out
            else:  # the wrong password fails that node alone
                assert out["round_trips"] == {"pg-primary": 1, "pg-secondary": 0}, out
                assert ["pg-secondary", "unreachable"] in out["status"] and ["pg-primary", "unreachable"] not in out["status"]
                assert any("Permission denied" in m for m in out["messages"]), out
    finally:
        destroy_cluster(project)

    # the twin: fresh containers, the same apply through the native executor
    state2 = tmp_path_factory.mktemp("native-exec-linux")
    project2, inv2, ns2 = _linux_cluster(state2)
    try:
        code, native, _ = _runbook_in(ns2, state2, "apply", "--yes", "-i", str(inv2))
        assert code == 0 and native["round_trips"] == applied["round_trips"]
    finally:
        destroy_cluster(project2)
    want = journal_by_node(state2, native["run_id"])
    got = journal_by_node(state, applied["run_id"])
    assert got == want and len(got["pg-primary"]) > 3
