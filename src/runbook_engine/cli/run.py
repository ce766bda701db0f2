"""`runbook run`: a guide's runbook notebook on one node, with an audit record; `runbook answers`:
an example answers file for a guide."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from runbook_engine.cli.arguments import (default_lang, inventory_path, known_guide, known_nodes, lang_option,
                                          manual_steps)
from runbook_engine.cli.base import EXIT_OK, fail_input, project_of
from runbook_engine.cli.display import Display
from runbook_engine.engine.messages import Messages
from runbook_engine.model.errors import KbInvalid

RUN_EPILOG = """\
manual steps:
  A manual step is the operator's work: the engine cannot see it done, so the operator
  confirms it. A dry run (the default) changes nothing and goes on past a manual step
  nobody confirmed: it plans every engine step, shows the first unconfirmed manual step
  as waiting and the later ones as pending, with their instructions, and ends with a
  table of every step (exit code 3 while a manual step waits). An apply (--apply) stops
  at the first unconfirmed manual step: nothing after it is applied.

  --confirm STEP_ID   confirm one manual step (repeatable)
  --answers FILE      confirm several from a YAML file, each a step id and a note:
                        STEP_ID: "what was done, and by whom"
                        ANOTHER_STEP_ID: "done on both nodes (T. Sato)"
  Confirmations are recorded per node in the state folder (confirmations/), with the
  operator and the time: a later run resumes after them. A confirmation is recorded only
  once a run reaches its step (not past a step that still waits).

example:
  runbook answers GUIDE > answers.yaml       # every manual step, each line commented out
  # uncomment the steps you have done and write what you did, then:
  runbook run GUIDE --node NODE --answers answers.yaml           # dry run: see every step
  runbook run GUIDE --node NODE --answers answers.yaml --apply   # apply, up to the next wait
  runbook run GUIDE --node NODE --apply --confirm STEP_ID        # one more step confirmed

