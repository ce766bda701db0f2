"""bench/run: the tables (build, runbook run, engine, script proofs, Linux nodes, fleet) → stdout and
bench/results.md. With --only, the tables measured replace theirs in results.md and the others stay."""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

from .common import Table, log, machine_facts

HERE = Path(__file__).resolve().parent
PARTS = ("build", "notebook", "engine", "proofs", "linux", "fleet")


def _number(title: str) -> str:
    """A table's number (``6.``), what identifies it across runs; a failed part's title is its own."""
    return title.split(" ", 1)[0]


def merged(old: str, tables: list[Table]) -> str:
    """*old* results.md with each of *tables* in place of the table of the same number (appended
    when it has none); the other tables and the head stay as they were."""
    head, *sections = old.split("\n### ")
    sections = ["### " + s.rstrip("\n") + "\n" for s in sections]
    for t in tables:
        text = t.markdown()
        at = next((i for i, s in enumerate(sections) if _number(s[4:]) == _number(t.title)), None)
        if at is None:
            sections.append(text)
        else:
            sections[at] = text
    return head.rstrip("\n") + "\n\n" + "\n".join(sections)


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
        if a.only:  # merged into results.md beside tables of other runs: say when and where
            table.notes.append(f"Measured {facts['date']} by `bench/run{' --quick' if a.quick else ''} --only {a.only}` "
                               f"({facts['nproc']} cores, {facts['cpu']}, load average at start "
                               f"{facts['load average at start']}).")
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
    if a.only and Path(a.out).exists():
        text = merged(Path(a.out).read_text(encoding="utf-8"), tables)
    Path(a.out).write_text(text, encoding="utf-8")
    log(f"wrote {a.out} ({total:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
