"""Runs in the bench's client namespace: time SSH batches and an engine plan against the sshd of the
server namespace at several added delays, interleaved (each repetition visits every delay: the
client writes the delay control file read by nfq_delay.py). Prints one JSON object."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host")
    ap.add_argument("--port", type=int)
    ap.add_argument("--key")
    ap.add_argument("--known-hosts")
    ap.add_argument("--control", required=True, help="delay control file of nfq_delay.py")
    ap.add_argument("--delays", default="0,20,50")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--plan-reps", type=int, default=2)
    ap.add_argument("--trips", type=int, default=5)
    ap.add_argument("--plan-inventory", default="")
    a = ap.parse_args()
    from runbook_engine.engine.transports.ssh import SshTransport

    ctl = Path(a.control)
    delays = [int(d) for d in a.delays.split(",")]

    def set_delay(ms: int) -> None:
        tmp = ctl.with_suffix(".client")
        tmp.write_text(str(ms))
        os.replace(tmp, ctl)
        time.sleep(0.3)  # nfq_delay re-reads within 0.2 s

    def transport() -> SshTransport:
        return SshTransport("sv1", a.host, port=a.port, username="root", known_hosts=a.known_hosts,
                            client_key=a.key)

    m: dict = {d: {"connect": [], "b1": [], "b50": [], "trips": [], "plan": [], "bad50": 0} for d in delays}
    t = transport()
    t.connect()
    t.run(["echo warm"])
    for _ in range(a.reps):
        for d in delays:
            set_delay(d)
            c = transport()
            m[d]["connect"].append(c.connect())
            c.close()
            t.run(["echo settle"])  # untimed: absorbs the delay change and the closed connection
            for n, key in ((1, "b1"), (50, "b50")):
                cmds = [f"echo line{i}" for i in range(n)]
                t0 = time.perf_counter()
                b = t.run(cmds)
                m[d][key].append(time.perf_counter() - t0)
                bad = sum(1 for r in b.results if r.rc != 0 or r.stdout != r.command[5:])
                if n == 50:
                    m[d]["bad50"] = max(m[d]["bad50"], bad)
            t0 = time.perf_counter()
            for _ in range(a.trips):
                t.run(["echo x"])
            m[d]["trips"].append(time.perf_counter() - t0)
    t.close()
    out: dict = {"delays": {}}
    if a.plan_inventory:
        from runbook_engine.engine.inventory import load_inventory
        from runbook_engine.engine.runner import Runner
        from runbook_engine.model.project import Project

        project = Project.find()
        inv = load_inventory(a.plan_inventory)
        steps = ["preflight", "services-manual", "script-files", "registry-key"]
        for _ in range(a.plan_reps):
            for d in delays:
                set_delay(d)
                rep = Runner(project, inv, nodes=["sv1"], steps=steps).run("plan")
                m[d]["plan"].append(rep.seconds)
                m[d]["plan_round_trips"] = sum(r.round_trips for r in rep.results)
                m[d]["plan_errors"] = [f"{r.step}: {r.message[:160]}" for r in rep.results
                                       if r.status in ("error", "unreachable")]
                out["plan_rows"] = sorted([r.step, row.target, row.status, str(row.current)]
                                          for r in rep.results for row in r.rows)
    set_delay(0)
    for d in delays:
        v = m[d]
        out["delays"][str(d)] = {k: (statistics.median(x) if isinstance(x, list) and x else x) for k, x in v.items()}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