exit codes: 0 done (or a dry run), 1 a step failed, 2 bad input, 3 waiting for an operator
"""


def answers_errors(path: str, guide, say: Messages) -> list:
    """An answers file is a mapping of the guide's manual step ids to a note (or nothing), read
    as safely as kb/; anything else is one located line (in *say*'s language)."""
    from runbook_engine.model.errors import KbError
    from runbook_engine.model.yamlio import locate, read_yaml

    p = Path(path)
    raw = read_yaml(p, p.parent, confine=False)
    if raw is None:
        return []
    if not isinstance(raw, dict):
        what = say.L("answers-not-a-list" if isinstance(raw, list) else "answers-not-a-value")
        return [KbError(str(p), 1, say.L("answers-not-a-mapping", what=what))]
    manual = {s.id for s in guide.steps() if s.mode == "manual"}
    errs = []
    for k, v in raw.items():
        if k not in manual:
            errs.append(KbError(str(p), locate(raw, (k,)), say.L("answers-not-manual", step=k, guide=guide.id)))
        elif v is not None and not isinstance(v, str):
            errs.append(KbError(str(p), locate(raw, (k,)), say.L("answers-note-not-text", step=k)))
    return errs


def cmd_run(args) -> int:
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.publish.execute import RunRequest, run_notebook

    project = project_of(args)
    try:
        kb = project.knowledge
        guide = known_guide(kb, args.guide)
        inv_path = inventory_path(project, args.inventory)
        inv = load_inventory(inv_path)
        known_nodes(inv, [args.node], inv_path)
        manual_steps(guide, args.confirm)
        errs = answers_errors(args.answers, guide, Messages(kb, args.lang)) if args.answers else []
        if errs:
            return fail_input(errs)
    except KbInvalid as exc:
        return fail_input(exc.errors)
    req = RunRequest(guide=args.guide, node=args.node, lang=args.lang, mode="apply" if args.apply else "plan",
                     inventory=str(inv_path.resolve()), confirm=list(args.confirm or []),
                     answers=args.answers, operator=args.operator or "")
    say = Messages(kb, args.lang)
    with Display(quiet=args.json) as display:
        def started(run_id: str, steps: int) -> None:
            display.start(f"{guide.id} / {args.node}", steps)

        def step_done(rec: dict) -> None:
            for line in step_lines(say, rec):
                display.line(line)
            display.advance(f"{rec['label']} {rec['title']}")

        try:
            summary = run_notebook(project, req, on_step=step_done, on_start=started)
        except KbInvalid as exc:
            display.stop()
            return fail_input(exc.errors)
        display.stop()
        if args.json:
            print(json.dumps({k: summary.get(k) for k in SUMMARY_KEYS}, ensure_ascii=False, indent=2))
        else:
            show_summary(display, say, summary)
    return summary["exit_code"]


#: what `runbook run --json` prints of the run's summary
SUMMARY_KEYS = ("run_id", "status", "exit_code", "waiting_at", "error", "notebook", "summary_path")


def step_lines(say, rec: dict) -> list[str]:
    """A step's result as it comes, for a person at a terminal: the line the notebook shows
    (engine/session.py: heading), then, for a manual step nobody confirmed, its instructions,
    and what the run says about it."""
    from runbook_engine.engine.messages import plain
    from runbook_engine.engine.session import heading

    lines = [plain(f"{heading(say, rec)}  [{say.step_mode(rec['kind'])}]")]
    for text in rec.get("instructions") or []:
        lines += ["    " + plain(t) for t in text.splitlines() if t.strip()]
    if rec.get("detail"):
        lines.append("    " + plain(rec["detail"]))
    return lines


def show_summary(display: Display, say, summary: dict) -> None:
    """The table of every step, where the record is, and the outcome in one line (last)."""
    from runbook_engine.engine.messages import plain
    from runbook_engine.engine.session import outcome, summary_table

    if summary.get("steps"):
        headers, rows = summary_table(say, summary)
        title = say.L("run-summary-title", node=summary.get("node", ""), status=say.run_status(summary["status"]))
        display.line()
        display.table(headers, rows, plain(title))
    display.line(plain(say.L("run-notebook-path", path=summary["notebook"])))
    display.line(plain(say.L("run-summary-path", path=summary["summary_path"])))
    display.line(plain(outcome(say, summary)))


def answers_text(kb, guide, lang: str) -> str:
    """An example answers file for *guide*: every manual step id in the guide's order, each line
    commented out with a placeholder note, the step's title in both languages above it (and the
    feature it depends on). As written it confirms nothing: the operator uncomments a step once
    it is done."""
    from runbook_engine.engine.messages import Messages, plain
    from runbook_engine.model.rules import LANGS as langs

    say = Messages(kb, lang)
    features = {f.id: f.name for f in guide.meta.features}
    lines = [f"# {plain(say.L('answers-head', guide=guide.id))}", f"# {plain(say.L('answers-use', guide=guide.id))}"]
    placeholder = json.dumps(say.L("answers-placeholder"), ensure_ascii=False)
    for phase in guide.procedure.phases:
        manual = [s for s in phase.steps if s.mode == "manual"]
        if not manual:
            continue
        lines += ["", "# == (" + phase.label + ") " + " / ".join(phase.title(x) for x in langs)]
        for step in manual:
            lines.append(f"# {step.label} " + " / ".join(step.title(x) for x in langs))
            if step.when:
                lines.append("#   (" + say.L("answers-when", feature=features[step.when](lang)) + ")")
            lines.append(f"# {step.id}: {placeholder}")
    return "\n".join(lines) + "\n"


def cmd_answers(args) -> int:
    project = project_of(args)
    try:
        kb = project.knowledge
    except KbInvalid as exc:
        return fail_input(exc.errors)
    guide = known_guide(kb, args.guide)
    print(answers_text(kb, guide, args.lang), end="")
    return EXIT_OK


def register(sub) -> None:
    rn = sub.add_parser("run", help="run a guide's runbook notebook on a node with nbclient (a dry run unless --apply)",
                        epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    rn.add_argument("guide", help="guide id")
    rn.add_argument("--node", required=True, help="node name in the inventory")
    lang_option(rn, default_lang(), "notebook and output language (default: from the locale, LC_ALL, LC_MESSAGES or "
                                    "LANG: ja for a Japanese or a C locale, en for any other)")
    rn.add_argument("--apply", action="store_true",
                    help="apply changes, up to the first manual step nobody confirmed (default: a dry run of every step)")
    rn.add_argument("--confirm", action="append", metavar="STEP_ID",
                    help="confirm a manual step as done: the run records it and passes it (repeatable; see below)")
    rn.add_argument("--answers", metavar="FILE",
                    help="YAML file {step_id: note} confirming manual steps (`runbook answers GUIDE` writes an example)")
    rn.add_argument("--operator", default=None,
                    help="who runs it, for the record (default: $RUNBOOK_OPERATOR, else the OS user)")
    rn.add_argument("--inventory", "-i", help="inventory YAML (default: the sandbox's)")
    rn.add_argument("--json", action="store_true", help="print the run's outcome as JSON (" + ", ".join(SUMMARY_KEYS) + ")")
    rn.set_defaults(func=cmd_run)

    an = sub.add_parser("answers", help="print an example answers file for a guide: every manual step, commented out",
                        epilog="example: runbook answers GUIDE > answers.yaml  (then uncomment the steps done; "
                               "runbook run GUIDE --node NODE --answers answers.yaml)")
    an.add_argument("guide", help="guide id")
    lang_option(an, default_lang())
    an.set_defaults(func=cmd_answers)
