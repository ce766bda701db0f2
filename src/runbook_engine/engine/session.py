"""The API that runbook notebook cells call: one Session per notebook run on one node.

``rb.step(step_id)`` plans (default) or applies an automated step on the node and shows the result;
a manual step is a gate: it passes when the operator confirmed it (``--confirm STEP_ID``, an answers
file, an earlier confirmation of this node, or an answer typed in an interactive Jupyter session).
Otherwise the run stops cleanly there with status "waiting for operator": the remaining cells skip.
``rb.summary()`` writes the JSON summary of the run next to the executed notebook.

Nothing secret passes through here: credentials stay in the environment of the transports.
"""
from __future__ import annotations

import html
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from runbook_engine.model.project import Project
from runbook_engine.engine.report import show
from runbook_engine.engine.inventory import load_inventory
from runbook_engine.engine.journal import new_run_id
from runbook_engine.engine.runner import Runner
from runbook_engine.engine.status import FAILED, Status

WAITING = "waiting"


@dataclass
class StepRecord:
    step: str
    kind: str  # manual | automated
    status: str  # confirmed | converged | changed | pending | error | unreachable | skipped | waiting
    changes: int = 0
    seconds: float = 0.0
    detail: str = ""
    rows: list = field(default_factory=list)


class View:
    """A result that shows as an HTML table in Jupyter and as plain text elsewhere."""

    def __init__(self, title: str, headers: list[str], rows: list[list[str]], note: str = ""):
        self.title, self.headers, self.rows, self.note = title, headers, rows, note

    def __repr__(self) -> str:
        lines = [self.title]
        for r in self.rows:
            lines.append("  " + " | ".join(r))
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self.rows)
        note = f"<p>{html.escape(self.note)}</p>" if self.note else ""
        return f"<p><strong>{html.escape(self.title)}</strong></p><table><tr>{head}</tr>{body}</table>{note}"


