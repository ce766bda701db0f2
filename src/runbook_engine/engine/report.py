"""Plain-text rendering of engine reports (CLI and notebooks outside Jupyter)."""
from __future__ import annotations

import json
import unicodedata
from typing import Iterable

from runbook_engine.engine.messages import Messages, plain
from runbook_engine.engine.status import RowStatus

STATUS_MARK = {RowStatus.OK: "ok", RowStatus.CHANGE: "CHANGE", RowStatus.CHANGED: "changed", RowStatus.ERROR: "ERROR"}


def _width(text: str) -> int:
    """Columns *text* takes on a terminal (a wide character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def show(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def report_lines(report, say: Messages) -> Iterable[str]:
    """A report for a person, in *say*'s language: per node, each step with its status and
    counts, then its rows (what would change, what changed), the drift and the summary."""
    yield plain(say.L("report-header", run_id=report.run_id, mode=say.run_mode(report.mode), guide=report.guide))
    node = None
    for r in report.results:
        if r.node != node:
            node = r.node
            yield ""
            yield plain(say.L("report-node", node=node))
        counts = say.L("report-step-counts", changes=r.changes, trips=r.round_trips, seconds=f"{r.seconds:.2f}")
        message = plain(say.text(r.said)) if getattr(r, "said", None) else r.message
        yield f"  [{r.step}] {r.action}: {say.status(r.status)}  ({counts}){'  ' + message if message else ''}"
        for row in r.rows:
            mark = say.row_status(row.status) if row.status in STATUS_MARK else str(row.status)
            arrow = f"{show(row.current)} -> {show(row.desired)}" if row.status in (RowStatus.CHANGE, RowStatus.CHANGED) else show(row.current)
            msg = f"  ({plain(say.row_message(row))})" if row.message else ""
            yield f"      {mark}{' ' * max(1, 10 - _width(mark))}{row.target}: {arrow}{msg}"
    for d in getattr(report, "drift", []) or []:
        if d["kind"] == "differs-between-nodes":
            values = ", ".join(f"{n}={show(v)}" for n, v in d["values"].items())
            yield plain(say.L("report-drift-between", step=d["step"], target=d["target"], values=values))
        else:
            yield plain(say.L("report-drift-node", node=d["node"], step=d["step"], target=d["target"],
                              current=show(d["current"]), desired=show(d["desired"])))
    changes = sum(r.changes for r in report.results)
    failed = report.failed_nodes
    yield ""
    yield plain(say.L("report-summary", changes=changes, failed=len(failed), code=report.exit_code,
                      names=(": " + ", ".join(failed)) if failed else ""))
