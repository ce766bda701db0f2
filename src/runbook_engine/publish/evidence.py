"""The evidence report (作業記録) of an executed run: who ran it, when, on which cluster and nodes,
with which guide, each step's result, the changes made (target, before → after), the operator's
confirmations of manual steps with their notes, and the rollbacks of the run, as HTML and PDF
(``runbook report RUN_ID``).

Everything comes from two records the engine keeps, and nothing else:

* the run's journal (``<state>/runs/<run id>/journal.jsonl``, engine/journal.py): its ``run``
  records (a notebook run writes one per automated step), ``cluster`` (the cluster check),
  ``intent`` / ``done`` (each change, before and after), ``result`` (each step on each target),
  ``bundle`` (an offline bundle's origin) and ``end``; and the journal of its rollback
  (``<run id>.rollback``);
* the confirmation files (``<state>/confirmations/*.jsonl``, engine/session.py): the lines whose
  ``run_id`` is this run.

The kb gives the texts only (the steps' titles, the labels in the report's language). The report
names each source file with its SHA-256, so a reader can tell the report matches the records. A
journal written before runs recorded their ``result`` records shows the steps from its intents.
"""
from __future__ import annotations

import datetime
import hashlib
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from runbook_engine.engine.journal import Journal, rollback_run_id
from runbook_engine.engine.report import show
from runbook_engine.model.schema import KnowledgeBase
from runbook_engine.publish.labels import label
from runbook_engine.publish.pdf import document, print_html
from runbook_engine.publish.progress import OnStage, Stage, unheard


class UnknownRun(LookupError):
    """No journal and no confirmation has this run id (``known``: the run ids there are)."""

    def __init__(self, run_id: str, known: list[str]):
        super().__init__(run_id)
        self.run_id, self.known = run_id, known


@dataclass
class RunEvidence:
    """What the records say about one run."""

    run_id: str
    journal: Path | None
    records: list[dict] = field(default_factory=list)
    confirmations: list[dict] = field(default_factory=list)
    confirmation_files: list[Path] = field(default_factory=list)
    rollback: list[dict] = field(default_factory=list)
    rollback_journal: Path | None = None

    # ---- what the records say --------------------------------------------------------------
    def of(self, event: str) -> list[dict]:
        return [r for r in self.records if r.get("event") == event]

    @property
    def head(self) -> dict:
        runs = self.of("run")
        return runs[0] if runs else {}

    @property
    def guide(self) -> str | None:
        return self.head.get("guide") or next((c.get("guide") for c in self.confirmations if c.get("guide")), None)

    @property
    def cluster(self) -> str | None:
        return self.head.get("cluster") or next((c["cluster"] for c in self.confirmations if c.get("cluster")), None)

    @property
    def operators(self) -> list[str]:
        names = [r.get("operator") for r in self.of("run")] + [c.get("operator") for c in self.confirmations]
        return list(dict.fromkeys(n for n in names if n))

    @property
    def nodes(self) -> list[str]:
        names = [n for r in self.of("run") for n in r.get("nodes", [])] + [c.get("node") for c in self.confirmations]
        return list(dict.fromkeys(n for n in names if n))

    @property
    def started(self) -> float | None:
        times = [r["t"] for r in self.records if "t" in r] + [_epoch(c.get("at")) for c in self.confirmations]
        times = [t for t in times if t is not None]
        return min(times) if times else None

    @property
    def ended(self) -> float | None:
        ends = self.of("end")
        times = [r["t"] for r in self.records if "t" in r] + [_epoch(c.get("at")) for c in self.confirmations]
        times = [t for t in times if t is not None]
        return max(times) if ends or not self.records else None

    @property
    def exit_code(self) -> int | None:
        ends = self.of("end")
        return max(e.get("exit_code", 0) for e in ends) if ends else None

    def changes(self) -> list[dict]:
        """Each change of the run: its intent, with what its ``done`` record says (None: no
        ``done`` record, the change may or may not have been made)."""
        done = {d.get("ref"): d for d in self.of("done")}
        return [{**i, "done": done.get(i.get("seq"))} for i in self.of("intent")]

    def results(self) -> list[dict]:
        """Each step's result on each target: the ``result`` records, or for an older journal
        one per step and node of its changes."""
        found = self.of("result")
        if found or not self.of("intent"):
            return found
        out: dict[tuple, dict] = {}
        for c in self.changes():
            key = (c.get("step"), c.get("node"))
            r = out.setdefault(key, {"step": c.get("step"), "node": c.get("node"), "action": c.get("action"),
                                     "status": "changed", "changes": 0, "message": "", "rows": []})
            r["changes"] += 1
            if not (c["done"] or {}).get("ok"):
                r["status"] = "error"
        return list(out.values())


