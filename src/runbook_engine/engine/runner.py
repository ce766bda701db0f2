"""Plan, apply, verify and roll back a guide on the nodes of an inventory.

Per node and per action: one round trip gathers the facts and the action turns them into a plan;
apply sends the plan's commands and re-reads the facts in one more round trip, then verifies that
the plan is now empty. Nodes run in parallel; a node that cannot be reached fails alone.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from runbook_engine.model.project import Project
from runbook_engine.model.schema import Guide, KnowledgeBase
from runbook_engine.engine.actions import NODE_ACTIONS, Change, Context
from runbook_engine.engine.facts.base import gather
from runbook_engine.engine.inventory import Inventory, NodeSpec
from runbook_engine.engine.journal import Journal, NodeBusy, intents, node_lock
from runbook_engine.engine.transports import open_transport
from runbook_engine.engine.transports.base import TransportError

MODES = ("plan", "apply", "verify")


@dataclass
class StepResult:
    step: str
    action: str
    node: str
    status: str  # converged | changed | pending | error | unreachable | skipped
    rows: list[Change] = field(default_factory=list)
    seconds: float = 0.0
    round_trips: int = 0
    message: str = ""

    @property
    def changes(self) -> int:
        return sum(1 for r in self.rows if r.status in ("change", "changed"))

    def as_dict(self) -> dict:
        return {
            "step": self.step, "action": self.action, "node": self.node, "status": self.status,
            "changes": self.changes, "seconds": round(self.seconds, 4), "round_trips": self.round_trips,
            "message": self.message, "rows": [r.row() for r in self.rows],
        }


@dataclass
class RunReport:
    run_id: str
    mode: str
    guide: str
    results: list[StepResult] = field(default_factory=list)
    drift: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed_nodes(self) -> list[str]:
        return sorted({r.node for r in self.results if r.status in ("error", "unreachable")})

    @property
    def exit_code(self) -> int:
        if any(r.status in ("error", "unreachable") for r in self.results) or self.drift:
            return 1
        if self.mode in ("plan", "verify") and any(r.status == "pending" for r in self.results):
            return 1
        return 0

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "mode": self.mode, "guide": self.guide,
                "exit_code": self.exit_code, "seconds": round(self.seconds, 3),
                "failed_nodes": self.failed_nodes, "drift": self.drift,
                "results": [r.as_dict() for r in self.results]}


def automated_steps(guide: Guide, only: list[str] | None = None) -> list:
    steps = [s for s in guide.steps() if s.mode == "automated"]
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
                 run_id: str | None = None):
        self.project = project
        self.kb: KnowledgeBase = project.knowledge
        self.inventory = inventory
        gid = guide_id or inventory.guide
        if gid not in self.kb.guides:
            raise KeyError(f"unknown guide '{gid}'")
        self.guide = self.kb.guides[gid]
        names = nodes or [n.name for n in inventory.nodes]
        self.nodes = [inventory.node(n) for n in names]
        self.steps = automated_steps(self.guide, steps)
        self.state = Path(state or project.state)
        self.on_result = on_result
        self.run_id = run_id

    # ------------------------------------------------------------------------------------
    def run(self, mode: str) -> RunReport:
        if mode not in MODES:
            raise ValueError(mode)
        t0 = time.perf_counter()
        journal = Journal(self.state, self.run_id) if mode == "apply" else None
        report = RunReport(run_id=journal.run_id if journal else "-", mode=mode, guide=self.guide.id)
        if journal:
            journal.write("run", mode=mode, guide=self.guide.id, cluster=self.inventory.cluster,
                          nodes=[n.name for n in self.nodes], steps=[s.id for s in self.steps])
        node_steps = [s for s in self.steps if s.action in NODE_ACTIONS]
        with ThreadPoolExecutor(max_workers=max(1, len(self.nodes))) as pool:
            futures = [pool.submit(self._node, n, node_steps, mode, journal) for n in self.nodes]
            for f in futures:
                report.results.extend(f.result())
        for step in self.steps:
            if step.action == "dns-records":
                from runbook_engine.engine.dnsstep import run_dns_step

                report.results.extend(run_dns_step(self, step, mode, journal))
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

    def _emit(self, res: StepResult) -> StepResult:
        if self.on_result:
            self.on_result(res)
        return res

    def _node(self, node: NodeSpec, steps: list, mode: str, journal: Journal | None) -> list[StepResult]:
        out: list[StepResult] = []
        ctx = Context(kb=self.kb, guide=self.guide, inventory=self.inventory, node=node,
                      snippets=self.project.snippets)
        try:
            lock = node_lock(self.state, self.inventory.cluster, node.name)
            with lock:
                transport = open_transport(node)
                try:
                    for step in steps:
                        out.append(self._emit(self._step(transport, ctx, step, mode, journal)))
                finally:
                    transport.close()
        except NodeBusy as exc:
            out.append(self._emit(StepResult(step="-", action="-", node=node.name, status="error", message=str(exc))))
        except TransportError as exc:
            done = {r.step for r in out}
            for step in steps:
                if step.id not in done:
                    out.append(self._emit(StepResult(step=step.id, action=step.action, node=node.name,
                                                     status="unreachable", message=str(exc))))
        return out

    def _step(self, transport, ctx: Context, step, mode: str, journal: Journal | None) -> StepResult:
        action = NODE_ACTIONS[step.action]
        t0 = time.perf_counter()
        rt0 = transport.round_trips
        facts = action.facts(ctx)
        rows = action.plan(ctx, gather(transport, facts))
        res = StepResult(step=step.id, action=action.name, node=ctx.node.name, status="converged", rows=rows)
        errors = [r for r in rows if r.status == "error"]
        pending = [r for r in rows if r.status == "change"]
        if mode == "apply" and journal is not None:
            for r in rows:
                if r.status == "ok" and r.before:
                    journal.write("keep", node=ctx.node.name, step=step.id, action=action.name,
                                  target=r.target, current=r.current, before=r.before)
        if mode == "apply" and pending:
            assert journal is not None
            seqs = []
            commands: list[str] = []
            for r in pending:
                seqs.append(journal.write("intent", node=ctx.node.name, step=step.id, action=action.name,
                                          target=r.target, current=r.current, desired=r.desired,
                                          commands=r.commands, undo=r.undo, before=r.before))
                commands.extend(r.commands)
            after = gather(transport, facts, extra_before=commands)
            failed_cmds = [c for c in after["__changes__"] if c.rc not in (0,)]
            rows_after = action.plan(ctx, after)
            for seq, r in zip(seqs, pending):
                now = next((x for x in rows_after if x.target == r.target), None)
                journal.write("done", ref=seq, node=ctx.node.name, target=r.target,
                              after=None if now is None else now.current,
                              ok=now is not None and now.status == "ok")
            res.rows = [self._merge(b, a) for b, a in zip(rows, rows_after)]
            still = [r for r in rows_after if r.status != "ok"]
            if still or failed_cmds:
                res.status = "error"
                res.message = "; ".join(
                    [f"{r.target}: still {r.current}" for r in still if r.status == "change"]
                    + [f"{r.target}: {r.message}" for r in still if r.status == "error"]
                    + [f"command failed (rc {c.rc}): {c.command[:80]}" for c in failed_cmds[:3]])
            else:
                res.status = "changed"
        elif errors:
            res.status = "error"
            res.message = "; ".join(f"{r.target}: {r.message}" for r in errors)
        elif pending:
            res.status = "pending"
        res.seconds = time.perf_counter() - t0
        res.round_trips = transport.round_trips - rt0
        return res

    @staticmethod
    def _merge(before: Change, after: Change) -> Change:
        """The row as applied: what it was, what it is now."""
        merged = Change(**{**after.__dict__})
        if before.status == "change" and after.status == "ok":
            # shown as "before -> after"
            merged.status, merged.current, merged.desired = "changed", before.current, after.current
        merged.commands = before.commands
        return merged


def cross_node_drift(results: list[StepResult]) -> list[dict]:
    """Settings that differ from the guide (pending rows) or between nodes (same target, other value)."""
    drift: list[dict] = []
    by_target: dict[tuple[str, str], dict[str, Any]] = {}
    for r in results:
        for row in r.rows:
            if row.status == "change":
                drift.append({"kind": "differs-from-guide", "node": r.node, "step": r.step,
                              "target": row.target, "current": row.current, "desired": row.desired})
            if r.action in ("services-manual", "registry-key"):
                by_target.setdefault((r.step, row.target), {})[r.node] = row.current
    for (step, target), values in sorted(by_target.items()):
        distinct = {repr(v) for v in values.values()}
        if len(distinct) > 1:
            drift.append({"kind": "differs-between-nodes", "step": step, "target": target, "values": values})
    return drift


def rollback(project: Project, inventory: Inventory, run_id: str, state: Path | None = None) -> RunReport:
    """Restore the before-state of every change of *run_id* (undo commands in reverse order)."""
    state = Path(state or project.state)
    records = Journal.read(state, run_id)
    todo = list(intents(records))
    report = RunReport(run_id=run_id, mode="rollback", guide=records[0].get("guide", "?") if records else "?")
    journal = Journal(state, run_id=f"{run_id}.rollback")
    journal.write("rollback", of=run_id, intents=len(todo))
    by_node: dict[str, list[dict]] = {}
    for rec in reversed(todo):
        by_node.setdefault(rec["node"], []).append(rec)
    t0 = time.perf_counter()

    def one(node_name: str, recs: list[dict]) -> StepResult:
        res = StepResult(step="rollback", action="rollback", node=node_name, status="changed")
        if node_name.startswith("dns:"):
            from runbook_engine.engine.dnsstep import rollback_dns

            return rollback_dns(inventory, node_name, recs, res)
        node = inventory.node(node_name)
        try:
            with node_lock(state, inventory.cluster, node.name):
                with open_transport(node) as t:
                    cmds = [c for rec in recs for c in rec.get("undo", [])]
                    batch = t.run(cmds)
                    bad = [r for r in batch.results if r.rc != 0]
                    res.round_trips = t.round_trips
                    res.rows = [Change(action=rec["action"], node=node_name, target=rec["target"],
                                       current=rec.get("desired"), desired=rec.get("current"),
                                       commands=rec.get("undo", []), status="changed") for rec in recs]
                    if bad:
                        res.status = "error"
                        res.message = f"{len(bad)} undo command(s) failed, first: {bad[0].command[:80]} (rc {bad[0].rc})"
        except (TransportError, NodeBusy) as exc:
            res.status = "unreachable" if isinstance(exc, TransportError) else "error"
            res.message = str(exc)
        return res

    with ThreadPoolExecutor(max_workers=max(1, len(by_node))) as pool:
        for r in pool.map(lambda kv: one(*kv), by_node.items()):
            report.results.append(r)
            journal.write("restored", node=r.node, status=r.status, message=r.message)
    report.seconds = time.perf_counter() - t0
    journal.close()
    return report
