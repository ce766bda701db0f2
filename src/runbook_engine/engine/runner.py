"""Plan, apply, verify and roll back a guide on the targets of an inventory.

Per step, its scope picks the targets (each node, the first node, each DNS server ...). Per target
and step: one round trip gathers the facts, the action turns desired + facts into a plan; apply
sends the plan's commands and re-reads the facts in one more round trip, then checks that the plan
is now empty. Where the inventory names a failover group (``cluster_state``), every node first
reports where the group runs (``clpgrp -n``, one round trip a node): a node that disagrees with
the inventory refuses the whole run before anything changes. Targets run in parallel; a target
that fails (unreachable, a refused value, a fact that cannot be read) fails alone and is named in
the summary. The runner knows no action names.

Transports are opened through a factory (default: the inventory's registered transport), so a run
can be replayed from the output an offline bundle brought back: :meth:`Runner.node_batches` lists
the round trips a run makes to one node, and a replay serves exactly those (engine/bundle/).
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from runbook_engine.model.project import Project
from runbook_engine.model.schema import Guide, KnowledgeBase
from runbook_engine.engine.actions import ACTIONS, Action, Change, Context, action, step_scope
from runbook_engine.engine.dns import DnsError
from runbook_engine.engine.facts.base import COMMAND_NOT_FOUND, Fact, gather, read_batch
from runbook_engine.engine.facts.cluster import ActiveNode, ActiveNodeSh
from runbook_engine.engine.inventory import Inventory
from runbook_engine.engine.journal import Journal, NodeBusy, intents, node_lock, rollback_run_id
from runbook_engine.engine.status import FAILED, RowStatus, Status
from runbook_engine.engine.targets import Target, all_targets
from runbook_engine.engine.transports import open_transport, transport_class
from runbook_engine.engine.transports.base import Transport, TransportError
from runbook_engine.engine.transports.orphans import ident

MODES = ("plan", "apply", "verify")
# what fails one step on one target (a value refused for a command line is a ValueError)
TARGET_ERRORS = (ValueError, RuntimeError, OSError, DnsError, KeyError)


@dataclass(frozen=True)
class Batch:
    """One round trip of a run to one node, as an offline bundle carries it.

    ``kind``: ``check`` (where the failover group runs), ``read`` (a step's facts), ``change`` (a
    step's changes, then its facts again) or ``undo`` (a rollback). ``retry``: the groups of
    command indices the engine sends once more when one command of the group answers 9009 (the
    reads of a batch, never its changes; each intent's undo as a whole)."""

    kind: str
    step: str
    commands: tuple[str, ...]
    retry: tuple[tuple[int, ...], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.step}" if self.step else self.kind


def change_commands(rows: list[Change]) -> list[str]:
    """The commands an apply sends for a step: those of its rows still to change, in row order."""
    return [c for r in rows if r.status == RowStatus.CHANGE for c in r.commands]


@dataclass
class StepResult:
    step: str
    action: str
    node: str  # the target's name
    status: Status
    rows: list[Change] = field(default_factory=list)
    seconds: float = 0.0
    round_trips: int = 0
    retries: int = 0  # of round_trips, those repeated because Wine answered 9009
    message: str = ""

    @property
    def changes(self) -> int:
        return sum(1 for r in self.rows if r.changes)

    def as_dict(self) -> dict:
        return {
            "step": self.step, "action": self.action, "node": self.node, "status": str(self.status),
            "changes": self.changes, "seconds": round(self.seconds, 4), "round_trips": self.round_trips,
            "retries": self.retries, "message": self.message, "rows": [r.row() for r in self.rows],
        }


@dataclass
class RunReport:
    run_id: str
    mode: str
    guide: str
    results: list[StepResult] = field(default_factory=list)
    drift: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # said once per run (e.g. the cluster check)
    check_round_trips: dict[str, int] = field(default_factory=dict)  # the cluster check, per node
    refused: str | None = None  # why the cluster check refused the whole run

    @property
    def failed_nodes(self) -> list[str]:
        return sorted({r.node for r in self.results if r.status in FAILED})

    @property
    def exit_code(self) -> int:
        if any(r.status in FAILED for r in self.results) or self.drift:
            return 1
        if self.mode in ("plan", "verify") and any(r.status == Status.PENDING for r in self.results):
            return 1
        return 0

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "mode": self.mode, "guide": self.guide,
                "exit_code": self.exit_code, "seconds": round(self.seconds, 3),
                "failed_nodes": self.failed_nodes, "drift": self.drift, "notes": self.notes,
                "check_round_trips": self.check_round_trips,
                "results": [r.as_dict() for r in self.results]}


#: the step modes the engine runs: `automated` (plan, apply, verify a change) and `check` (read, report)
ENGINE_MODES = ("automated", "check")


def automated_steps(guide: Guide, only: list[str] | None = None) -> list:
    """The steps the engine runs (modes automated and check), in procedure order."""
    steps = [s for s in guide.steps() if s.mode in ENGINE_MODES]
    if only:
        unknown = sorted(set(only) - {s.id for s in guide.steps()})
        if unknown:
            raise KeyError(f"unknown step '{unknown[0]}' in guide '{guide.id}'")
        steps = [s for s in steps if s.id in only]
    return steps


class Runner:
    def __init__(self, project: Project, inventory: Inventory, *, guide_id: str | None = None,
                 nodes: list[str] | None = None, steps: list[str] | None = None,
                 state: Path | None = None, on_result: Callable[[StepResult], None] | None = None,
                 run_id: str | None = None, transports: Callable[[Target], Transport] | None = None):
        self.project = project
        self.kb: KnowledgeBase = project.knowledge
        self.inventory = inventory
        gid = guide_id or inventory.guide
        if gid not in self.kb.guides:
            raise KeyError(f"unknown guide '{gid}'")
        self.guide = self.kb.guides[gid]
        os_ = self.kb.family_of(self.guide).os
        if os_ != inventory.platform:
            raise ValueError(f"guide '{gid}' is a {os_} guide, but the inventory's platform is {inventory.platform} "
                             f"(set platform: {os_} and nodes whose transports speak its shell)")
        names = nodes or [n.name for n in inventory.nodes]
        self.nodes = [inventory.node(n) for n in names]
        self.steps = automated_steps(self.guide, steps)
        for s in self.steps:
            action(s.action)  # KeyError naming the unknown action before any target is touched
        self.state = Path(state or project.state)
        self.on_result = on_result
        self.run_id = run_id
        self.open_transport = transports or open_transport  # a target's transport

    # ------------------------------------------------------------------------------------
    def run(self, mode: str) -> RunReport:
        if mode not in MODES:
            raise ValueError(mode)
        t0 = time.perf_counter()
        journal = Journal(self.state, self.run_id) if mode == "apply" else None
        report = RunReport(run_id=journal.run_id if journal else "-", mode=mode, guide=self.guide.id)
        if journal:
            journal.write("run", mode=mode, guide=self.guide.id, cluster=self.inventory.cluster,
                          nodes=[n.name for n in self.nodes], steps=[s.id for s in self.steps],
                          engine=ident(os.getpid()))  # a run without an end whose engine is gone was interrupted
        skipped, work = self.work()
        report.results.extend(self._emit(r) for r in skipped)
        refusal = self._cluster_check([t for t, _ in work.values() if t.node is not None], report)
        report.refused = refusal
        if journal and (refusal or report.notes):
            journal.write("cluster", refused=refusal, notes=report.notes)
        if refusal:
            for t, steps in work.values():
                report.results.extend(self._emit(StepResult(step=s.id, action=s.action, node=t.name,
                                                            status=Status.ERROR, message=refusal)) for s in steps)
        else:
            with ThreadPoolExecutor(max_workers=max(1, len(work))) as pool:
                futures = [pool.submit(self._target, t, steps, mode, journal) for t, steps in work.values()]
                for f in futures:
                    report.results.extend(f.result())
        if mode == "verify":
            report.drift = cross_node_drift(report.results)
        # keep the report in node order, then step order
        order = {s.id: i for i, s in enumerate(self.steps)}
        node_order = {n.name: i for i, n in enumerate(self.nodes)}
        report.results.sort(key=lambda r: (node_order.get(r.node, 99), r.node, order.get(r.step, 99)))
        report.seconds = time.perf_counter() - t0
        if journal:
            journal.write("end", exit_code=report.exit_code, failed_nodes=report.failed_nodes)
            journal.close()
        return report

    def work(self) -> tuple[list[StepResult], dict[str, tuple[Target, list]]]:
        """The steps that have no target here (skipped) and, per target name, the target and its
        steps in procedure order."""
        skipped: list[StepResult] = []
        work: dict[str, tuple[Target, list]] = {}
        for step in self.steps:
            sc = step_scope(step)
            targets = sc.pick(self.inventory, self.nodes)
            if not targets:
                skipped.append(StepResult(step=step.id, action=step.action, node=sc.none_name,
                                          status=Status.SKIPPED, message=sc.none))
            for t in targets:
                work.setdefault(t.name, (t, []))[1].append(step)
        return skipped, work

    def cluster_fact(self, target: Target) -> Fact | None:
        """What the cluster check reads on *target* (None: the inventory names no group), in the
        shell of its transport."""
        group = self.inventory.cluster_state.group
        if group is None:
            return None
        return ActiveNodeSh(group) if transport_class(target.transport).shell == "sh" else ActiveNode(group)

    def step_facts(self, target: Target, step) -> tuple[Action, list, dict[str, Fact]]:
        """A step's action on *target*: the action, its desired state and the facts it reads."""
        act = action(step.action)
        ctx = Context(kb=self.kb, guide=self.guide, inventory=self.inventory, target=target,
                      snippets=self.project.snippets)
        desired = act.desired(ctx)
        return act, desired, act.facts(ctx, desired)

    def node_batches(self, node: str, pending: dict[str, list[Change]] | None = None) -> list[Batch]:
        """The round trips a run makes to *node*, in order, for an offline bundle to carry: the
        cluster check's read (when the inventory names a group), then per step its facts read
        and, for an apply (*pending*: a plan's rows by step id), the step's changes followed by
        its facts again. A step whose desired state or facts cannot be built sends nothing, as in
        a run. Importing a bundle's output replays it through :meth:`run`, which must ask for
        exactly these batches; any difference is refused there."""
        _, work = self.work()
        if node not in work:
            return []
        target, steps = work[node]
        out: list[Batch] = []
        fact = self.cluster_fact(target)
        if fact is not None and target.node is not None:
            cmds, _ = read_batch({"active": fact})
            out.append(Batch("check", "", tuple(cmds), (tuple(range(len(cmds))),)))
        for step in steps:
            try:
                _, _, facts = self.step_facts(target, step)
                reads, _ = read_batch(facts)
            except TARGET_ERRORS:
                continue
            if reads:
                out.append(Batch("read", step.id, tuple(reads), (tuple(range(len(reads))),)))
            changes = change_commands(pending.get(step.id, [])) if pending is not None else []
            if changes:
                cmds, _ = read_batch(facts, changes)
                out.append(Batch("change", step.id, tuple(cmds), (tuple(range(len(changes), len(cmds))),)))
        return out

    def _cluster_check(self, nodes: list[Target], report: RunReport) -> str | None:
        """Ask each node where the inventory's failover group runs (``clpgrp -n``); the reason to
        refuse the whole run, or None. Nodes without clpgrp answer None in the same round trip;
        an unreachable node is left to its own steps to report."""
        cs = self.inventory.cluster_state
        if cs.group is None or not nodes:
            return None

        def ask(target: Target) -> tuple[str, str | None, str | None, int]:
            try:
                with self.open_transport(target) as t:
                    try:
                        return target.name, gather(t, {"active": self.cluster_fact(target)})["active"], None, t.round_trips
                    except TARGET_ERRORS as exc:
                        return target.name, None, str(exc), t.round_trips
            except (TransportError, *TARGET_ERRORS):
                return target.name, None, None, 0

        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            answers = list(pool.map(ask, nodes))
        report.check_round_trips = {name: trips for name, _, _, trips in answers}
        said = {name: server for name, server, _, _ in answers if server is not None}
        failed = {name: err for name, _, err, _ in answers if err}
        if cs.operation:
            wrong = {n: s for n, s in said.items() if s != cs.active}
            if wrong:
                node, server = next(iter(wrong.items()))
                return (f"the inventory says group '{cs.group}' is active on {cs.active}, but clpgrp on {node} "
                        f"says {server}: refusing to change anything (fix cluster_state.active, or move the "
                        f"group with clpgrp -m {cs.group} -a {cs.active})")
            if failed:
                node, err = next(iter(failed.items()))
                return f"cannot confirm where group '{cs.group}' runs: {node}: {err}"
            if not said:
                report.notes.append(f"no node has clpgrp: trusting the inventory (group '{cs.group}' "
                                    f"active on {cs.active})")
        elif said:
            node, server = next(iter(said.items()))
            return (f"the inventory says phase 'install', but clpgrp on {node} says group '{cs.group}' is "
                    f"active on {server}: the failover group manages the services (set "
                    f"cluster_state.phase: operation and active: {server})")
        return None

    def _emit(self, res: StepResult) -> StepResult:
        if self.on_result:
            self.on_result(res)
        return res

    def _target(self, target: Target, steps: list, mode: str, journal: Journal | None) -> list[StepResult]:
        """Every step of this run on one target, in order; whatever fails, fails here alone."""
        out: list[StepResult] = []

        def rest(status: Status, message: str) -> None:
            done = {r.step for r in out}
            for step in steps:
                if step.id not in done:
                    out.append(self._emit(StepResult(step=step.id, action=step.action, node=target.name,
                                                     status=status, message=message)))

        try:
            with node_lock(self.state, self.inventory.cluster, target.lock_name):
                transport = self.open_transport(target)
                try:
                    for step in steps:
                        out.append(self._emit(self._step(transport, target, step, mode, journal)))
                finally:
                    transport.close()
        except NodeBusy as exc:
            out.append(self._emit(StepResult(step="-", action="-", node=target.name, status=Status.ERROR,
                                             message=str(exc))))
        except TransportError as exc:
            rest(Status.UNREACHABLE, str(exc))
        except TARGET_ERRORS as exc:  # the transport could not even be built from its options
            rest(Status.ERROR, f"{type(exc).__name__}: {exc}")
        return out

    def _step(self, transport, target: Target, step, mode: str, journal: Journal | None) -> StepResult:
        act = action(step.action)
        res = StepResult(step=step.id, action=act.name, node=target.name, status=Status.CONVERGED)
        t0, rt0, re0 = time.perf_counter(), transport.round_trips, getattr(transport, "retries", 0)
        try:
            self._plan_apply(act, transport, target, step, mode, journal, res)
        except TARGET_ERRORS as exc:  # a refused value, a fact that cannot be read, a DNS failure
            res.status, res.message = Status.ERROR, str(exc) or type(exc).__name__
        finally:
            res.seconds = time.perf_counter() - t0
            res.round_trips = transport.round_trips - rt0
            res.retries = getattr(transport, "retries", 0) - re0
        return res

    def _plan_apply(self, act, transport, target: Target, step, mode: str, journal: Journal | None,
                    res: StepResult) -> None:
        _, desired, facts = self.step_facts(target, step)
        rows = act.plan(desired, gather(transport, facts))
        if step.mode == "check":
            # a check never changes anything, whatever its action returns
            for r in rows:
                if r.commands or r.status == RowStatus.CHANGE:
                    r.status, r.commands, r.undo = RowStatus.ERROR, [], []
                    r.message = r.message or f"differs from the guide (a check step changes nothing): {r.current!r}"
        res.rows = rows
        errors = [r for r in rows if r.status == RowStatus.ERROR]
        pending = [r for r in rows if r.status == RowStatus.CHANGE]
        if mode == "apply" and journal is not None:
            for r in rows:
                if r.status == RowStatus.OK and r.before:
                    journal.write("keep", node=target.name, step=step.id, action=act.name,
                                  target=r.target, current=r.current, before=r.before)
        if mode == "apply" and journal is not None and pending:
            seqs = []
            for r in pending:
                seqs.append(journal.write("intent", node=target.name, step=step.id, action=act.name,
                                          transport=target.transport, target=r.target, current=r.current,
                                          desired=r.desired, commands=r.commands, undo=r.undo, before=r.before))
            after = gather(transport, facts, extra_before=change_commands(pending))
            failed_cmds = [c for c in after["__changes__"] if c.rc != 0]
            rows_after = act.plan(desired, after)
            for seq, r in zip(seqs, pending):
                now = next((x for x in rows_after if x.target == r.target), None)
                journal.write("done", ref=seq, node=target.name, target=r.target,
                              after=None if now is None else now.current,
                              ok=now is not None and now.status == RowStatus.OK)
            res.rows = [_merge(b, a) for b, a in zip(rows, rows_after)]
            still = [r for r in rows_after if r.status != RowStatus.OK]
            if still or failed_cmds:
                res.status = Status.ERROR
                res.message = "; ".join(
                    [f"{r.target}: still {r.current}" for r in still if r.status == RowStatus.CHANGE]
                    + [f"{r.target}: {r.message}" for r in still if r.status == RowStatus.ERROR]
                    + [f"command failed (rc {c.rc}): {transport.describe(c)[:80]}" for c in failed_cmds[:3]])
            else:
                res.status = Status.CHANGED
        elif errors:
            res.status = Status.ERROR
            res.message = "; ".join(f"{r.target}: {r.message}" for r in errors)
        elif pending:
            res.status = Status.PENDING


def _merge(before: Change, after: Change) -> Change:
    """The row as applied: what it was, what it is now."""
    merged = Change(**{**after.__dict__})
    if before.status == RowStatus.CHANGE and after.status == RowStatus.OK:
        # shown as "before -> after"
        merged.status, merged.current, merged.desired = RowStatus.CHANGED, before.current, after.current
    merged.commands = before.commands
    return merged


def cross_node_drift(results: list[StepResult]) -> list[dict]:
    """Settings that differ from the guide (pending rows, and what a read-only check found
    otherwise) or, for an action that compares across nodes, between nodes (same target, other
    value)."""
    drift: list[dict] = []
    by_target: dict[tuple[str, str], dict[str, Any]] = {}
    for r in results:
        act = ACTIONS.get(r.action)
        for row in r.rows:
            # a pending change, or what a read-only check found not as the guide wants it
            found = (row.status == RowStatus.ERROR and act is not None and act.read_only
                     and row.current != row.desired)
            if row.status == RowStatus.CHANGE or found:
                drift.append({"kind": "differs-from-guide", "node": r.node, "step": r.step,
                              "target": row.target, "current": row.current, "desired": row.desired})
            if act is not None and act.compare_across_nodes:
                # an action may compare part of its value (`compared(row)`, e.g. services: the
                # startup type, not the state the cluster sets per node)
                value = act.compared(row)
                by_target.setdefault((r.step, row.target), {})[r.node] = value
    for (step, target), values in sorted(by_target.items()):
        distinct = {repr(v) for v in values.values()}
        if len(distinct) > 1:
            drift.append({"kind": "differs-between-nodes", "step": step, "target": target, "values": values})
    return drift


def undo_batch(recs: list[dict]) -> Batch:
    """The round trip a rollback sends to a target: the undo commands of *recs* (its intents,
    newest first), each intent's undo a group of its own."""
    cmds: list[str] = []
    groups: list[tuple[int, ...]] = []
    for rec in recs:
        undo = list(rec.get("undo", []))
        groups.append(tuple(range(len(cmds), len(cmds) + len(undo))))
        cmds.extend(undo)
    return Batch("undo", "", tuple(cmds), tuple(groups))


def rollback_intents(records: list[dict], nodes: list[str] | None = None) -> dict[str, list[dict]]:
    """The intents of a run's journal to undo, newest first, by target name (only *nodes*' when
    given)."""
    by_target: dict[str, list[dict]] = {}
    for rec in reversed(list(intents(records))):
        if nodes is None or rec["node"] in nodes:
            by_target.setdefault(rec["node"], []).append(rec)
    return by_target


def _undo(transport, recs: list[dict]) -> list:
    """Send the undo commands of *recs* in one round trip; the failed results. An intent whose
    undo met Wine's sporadic 9009 (a program that did not start, so changed nothing) has its own
    undo sequence sent once more: each intent's undo is self-contained and restores a state."""
    batch = undo_batch(recs)
    results = transport.run(list(batch.commands)).results
    spans = [[results[i] for i in group] for group in batch.retry]
    again = [k for k, res in enumerate(spans) if any(r.rc == COMMAND_NOT_FOUND for r in res)]
    if again:
        retried = iter(transport.run([c for k in again for c in recs[k].get("undo", [])]).results)
        spans = [[next(retried) for _ in res] if k in again else res for k, res in enumerate(spans)]
    return [r for res in spans for r in res if r.rc != 0]


def rollback(project: Project, inventory: Inventory, run_id: str, state: Path | None = None, *,
             nodes: list[str] | None = None, transports: Callable[[Target], Transport] | None = None) -> RunReport:
    """Restore the before-state of every change of *run_id* (only on *nodes* when given): the undo
    commands of its intents in reverse order, sent to each target through its own transport (or
    the one *transports* makes for it)."""
    state = Path(state or project.state)
    records = Journal.read(state, run_id)
    by_target = rollback_intents(records, nodes)
    report = RunReport(run_id=run_id, mode="rollback", guide=records[0].get("guide", "?") if records else "?")
    journal = Journal(state, run_id=rollback_run_id(run_id))
    journal.write("rollback", of=run_id, intents=sum(len(recs) for recs in by_target.values()),
                  **({"nodes": nodes} if nodes is not None else {}))
    targets = all_targets(inventory)
    opener = transports or open_transport
    t0 = time.perf_counter()

    def one(name: str, recs: list[dict]) -> StepResult:
        res = StepResult(step="rollback", action="rollback", node=name, status=Status.CHANGED)
        target = targets.get(name)
        if target is None:
            res.status, res.message = Status.ERROR, f"target '{name}' is not in the inventory"
            return res
        try:
            with node_lock(state, inventory.cluster, target.lock_name):
                with opener(target) as t:
                    bad = _undo(t, recs)
                    res.round_trips = t.round_trips
                    res.rows = [Change(action=rec["action"], node=name, target=rec["target"],
                                       current=rec.get("desired"), desired=rec.get("current"),
                                       commands=rec.get("undo", []), status=RowStatus.CHANGED) for rec in recs]
                    if bad:
                        res.status = Status.ERROR
                        res.message = (f"{len(bad)} undo command(s) failed, first: "
                                       f"{t.describe(bad[0])[:80]} (rc {bad[0].rc})")
        except TransportError as exc:
            res.status, res.message = Status.UNREACHABLE, str(exc)
        except (NodeBusy, *TARGET_ERRORS) as exc:
            res.status, res.message = Status.ERROR, str(exc)
        return res

    with ThreadPoolExecutor(max_workers=max(1, len(by_target))) as pool:
        for r in pool.map(lambda kv: one(*kv), by_target.items()):
            report.results.append(r)
            journal.write("restored", node=r.node, status=str(r.status), message=r.message)
    report.seconds = time.perf_counter() - t0
    journal.close()
    return report
