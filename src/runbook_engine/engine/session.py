"""The API that runbook notebook cells call: one Session per notebook run on one node.

``rb.step(step_id)`` plans (default) or applies an automated step on the node and shows the result;
a manual step is a gate: it passes when the operator confirmed it (``--confirm STEP_ID``, an answers
file, an earlier confirmation of this node, or an answer typed in an interactive Jupyter session).

The first manual step nobody confirmed is where the run waits for an operator (status
``waiting``, exit code 3). A dry run (``plan``) changes nothing, so it goes on past it: every
engine step after it is planned as usual and every later manual step shows as ``pending`` (on
hold), so that one run shows the whole procedure. An ``apply`` stops there: the steps after it
are skipped and say why. Confirmations are recorded only for the steps a run reached (before the
step it waits at). ``rb.summary()`` shows the table of every step and writes the JSON summary of
the run next to the executed notebook.

Every text shown is in the run's language (engine/messages.py: the labels of kb/site.yaml), the
same texts `runbook run` prints. Each step's output also carries its record as JSON
(:data:`RECORD_MIME`), which `runbook run` reads as each cell finishes to show progress.

Nothing secret passes through here: credentials stay in the environment of the transports.
"""
from __future__ import annotations

import html
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from runbook_engine.engine.actions import step_scope
from runbook_engine.engine.inventory import load_inventory
from runbook_engine.engine.journal import new_run_id, operator_name
from runbook_engine.engine.messages import EARLIER, Messages, plain
from runbook_engine.engine.report import show
from runbook_engine.engine.runner import Runner
from runbook_engine.engine.status import FAILED, Status
from runbook_engine.model.project import Project

WAITING = "waiting"
CONFIRMED = "confirmed"
PENDING = "pending"  # an automated step with changes to make (plan), or a manual step on hold
#: the MIME type of a step's record in its cell's output (read by publish/execute.py)
RECORD_MIME = "application/vnd.runbook.step+json"


@dataclass
class StepRecord:
    step: str
    label: str
    title: str
    kind: str  # the step's mode: manual | automated | check
    status: str  # confirmed | waiting | pending | converged | changed | error | unreachable | skipped
    changes: int = 0
    seconds: float = 0.0
    detail: str = ""
    instructions: list[str] = field(default_factory=list)  # a manual step's text, items and notes
    rows: list = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        del d["rows"]
        return d


class Code(str):
    """A table cell shown as code (an identifier or a value read from a node)."""


_CODE_SPAN = re.compile(r"`([^`]+)`")


def _html(text: str) -> str:
    """*text* as HTML: escaped, its code spans as <code>."""
    if isinstance(text, Code):
        return f"<code>{html.escape(text)}</code>"
    return _CODE_SPAN.sub(lambda m: f"<code>{m[1]}</code>", html.escape(text))


