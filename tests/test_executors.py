"""Executors: the runner's round trips handed to an executor that sends each round's batches
together (as ansible-runner does, one call for every node), on real Linux sandbox nodes."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest

from runbook_engine.engine.executors import Executor, RoundBarrier, executor_class
from runbook_engine.engine.transports.base import BatchResult, Transport


def test_a_round_flushes_once_every_target_has_submitted_or_is_done():
    calls = []
    barrier = RoundBarrier(["a", "b", "c"], lambda batch: calls.append(sorted(batch)) or
                           {n: f"answer {n}" for n in batch})
    got = {}

    def submit(name):
        got[name] = barrier.submit(name, f"batch {name}")

    threads = [threading.Thread(target=submit, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    assert calls == []  # c has neither submitted nor said it is done
    barrier.done("c")
    for t in threads:
        t.join(5)
    assert calls == [["a", "b"]] and got == {"a": "answer a", "b": "answer b"}
    # a target that asks again in the same round (a repeated read) goes alone once the others are done
    barrier.done("b")
    assert barrier.submit("a", "again") == "answer a" and calls[-1] == ["a"]
    with pytest.raises(RuntimeError, match="not in this round"):
        barrier.submit("c", "late")


def test_a_failed_flush_reaches_every_waiting_target():
    barrier = RoundBarrier(["a"], lambda batch: (_ for _ in ()).throw(OSError("ansible-runner died")))
    with pytest.raises(OSError, match="ansible-runner died"):
        barrier.submit("a", "x")


def test_unknown_executor_is_named():
    with pytest.raises(ValueError, match="unknown executor 'fleet'"):
        executor_class("fleet")
    assert executor_class("native") is Executor


class _Proxy(Transport):
    """A node's transport whose batches go through the round's barrier."""

    def __init__(self, name, real, executor):
        super().__init__(name)
        self.real, self.executor = real, executor
        self.shell = real.shell

    def wrap(self, commands):
        return self.real.wrap(commands)

    def run(self, commands):
        if not commands:
            return BatchResult(results=[])
        res = self.executor.barrier.submit(self.node, (self.real, commands))
        self.round_trips += 1
        return res

    def close(self):
        self.real.close()


class RoundsExecutor(Executor):
    """Sends each round's batches together (here: one after the other through the nodes' own
    transports) and counts the rounds: what an executor like ansible's does in one call."""

    def __init__(self):
        super().__init__()
        self.flushes: list[list[str]] = []
        self.barrier = None

    def open(self, target):
        return _Proxy(target.name, super().open(target), self)

    @contextmanager
    def round(self, names):
        self.barrier = RoundBarrier(names, self._flush)
        try:
            yield self.barrier
        finally:
            self.barrier = None

    def _flush(self, batch):
        self.flushes.append(sorted(batch))
        return {name: real.run(cmds) for name, (real, cmds) in batch.items()}


@pytest.mark.linux
def test_the_runner_sends_one_round_for_all_nodes_per_round_trip(linux_sandbox):
    from runbook_engine.engine.runner import Runner, rollback

    sb = linux_sandbox
    ex = RoundsExecutor()
    plan = Runner(sb.project, sb.inv(), state=sb.state, executor=ex).run("plan")
    assert not plan.failed_nodes, [(r.node, r.step, r.status, r.message) for r in plan.results]
    assert ex.flushes == [["pg-primary", "pg-secondary"]]  # one round for both nodes' reads
    ex.flushes.clear()
    applied = Runner(sb.project, sb.inv(), state=sb.state, executor=ex).run("apply")
    assert applied.exit_code == 0, [(r.node, r.step, r.status, r.message) for r in applied.results]
    assert ex.flushes == [["pg-primary", "pg-secondary"]] * 2  # the reads, then every change and re-read
    native = Runner(sb.project, sb.inv(), state=sb.state).run("plan")
    assert sum(r.changes for r in native.results) == 0  # the same end state the native executor sees
    ex.flushes.clear()
    undone = rollback(sb.project, sb.inv(), applied.run_id, sb.state, executor=ex)
    assert undone.exit_code == 0 and ex.flushes == [["pg-primary", "pg-secondary"]]
