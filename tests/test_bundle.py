"""Offline bundles: a node that no transport reaches is planned, applied and rolled back through one
.cmd file carried to it and its result carried back, with the same report, journal and rollback
data as a live run.

Real components: two twin Wine sandbox nodes (module-scoped); each bundle runs with plain
``wine cmd /c C:\\rb\\...\\x.cmd`` in its node's prefix, as an operator runs it on the node; the
twin is driven live through the Wine transport for comparison.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from runbook_engine import cli
from runbook_engine.engine.facts.services import START_TYPES, ServicesConfig, parse_query_all
from runbook_engine.engine.journal import Journal
from runbook_engine.engine.runner import Runner, rollback
from runbook_engine.engine.transports.wineprefix import ensure_wineserver, node_env, wine_argv, windows_to_unix

from plugins.components import run_on

REPO = Path(__file__).resolve().parents[1]
STEP = "services-manual"
JA_SERVICE, JA_DISPLAY = "RbBundleJa", "バンドル試験用サービス（ソ表示）"


# --- helpers ------------------------------------------------------------------------------------

def runbook(state: Path, *argv: str, cwd: Path | None = None) -> tuple[int, str, str]:
    """`runbook ARGV` in this process with *state* as the state folder, in an English locale (the
    lines the tests read are the English ones): exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    old_state, old_cwd, old_lc = os.environ.get("RUNBOOK_STATE"), Path.cwd(), os.environ.get("LC_ALL")
    os.environ["RUNBOOK_STATE"] = str(state)
    os.environ["LC_ALL"] = "en_US.UTF-8"
    try:
        if cwd:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["--root", str(REPO), *argv])
    finally:
        os.chdir(old_cwd)
        if old_state is None:
            os.environ.pop("RUNBOOK_STATE", None)
        else:
            os.environ["RUNBOOK_STATE"] = old_state
        if old_lc is None:
            os.environ.pop("LC_ALL", None)
        else:
            os.environ["LC_ALL"] = old_lc
    return code, out.getvalue(), err.getvalue()


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


class Offline:
    """The bundle side of the module's sandbox: a state folder of its own, and an operator who
    copies each .cmd into ``C:\\rb\\<n>\\`` on the node and runs it with plain ``wine cmd /c``."""

    def __init__(self, sb, state: Path):
        self.sb, self.state, self.count = sb, state, 0

    def write(self, kind: str, *argv: str, node: str = "sv1", inventory: Path | None = None) -> Path:
        """`runbook bundle KIND ... --out` into a fresh folder on *node*; the .cmd's path."""
        self.count += 1
        folder = windows_to_unix(self.prefix(node), "C:\\") / "rb" / str(self.count)
        folder.mkdir(parents=True)
        cmd = folder / f"{kind}.cmd"
        code, out, err = runbook(self.state, "bundle", kind, *argv, "--inventory", str(inventory or self.sb.inventory),
                                 "--node", node, "--out", str(cmd))
        assert (code, err) == (0, ""), out + err
        return cmd

    def prefix(self, node: str) -> Path:
        return self.sb.inv().node(node).options.prefix

    def run(self, cmd: Path, node: str = "sv1", env: dict | None = None) -> Path:
        """Run the .cmd on the node as an operator does; the result file it wrote."""
        prefix = self.prefix(node)
        env = env or node_env(prefix)
        ensure_wineserver(prefix, env)
        win = "C:\\" + "\\".join(cmd.relative_to(windows_to_unix(prefix, "C:\\")).parts)
        proc = subprocess.run(wine_argv("cmd", "/c", win), env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=300)
        results = list(cmd.parent.glob("*.result.txt"))
        assert proc.returncode == 0 and len(results) == 1, proc.stdout.decode("cp932", "replace")
        return results[0]

    def round(self, kind: str, *argv: str, node: str = "sv1") -> dict:
        """Write, run and import one bundle; the imported report (JSON)."""
        result = self.run(self.write(kind, *argv, node=node), node)
        code, out, err = self.imports(result)
        report = json.loads(out)
        assert code == report["exit_code"] and err.startswith(f"imported {kind} bundle"), err
        return report

    def imports(self, result: Path, *extra: str, json_: bool = True) -> tuple[int, str, str]:
        return runbook(self.state, "import", str(result), "--inventory", str(self.sb.inventory),
                       *(["--json"] if json_ else []), *extra)


