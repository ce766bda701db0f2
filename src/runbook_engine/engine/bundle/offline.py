"""Write offline bundles (plan, apply, rollback) for one node and import their results.

* plan: the batches a plan run sends to the node (the cluster check's read, each step's facts).
* apply: made from an imported plan: the plan's rows are replayed from its result, so the changes
  are the ones a live apply would compute from those facts (the same role-aware actions, the same
  inventory ``cluster_state``). The bundle reads the facts again before each step's changes, as a
  live apply does, then changes and reads again for verification. cmd.exe cannot compare what it
  reads with the plan, so the changes run whatever it reads; import then refuses a result whose
  reads plan differently from the plan the bundle was made from ("node changed since plan"), and
  records nothing.
* rollback: the undo commands of one run's intents on the node (from its journal).

Import replays the result through the real runner (:mod:`.replay`): the report is the live one,
an apply's journal is a live apply's (``runbook rollback RUN_ID`` and ``runbook bundle rollback``
work on it), a rollback's journal a live rollback's. A result is checked completely before
anything is written (an apply's and a rollback's replay run first against a scratch state folder):
a refusal is one ``file:line: message`` and writes nothing.

The node side cannot sign: the header's digest only ties a result to the bundle recorded here,
and command output edited by hand that keeps the structure cannot be detected.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from runbook_engine.model.project import Project
from runbook_engine.model.rules import fits
from runbook_engine.artifacts.files import write_atomic
from runbook_engine.engine.actions import Change
from runbook_engine.engine.bundle.cmdfile import Header, render
from runbook_engine.engine.bundle.replay import Replay
from runbook_engine.engine.bundle.result import ResultError, Served, decode, parse, parse_header, served
from runbook_engine.engine.bundle.store import Record, Store, batches_digest, inventory_digest, new_id
from runbook_engine.engine.inventory import Inventory
from runbook_engine.engine.journal import Journal
from runbook_engine.engine.report import show
from runbook_engine.engine.runner import (Batch, Runner, RunReport, rollback, rollback_intents, rollback_run_id,
                                          undo_batch)
from runbook_engine.engine.status import RowStatus

#: a run id as journals name them (``runs/<run id>/``): no path separators, no ``..``
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
CHANGING = ("apply", "rollback")


class BundleRefused(Exception):
    """A bundle cannot be written or a result cannot be imported; nothing was written."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message, self.file, self.line = message, file, line

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.file else f"error: {self.message}"


class NothingToChange(Exception):
    """The plan an apply bundle would be made from has nothing to change."""

    def __init__(self, plan: str):
        super().__init__(plan)
        self.plan = plan


@dataclass
class Written:
    record: Record
    cmd: Path

    @property
    def commands(self) -> int:
        return sum(len(b.commands) for b in self.record.batches)


@dataclass
class Imported:
    record: Record
    report: RunReport
    served: list[Served]
    journal: str | None  # the run id of the journal written (apply, rollback)
    computer: str


# --- writing ---------------------------------------------------------------------------------------

def check_node(inventory: Inventory, node: str) -> None:
    """*node* is a node name and a node of *inventory* (before anything else looks at it)."""
    if not fits("node-name", node):
        raise BundleRefused(f"refusing node name {node!r}: a node name is 1-31 of a-z, 0-9 and '-'")
    names = [n.name for n in inventory.nodes]
    if node not in names:
        raise BundleRefused(f"unknown node '{node}' (nodes: {', '.join(names)})")


def _runner(project: Project, inventory: Inventory, guide: str | None, node: str, steps: list[str] | None,
            state: Path | None = None, transports=None) -> Runner:
    try:
        return Runner(project, inventory, guide_id=guide, nodes=[node], steps=steps, state=state,
                      transports=transports)
    except KeyError as exc:
        raise BundleRefused(str(exc.args[0])) from None


def node_steps(runner: Runner, node: str) -> list[str]:
    """The engine steps of *runner* that have *node* as a target, in procedure order."""
    _, work = runner.work()
    return [s.id for s in work[node][1]] if node in work else []