def _epoch(at: str | None) -> float | None:
    if not at:
        return None
    try:
        return datetime.datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return None


def _confirmations(state: Path) -> dict[str, list[tuple[Path, dict]]]:
    """Every confirmation line of *state*, by run id (a torn line is skipped)."""
    out: dict[str, list[tuple[Path, dict]]] = {}
    folder = Path(state) / "confirmations"
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and rec.get("run_id"):
                # the file's name says the cluster and the guide: <cluster>.<node>.<guide>.jsonl
                parts = path.stem.split(".")
                if len(parts) == 3:
                    rec = {"cluster": parts[0], "guide": parts[2], **rec}
                out.setdefault(rec["run_id"], []).append((path, rec))
    return out


def known_runs(state: Path) -> list[str]:
    """The run ids a report can be made of, newest first: runs with a journal, and runs whose
    manual steps were confirmed (a plan-mode notebook run journals no change)."""
    runs = Path(state) / "runs"
    ids = {d.name for d in runs.iterdir() if (d / "journal.jsonl").is_file() and not d.name.endswith(".rollback")} \
        if runs.is_dir() else set()
    ids |= set(_confirmations(state))
    return sorted(ids, reverse=True)


def read_evidence(state: Path, run_id: str) -> RunEvidence:
    """The records of *run_id* in *state* (UnknownRun when there are none)."""
    state = Path(state)
    journal = state / "runs" / run_id / "journal.jsonl"
    confirmed = _confirmations(state).get(run_id, [])
    if not journal.is_file() and not confirmed:
        raise UnknownRun(run_id, known_runs(state))
    ev = RunEvidence(run_id, journal if journal.is_file() else None)
    if ev.journal is not None:
        ev.records = Journal.read(state, run_id)
    ev.confirmations = [rec for _, rec in confirmed]
    ev.confirmation_files = sorted({p for p, _ in confirmed})
    rb = state / "runs" / rollback_run_id(run_id) / "journal.jsonl"
    if rb.is_file():
        ev.rollback, ev.rollback_journal = Journal.read(state, rollback_run_id(run_id)), rb
    return ev


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def _when(t: float | None) -> str:
    if t is None:
        return "—"
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="rb-record {cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _code(value) -> str:
    return f"<code>{html.escape(show(value))}</code>" if value not in (None, "") else "—"


