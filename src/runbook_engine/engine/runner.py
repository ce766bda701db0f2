"""Plan, apply, verify and roll back a guide on the targets of an inventory.

Per step, its scope picks the targets (each node, the first node, each DNS server ...). A run makes
at most two round trips to a target, whatever the number of its steps:

1. **read**: every step's facts (and, on a node where the inventory names a failover group, where
   CLUSTERPRO says the group runs: ``clpgrp -n``) in one batch; each action turns desired + facts
   into its plan;
2. **change** (apply only, and only where something is to change): every step's changes, in
   procedure order, followed by the facts of those steps again in one batch; each action checks
   that its plan is now empty.

Every target's read comes back before any target changes: a node whose cluster answer disagrees
with the inventory refuses the whole run first. Targets run in parallel; a target that fails
(unreachable, busy, a refused value, a fact that cannot be read) fails alone and is named in the
summary; a step whose desired state or facts cannot be built, or whose fact cannot be read, fails
alone on its target. The runner knows no action names.

Transports are opened through a factory (default: the inventory's registered transport), so a run
can be replayed from the output an offline bundle brought back: :meth:`Runner.node_batches` lists
the round trips a run makes to one node, and a replay serves exactly those (engine/bundle/).
"""
from __future__ import annotations

import os
import time
from contextlib import ExitStack
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from runbook_engine.model.project import Project
from runbook_engine.model.schema import Guide, KnowledgeBase
from runbook_engine.engine.actions import ACTIONS, Action, Change, Context, action, step_scope
from runbook_engine.engine.dns import DnsError
from runbook_engine.engine.executors import Executor
from runbook_engine.engine.facts.base import COMMAND_NOT_FOUND, Fact, FactFailed, gather, read_batch
from runbook_engine.engine.facts.cluster import ActiveNode, ActiveNodeSh
from runbook_engine.engine.inventory import Inventory
from runbook_engine.engine.journal import Journal, NodeBusy, intents, node_lock, operator_name, rollback_run_id
from runbook_engine.engine.messages import Said
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

    ``kind``: ``read`` (where the failover group runs and every step's facts), ``change`` (every
    step's changes, then those steps' facts again) or ``undo`` (a rollback). ``retry``: the groups
    of command indices the engine sends once more when one command of the group answers 9009 (the
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
    message: str = ""  # English, as the journal and the JSON report keep it
    said: Said | None = None  # the message for a person, when it has a label (engine/messages.py)

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
    round_trips: dict[str, int] = field(default_factory=dict)  # per target, retries included
    retries: dict[str, int] = field(default_factory=dict)  # per target: reads repeated for Wine's 9009
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
                "round_trips": self.round_trips, "retries": self.retries,
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
                 run_id: str | None = None, transports: Callable[[Target], Transport] | None = None,
                 executor: Executor | None = None, on_round: Callable[[str, str], None] | None = None,
                 operator: str | None = None):
        self.project = project
        self.operator = operator_name(operator)  # who runs it, as the journal records it
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
        # progress, called from the targets' threads: each step result as soon as its target's
        # results are final (an apply: when that target's change round is back; otherwise once
        # every target's read is back), and each target when it is done with a round trip
        self.on_result = on_result
        self.on_round = on_round
        self.run_id = run_id
        # how the round trips reach the targets: each target's own transport (native), or another
        # executor's (ansible: one call per round for every node)
        self.executor = executor or Executor(transports)
        self.open_transport = self.executor.open  # a target's transport

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
                          executor=self.executor.name, operator=self.operator,
                          engine=ident(os.getpid()))  # a run without an end whose engine is gone was interrupted
        skipped, work = self.work()
        report.results.extend(self._emit(r) for r in skipped)
        runs = [_TargetRun(self, t, steps) for t, steps in work.values()]
        final: dict[str, list[StepResult]] = {}  # each target's results, emitted as soon as they are final

        def read(r: _TargetRun) -> None:
            r.read()
            self._announce(r.target.name, "read")

        def change(r: _TargetRun) -> None:
            r.change(journal)
            final[r.target.name] = [self._emit(x) for x in r.results()]
            self._announce(r.target.name, "changed")

        try:
            with ThreadPoolExecutor(max_workers=max(1, len(runs))) as pool:
                with self.executor.round([r.target.name for r in runs]) as rnd:  # round trip 1 on every target
                    list(pool.map(lambda r: _in_round(rnd, r.target.name, lambda: read(r)), runs))
                refusal = self._cluster_check(runs, report)
                report.refused = refusal
                if journal and (refusal or report.notes):
                    journal.write("cluster", refused=refusal, notes=report.notes)
                if refusal:
                    for r in runs:
                        r.refuse(refusal)
                elif mode == "apply":  # round trip 2 where something changes
                    with self.executor.round([r.target.name for r in runs]) as rnd:
                        list(pool.map(lambda r: _in_round(rnd, r.target.name, lambda: change(r)), runs))
        finally:
            for r in runs:
                r.close()
        for r in runs:
            if r.target.name not in final:  # a plan, a verify, a refused run: final once every read is back
                final[r.target.name] = [self._emit(x) for x in r.results()]
            report.results.extend(final[r.target.name])
            if r.transport is not None:
                report.round_trips[r.target.name] = r.transport.round_trips
                report.retries[r.target.name] = getattr(r.transport, "retries", 0)
        if mode == "verify":
            report.drift = cross_node_drift(report.results)
        # keep the report in node order, then step order
        order = {s.id: i for i, s in enumerate(self.steps)}
        node_order = {n.name: i for i, n in enumerate(self.nodes)}
        report.results.sort(key=lambda r: (node_order.get(r.node, 99), r.node, order.get(r.step, 99)))
        report.seconds = time.perf_counter() - t0
        if journal:
            for r in report.results:  # the evidence of each step (runbook report)
                journal.write("result", node=r.node, step=r.step, action=r.action, status=str(r.status),
                              changes=r.changes, message=r.message,
                              rows=[{"target": x.target, "status": str(x.status), "current": x.current,
                                     "desired": x.desired, "message": x.message} for x in r.rows])
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

    def read_facts(self, target: Target, prepared: list["_Prepared"]) -> dict[str, Fact]:
        """The facts of a target's read round trip, keyed for :func:`gather`: where the failover
        group runs (a node of an inventory that names a group) and every prepared step's facts."""
        facts: dict[str, Fact] = {}
        fact = self.cluster_fact(target) if target.node is not None else None
        if fact is not None:
            facts[CLUSTER_KEY] = fact
        for p in prepared:
            if p.error is None:
                facts.update({p.key(k): f for k, f in p.facts.items()})
        return facts

    def prepare(self, target: Target, steps: list) -> list["_Prepared"]:
        """Each step's action, desired state and facts on *target* (or why they cannot be built)."""
        out = []
        for i, step in enumerate(steps):
            try:
                act, desired, facts = self.step_facts(target, step)
                out.append(_Prepared(i, step, act, desired, facts))
            except TARGET_ERRORS as exc:
                out.append(_Prepared(i, step, ACTIONS.get(step.action), [], {}, error=str(exc) or type(exc).__name__))
        return out

    def node_batches(self, node: str, pending: dict[str, list[Change]] | None = None) -> list[Batch]:
        """The round trips a run makes to *node*, in order, for an offline bundle to carry: the
        read (where the failover group runs, when the inventory names one, and every step's facts)
        and, for an apply (*pending*: a plan's rows by step id), every step's changes followed by
        those steps' facts again. A step whose desired state or facts cannot be built reads
        nothing, as in a run. Importing a bundle's output replays it through :meth:`run`, which
        must ask for exactly these batches; any difference is refused there."""
        _, work = self.work()
        if node not in work:
            return []
        target, steps = work[node]
        prepared = self.prepare(target, steps)
        out: list[Batch] = []
        reads, _ = read_batch(self.read_facts(target, prepared))
        if reads:
            out.append(Batch("read", "", tuple(reads), (tuple(range(len(reads))),)))
        if pending is not None:
            changes, reread = _change_batch(prepared, {p.step.id: pending.get(p.step.id, []) for p in prepared})
            if changes:
                cmds, _ = read_batch(reread, changes)
                out.append(Batch("change", "", tuple(cmds), (tuple(range(len(changes), len(cmds))),)))
        return out

    def _cluster_check(self, runs: list["_TargetRun"], report: RunReport) -> str | None:
        """Where each node says the inventory's failover group runs (its read round trip asked
        ``clpgrp -n``): the reason to refuse the whole run, or None. Nodes without clpgrp answer
        None; an unreachable node is left to its own steps to report."""
        cs = self.inventory.cluster_state
        if cs.group is None:
            return None
        answers = [r for r in runs if r.target.node is not None and r.asked_cluster]
        if not answers:
            return None
        said = {r.target.name: r.cluster for r in answers if r.cluster is not None}
        failed = {r.target.name: r.cluster_error for r in answers if r.cluster_error}
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

    def _announce(self, target: str, done: str) -> None:
        """Tell *on_round* that *target* is done with a round trip (``read`` or ``changed``)."""
        if self.on_round:
            self.on_round(target, done)