def _steps(project: Project, inventory: Inventory, guide: str | None, node: str, wanted: list[str] | None) -> list[str]:
    on_node = node_steps(_runner(project, inventory, guide, node, wanted or None), node)
    missing = [s for s in wanted or [] if s not in on_node]
    if missing:
        raise BundleRefused(f"step '{missing[0]}' has no engine target on node {node} (a manual step, or a step "
                            "on another target such as a DNS server): a bundle carries only the node's own steps")
    return on_node


def _row(change: Change) -> dict:
    """A plan row as an apply bundle keeps it (JSON), to compare with the row the apply reads."""
    return json.loads(json.dumps({**asdict(change), "status": str(change.status)}, ensure_ascii=False, default=str))


def _summary(target: str, current, desired) -> str:
    return f"{target}: {show(current)} -> {show(desired)}"


def _write(project: Project, inventory: Inventory, kind: str, guide: str, node: str, steps: list[str],
           batches: list[Batch], out: str | Path | None, *, changes: list[str] | None = None, ask: bool = True,
           **extra) -> Written:
    bid = new_id()
    stem = f"{node}-{kind}-{bid}"
    cmd = Path(out) if out else Path.cwd() / f"{stem}.cmd"
    if cmd.is_dir():
        raise BundleRefused(f"--out {cmd}: is a folder (name the .cmd file)")
    rec = Record(id=bid, kind=kind, guide=guide, cluster=inventory.cluster, inventory=inventory_digest(inventory),
                 node=node, lang=inventory.node(node).lang, steps=steps, batches=batches,
                 digest=batches_digest(batches), cmd_name=cmd.name, result_name=f"{stem}.result.txt", **extra)
    data = render(Header(rec.id, kind, guide, rec.cluster, node, rec.digest, rec.result_name), batches, rec.lang,
                  changes=changes, ask=ask)
    store = Store(project.state)
    store.write(rec)
    try:
        write_atomic(cmd, data)
    except OSError as exc:
        store.forget(rec.id)
        raise BundleRefused(f"cannot write {cmd}: {exc.strerror or exc}") from None
    return Written(rec, cmd)


def write_plan_bundle(project: Project, inventory: Inventory, node: str, *, guide: str | None = None,
                      steps: list[str] | None = None, out: str | Path | None = None) -> Written:
    """The .cmd that reads on *node* what a plan run reads there."""
    check_node(inventory, node)
    step_ids = _steps(project, inventory, guide, node, steps)
    runner = _runner(project, inventory, guide, node, step_ids)
    batches = runner.node_batches(node)
    if not batches:
        raise BundleRefused(f"no engine step reads anything on node {node}: nothing to bundle")
    return _write(project, inventory, "plan", runner.guide.id, node, step_ids, batches, out)


def _imported_at(store: Store, bundle_id: str) -> float | None:
    marker = store.imported(bundle_id)
    return None if marker is None else float(marker["imported"])


def _plan_for(store: Store, inventory: Inventory, guide: str, node: str, plan_id: str | None) -> Record:
    """The imported plan an apply bundle is made from: *plan_id*, or the node's latest; refused
    when a changing bundle was written for the node after it was imported."""
    digest = inventory_digest(inventory)
    if plan_id:
        plan = store.read(plan_id)
        if plan is None or plan.kind != "plan":
            raise BundleRefused(f"no plan bundle '{plan_id}' in this state folder")
        if (plan.node, plan.guide, plan.inventory) != (node, guide, digest):
            raise BundleRefused(f"plan bundle {plan_id} is for node {plan.node}, guide {plan.guide}"
                                f"{'' if plan.inventory == digest else ', and another inventory'}")
        if _imported_at(store, plan_id) is None:
            raise BundleRefused(f"the result of plan bundle {plan_id} is not imported yet: runbook import it first")
    else:
        plans = [r for r in store.records() if r.kind == "plan" and (r.node, r.guide, r.inventory) == (node, guide, digest)
                 and _imported_at(store, r.id) is not None]
        if not plans:
            raise BundleRefused(f"no imported plan of node {node} for guide {guide} with this inventory: write one with "
                                "`runbook bundle plan`, run it on the node and import its result first")
        plan = max(plans, key=lambda r: _imported_at(store, r.id) or 0.0)
    since = _imported_at(store, plan.id) or 0.0
    later = [r for r in store.records() if r.kind in CHANGING and r.node == node and r.cluster == inventory.cluster
             and r.created > since]
    if later:
        r = max(later, key=lambda x: x.created)
        raise BundleRefused(f"{r.kind} bundle {r.id} was written for node {node} after plan bundle {plan.id} was "
                            "imported and may have changed it: run a new plan bundle")
    return plan


