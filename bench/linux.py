"""Table 5: Linux nodes (systemd-nspawn containers): boot per node, apply of the Linux guide on 1
vs 2 nodes, and the transports (namespaces vs SSH into the container) per round trip."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .common import REPO, Row, Table, log, median, temp_dir, verdict

GUIDE = "postgresql"
GOAL_SCALE = 1.3  # 2 nodes in parallel cost at most 1.3x one node


def _check(report, what: str) -> None:
    bad = [r for r in report.results if r.status in ("error", "unreachable")]
    if bad:
        raise RuntimeError(f"{what}: {bad[0].node}/{bad[0].step}: {bad[0].message}")


def run(quick: bool) -> Table:
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.engine.runner import Runner
    from runbook_engine.model.project import Project
    from runbook_engine.sandbox.cluster import create_cluster, destroy_cluster, sandbox_root
    from runbook_engine.sandbox.linux import probe_namespace

    reps = 2 if quick else 4
    t = Table("5. Linux nodes", "one empty POSIX batch (`true`) through the nspawn transport on a booted node")
    if os.geteuid() != 0:
        t.notes.append("skipped: the Linux sandbox needs root")
        return t
    with temp_dir("rb-bench-linux-") as state:
        project = Project(REPO, state_dir=state)
        kb = project.knowledge
        boots: dict[int, list[float]] = {1: [], 2: []}
        applies: dict[int, list[float]] = {1: [], 2: []}
        trips: dict[int, int] = {}
        floor: list[float] = []

        def cycle(n: int) -> None:
            t0 = time.perf_counter()
            inv_path = create_cluster(project, kb, guide_id=GUIDE, nodes=n, progress=lambda line: None)
            boots[n].append((time.perf_counter() - t0) / n)
            inv = load_inventory(inv_path)
            from runbook_engine.engine.transports import open_transport

            tr = open_transport(inv.nodes[0])
            for _ in range(5):
                t1 = time.perf_counter()
                tr.run(["true"])
                floor.append(time.perf_counter() - t1)
            t2 = time.perf_counter()
            rep = Runner(project, inv, state=state).run("apply")
            applies[n].append(time.perf_counter() - t2)
            _check(rep, f"apply on {n} node(s)")
            trips[n] = max(rep.round_trips.values())

        try:
            for _ in range(reps):
                cycle(1)
                cycle(2)
            base = median(floor)
            t.rows.append(Row("floor: one `true` batch, nspawn transport", base, 1.0))
            for n in (1, 2):
                t.rows.append(Row(f"sandbox create, per node ({n} node{'s' if n > 1 else ''}, booted in parallel)",
                                  median(boots[n]), median(boots[n]) / base,
                                  note="network namespaces, /etc copy, loop disks, systemd boot until `running`"))
            for n in (1, 2):
                t.rows.append(Row(f"apply, PostgreSQL guide, {n} fresh node{'s' if n > 1 else ''}", median(applies[n]),
                                  median(applies[n]) / base,
                                  note=f"{trips[n]} round trips a node (the read; every change and re-read)"))
            scale = median(applies[2]) / median(applies[1])
            t.rows.append(Row("apply on 2 nodes vs 1 node", None, scale, f"≤ {GOAL_SCALE}×", verdict(scale <= GOAL_SCALE),
                              note="nodes in parallel; the exec scripts go to the configuration node only"))
            # SSH into the containers (a real sshd per node), from the probe namespace
            inv_path = create_cluster(project, kb, guide_id=GUIDE, nodes=1, transport="ssh", progress=lambda line: None)
            code = ("import sys,time,statistics\n"
                    "from runbook_engine.engine.inventory import load_inventory\n"
                    "from runbook_engine.engine.transports import open_transport\n"
                    "t=open_transport(load_inventory(sys.argv[1]).nodes[0]); t0=time.perf_counter(); t.run(['true'])\n"
                    "first=time.perf_counter()-t0; xs=[]\n"
                    "for _ in range(20):\n t1=time.perf_counter(); t.run(['true']); xs.append(time.perf_counter()-t1)\n"
                    "print(first, statistics.median(xs)); t.close()\n")
            out = subprocess.run(["ip", "netns", "exec", probe_namespace(sandbox_root(project)), sys.executable, "-c",
                                  code, str(inv_path)], capture_output=True, text=True,
                                 env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
            if out.returncode == 0:
                first, per = map(float, out.stdout.split())
                t.rows.append(Row("ssh-posix: connect + first batch", first, first / base, note="a real sshd in the container"))
                t.rows.append(Row("ssh-posix: one batch on an open connection", per, per / base))
            else:
                t.notes.append(f"ssh-posix rows skipped: {out.stderr.strip()[-300:]}")
        finally:
            destroy_cluster(project)
    t.notes.append(f"Medians of {reps} create/apply cycles per node count, 1 and 2 nodes interleaved; each apply "
                   "starts on freshly booted nodes.")
    log("linux: done")
    return t