def _in_round(rnd, name: str, work: Callable[[], None]) -> None:
    """Run one target's part of a round trip; whatever happens, it is done with the round then."""
    try:
        work()
    finally:
        rnd.done(name)


CLUSTER_KEY = "cluster"  # the read batch's key of where the failover group runs
_SEP = "\x1f"  # between a step's index and its fact's key in a target's read batch


@dataclass
class _Prepared:
    """One step on one target: its action, desired state and facts (or why they cannot be built),
    and what the run made of it."""

    index: int
    step: Any
    act: Action | None
    desired: list
    facts: dict[str, Fact]
    error: str | None = None
    rows: list[Change] = field(default_factory=list)
    status: Status = Status.CONVERGED
    message: str = ""
    round_trips: int = 0
    retries: int = 0
    seconds: float = 0.0

    def key(self, fact_key: str) -> str:
        return f"{self.index}{_SEP}{fact_key}"

    def values(self, gathered: dict[str, Any]) -> dict[str, Any]:
        """This step's facts out of a target's gathered batch (a :class:`FactFailed` raises)."""
        out = {}
        for k in self.facts:
            v = gathered[self.key(k)]
            if isinstance(v, FactFailed):
                raise v.error
            out[k] = v
        return out

    def pending(self) -> list[Change]:
        return [r for r in self.rows if r.status == RowStatus.CHANGE]


