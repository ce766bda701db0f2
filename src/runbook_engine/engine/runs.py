"""The runs in a state folder, from their journals: what each did and whether it finished.

A run whose journal has no ``end`` record was interrupted (killed, a crash, the machine went
down): its intents are journaled before each change, so rolling it back restores the state
before it even though it did not finish. ``runbook runs`` lists them; ``runbook rollback
--to-before RUN_ID`` rolls back RUN_ID and every later run on the same cluster, newest first,
which restores the state before RUN_ID exactly.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from runbook_engine.engine.journal import Journal, intents, rollback_run_id
from runbook_engine.engine.transports.orphans import alive


def _engine_alive(engine) -> bool:
    """The run's engine process is still running (journals before the pid was recorded: no)."""
    return bool(engine) and alive(engine)


@dataclass
class RunInfo:
    run_id: str
    mode: str
    guide: str
    cluster: str
    started: float
    nodes: list[str] = field(default_factory=list)
    intents: int = 0
    done: int = 0
    status: str = "finished"  # finished | running | interrupted
    exit_code: int | None = None
    rolled_back: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def list_runs(state: Path) -> list[RunInfo]:
    """Every engine run of *state*, oldest first (notebook runs without a journal are left out;
    rollbacks are shown as the run they rolled back)."""
    runs_dir = Path(state) / "runs"
    if not runs_dir.is_dir():
        return []
    out = []
    for d in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
        if not (d / "journal.jsonl").exists():
            continue
        recs = Journal.read(state, d.name)
        head = next((r for r in recs if r.get("event") == "run"), None)
        if head is None:  # a rollback's journal starts with a "rollback" record: it is not a run
            continue
        end = next((r for r in recs if r.get("event") == "end"), None)
        ins = list(intents(recs))
        rb = runs_dir / rollback_run_id(d.name) / "journal.jsonl"
        out.append(RunInfo(
            run_id=d.name, mode=head.get("mode", "?"), guide=head.get("guide", "?"),
            cluster=head.get("cluster", "?"), started=head.get("t", 0.0),
            nodes=sorted({r["node"] for r in ins}), intents=len(ins),
            done=sum(1 for r in recs if r.get("event") == "done"),
            status="finished" if end else ("running" if _engine_alive(head.get("engine")) else "interrupted"),
            exit_code=end.get("exit_code") if end else None, rolled_back=rb.exists()))
    return sorted(out, key=lambda r: (r.started, r.run_id))


def runs_to_undo(state: Path, run_id: str, cluster: str) -> list[RunInfo]:
    """RUN_ID and every later run of *cluster* with changes not yet rolled back, newest first:
    what ``rollback --to-before RUN_ID`` undoes. KeyError: RUN_ID is not a run of *cluster*."""
    runs = [r for r in list_runs(state) if r.cluster == cluster]
    ids = [r.run_id for r in runs]
    if run_id not in ids:
        raise KeyError(f"no run '{run_id}' of cluster '{cluster}' in {Path(state) / 'runs'}")
    later = runs[ids.index(run_id):]
    return [r for r in reversed(later) if r.intents and not r.rolled_back]


def interrupted(state: Path, cluster: str) -> list[RunInfo]:
    """Runs of *cluster* that changed something, did not finish and were not rolled back."""
    return [r for r in list_runs(state) if r.cluster == cluster and r.status == "interrupted"
            and r.intents and not r.rolled_back]