class EvidenceReport:
    """The report of one run in one language (HTML; publish/pdf.py prints it)."""

    def __init__(self, kb: KnowledgeBase, ev: RunEvidence, lang: str):
        self.kb, self.ev, self.lang = kb, ev, lang
        self.guide = kb.guides.get(ev.guide) if ev.guide else None

    def L(self, label_id: str, **fmt: str) -> str:
        text = label(self.kb, label_id)(self.lang)
        return text.format(**fmt) if fmt else text

    def E(self, label_id: str, **fmt: str) -> str:
        return html.escape(self.L(label_id, **fmt))

    def step(self, step_id: str | None) -> str:
        """A step as the procedure titles it ("3-1. …"), or its id when the guide has no such step."""
        if self.guide is not None and step_id:
            for s in self.guide.steps():
                if s.id == step_id:
                    return html.escape(f"{s.label}. {s.title(self.lang)}")
        return html.escape(step_id or "—")

    def status(self, value: str | None) -> str:
        key = f"record-status-{value}"
        if value and key in self.kb.site.labels:
            return self.E(key)
        return html.escape(value or "—")

    @property
    def title(self) -> str:
        return self.L("record-title", run=self.ev.run_id)

    # ---- sections --------------------------------------------------------------------------
    def summary(self) -> str:
        ev = self.ev
        started, ended = ev.started, ev.ended
        took = f" ({ended - started:.1f} s)" if started is not None and ended is not None else ""
        guide = (f"{html.escape(self.guide.meta.title(self.lang))} (<code>{html.escape(self.guide.id)}</code>)"
                 if self.guide else html.escape(ev.guide or "—"))
        modes = sorted({r.get("mode", "?") for r in ev.of("run")})
        if ev.exit_code is None:
            outcome = self.E("record-no-end") if ev.records else self.E("record-no-journal")
        else:
            outcome = self.E("record-exit-ok" if ev.exit_code == 0 else "record-exit-failed", code=str(ev.exit_code))
        rows = [
            (self.E("record-run-id"), f"<code>{html.escape(ev.run_id)}</code>"),
            (self.E("record-operator"), html.escape(", ".join(ev.operators)) or self.E("record-not-recorded")),
            (self.E("record-started"), _when(started)),
            (self.E("record-ended"), _when(ended) + took),
            (self.E("record-cluster"), html.escape(ev.cluster or "—")),
            (self.E("record-guide"), guide),
            (self.E("record-mode"), html.escape(", ".join(modes)) or "—"),
            (self.E("record-nodes"), html.escape(", ".join(ev.nodes)) or "—"),
            (self.E("record-outcome"), outcome),
        ]
        bundles = ev.of("bundle")
        if bundles:
            rows.append((self.E("record-bundle"), "<br>".join(
                html.escape(f"{b.get('kind')} {b.get('id')} ({b.get('node')}, {b.get('computer')})") for b in bundles)))
        refused = [c for c in ev.of("cluster") if c.get("refused")]
        if refused:
            rows.append((self.E("record-refused"), "<br>".join(html.escape(str(c["refused"])) for c in refused)))
        body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        return f'<table class="rb-record rb-summary"><tbody>{body}</tbody></table>'

    def steps(self) -> str:
        results = self.ev.results()
        if not results:
            return f"<p>{self.E('record-no-results')}</p>"
        rows = []
        for r in results:
            read = "<br>".join(self._row(x) for x in r.get("rows", []))
            rows.append([self.step(r.get("step")), html.escape(r.get("node") or "—"),
                         f"<code>{html.escape(r.get('action') or '—')}</code>", self.status(r.get("status")),
                         str(r.get("changes", 0)), html.escape(r.get("message") or "") or "—", read or "—"])
        return _table([self.E("record-step"), self.E("record-node"), self.E("record-action"), self.E("record-status"),
                       self.E("record-changes"), self.E("record-message"), self.E("record-read")], rows, "rb-steps")

    def _row(self, x: dict) -> str:
        """One row a step read: its value (a changed row: the value before → the one wanted), its
        status and message."""
        value = _code(x.get("current"))
        if x.get("status") in ("changed", "change"):
            value = f"{_code(x.get('current'))} → {_code(x.get('desired'))}"
        return (f"{html.escape(str(x.get('target')))}: {value} ({self.status(x.get('status'))})"
                + (f" — {html.escape(x['message'])}" if x.get("message") else ""))

    def changes(self) -> str:
        changes = self.ev.changes()
        if not changes:
            return f"<p>{self.E('record-no-changes')}</p>"
        rows = []
        for c in changes:
            done = c["done"]
            if done is None:
                result = self.E("record-change-unknown")
            else:
                result = self.E("record-change-ok") if done.get("ok") else self.E("record-change-failed")
            after = done.get("after") if done else None
            rows.append([html.escape(c.get("node") or "—"), self.step(c.get("step")),
                         f"<code>{html.escape(str(c.get('target')))}</code>",
                         f"{_code(c.get('current'))} → {_code(c.get('desired'))}",
                         _code(after) if done else "—", result, _when(c.get("t"))])
        return _table([self.E("record-node"), self.E("record-step"), self.E("record-target"),
                       self.E("record-before-after"), self.E("record-read-after"), self.E("record-result"),
                       self.E("record-time")], rows, "rb-changes")

    def confirmations(self) -> str:
        if not self.ev.confirmations:
            return f"<p>{self.E('record-no-confirmations')}</p>"
        rows = [[self.step(c.get("step")), html.escape(c.get("node") or "—"), html.escape(c.get("operator") or "—"),
                 html.escape(c.get("how") or "—"), html.escape(c.get("note") or "") or "—", html.escape(c.get("at") or "—")]
                for c in self.ev.confirmations]
        return _table([self.E("record-step"), self.E("record-node"), self.E("record-operator"), self.E("record-how"),
                       self.E("record-note"), self.E("record-time")], rows, "rb-confirmations")

    def rollbacks(self) -> str:
        rb = self.ev.rollback
        if not rb:
            return f"<p>{self.E('record-no-rollback')}</p>"
        head = next((r for r in rb if r.get("event") == "rollback"), {})
        intro = self.E("record-rollback-intro", when=_when(head.get("t")), intents=str(head.get("intents", 0)))
        rows = [[html.escape(r.get("node") or "—"), self.status(r.get("status")), html.escape(r.get("message") or "") or "—",
                 _when(r.get("t"))] for r in rb if r.get("event") == "restored"]
        return f"<p>{intro}</p>" + _table([self.E("record-node"), self.E("record-status"), self.E("record-message"),
                                           self.E("record-time")], rows, "rb-rollbacks")

    def sources(self) -> str:
        files = ([self.ev.journal] if self.ev.journal else []) + list(self.ev.confirmation_files)
        files += [self.ev.rollback_journal] if self.ev.rollback_journal else []
        items = "".join(f"<li><code>{html.escape(str(p))}</code><br>SHA-256 <code>{_sha256(p)}</code></li>" for p in files)
        return f"<p>{self.E('record-sources-intro')}</p><ul>{items}</ul>"

    def body(self) -> str:
        parts = [f'<h1>{self.E("record-heading")}</h1>', self.summary()]
        for heading, section in (("record-steps", self.steps), ("record-changes-made", self.changes),
                                 ("record-confirmations", self.confirmations), ("record-rollbacks", self.rollbacks),
                                 ("record-sources", self.sources)):
            parts.append(f'<h2>{self.E(heading)}</h2>{section()}')
        return "".join(parts)


