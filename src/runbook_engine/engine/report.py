"""Plain-text rendering of engine reports (CLI and notebooks outside Jupyter)."""
from __future__ import annotations

import json
from typing import Iterable

from runbook_engine.engine.status import RowStatus

STATUS_MARK = {RowStatus.OK: "ok", RowStatus.CHANGE: "CHANGE", RowStatus.CHANGED: "changed", RowStatus.ERROR: "ERROR"}


def show(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def report_lines(report) -> Iterable[str]:
    yield f"run {report.run_id}  mode={report.mode}  guide={report.guide}"
    node = None
    for r in report.results:
        if r.node != node:
            node = r.node
            yield ""
            yield f"== node {node}"
        yield f"  [{r.step}] {r.action}: {r.status}  ({r.changes} change(s), {r.round_trips} round trip(s), {r.seconds:.2f}s){'  ' + r.message if r.message else ''}"
        for row in r.rows:
            mark = STATUS_MARK.get(row.status, row.status)
            arrow = f"{show(row.current)} -> {show(row.desired)}" if row.status in (RowStatus.CHANGE, RowStatus.CHANGED) else show(row.current)
            msg = f"  ({row.message})" if row.message else ""
            yield f"      {mark:8} {row.target}: {arrow}{msg}"
    for d in getattr(report, "drift", []) or []:
        if d["kind"] == "differs-between-nodes":
            yield f"DRIFT between nodes: {d['step']} {d['target']}: " + ", ".join(f"{n}={show(v)}" for n, v in d["values"].items())
        else:
            yield f"DRIFT on {d['node']}: {d['step']} {d['target']}: {show(d['current'])} (guide: {show(d['desired'])})"
    changes = sum(r.changes for r in report.results)
    failed = report.failed_nodes
    yield ""
    yield f"summary: {changes} change(s), {len(failed)} failed node(s){': ' + ', '.join(failed) if failed else ''}, exit {report.exit_code}"
