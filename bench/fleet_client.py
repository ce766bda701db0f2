"""Runs in the Linux sandbox's probe namespace (the only place its nodes' sshd is reachable from):
times engine runs through the native executor and through ansible-runner on the nodes of one
inventory, at several added delays, interleaved (each repetition visits every delay and both
executors; the client writes the delay control file read by nfq_delay.py). Each repetition: plan,
then apply on the nodes as they were, timed; then an untimed native rollback restores them.
Prints one JSON object."""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True, help="the project (kb/)")
    ap.add_argument("--state", required=True)
    ap.add_argument("--inventory", required=True)
    ap.add_argument("--control", required=True, help="delay control file of nfq_delay.py")
    ap.add_argument("--delays", default="0,20,50")
    ap.add_argument("--reps", type=int, default=2)
    a = ap.parse_args()
    from runbook_engine.engine.executors.ansible import AnsibleExecutor
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.engine.runner import Runner, rollback
    from runbook_engine.model.project import Project

    project = Project(Path(a.root), state_dir=Path(a.state))
    inv = load_inventory(Path(a.inventory))
    ctl = Path(a.control)
    delays = [int(d) for d in a.delays.split(",")]
    first = inv.nodes[0].options

    def set_delay(ms: int) -> None:
        tmp = ctl.with_suffix(".client")
        tmp.write_text(str(ms))
        os.replace(tmp, ctl)
        time.sleep(0.3)  # nfq_delay re-reads within 0.2 s

    def tcp_rtt() -> float:
        xs = []
        for _ in range(5):
            t0 = time.perf_counter()
            socket.create_connection((str(first.host), first.port), 5).close()
            xs.append(time.perf_counter() - t0)
        return statistics.median(xs)

    def one(executor: str, mode: str) -> tuple[float, object, int]:
        ex = AnsibleExecutor() if executor == "ansible" else None
        try:
            t0 = time.perf_counter()
            rep = Runner(project, inv, state=project.state, executor=ex).run(mode)
            dt = time.perf_counter() - t0
        finally:
            if ex is not None:
                ex.close()
        bad = [(r.node, r.step, str(r.status), r.message[:200]) for r in rep.results if r.status in ("error", "unreachable")]
        if bad:
            raise SystemExit(f"{executor} {mode}: {bad[:2]}")
        return dt, rep, (ex.calls if ex is not None else 0)

    out: dict = {"rtt": {}, "m": {str(d): {e: {"plan": [], "apply": [], "plan_rt": None, "apply_rt": None,
                                               "plan_calls": 0, "apply_calls": 0, "changes": 0}
                                           for e in ("native", "ansible")} for d in delays}}
    for d in delays:
        set_delay(d)
        out["rtt"][str(d)] = tcp_rtt()
    set_delay(0)
    for executor in ("native", "ansible"):  # warm-up, untimed: imports, first connections
        one(executor, "plan")
    for _ in range(a.reps):
        for d in delays:
            set_delay(d)
            for executor in ("native", "ansible"):
                m = out["m"][str(d)][executor]
                dt, rep, calls = one(executor, "plan")
                m["plan"].append(dt)
                m["plan_rt"], m["plan_calls"] = rep.round_trips, calls
                dt, rep, calls = one(executor, "apply")
                m["apply"].append(dt)
                m["apply_rt"], m["apply_calls"] = rep.round_trips, calls
                m["changes"] = sum(r.changes for r in rep.results)
                if m["changes"] == 0:
                    raise SystemExit(f"{executor} apply changed nothing: the nodes were not restored")
                undone = rollback(project, inv, rep.run_id, project.state)
                if undone.exit_code:
                    raise SystemExit(f"rollback after {executor} apply: {[r.message for r in undone.results][:2]}")
    set_delay(0)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