def node_state(sb, node: str) -> dict[str, tuple[str, str]]:
    """(start type, state) of each service the step manages, read live."""
    names = [s.service for s in sb.project.knowledge.guides["surfnavi"].manual_services()]
    res = run_on(sb, node, "sc query type= service state= all", *[f'sc qc "{n}"' for n in names])
    states = parse_query_all(res[0].stdout)
    starts = [START_TYPES.get(m.group(1)) if (m := re.search(r"START_TYPE\s*:\s*(\d+)", r.stdout)) else None
              for r in res[1:]]
    return {n: (start, states.get(n.lower())) for n, start in zip(names, starts)}


def settle(sb, node: str, state: str = "STOPPED", timeout: float = 20.0) -> None:
    """Wait until the managed services of *node* are in *state*, then a moment more: Wine's
    service manager answers `sc start` with 1359 now and then while a stopped service's process is
    still exiting (seen with live and bundle rollbacks alike, right after an apply), and `sc stop`
    refuses a service that is still starting."""
    deadline = time.monotonic() + timeout
    while any(s != state for _, s in node_state(sb, node).values()) and time.monotonic() < deadline:
        time.sleep(0.3)
    if state == "STOPPED":
        time.sleep(1.0)  # the processes exit after they report STOPPED


def said(report: dict) -> list:
    """What a report says per step (for assertion messages)."""
    return [(r["node"], r["step"], r["status"], r["message"]) for r in report["results"]]


def rows_of(report: dict, node: str) -> list[dict]:
    """A report's rows and step statuses, the node's name taken out (twins have other names).
    Round trips are left out: Wine's sporadic 9009 adds a repeated read now and then, on either
    side (the bundle repeats it as the engine does)."""
    def anon(value):
        return json.loads(json.dumps(value).replace(f'"{node}"', '"NODE"'))

    return [anon({"step": r["step"], "status": r["status"], "changes": r["changes"], "message": r["message"],
                  "rows": r["rows"]}) for r in report["results"] if r["node"] == node]


def live(sb, state: Path, node: str, mode: str, steps: list[str] | None = None) -> dict:
    return Runner(sb.project, sb.inv(), nodes=[node], steps=steps, state=state).run(mode).as_dict()


def journal_changes(state: Path, run_id: str, node: str) -> list[dict]:
    keep = ("event", "step", "action", "transport", "target", "current", "desired", "commands", "undo", "before",
            "after", "ok", "status", "message", "intents")
    recs = [{k: v for k, v in r.items() if k in keep} for r in Journal.read(state, run_id) if r["event"] != "bundle"]
    return json.loads(json.dumps(recs).replace(f'"{node}"', '"NODE"'))


def restore_install_state(sb, node: str) -> None:
    """The node as the sandbox made it: every managed service automatic and running."""
    names = [s.service for s in sb.project.knowledge.guides["surfnavi"].manual_services()]
    run_on(sb, node, *[c for n in names for c in (f'sc config "{n}" start= auto', f'sc start "{n}"')])


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sb(tmp_path_factory):
    from plugins.cluster import destroy, make_sandbox

    box = make_sandbox(tmp_path_factory.mktemp("bundle-sandbox"), nodes=2, dns=False)
    try:
        yield box
    finally:
        destroy(box)


@pytest.fixture(scope="module")
def offline(sb, tmp_path_factory):
    return Offline(sb, tmp_path_factory.mktemp("bundle-state"))


@pytest.fixture(scope="module")
def plan_result(offline, tmp_path_factory) -> Path:
    """A plan result of sv1 (one section: a plan reads every step in one round trip), run and
    never imported (tampered copies are)."""
    result = offline.run(offline.write("plan", "--step", "preflight", "--step", STEP))
    keep = tmp_path_factory.mktemp("plan-result") / result.name
    shutil.copyfile(result, keep)
    return keep


@pytest.fixture(scope="module")
def apply_result(sb, offline, tmp_path_factory) -> Path:
    """An apply result of sv1 (two sections: the read, then the changes and the re-read), run and
    never imported (tampered copies are); the node is put back as the sandbox made it."""
    settle(sb, "sv1", "RUNNING")
    offline.round("plan", "--step", STEP)
    result = offline.run(offline.write("apply", "--step", STEP, "--yes"))
    keep = tmp_path_factory.mktemp("apply-result") / result.name
    shutil.copyfile(result, keep)
    settle(sb, "sv1")
    restore_install_state(sb, "sv1")
    settle(sb, "sv1", "RUNNING")
    return keep


# --- the plan ---------------------------------------------------------------------------------------

