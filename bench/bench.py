"""bench/run: four tables (build, runbook run, engine, script proofs) → stdout and bench/results.md."""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

from .common import Table, log, machine_facts

HERE = Path(__file__).resolve().parent
PARTS = ("build", "notebook", "engine", "proofs", "linux")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/run")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and no 200-guide knowledge base")
    ap.add_argument("--only", default="", help=f"comma-separated subset of {','.join(PARTS)}")
    ap.add_argument("--out", default=str(HERE / "results.md"))
    a = ap.parse_args(argv)
    parts = [p for p in (a.only.split(",") if a.only else PARTS) if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        ap.error(f"unknown part(s): {sorted(unknown)}")
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    facts = machine_facts()
    t0 = time.perf_counter()
    tables: list[Table] = []
    failed = 0
    for part in parts:
        mod = __import__(f"bench.{part}", fromlist=["run"])
        t1 = time.perf_counter()
        try:
            table = mod.run(a.quick)
        except Exception as exc:  # noqa: BLE001 - report the part as failed, go on with the others
            failed += 1
            traceback.print_exc()
            table = Table(f"{part}: FAILED", "—")
            table.notes.append(f"{type(exc).__name__}: {str(exc)[:500]}")
        table.notes.append(f"This table took {time.perf_counter() - t1:.0f} s to measure.")
        tables.append(table)
        print(table.markdown(), flush=True)
    total = time.perf_counter() - t0
    facts["load average at end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    head = [
        "# runbook_engine benchmarks",
        "",
        f"`bench/run{' --quick' if a.quick else ''}`{' --only ' + a.only if a.only else ''}, "
        f"{total:.0f} s in all. Medians; every ratio is against the baseline of its own table, "
        "measured in the same run, interleaved with what it is compared to. No wall-clock limit is asserted.",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in facts.items()],
        "",
    ]
    text = "\n".join(head) + "\n" + "\n".join(t.markdown() for t in tables)
    Path(a.out).write_text(text, encoding="utf-8")
    log(f"wrote {a.out} ({total:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