def _change_batch(prepared: list[_Prepared], pending: dict[str, list[Change]]) -> tuple[list[str], dict[str, Fact]]:
    """A target's change round trip: every step's changes in procedure order, then the facts of
    the steps that changed something."""
    changes: list[str] = []
    reread: dict[str, Fact] = {}
    for p in prepared:
        cmds = change_commands(pending.get(p.step.id, []))
        if p.error is None and cmds:
            changes.extend(cmds)
            reread.update({p.key(k): f for k, f in p.facts.items()})
    return changes, reread


class _TargetRun:
    """A run on one target: its lock, its transport, its two round trips."""

    def __init__(self, runner: Runner, target: Target, steps: list):
        self.runner, self.target, self.steps = runner, target, steps
        self.stack = ExitStack()
        self.transport: Transport | None = None
        self.prepared: list[_Prepared] = []
        self.fatal: tuple[Status, str] | None = None  # the whole target failed (busy, unreachable)
        self.busy: Said | None = None  # why the target is busy (its lock is held)
        self.asked_cluster = False
        self.cluster: str | None = None
        self.cluster_error: str | None = None

    # -- round trip 1 --------------------------------------------------------------------------
    def read(self) -> None:
        runner, target = self.runner, self.target
        try:
            self.stack.enter_context(node_lock(runner.state, runner.inventory.cluster, target.lock_name))
        except NodeBusy as exc:
            self.fatal, self.busy = (Status.ERROR, str(exc)), exc.said
            return
        try:
            self.transport = runner.open_transport(target)
        except TransportError as exc:
            self.fatal = (Status.UNREACHABLE, str(exc))
            return
        except TARGET_ERRORS as exc:  # the transport could not even be built from its options
            self.fatal = (Status.ERROR, f"{type(exc).__name__}: {exc}")
            return
        self.prepared = runner.prepare(target, self.steps)
        facts = runner.read_facts(target, self.prepared)
        self.asked_cluster = CLUSTER_KEY in facts
        t0, rt0, re0 = time.perf_counter(), self.transport.round_trips, self.transport.retries
        try:
            got = gather(self.transport, facts, isolate=True) if facts else {}
        except TransportError as exc:
            self.fatal = (Status.UNREACHABLE, str(exc))
            return
        except TARGET_ERRORS as exc:  # the batch could not even be sent (a value refused by the transport)
            for p in self.prepared:
                p.error = p.error or f"{type(exc).__name__}: {exc}"
            return
        finally:
            seconds = time.perf_counter() - t0
            trips, retries = self.transport.round_trips - rt0, self.transport.retries - re0
        if self.asked_cluster:
            answer = got.get(CLUSTER_KEY)
            if isinstance(answer, FactFailed):
                self.cluster_error = str(answer.error)
            else:
                self.cluster = answer
        for p in self.prepared:
            p.seconds, p.round_trips, p.retries = seconds, (trips if p.facts else 0), (retries if p.facts else 0)
            if p.error is not None:
                continue
            try:
                rows = p.act.plan(p.desired, p.values(got))
            except TARGET_ERRORS as exc:  # a fact that cannot be read, a refused value
                p.error = str(exc) or type(exc).__name__
                continue
            if p.step.mode == "check":
                # a check never changes anything, whatever its action returns
                for r in rows:
                    if r.commands or r.status == RowStatus.CHANGE:
                        r.status, r.commands, r.undo = RowStatus.ERROR, [], []
                        r.message = r.message or f"differs from the guide (a check step changes nothing): {r.current!r}"
            p.rows = rows
            errors = [r for r in rows if r.status == RowStatus.ERROR]
            if errors:
                p.status, p.message = Status.ERROR, "; ".join(f"{r.target}: {r.message}" for r in errors)
            elif p.pending():
                p.status = Status.PENDING

    def refuse(self, why: str) -> None:
        """The run is refused: nothing changes, and nothing planned on a wrong premise is shown."""
        if self.fatal is None:
            self.fatal = (Status.ERROR, why)
        for p in self.prepared:
            p.rows = []

    # -- round trip 2 --------------------------------------------------------------------------
    def change(self, journal: Journal | None) -> None:
        if self.fatal is not None or self.transport is None or journal is None:
            return
        name = self.target.name
        live = [p for p in self.prepared if p.error is None]
        for p in live:
            for r in p.rows:
                if r.status == RowStatus.OK and r.before:
                    journal.write("keep", node=name, step=p.step.id, action=p.act.name,
                                  target=r.target, current=r.current, before=r.before)
        pending = {p.step.id: p.pending() for p in live if p.status != Status.ERROR and p.pending()}
        if not pending:
            return
        seqs: dict[str, list[int]] = {}
        for p in live:
            for r in pending.get(p.step.id, []):
                seqs.setdefault(p.step.id, []).append(journal.write(
                    "intent", node=name, step=p.step.id, action=p.act.name, transport=self.target.transport,
                    target=r.target, current=r.current, desired=r.desired, commands=r.commands, undo=r.undo,
                    before=r.before))
        changes, reread = _change_batch(live, pending)
        t0, rt0, re0 = time.perf_counter(), self.transport.round_trips, self.transport.retries
        changing = [p for p in live if p.step.id in pending]
        try:
            after = gather(self.transport, reread, extra_before=changes, isolate=True)
        except (TransportError, *TARGET_ERRORS) as exc:
            status = Status.UNREACHABLE if isinstance(exc, TransportError) else Status.ERROR
            for p in changing:
                p.status, p.message = status, str(exc) or type(exc).__name__
            return
        finally:
            seconds = time.perf_counter() - t0
            trips, retries = self.transport.round_trips - rt0, self.transport.retries - re0
        done = iter(after["__changes__"])
        for p in changing:
            p.seconds, p.round_trips, p.retries = p.seconds + seconds, p.round_trips + trips, p.retries + retries
            rows = pending[p.step.id]
            results = [next(done) for _ in change_commands(rows)]
            failed_cmds = [c for c in results if c.rc != 0]
            try:
                rows_after = p.act.plan(p.desired, p.values(after))
            except TARGET_ERRORS as exc:
                for seq, r in zip(seqs[p.step.id], rows):
                    journal.write("done", ref=seq, node=name, target=r.target, after=None, ok=False)
                p.status, p.message = Status.ERROR, str(exc) or type(exc).__name__
                continue
            for seq, r in zip(seqs[p.step.id], rows):
                now = next((x for x in rows_after if x.target == r.target), None)
                journal.write("done", ref=seq, node=name, target=r.target,
                              after=None if now is None else now.current,
                              ok=now is not None and now.status == RowStatus.OK)
            p.rows = [_merge(b, a) for b, a in zip(p.rows, rows_after)]
            still = [r for r in rows_after if r.status != RowStatus.OK]
            if still or failed_cmds:
                p.status = Status.ERROR
                p.message = "; ".join(
                    [f"{r.target}: still {r.current}" for r in still if r.status == RowStatus.CHANGE]
                    + [f"{r.target}: {r.message}" for r in still if r.status == RowStatus.ERROR]
                    + [f"command failed (rc {c.rc}): {self.transport.describe(c)[:80]}" for c in failed_cmds[:3]])
            else:
                p.status = Status.CHANGED

    # -- the results ---------------------------------------------------------------------------
    def results(self) -> list[StepResult]:
        name = self.target.name
        if self.fatal is not None and self.busy:
            return [StepResult(step="-", action="-", node=name, status=self.fatal[0], message=self.fatal[1],
                               said=self.busy)]
        by_step = {p.step.id: p for p in self.prepared}
        out = []
        for step in self.steps:
            p = by_step.get(step.id)
            res = StepResult(step=step.id, action=step.action, node=name, status=Status.CONVERGED)
            if p is not None:
                res.rows, res.seconds, res.round_trips, res.retries = p.rows, p.seconds, p.round_trips, p.retries
                res.status, res.message = p.status, p.message
                if p.error is not None:
                    res.status, res.message = Status.ERROR, p.error
            if self.fatal is not None and (p is None or res.status not in (Status.CHANGED,)):
                res.status, res.message = self.fatal
            out.append(res)
        return out

    def close(self) -> None:
        try:
            if self.transport is not None:
                self.transport.close()
        finally:
            self.stack.close()


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