@pytest.mark.wine
def test_a_plan_bundle_run_by_plain_wine_cmd_imports_as_the_wine_transports_plan(sb, offline, tmp_path):
    before = listing(offline.state)
    imported = offline.round("plan")
    live_plan = live(sb, tmp_path, "sv1", "plan")
    assert rows_of(imported, "sv1") == rows_of(live_plan, "sv1")
    steps = [r["step"] for r in imported["results"]]
    assert STEP in steps and "preflight" in steps
    assert imported["exit_code"] == live_plan["exit_code"] == 1  # pending, as a live plan says
    new = sorted(set(listing(offline.state)) - set(before) - {"bundles"})
    assert [Path(p).name.split(".", 1)[1] for p in new] == ["imported.json", "json", "result.txt"], new


@pytest.mark.wine
def test_plan_apply_verify_rollback_through_bundles_equals_the_live_engine_on_a_twin(sb, offline, tmp_path):
    live_state = tmp_path / "live"
    settle(sb, "sv1", "RUNNING")
    settle(sb, "sv2", "RUNNING")
    before = node_state(sb, "sv1")
    assert before == node_state(sb, "sv2") and {v for v in before.values()} == {("auto", "RUNNING")}

    planned = offline.round("plan", "--step", STEP)
    assert rows_of(planned, "sv1") == rows_of(live(sb, live_state, "sv2", "plan", [STEP]), "sv2")

    applied = offline.round("apply", "--step", STEP, "--yes")
    twin = live(sb, live_state, "sv2", "apply", [STEP])
    assert applied["exit_code"] == twin["exit_code"] == 0, (said(applied), said(twin))
    assert rows_of(applied, "sv1") == rows_of(twin, "sv2")
    assert journal_changes(offline.state, applied["run_id"], "sv1") == journal_changes(live_state, twin["run_id"], "sv2")
    assert node_state(sb, "sv1") == node_state(sb, "sv2") != before

    verified = live(sb, live_state, "sv1", "verify", [STEP])  # the live engine finds the bundle's work clean
    assert verified["exit_code"] == 0 and verified["drift"] == [], verified

    settle(sb, "sv1")
    undone = offline.round("rollback", applied["run_id"], "--yes")
    settle(sb, "sv2")
    twin_undone = rollback(sb.project, sb.inv(), twin["run_id"], live_state).as_dict()
    assert undone["exit_code"] == twin_undone["exit_code"] == 0, (said(undone), said(twin_undone))
    assert rows_of(undone, "sv1") == rows_of(twin_undone, "sv2")
    assert (journal_changes(offline.state, applied["run_id"] + ".rollback", "sv1")
            == journal_changes(live_state, twin["run_id"] + ".rollback", "sv2"))
    assert node_state(sb, "sv1") == node_state(sb, "sv2") == before
    # `runbook rollback RUN_ID` reads the imported journal like a live one: nothing left to undo is
    # not the point here; that it loads and names every intent is
    assert len([r for r in Journal.read(offline.state, applied["run_id"]) if r["event"] == "intent"]) == len(before)


@pytest.mark.wine
def test_japanese_output_survives_the_bundle_in_cp932(sb, offline, tmp_path):
    from runbook_engine.engine.bundle.offline import import_result
    from runbook_engine.model.project import Project

    t = sb.transport("sv1")
    try:
        made = t.run([f'sc create "{JA_SERVICE}" binPath= "C:\\CLUSTERPRO\\sandbox\\rbsvc.exe {JA_SERVICE}" '
                      f'start= demand DisplayName= "{JA_DISPLAY}"']).results
        assert made[0].rc == 0, made
        cmd = offline.write("plan", "--step", "preflight", "--step", STEP)
        text = cmd.read_bytes()
        assert b"\n" not in text.replace(b"\r\n", b"") and "計画".encode("cp932") in text  # CP932, CRLF
        result = offline.run(cmd)
        assert f"DISPLAY_NAME: {JA_DISPLAY}".encode("cp932") in result.read_bytes()
        done = import_result(Project(REPO, state_dir=offline.state), sb.inv(), result)
    finally:
        t.run([f'sc delete "{JA_SERVICE}"'])
        t.close()
    outputs = {r.command: r.stdout for s in done.served for r in s.results}
    assert f"DISPLAY_NAME: {JA_DISPLAY}" in outputs[ServicesConfig(()).commands()[0]]
    assert "アドレス" in outputs["ipconfig"]  # Wine's Japanese ipconfig: "IPv4 アドレス"
    rows = {row["target"]: row for r in done.report.as_dict()["results"] for row in r["rows"]}
    assert rows["tcpip"]["current"] == "installed"