@contextmanager
def scratch_state() -> Iterator[Path]:
    """A state folder of its own for a replay that must leave the real one untouched (a plan
    run's node locks, a trial apply's journal)."""
    with tempfile.TemporaryDirectory(prefix="rb-bundle-") as folder:
        yield Path(folder)


def _replay_plan(project: Project, inventory: Inventory, plan: Record, store: Store) -> RunReport:
    """The plan run of an imported plan bundle, replayed from its kept result."""
    path = store.result_path(plan.id)
    try:
        parsed = parse(decode(path.read_bytes()), plan.batches)
        answers = served(parsed, plan.batches)
    except ResultError as exc:
        raise BundleRefused(exc.message, str(path), exc.line) from None
    replay = Replay(str(path), plan.node, answers, parsed.done_line)
    with scratch_state() as scratch:
        report = _runner(project, inventory, plan.guide, plan.node, plan.steps, state=scratch,
                         transports=replay.transports()).run("plan")
    _consumed(replay, report)
    return report


def write_apply_bundle(project: Project, inventory: Inventory, node: str, *, guide: str | None = None,
                       steps: list[str] | None = None, plan_id: str | None = None, out: str | Path | None = None,
                       ask: bool = True) -> Written:
    """The .cmd that applies on *node* what its imported plan left to change (NothingToChange
    when nothing)."""
    check_node(inventory, node)
    store = Store(project.state)
    guide_id = _runner(project, inventory, guide, node, None).guide.id  # an unknown guide is refused here
    plan = _plan_for(store, inventory, guide_id, node, plan_id)
    missing = [s for s in steps or [] if s not in plan.steps]
    if missing:
        raise BundleRefused(f"step '{missing[0]}' is not in plan bundle {plan.id} (steps: {', '.join(plan.steps)})")
    step_ids = [s for s in plan.steps if not steps or s in steps]
    report = _replay_plan(project, inventory, plan, store)
    if report.refused:
        raise BundleRefused(f"plan bundle {plan.id} was refused: {report.refused}")
    rows = {r.step: r.rows for r in report.results if r.node == node and r.step in step_ids}
    runner = _runner(project, inventory, guide_id, node, step_ids)
    batches = runner.node_batches(node, rows)
    if not any(b.kind == "change" for b in batches):
        raise NothingToChange(plan.id)
    changes = [_summary(r.target, r.current, r.desired) for s in step_ids for r in rows.get(s, [])
               if r.status == RowStatus.CHANGE]
    return _write(project, inventory, "apply", guide_id, node, step_ids, batches, out, changes=changes, ask=ask,
                  plan=plan.id, plan_rows={s: [_row(r) for r in rows.get(s, [])] for s in step_ids})


def write_rollback_bundle(project: Project, inventory: Inventory, run_id: str, node: str, *,
                          out: str | Path | None = None, ask: bool = True) -> Written:
    """The .cmd that undoes on *node* what run *run_id* changed there (its journal's intents)."""
    check_node(inventory, node)
    if not RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise BundleRefused(f"refusing run id {run_id!r}")
    try:
        records = Journal.read(project.state, run_id)
    except FileNotFoundError as exc:
        raise BundleRefused(str(exc)) from None
    run = next((r for r in records if r.get("event") == "run"), {})
    if run.get("cluster", inventory.cluster) != inventory.cluster:
        raise BundleRefused(f"run {run_id} was on cluster '{run['cluster']}', the inventory is cluster '{inventory.cluster}'")
    recs = rollback_intents(records, [node]).get(node, [])
    if not recs:
        raise BundleRefused(f"run {run_id} changed nothing on node {node}: nothing to roll back")
    changes = [_summary(rec["target"], rec.get("desired"), rec.get("current")) for rec in recs]
    return _write(project, inventory, "rollback", run.get("guide", inventory.guide), node, [], [undo_batch(recs)],
                  out, changes=changes, ask=ask, run_id=run_id)