#: the report's own look (tables with rules, on screen and on paper)
REPORT_CSS = """
.rb-report table.rb-record { border-collapse: collapse; width: 100%; margin: 0.5em 0 1.2em; font-size: 8.5pt; }
.rb-report table.rb-record th, .rb-report table.rb-record td { border: 1px solid #bbb; padding: 3px 6px;
  text-align: left; vertical-align: top; overflow-wrap: break-word; }
.rb-report table.rb-record th { word-break: keep-all; }
.rb-report table.rb-record thead th { background: #e8eaf6; }
.rb-report table.rb-summary th { width: 11em; background: #f5f5f5; }
.rb-report h1 { font-size: 18pt; color: #1a237e; margin: 0 0 0.6em; }
.rb-report h2 { font-size: 13pt; color: #1a237e; margin: 1.2em 0 0.4em; break-after: avoid; }
.rb-report code { font-size: 0.95em; background: #f5f5f5; padding: 0 2px; }
.rb-report tr { break-inside: avoid; }
"""


@dataclass(frozen=True)
class Written:
    html: Path
    pdf: Path
    pages: int
    seconds: float


def write_report(kb: KnowledgeBase, state: Path, run_id: str, lang: str, out: Path,
                 on_stage: OnStage = unheard) -> Written:
    """The report of *run_id* in *lang* as ``report.<lang>.html`` and ``report.<lang>.pdf`` in the
    folder *out* (each written atomically). UnknownRun when *state* has no record of the run.
    *on_stage* hears ``print`` before Chromium prints it (publish/progress.py)."""
    report = EvidenceReport(kb, read_evidence(state, run_id), lang)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    def make(_numbers):
        return document(lang=lang, title=report.title, header=report.title, cover="", contents_title=None,
                        body=f'<div class="rb-report">{report.body()}</div>', extra_css=REPORT_CSS)

    html_path, pdf_path = out / f"report.{lang}.html", out / f"report.{lang}.pdf"
    on_stage(Stage("print", lang))
    pages, seconds = print_html(make, html_path, pdf_path)
    return Written(html_path, pdf_path, pages, seconds)