@pytest.mark.wine
def test_an_apply_bundle_follows_the_cluster_phase_and_the_nodes_role_as_a_live_apply(sb, offline, tmp_path):
    """In operation, on the active node, the services get manual start and keep running: the apply
    bundle made from the imported plan stops nothing (no clpgrp in this sandbox: the runner trusts
    the inventory and says so, live and imported alike)."""
    from runbook_engine.engine.bundle.store import Store
    from runbook_engine.engine.inventory import load_inventory

    data = yaml.safe_load(sb.inventory.read_text())
    data["cluster_state"] = {"phase": "operation", "group": "failover1", "active": "sv1"}
    inventory = tmp_path / "operation.yaml"
    inventory.write_text(yaml.safe_dump(data))
    cmd = offline.write("plan", "--step", STEP, inventory=inventory)
    code, out, err = runbook(offline.state, "import", str(offline.run(cmd)), "--inventory", str(inventory), "--json")
    imported = json.loads(out)
    live_plan = Runner(sb.project, load_inventory(inventory), nodes=["sv1"], steps=[STEP], state=tmp_path).run("plan")
    assert rows_of(imported, "sv1") == rows_of(live_plan.as_dict(), "sv1")
    assert imported["notes"] == live_plan.notes and "trusting the inventory" in imported["notes"][0]
    wrote = runbook(offline.state, "bundle", "apply", "--inventory", str(inventory), "--node", "sv1", "--yes",
                    "--out", str(tmp_path / "apply.cmd"))
    assert wrote[0] == 0, wrote
    record = max(Store(offline.state).records(), key=lambda r: r.created)
    change = [b for b in record.batches if b.kind == "change"]
    planned = [c for r in live_plan.results for row in r.rows for c in row.commands]
    assert len(change) == 1 and list(change[0].commands[:len(planned)]) == planned
    assert planned and all(c.startswith("sc config") for c in planned)  # nothing stopped on the active node


# --- refusals ---------------------------------------------------------------------------------------

def _sections(lines: list[str]) -> list[tuple[int, int]]:
    starts = [i for i, ln in enumerate(lines) if ln.startswith("::rb:section:")]
    end = next(i for i, ln in enumerate(lines) if ln.startswith("::rb:done:"))
    return [(a, b) for a, b in zip(starts, starts[1:] + [end])]