# --- importing -------------------------------------------------------------------------------------

def _consumed(replay: Replay, report: RunReport, *, strict: bool = False) -> None:
    """The runner asked for exactly the batches the node answered (reads the runner never asked
    for are accepted after the cluster check refused the run, unless *strict*)."""
    if replay.problem is not None:
        p = replay.problem
        raise BundleRefused(p.message, p.file, p.line)
    left = replay.unused
    if left and (strict or not report.refused or any(s.batch.kind not in ("check", "read") for s in left)):
        raise BundleRefused(f"section {left[0].name}: the engine did not ask for it (the guide, the inventory or the "
                            "engine changed since the bundle was written)", replay.file, left[0].line)


def _header_checks(rec: Record, header: dict[str, str], where: dict[str, int], file: str, node: str | None,
                   inventory: Inventory) -> None:
    def refuse(key: str, message: str):
        raise BundleRefused(message, file, where[key])

    if header["kind"] != rec.kind:
        refuse("kind", f"result says kind '{header['kind']}', bundle {rec.id} is a {rec.kind} bundle")
    if header["guide"] != rec.guide:
        refuse("guide", f"result says guide '{header['guide']}', bundle {rec.id} is for guide '{rec.guide}'")
    if header["node"] != rec.node:
        refuse("node", f"result is for node {header['node']}, but bundle {rec.id} was written for node {rec.node}")
    if node is not None and node != rec.node:
        refuse("node", f"result is for node {rec.node}, not {node}")
    if header["cluster"] != rec.cluster:
        refuse("cluster", f"result says cluster '{header['cluster']}', bundle {rec.id} was written for cluster '{rec.cluster}'")
    if inventory.cluster != rec.cluster or inventory_digest(inventory) != rec.inventory:
        refuse("cluster", f"result is for another inventory: bundle {rec.id} was written for cluster '{rec.cluster}' "
                          f"with an inventory that differs from this one (cluster '{inventory.cluster}'): import it "
                          "with the inventory it was written for")
    if header["digest"] != rec.digest:
        refuse("digest", f"command digest {header['digest'][:16]}... is not the one recorded for bundle {rec.id} "
                         f"({rec.digest[:16]}...): the bundle was edited, or this is not its result")


def import_result(project: Project, inventory: Inventory, path: str | Path, *, node: str | None = None) -> Imported:
    """Check a bundle's result completely, replay it through the runner and record it (a plan:
    the result and the imported mark; an apply or a rollback: their journal too). Any refusal
    raises BundleRefused before anything is written."""
    path = Path(path)
    file = str(path)
    if node is not None:
        check_node(inventory, node)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BundleRefused(f"{file}: no such file") from None
    except OSError as exc:
        raise BundleRefused(f"{file}: {exc.strerror or exc}") from None
    text = decode(data)
    try:
        header, where = parse_header(text)
    except ResultError as exc:
        raise BundleRefused(exc.message, file, exc.line) from None
    store = Store(project.state)
    rec = store.read(header["bundle"])
    if rec is None:
        raise BundleRefused(f"unknown bundle id '{header['bundle'][:40]}': no bundle of that id was written from "
                            f"this state folder ({project.state})", file, where["bundle"])
    _header_checks(rec, header, where, file, node, inventory)
    with store.lock(rec.id):
        marker = store.imported(rec.id)
        if marker is not None:
            journal = f", journal {marker['journal']}" if marker.get("journal") else ""
            raise BundleRefused(f"bundle {rec.id} was imported already{journal}: a result is imported once",
                                file, where["bundle"])
        try:
            parsed = parse(text, rec.batches)
            answers = served(parsed, rec.batches)
        except ResultError as exc:
            raise BundleRefused(exc.message, file, exc.line) from None
        computer = re.sub(r"[^A-Za-z0-9_.-]", "?", header["computer"])[:64]  # the node's %COMPUTERNAME%
        ctx = _Import(project, inventory, rec, file, answers, parsed.done_line, computer, data)
        report, journal = {"plan": ctx.plan, "apply": ctx.apply, "rollback": ctx.rollback}[rec.kind]()
        store.mark_imported(rec.id, data, journal=journal, computer=computer, file=file)
    return Imported(rec, report, answers, journal, computer)


