"""`runbook run`: a guide's runbook notebook on one node, with an audit record."""
from __future__ import annotations

import json
import os
from pathlib import Path

from runbook_engine.cli.arguments import default_lang, inventory_path, known_guide, known_nodes, manual_steps
from runbook_engine.cli.base import fail_input, project_of
from runbook_engine.model.errors import KbInvalid
from runbook_engine.model.rules import LANGS


def answers_errors(path: str, guide) -> list:
    """An answers file is a mapping of the guide's manual step ids to a note (or nothing), read
    as safely as kb/; anything else is one located line."""
    from runbook_engine.model.errors import KbError
    from runbook_engine.model.yamlio import locate, read_yaml

    p = Path(path)
    raw = read_yaml(p, p.parent, confine=False)
    if raw is None:
        return []
    if not isinstance(raw, dict):
        what = "a list" if isinstance(raw, list) else "a single value"
        return [KbError(str(p), 1, f"an answers file maps step ids to notes ({{step id: note}}), not {what}")]
    manual = {s.id for s in guide.steps() if s.mode == "manual"}
    errs = []
    for k, v in raw.items():
        if k not in manual:
            errs.append(KbError(str(p), locate(raw, (k,)), f"{k}: not a manual step of guide '{guide.id}'"))
        elif v is not None and not isinstance(v, str):
            errs.append(KbError(str(p), locate(raw, (k,)), f"{k}: the note must be text"))
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
        errs = answers_errors(args.answers, guide) if args.answers else []
        if errs:
            return fail_input(errs)
    except KbInvalid as exc:
        return fail_input(exc.errors)
    req = RunRequest(guide=args.guide, node=args.node, lang=args.lang, mode="apply" if args.apply else "plan",
                     inventory=str(inv_path.resolve()), confirm=list(args.confirm or []),
                     answers=args.answers, operator=args.operator)
    try:
        summary = run_notebook(project, req)
    except KbInvalid as exc:
        return fail_input(exc.errors)
    if args.json:
        print(json.dumps({k: summary.get(k) for k in SUMMARY_KEYS}, ensure_ascii=False, indent=2))
    else:
        for line in summary_lines(summary):
            print(line)
    return summary["exit_code"]


#: what `runbook run --json` prints of the run's summary
SUMMARY_KEYS = ("run_id", "status", "exit_code", "waiting_at", "error", "notebook", "summary_path")


def summary_lines(summary: dict) -> list[str]:
    """The run's outcome for a person: its id and status, where it waits or what failed, and
    where the executed notebook and the summary are."""
    lines = [f"run {summary['run_id']}: {summary['status']} (exit {summary['exit_code']})"]
    if summary.get("waiting_at"):
        lines.append(f"waiting for an operator at step '{summary['waiting_at']}': confirm it with "
                     f"--confirm {summary['waiting_at']} or an --answers file")
    if summary.get("error"):
        lines.append(f"error: {summary['error']}")
    lines += [f"notebook: {summary['notebook']}", f"summary: {summary['summary_path']}"]
    return lines


def register(sub) -> None:
    rn = sub.add_parser("run", help="run a guide's runbook notebook on a node with nbclient")
    rn.add_argument("guide", help="guide id")
    rn.add_argument("--node", required=True, help="node name in the inventory")
    rn.add_argument("--lang", choices=list(LANGS), default=default_lang(),
                    help="notebook language (default: from the locale, LC_ALL, LC_MESSAGES or LANG: ja for a "
                         "Japanese or a C locale, en for any other)")
    rn.add_argument("--apply", action="store_true", help="apply changes (default: plan only)")
    rn.add_argument("--confirm", action="append", metavar="STEP_ID",
                    help="confirm a manual step: the run passes it instead of waiting there (repeatable)")
    rn.add_argument("--answers", help="YAML file: {step_id: note} for manual steps")
    rn.add_argument("--operator", default=os.environ.get("USER", "operator"), help="who runs it (default: $USER)")
    rn.add_argument("--inventory", "-i", help="inventory YAML (default: the sandbox's)")
    rn.add_argument("--json", action="store_true", help="print the run's outcome as JSON (" + ", ".join(SUMMARY_KEYS) + ")")
    rn.set_defaults(func=cmd_run)