def _tamper(case: str, text: str) -> str:
    lines = text.split("\r\n")
    (a0, b0), (a1, b1) = _sections(lines)[:2]
    if case == "digest":
        return re.sub(r"::rb:digest:[0-9a-f]+", "::rb:digest:" + "0" * 64, text)
    if case == "removed-section":
        return "\r\n".join(lines[:a1] + lines[b1:])
    if case == "reordered-sections":
        return "\r\n".join(lines[:a0] + lines[a1:b1] + lines[a0:b0] + lines[b1:])
    if case == "duplicated-section":
        return "\r\n".join(lines[:b1] + lines[a1:b1] + lines[b1:])
    if case == "truncated":
        return "\r\n".join(lines[: (a1 + b1) // 2])
    if case == "wrong-node":
        return text.replace("::rb:node:sv1", "::rb:node:sv2")
    if case == "unknown-id":
        return re.sub(r"::rb:bundle:[0-9a-f]+", "::rb:bundle:0123456789abcdef", text)
    return text


@pytest.mark.wine
@pytest.mark.parametrize("case,words", [
    ("digest", "command digest"),
    ("removed-section", "is missing"),
    ("reordered-sections", "is missing or out of order"),
    ("duplicated-section", "appears twice"),
    ("truncated", "no done marker"),
    ("wrong-node", "result is for node sv2, but bundle"),
    ("unknown-id", "unknown bundle id"),
    ("import-as-sv2", "result is for node sv1, not sv2"),
    ("other-inventory", "result is for another inventory"),
])
def test_a_tampered_or_misplaced_result_is_refused_with_one_line_and_nothing_written(
        sb, offline, apply_result, tmp_path, case, words):
    result = tmp_path / apply_result.name
    text = apply_result.read_bytes().decode("cp932")
    result.write_bytes(_tamper(case, text).encode("cp932"))
    extra: list[str] = []
    if case == "import-as-sv2":
        extra = ["--node", "sv2"]
    inventory = sb.inventory
    if case == "other-inventory":
        data = yaml.safe_load(sb.inventory.read_text())
        data["cluster_state"] = {"phase": "operation", "group": "failover1", "active": "sv2"}
        inventory = tmp_path / "other.yaml"
        inventory.write_text(yaml.safe_dump(data))
    before = listing(offline.state)
    code, out, err = runbook(offline.state, "import", str(result), "--inventory", str(inventory), *extra)
    assert code == 2 and out == "", out
    assert len(err.splitlines()) == 1 and re.match(rf"^{re.escape(str(result))}:\d+: ", err), err
    assert words in err, err
    assert listing(offline.state) == before


@pytest.mark.wine
def test_a_result_the_engine_would_not_ask_for_is_refused(sb, offline, plan_result, tmp_path):
    """The recorded commands changed since the bundle ran (a guide or engine change stands in):
    the replay finds the runner asking for other commands and refuses."""
    from runbook_engine.engine.bundle.store import Store, batches_digest
    from runbook_engine.engine.runner import Batch

    store = Store(offline.state)
    bundle_id = re.search(r"::rb:bundle:([0-9a-f]+)", plan_result.read_text(encoding="cp932")).group(1)
    original = store.path(bundle_id).read_bytes()
    record = store.read(bundle_id)
    i, b = next((i, b) for i, b in enumerate(record.batches) if b.name == "read")
    j = next(j for j, c in enumerate(b.commands) if "state= all" in c)  # services-manual's `sc query`
    changed = b.commands[:j] + (b.commands[j].replace("state= all", "state= all "),) + b.commands[j + 1:]
    record.batches[i] = Batch(b.kind, b.step, changed, b.retry)
    record.digest = batches_digest(record.batches)
    result = tmp_path / plan_result.name
    result.write_bytes(re.sub(rb"::rb:digest:[0-9a-f]+", b"::rb:digest:" + record.digest.encode(), plan_result.read_bytes()))
    try:
        store.write(record)
        before = listing(offline.state)
        code, out, err = offline.imports(result)
        assert code == 2 and len(err.splitlines()) == 1, err
        assert "section read: the engine asks for other commands than the bundle ran" in err, err
        assert listing(offline.state) == before
    finally:
        store.path(bundle_id).write_bytes(original)


@pytest.mark.wine
def test_a_result_is_imported_once(offline, tmp_path):
    result = offline.run(offline.write("plan", "--step", STEP))
    assert offline.imports(result)[0] == 1  # imported: a plan with changes pending
    before = listing(offline.state)
    code, out, err = offline.imports(result)
    assert code == 2 and len(err.splitlines()) == 1 and "was imported already" in err, err
    assert listing(offline.state) == before


@pytest.mark.wine
def test_an_apply_result_of_a_node_changed_since_its_plan_is_refused_and_nothing_is_recorded(sb, offline):
    offline.round("plan", "--step", STEP)
    cmd = offline.write("apply", "--step", STEP, "--yes")
    service = sb.project.knowledge.guides["surfnavi"].manual_services()[0].service
    t = sb.transport("sv1")
    try:
        assert t.run([f'sc config "{service}" start= disabled']).results[0].rc == 0  # someone on the node
        result = offline.run(cmd)
        before = listing(offline.state)
        code, out, err = offline.imports(result)
        assert code == 2 and len(err.splitlines()) == 1, err
        assert "node changed since plan, run a new plan bundle" in err and service in err, err
        assert listing(offline.state) == before
        # the changes ran on the node (cmd.exe cannot compare): a new plan starts from there
        again = runbook(offline.state, "bundle", "apply", "--inventory", str(sb.inventory), "--node", "sv1", "--yes")
        assert again[0] == 2 and "run a new plan bundle" in again[2], again
    finally:
        t.close()
        restore_install_state(sb, "sv1")


@pytest.mark.wine
def test_an_imported_apply_is_undone_by_the_live_rollback_command(sb, offline):
    settle(sb, "sv2", "RUNNING")
    before = node_state(sb, "sv2")
    offline.round("plan", "--step", STEP, node="sv2")
    applied = offline.round("apply", "--step", STEP, "--yes", node="sv2")
    assert applied["exit_code"] == 0 and node_state(sb, "sv2") != before, said(applied)
    settle(sb, "sv2")
    code, out, err = runbook(offline.state, "rollback", applied["run_id"], "--inventory", str(sb.inventory), "--json")
    assert code == 0 and json.loads(out)["results"][0]["status"] == "changed", said(json.loads(out))
    assert node_state(sb, "sv2") == before


@pytest.mark.wine
def test_a_bundle_stops_before_running_anything_when_sc_is_not_on_the_path(sb, offline):
    cmd = offline.write("plan", "--step", STEP)
    prefix = offline.prefix("sv1")
    wrapper = cmd.with_name("nopath.cmd")  # the node's PATH without system32 (where sc.exe is)
    wrapper.write_bytes(b"@set PATH=C:\\nothing\r\n@call " + str(cmd.name).encode() + b"\r\n")
    env = node_env(prefix)
    ensure_wineserver(prefix, env)
    win = "C:\\" + "\\".join(wrapper.relative_to(windows_to_unix(prefix, "C:\\")).parts)
    proc = subprocess.run(wine_argv("cmd", "/c", win), env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          cwd=wrapper.parent, timeout=300)
    said = proc.stdout.decode("cp932", "replace")
    assert "sc.exe が PATH に見つかりません" in said and "リソースキット" in said, said
    assert list(cmd.parent.glob("*.result.txt")) == []


# --- without Wine -------------------------------------------------------------------------------------

def _inventory(tmp_path: Path, lang: str = "ja") -> Path:
    """Two nodes that no transport reaches from here (as kb/inventories/windows-2000-offline.yaml:
    the batch runs in the node's own cmd.exe)."""
    inv = tmp_path / "inv.yaml"
    inv.write_text(f"cluster: c1\nguide: surfnavi\nnodes:\n  - name: sv1\n    transport: local\n    lang: {lang}\n"
                   "  - name: sv2\n    transport: local\n")
    return inv


@pytest.mark.parametrize("argv,words", [
    (["bundle", "plan", "--node", "sv9"], "unknown node 'sv9'"),
    (["bundle", "plan", "no-such-guide", "--node", "sv1"], "unknown guide 'no-such-guide'"),
    (["bundle", "plan", "--node", "../sv1"], "'../sv1'"),
    (["bundle", "plan", "--node", "sv1&del"], "'sv1&del'"),
    (["bundle", "apply", "--node", "sv1;x"], "'sv1;x'"),
    (["bundle", "rollback", "../../etc", "--node", "sv1"], "'../../etc'"),
    (["bundle", "plan", "--node", "sv1", "--step", "dns-records"], "has no engine target on node sv1"),
    (["import", "no-such-result.txt"], "no-such-result.txt: no such file"),
])
def test_bad_arguments_are_one_line_exit_2_and_write_nothing(tmp_path, argv, words):
    inv = _inventory(tmp_path)
    state = tmp_path / "state"
    work = tmp_path / "work"
    work.mkdir()
    code, out, err = runbook(state, *argv, "--inventory", str(inv), cwd=work)
    assert code == 2 and len(err.splitlines()) == 1 and words in err, (out, err)
    assert "Traceback" not in err and listing(state) == [] and listing(work) == []


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_bundle_is_one_crlf_cmd_in_the_nodes_code_page_running_the_engines_own_fact_commands(tmp_path, lang):
    from runbook_engine.batch.simulator import labels
    from runbook_engine.engine.bundle.store import Store
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.model.project import Project

    inv = _inventory(tmp_path, lang)
    code, out, err = runbook(tmp_path / "state", "bundle", "plan", "--inventory", str(inv), "--node", "sv1",
                             "--step", STEP, cwd=tmp_path)
    assert code == 0, err
    cmd = next(tmp_path.glob("sv1-plan-*.cmd"))
    data = cmd.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    text = data.decode("cp932") if lang == "ja" else data.decode("ascii")
    assert (re.search(r"[ぁ-んァ-ン]", text) is not None) == (lang == "ja")
    # every goto lands on a label of the file
    targets = {t.upper() for t in re.findall(r"goto (rbb_\w+)", text)}
    assert targets and targets <= set(labels(text))
    # the commands are the facts' own, as the runner builds them
    record = next(Store(tmp_path / "state").records())
    runner = Runner(Project(REPO, state_dir=tmp_path / "state"), load_inventory(inv), nodes=["sv1"], steps=[STEP])
    assert record.batches == runner.node_batches("sv1")
    names = tuple(s.service for s in runner.guide.manual_services())
    for command in ServicesConfig(names).commands():
        assert f"\r\n{command}\r\n" in text
    assert f"::rb:digest:{record.digest}" in text and record.id in cmd.name
