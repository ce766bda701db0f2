"""Table 4: the Wine run of every case (CLP_EVENT × CLP_DISK × CLP_SERVER, CLP_EVENT also unset)
of START.BAT and STOP.BAT in both languages, with one persistent wineserver (warm) and with the
wineserver killed before each script run (cold)."""
from __future__ import annotations

import itertools
import time
from pathlib import Path

from .common import REPO, Row, Table, log, median
from .sandbox import fresh_cluster, node_prefix, sandbox_state


def cases(kb) -> list[dict[str, str]]:
    names, domains = [], []
    for v in kb.family_of("surfnavi").script_variables:
        values: list[str | None] = [x.value if hasattr(x, "value") else x[0] for x in v.values]
        if v.name == "CLP_EVENT":
            values.append(None)  # run outside CLUSTERPRO
        names.append(v.name)
        domains.append(values)
    return [{n: val for n, val in zip(names, combo) if val is not None} for combo in itertools.product(*domains)]


def run(quick: bool) -> Table:
    from runbook_engine.engine.transports.wine import WineTransport
    from runbook_engine.engine.transports.wineprefix import ensure_wineserver, stop_wineserver, windows_to_unix
    from runbook_engine.sandbox.scriptrun import run_script
    from runbook_engine.model.project import Project
    from runbook_engine.artifacts.scripts import render_scripts
    from runbook_engine.sandbox.scriptproof import DEFAULT_DIRECTORY

    project = Project(REPO)
    kb = project.knowledge
    guide = kb.guides["surfnavi"]
    envs = cases(kb)
    warm_reps = 2 if quick else 5
    cold_reps = 1  # one cold set is 64 runs (≈2.5 s each): per-run medians below are over all of them
    t = Table("4. Script proofs", "every case of both scripts in both languages under Wine, one persistent "
              "wineserver kept warm")
    with sandbox_state() as state:
        fresh_cluster(project, 1)
        prefix = node_prefix(state, "sv1")
        wt = WineTransport("sv1", prefix=prefix)
        folder = windows_to_unix(prefix, DEFAULT_DIRECTORY)
        folder.mkdir(parents=True, exist_ok=True)
        scripts = {lang: render_scripts(kb, guide, lang, project.snippets) for lang in ("ja", "en")}
        runs = sum(len(s) for s in scripts.values()) * len(envs)

        per_run: dict[str, list[float]] = {"warm": [], "cold": []}

        def one_set(cold: bool, trace_dir: Path) -> tuple[float, float, dict]:
            """All runs; returns (wall seconds, seconds spent in kill+boot, traces)."""
            traces: dict = {}
            overhead = 0.0
            t0 = time.perf_counter()
            for lang, named in scripts.items():
                for name, script in named.items():
                    (folder / name).write_bytes(script.data)
                    for i, env in enumerate(envs):
                        if cold:
                            t1 = time.perf_counter()
                            stop_wineserver(prefix)
                            ensure_wineserver(prefix, wt.env)
                            overhead += time.perf_counter() - t1
                        t2 = time.perf_counter()
                        rows, _err, rc = run_script(wt, f"{DEFAULT_DIRECTORY}\\{name}", env,
                                                       trace_dir / f"{lang}-{name}-{i}.trace")
                        per_run["cold" if cold else "warm"].append(time.perf_counter() - t2)
                        traces[(lang, name, i)] = (rows, rc)
            return time.perf_counter() - t0, overhead, traces

        ensure_wineserver(prefix, wt.env)
        warm: list[float] = []
        cold: list[float] = []
        cold_boot: list[float] = []
        traces = {}
        n = 0
        log(f"proofs: {runs} script runs per set, warm ×{warm_reps} / cold ×{cold_reps}, interleaved")
        for i in range(max(warm_reps, cold_reps) + 1):  # first warm set untimed (warm-up)
            if i <= warm_reps:
                ensure_wineserver(prefix, wt.env)
                d = state / f"w{n}"
                n += 1
                dt, _, tr = one_set(False, d)
                if i:
                    warm.append(dt)
                traces.setdefault("warm", tr)
            if 1 <= i <= cold_reps:
                d = state / f"c{n}"
                n += 1
                dt, boot, tr = one_set(True, d)
                cold.append(dt)
                cold_boot.append(boot)
                traces.setdefault("cold", tr)
        # floor of one warm run: an empty batch file through the same run_script
        (folder / "EMPTY.BAT").write_bytes(b"@echo off\r\nexit /b 0\r\n")
        ensure_wineserver(prefix, wt.env)
        empty = []
        for i in range(10):
            t2 = time.perf_counter()
            run_script(wt, f"{DEFAULT_DIRECTORY}\\EMPTY.BAT", {}, state / "empty.trace")
            empty.append(time.perf_counter() - t2)
        stop_wineserver(prefix)
        base = median(warm)
        t.rows.append(Row(f"warm: {runs} script runs, one persistent wineserver", base, 1.0,
                          note=f"median run {median(per_run['warm']) * 1000:.0f} ms"))
        c = median(cold)
        t.rows.append(Row(f"cold: {runs} script runs, wineserver killed before each", c, c / base,
                          note=f"median run {median(per_run['cold']) * 1000:.0f} ms after a kill + boot of "
                               f"{median(cold_boot) / runs * 1000:.0f} ms (mean)"))
        t.rows.append(Row("(info) warm: one empty .BAT through run_script (median of 10)", median(empty), None,
                          note="the floor of one warm script run (one `wine cmd` start)"))
        same = traces["warm"] == traces["cold"]
        t.rows.append(Row("ARM traces and exit codes identical warm vs cold", None, value="yes" if same else "NO"))
        t.notes.append(f"Cases: {len(envs)} environments (CLP_EVENT START/FAILOVER/RECOVER/unset × CLP_DISK × "
                       f"CLP_SERVER) × START.BAT, STOP.BAT × ja, en. Cold = `wineserver -k` then the "
                       "engine's ensure_wineserver (wineserver -p + one warming `cmd /c exit 0`, which also "
                       "starts the node's auto-start services) before each run.")
    return t