class Session:
    def __init__(self, guide: str | None = None, node: str | None = None, inventory: str | None = None,
                 mode: str = "plan", lang: str = "ja", confirm: list[str] | None = None,
                 answers: str | None = None, operator: str = "", run_dir: str | None = None,
                 root: str | None = None):
        if mode not in ("plan", "apply"):
            raise ValueError("mode must be 'plan' or 'apply'")
        self.project = Project.find(root)
        self.kb = self.project.knowledge
        inv_path = Path(inventory) if inventory else self.project.sandbox_inventory
        self.inventory = load_inventory(inv_path)
        self.guide = self.kb.guides[guide or self.inventory.guide]
        self.lang = lang
        self.mode = mode
        self.node = self.inventory.node(node).name if node else self.inventory.nodes[0].name
        self.operator = operator or os.environ.get("RUNBOOK_OPERATOR") or os.environ.get("USER", "operator")
        self.run_dir = Path(run_dir) if run_dir else None
        self.run_id = self.run_dir.name if self.run_dir else new_run_id()
        self.records: list[StepRecord] = []
        self.waiting_at: str | None = None
        self.started = time.time()
        self.confirmed = self._load_confirmations()
        for s in confirm or []:
            self.confirmed.setdefault(s, {"how": "--confirm", "note": ""})
        if answers:
            data = yaml.safe_load(Path(answers).read_text(encoding="utf-8")) or {}
            for k, v in data.items():
                self.confirmed.setdefault(str(k), {"how": "answers file", "note": "" if v is None else str(v)})
        unknown = sorted(set(self.confirmed) - {s.id for s in self.guide.steps()})
        if unknown:
            raise KeyError(f"unknown step id to confirm: {unknown[0]}")

    # -- confirmations are kept per cluster and node, so a later run resumes after them ----------
    @property
    def _confirm_file(self) -> Path:
        return self.project.state / "confirmations" / f"{self.inventory.cluster}.{self.node}.{self.guide.id}.jsonl"

    def _load_confirmations(self) -> dict:
        out: dict = {}
        if self._confirm_file.exists():
            for line in self._confirm_file.read_text(encoding="utf-8").splitlines():
                rec = json.loads(line)
                out[rec["step"]] = {"how": f"earlier run {rec['run_id']}", "note": rec.get("note", "")}
        return out

    def _record_confirmation(self, step_id: str, how: str, note: str) -> None:
        self._confirm_file.parent.mkdir(parents=True, exist_ok=True)
        rec = {"step": step_id, "node": self.node, "operator": self.operator, "how": how, "note": note,
               "run_id": self.run_id, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        with self._confirm_file.open("a", encoding="utf-8") as f:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def L(self, label_id: str) -> str:
        return self.kb.label(label_id)(self.lang)

    # -- steps -------------------------------------------------------------------------------
    def step(self, step_id: str):
        step = self.guide.step(step_id)
        t0 = time.perf_counter()
        if self.waiting_at is not None:
            rec = StepRecord(step_id, step.mode, Status.SKIPPED, detail=f"waiting for operator at {self.waiting_at}")
            self.records.append(rec)
            return View(f"{step.label} {step.title(self.lang)}: skipped", [], [], rec.detail)
        if step.when and step.when not in self.guide.features_in_use():
            rec = StepRecord(step_id, step.mode, Status.SKIPPED, detail=f"feature '{step.when}' not used")
            self.records.append(rec)
            return View(f"{step.label} {step.title(self.lang)}: skipped", [], [], rec.detail)
        if step.mode == "manual":
            return self._gate(step, t0)
        return self._automated(step, t0)

    def _gate(self, step, t0):
        title = f"{step.label} {step.title(self.lang)}"
        if step.id in self.confirmed:
            c = self.confirmed[step.id]
            if not c["how"].startswith("earlier run"):
                self._record_confirmation(step.id, c["how"], c["note"])
            rec = StepRecord(step.id, "manual", "confirmed", seconds=time.perf_counter() - t0,
                             detail=f"{c['how']}{': ' + c['note'] if c['note'] else ''}")
            self.records.append(rec)
            return View(f"{title}: confirmed", ["operator", "how"], [[self.operator, rec.detail]])
        answer = self._ask(step)
        if answer is not None:
            self._record_confirmation(step.id, "interactive", answer)
            rec = StepRecord(step.id, "manual", "confirmed", seconds=time.perf_counter() - t0, detail="interactive")
            self.records.append(rec)
            return View(f"{title}: confirmed", ["operator", "note"], [[self.operator, answer]])
        self.waiting_at = step.id
        rec = StepRecord(step.id, "manual", WAITING, seconds=time.perf_counter() - t0,
                         detail=f"confirm with --confirm {step.id}")
        self.records.append(rec)
        return View(f"{title}: waiting for operator", [], [],
                    f"Run again with --confirm {step.id} (or an answers file) once the step is done.")

    def _ask(self, step) -> str | None:
        """In Jupyter with a person at the keyboard, ask; in a non-interactive run, never block."""
        if os.environ.get("RUNBOOK_NONINTERACTIVE") == "1":
            return None
        try:
            from IPython import get_ipython

            ip = get_ipython()
            if ip is None or not getattr(ip, "kernel", None) or not ip.kernel._allow_stdin:
                return None
            ans = input(f"{step.label} {step.title(self.lang)} — done? type 'yes' and a note: ")
        except Exception:  # StdinNotImplementedError and friends: nobody to ask
            return None
        return ans[3:].strip() or "yes" if ans.lower().startswith("yes") else None

    def _automated(self, step, t0):
        runner = Runner(self.project, self.inventory, guide_id=self.guide.id,
                        nodes=[self.node], steps=[step.id], run_id=self.run_id)
        report = runner.run(self.mode)
        results = report.results
        statuses = {r.status for r in results}
        status = next((s for s in (Status.UNREACHABLE, Status.ERROR, Status.PENDING, Status.CHANGED, Status.SKIPPED)
                       if s in statuses), Status.CONVERGED)
        changes = sum(r.changes for r in results)
        rows = []
        for r in results:
            for row in r.rows:
                rows.append([r.node, row.target, show(row.current), show(row.desired), row.status, row.message])
        msgs = "; ".join(r.message for r in results if r.message)
        rec = StepRecord(step.id, step.mode, status, changes=changes, seconds=time.perf_counter() - t0,
                         detail=msgs, rows=rows)
        self.records.append(rec)
        title = f"{step.label} {step.title(self.lang)}: {status} ({self.mode}, {changes} change(s))"
        return View(title, ["node", "target", "current", "desired", "status", "message"], rows, msgs)

    # -- summary -----------------------------------------------------------------------------
    def status(self) -> str:
        st = {r.status for r in self.records}
        if st & set(FAILED):
            return "failed"
        if self.waiting_at:
            return WAITING
        if self.mode == "plan" and Status.PENDING in st:
            return "pending"
        return "ok"

    def summary(self):
        data = {
            "run_id": self.run_id, "guide": self.guide.id, "node": self.node, "mode": self.mode,
            "lang": self.lang, "operator": self.operator, "status": self.status(),
            "waiting_at": self.waiting_at, "seconds": round(time.time() - self.started, 3),
            "steps": [{"step": r.step, "kind": r.kind, "status": r.status, "changes": r.changes,
                       "seconds": round(r.seconds, 3), "detail": r.detail} for r in self.records],
        }
        if self.run_dir:
            from runbook_engine.artifacts.files import write_atomic

            write_atomic(self.run_dir / "summary.json",
                         (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        rows = [[r.step, r.kind, r.status, str(r.changes), f"{r.seconds:.2f}s"] for r in self.records]
        return View(f"{self.guide.id} on {self.node}: {data['status']}", ["step", "kind", "status", "changes", "time"], rows)