def _answer(rnd, name: str, work: Callable[[], Any]) -> Any:
    try:
        return work()
    finally:
        rnd.done(name)


def rollback(project: Project, inventory: Inventory, run_id: str, state: Path | None = None, *,
             nodes: list[str] | None = None, transports: Callable[[Target], Transport] | None = None,
             executor: Executor | None = None, on_result: Callable[[StepResult], None] | None = None) -> RunReport:
    """Restore the before-state of every change of *run_id* (only on *nodes* when given): the undo
    commands of its intents in reverse order, sent to each target through its own transport (or
    the one *transports* makes for it). *on_result* hears of each target as soon as it is done."""
    state = Path(state or project.state)
    records = Journal.read(state, run_id)
    by_target = rollback_intents(records, nodes)
    report = RunReport(run_id=run_id, mode="rollback", guide=records[0].get("guide", "?") if records else "?")
    journal = Journal(state, run_id=rollback_run_id(run_id))
    executor = executor or Executor(transports)
    journal.write("rollback", of=run_id, intents=sum(len(recs) for recs in by_target.values()),
                  executor=executor.name, **({"nodes": nodes} if nodes is not None else {}))
    targets = all_targets(inventory)
    opener = executor.open
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
        except NodeBusy as exc:
            res.status, res.message, res.said = Status.ERROR, str(exc), exc.said
        except TARGET_ERRORS as exc:
            res.status, res.message = Status.ERROR, str(exc)
        return res

    def told(res: StepResult) -> StepResult:
        if on_result is not None:
            on_result(res)
        return res

    with ThreadPoolExecutor(max_workers=max(1, len(by_target))) as pool:
        with executor.round(list(by_target)) as rnd:
            done = list(pool.map(lambda kv: _answer(rnd, kv[0], lambda: told(one(*kv))), by_target.items()))
        for r in done:
            report.results.append(r)
            journal.write("restored", node=r.node, status=str(r.status), message=r.message)
    report.seconds = time.perf_counter() - t0
    journal.close()
    return report