@dataclass
class _Import:
    project: Project
    inventory: Inventory
    rec: Record
    file: str
    answers: list[Served]
    end_line: int
    computer: str
    data: bytes

    def replay(self, answers: list[Served] | None = None) -> Replay:
        return Replay(self.file, self.rec.node, self.answers if answers is None else answers, self.end_line)

    def runner(self, replay: Replay, state: Path | None = None) -> Runner:
        return _runner(self.project, self.inventory, self.rec.guide, self.rec.node, self.rec.steps, state=state,
                       transports=replay.transports())

    def note(self, run_id: str) -> None:
        """The journal says where its changes came from (after the runner's own records)."""
        j = Journal(self.project.state, run_id)
        try:
            j.write("bundle", id=self.rec.id, kind=self.rec.kind, node=self.rec.node, plan=self.rec.plan,
                    computer=self.computer, result_sha256=hashlib.sha256(self.data).hexdigest())
        finally:
            j.close()

    def plan(self) -> tuple[RunReport, None]:
        replay = self.replay()
        with scratch_state() as scratch:
            report = self.runner(replay, scratch).run("plan")
        _consumed(replay, report)
        return report, None

    def unchanged_since_plan(self) -> None:
        """The apply's reads plan exactly as the plan the bundle was made from."""
        replay = self.replay([s for s in self.answers if s.batch.kind != "change"])
        with scratch_state() as scratch:
            now = self.runner(replay, scratch).run("plan")
        _consumed(replay, now)
        line = {s.batch.name: s.line for s in self.answers if not s.retry}
        if now.refused:
            raise BundleRefused(f"node changed since plan, run a new plan bundle ({now.refused}); the bundle's "
                                "changes ran on the node and are not recorded", self.file, line.get("read", 1))
        for r in now.results:
            got, want = [_row(x) for x in r.rows], self.rec.plan_rows.get(r.step, [])
            if got == want:
                continue
            diff = next(((g, w) for g, w in zip(got, want) if g != w), (None, None))
            what = (f"{diff[0]['target']}: the plan read {show(diff[1]['current'])}, the apply bundle read "
                    f"{show(diff[0]['current'])}" if diff[0] is not None else f"{len(want)} row(s) planned, {len(got)} now")
            raise BundleRefused(f"node changed since plan, run a new plan bundle ({r.step}: {what}); the bundle's "
                                "changes ran on the node and are not recorded", self.file,
                                line.get("read", 1))

    def apply(self) -> tuple[RunReport, str]:
        self.unchanged_since_plan()
        with scratch_state() as scratch:
            replay = self.replay()
            _consumed(replay, self.runner(replay, scratch).run("apply"), strict=True)
        replay = self.replay()
        report = self.runner(replay, self.project.state).run("apply")
        _consumed(replay, report, strict=True)
        self.note(report.run_id)
        return report, report.run_id

    def rollback(self) -> tuple[RunReport, str]:
        run_id = self.rec.run_id or ""
        source = self.project.state / "runs" / run_id / "journal.jsonl"
        if not source.exists():
            raise BundleRefused(f"the journal of run {run_id} is gone ({source})", self.file, 1)
        with scratch_state() as scratch:
            (scratch / "runs" / run_id).mkdir(parents=True)
            shutil.copyfile(source, scratch / "runs" / run_id / "journal.jsonl")
            replay = self.replay()
            trial = rollback(self.project, self.inventory, run_id, scratch, nodes=[self.rec.node],
                             transports=replay.transports())
            _consumed(replay, trial, strict=True)
        replay = self.replay()
        report = rollback(self.project, self.inventory, run_id, self.project.state, nodes=[self.rec.node],
                          transports=replay.transports())
        _consumed(replay, report, strict=True)
        self.note(rollback_run_id(run_id))
        return report, rollback_run_id(run_id)