class View:
    """A result that shows as an HTML table in Jupyter and as plain text elsewhere; *record* (a
    step's) rides along as JSON for `runbook run`."""

    def __init__(self, title: str, headers: list[str], rows: list[list[str]], note: str = "",
                 record: dict | None = None):
        self.title, self.headers, self.rows, self.note, self.record = title, headers, rows, note, record

    def __repr__(self) -> str:
        lines = [plain(self.title)]
        for r in self.rows:
            lines.append("  " + " | ".join(plain(c) for c in r))
        if self.note:
            lines.append(plain(self.note))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        out = f"<p><strong>{_html(self.title)}</strong></p>"
        if self.rows:
            head = "".join(f"<th>{_html(h)}</th>" for h in self.headers)
            body = "".join("<tr>" + "".join(f"<td>{_html(c)}</td>" for c in r) + "</tr>" for r in self.rows)
            out += f"<table>{'<thead><tr>' + head + '</tr></thead>' if head else ''}<tbody>{body}</tbody></table>"
        if self.note:
            out += f"<p>{_html(self.note)}</p>"
        return out

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {"text/plain": repr(self), "text/html": self._repr_html_()}
        if self.record is not None:
            bundle[RECORD_MIME] = self.record
        return bundle


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
        self.say = Messages(self.kb, lang)
        self.mode = mode
        self.node = self.inventory.node(node).name if node else self.inventory.nodes[0].name
        self.operator = operator_name(operator)
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
                out[rec["step"]] = {"how": f"{EARLIER}{rec['run_id']}", "note": rec.get("note", "")}
        return out

    def _record_confirmation(self, step_id: str, how: str, note: str) -> None:
        self._confirm_file.parent.mkdir(parents=True, exist_ok=True)
        rec = {"step": step_id, "node": self.node, "operator": self.operator, "how": how, "note": note,
               "run_id": self.run_id, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        with self._confirm_file.open("a", encoding="utf-8") as f:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def L(self, label_id: str, **fields) -> str:
        return self.say.L(label_id, **fields)

    # -- the opening -------------------------------------------------------------------------
    def opening(self) -> View:
        """What this run is: guide, node, mode, operator, run id."""
        rows = [[self.L("guide"), Code(self.guide.id)], [self.L("col-node"), Code(self.node)],
                [self.L("col-run-mode"), self.say.run_mode(self.mode)], [self.L("col-operator"), self.operator],
                [self.L("col-run-id"), Code(self.run_id)]]
        return View(self.L("run-opening", node=self.node), [], rows)

    # -- steps -------------------------------------------------------------------------------
    def step(self, step_id: str) -> View:
        step = self.guide.step(step_id)
        t0 = time.perf_counter()
        if step.when and step.when not in self.guide.features_in_use():
            return self._show(self._record(step, Status.SKIPPED, t0, detail=self.L(
                "run-feature-unused", feature=self._feature(step.when))))
        if self.waiting_at is not None and self.mode == "apply":
            # nothing after a manual step that waits is applied (it may need what the operator does)
            return self._show(self._record(step, Status.SKIPPED, t0, detail=self.L(
                "run-apply-stopped", label=self.guide.step(self.waiting_at).label)))
        if step.mode == "manual":
            return self._gate(step, t0)
        return self._automated(step, t0)

    def _feature(self, feature_id: str) -> str:
        return next((f.name(self.lang) for f in self.guide.meta.features if f.id == feature_id), feature_id)

    def instructions(self, step) -> list[str]:
        """A manual step's instructions in the run's language: its text, its items, its notes."""
        out = [step.text(self.lang)] + [f"- {sub.text(self.lang)}" for sub in step.substeps]
        out += [f"{self.L('nb-note-' + n.kind)}: {n.text(self.lang)}" for n in step.notes]
        return out

    def _record(self, step, status: str, t0: float, **kw) -> StepRecord:
        rec = StepRecord(step.id, step.label, step.title(self.lang), step.mode, str(status),
                         seconds=time.perf_counter() - t0, **kw)
        self.records.append(rec)
        return rec

    def _show(self, rec: StepRecord, headers: list[str] | None = None, rows: list | None = None) -> View:
        data = rec.as_dict()
        return View(heading(self.say, data), headers or [], rows or [], rec.detail, record=data)

    def _gate(self, step, t0) -> View:
        c = self.confirmed.get(step.id)
        earlier = c is not None and c["how"].startswith(EARLIER)
        if c is not None and (self.waiting_at is None or earlier):
            if not earlier:
                self._record_confirmation(step.id, c["how"], c["note"])
            rec = self._record(step, CONFIRMED, t0, detail=self.say.how(c["how"]) + (f": {c['note']}" if c["note"] else ""))
            return self._show(rec, [self.L("col-operator"), self.L("col-confirmed-how"), self.L("col-note")],
                              [[self.operator, self.say.how(c["how"]), c["note"]]])
        if self.waiting_at is not None:  # a dry run past the step it waits at: on hold
            detail = self.L("run-on-hold", label=self.guide.step(self.waiting_at).label)
            if c is not None:
                detail += " " + self.L("run-on-hold-answered")
            return self._show(self._record(step, PENDING, t0, detail=detail, instructions=self.instructions(step)))
        answer = self._ask(step)
        if answer is not None:
            self._record_confirmation(step.id, "interactive", answer)
            rec = self._record(step, CONFIRMED, t0, detail=self.say.how("interactive") + f": {answer}")
            return self._show(rec, [self.L("col-operator"), self.L("col-note")], [[self.operator, answer]])
        self.waiting_at = step.id
        return self._show(self._record(step, WAITING, t0, detail=self.L("run-waiting-hint", step=step.id),
                                       instructions=self.instructions(step)))

    def _ask(self, step) -> str | None:
        """In Jupyter with a person at the keyboard, ask; in a non-interactive run, never block."""
        if os.environ.get("RUNBOOK_NONINTERACTIVE") == "1":
            return None
        try:
            from IPython import get_ipython

            ip = get_ipython()
            if ip is None or not getattr(ip, "kernel", None) or not ip.kernel._allow_stdin:
                return None
            ans = input(self.L("run-ask", step=f"{step.label} {step.title(self.lang)}") + ": ")
        except Exception:  # StdinNotImplementedError and friends: nobody to ask
            return None
        return ans[3:].strip() or "yes" if ans.lower().startswith("yes") else None

    def _automated(self, step, t0) -> View:
        runner = Runner(self.project, self.inventory, guide_id=self.guide.id,
                        nodes=[self.node], steps=[step.id], run_id=self.run_id, operator=self.operator)
        report = runner.run(self.mode)
        results = report.results
        statuses = {r.status for r in results}
        status = next((s for s in (Status.UNREACHABLE, Status.ERROR, Status.PENDING, Status.CHANGED, Status.SKIPPED)
                       if s in statuses), Status.CONVERGED)
        changes = sum(r.changes for r in results)
        rows = []
        for r in results:
            for row in r.rows:
                rows.append([Code(r.node), Code(row.target), Code(show(row.current)), Code(show(row.desired)),
                             self.say.row_status(row.status), self.say.row_message(row)])
        if status == Status.SKIPPED:  # the step has no target among this run's nodes
            msgs = self.L(f"scope-none-{step_scope(step).name}", node=self._scope_node(step))
        else:
            msgs = "; ".join(self.say.text(r.said) if r.said else r.message for r in results if r.message)
        rec = self._record(step, status, t0, changes=changes, detail=msgs, rows=rows)
        headers = [self.L(h) for h in ("col-node", "col-target", "col-current", "col-desired", "col-status", "col-message")]
        return self._show(rec, headers, rows)

    def _scope_node(self, step) -> str:
        """The node a single-node step runs on (the configuration node or the first node)."""
        if step_scope(step).name == "configuration":
            return self.inventory.configuration_node
        return self.inventory.nodes[0].name

    # -- summary -----------------------------------------------------------------------------
    def status(self) -> str:
        """failed: a step before the one the run waits at failed, or a node could not be reached
        at all; waiting; pending: a dry run with changes to make; else ok. A dry run's engine
        steps after the step it waits at may fail for want of the operator's work: they are
        shown, and leave the run waiting."""
        reached = self.records
        if self.waiting_at is not None:
            reached = self.records[:next(i for i, r in enumerate(self.records) if r.step == self.waiting_at)]
        if any(r.status in FAILED for r in reached) or any(r.status == Status.UNREACHABLE for r in self.records):
            return "failed"
        if self.waiting_at:
            return WAITING
        if self.mode == "plan" and any(r.status == Status.PENDING and r.kind != "manual" for r in self.records):
            return "pending"
        return "ok"

    def data(self) -> dict:
        """The run's summary (what summary.json holds)."""
        return {
            "run_id": self.run_id, "guide": self.guide.id, "node": self.node, "mode": self.mode,
            "lang": self.lang, "operator": self.operator, "status": self.status(),
            "waiting_at": self.waiting_at, "seconds": round(time.time() - self.started, 3),
            "steps": [r.as_dict() for r in self.records],
        }

    def summary(self) -> View:
        data = self.data()
        if self.run_dir:
            from runbook_engine.artifacts.files import write_atomic

            write_atomic(self.run_dir / "summary.json",
                         (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        headers, rows = summary_table(self.say, data)
        title = self.L("run-summary-title", node=self.node, status=self.say.run_status(data["status"]))
        return View(title, headers, rows, outcome(self.say, data))


def heading(say: Messages, rec: dict) -> str:
    """A step's result in one line (its record as a dict): label, title, status and, for an
    engine step, its changes. The notebook's output and `runbook run` show the same."""
    status = say.status(rec["status"], rec["kind"])
    if rec["kind"] == "manual" or rec["status"] == Status.SKIPPED:
        return f"{rec['label']} {rec['title']}: {status}"
    return f"{rec['label']} {rec['title']}: {status} ({say.L('run-step-changes', n=rec['changes'])})"


def summary_table(say: Messages, data: dict) -> tuple[list[str], list[list[str]]]:
    """The table that ends a run, in the notebook and in the terminal: step, title, mode,
    status, changes, time."""
    headers = [say.L("step"), say.L("col-title"), say.L("mode"), say.L("col-status"), say.L("col-changes"),
               say.L("col-time")]
    rows = [[s["label"], s["title"], say.step_mode(s["kind"]), say.status(s["status"], s["kind"]),
             str(s["changes"]) if s["kind"] != "manual" else "-", say.seconds(s["seconds"])]
            for s in data["steps"]]
    return headers, rows


def outcome(say: Messages, data: dict) -> str:
    """The run's outcome in one line: where it waits for an operator (exit code 3), the step that
    failed or why the notebook stopped (1), what a dry run would change or an apply changed (0)."""
    steps = {s["step"]: s for s in data.get("steps", [])}
    if data.get("error"):
        return say.L("run-outcome-broken", error=data["error"])
    if data["status"] == "failed":
        bad = next((s for s in data["steps"] if s["status"] in FAILED), None)
        if bad is not None:
            return say.L("run-outcome-failed", label=bad["label"], title=bad["title"], step=bad["step"])
        return say.L("run-outcome-broken", error=say.run_status("failed"))
    if data["status"] == WAITING:
        s = steps[data["waiting_at"]]
        return say.L("run-outcome-waiting", label=s["label"], title=s["title"], step=s["step"])
    changes = sum(s["changes"] for s in data["steps"])
    if data["mode"] == "apply":
        return say.L("run-outcome-applied", n=changes)
    return say.L("run-outcome-planned", n=changes) if changes else say.L("run-outcome-nothing")
